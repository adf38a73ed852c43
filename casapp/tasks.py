from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "worker:heartbeat"


@shared_task(name="casapp.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> str:
    """Run by beat every minute; ``/readyz`` reports how long ago a worker last ran it."""
    stamp = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, stamp, timeout=24 * 3600)
    return stamp
