"""Liveness and readiness for the orchestrator and the city's monitoring.

``/healthz`` answers while the process runs; ``/readyz`` checks every backing service that is configured
and answers 503 naming the failing one, so a load balancer takes the instance out of rotation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from casapp.api.errors import error_body, error_response
from casapp.tasks import HEARTBEAT_KEY

logger = logging.getLogger("casapp.health")


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("readyz:probe", "1", timeout=10)
    if cache.get("readyz:probe") != "1":
        raise RuntimeError("cache did not return the probe value")


def _broker() -> None:
    from casapp.celery import app

    with app.connection_for_write(url=settings.REDIS_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def readiness_checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache}
    if settings.REDIS_URL:
        checks["broker"] = _broker
    return checks


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(status=405, code="method_not_allowed")
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(status=405, code="method_not_allowed")
    results: dict[str, str] = {}
    for name, check in readiness_checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "failing"
    failing = [name for name, state in results.items() if state != "ok"]
    body: dict[str, object] = {}
    if failing:
        body = error_body(code="not_ready", detail=f"Not ready: {', '.join(failing)}")
    body |= {"status": "failing" if failing else "ok", "checks": results}
    heartbeat = cache.get(HEARTBEAT_KEY) if "cache" not in failing else None
    if heartbeat:
        age = timezone.now() - datetime.fromisoformat(heartbeat)
        body["worker_heartbeat_age_s"] = int(age.total_seconds())
    return JsonResponse(body, status=503 if failing else 200)
