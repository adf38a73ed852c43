from __future__ import annotations

from typing import Any

from celery import shared_task

from reports.open311 import services

MEDIA_FETCH_RETRIES = 3
MEDIA_FETCH_RETRY_SECONDS = 300


@shared_task(bind=True, name="reports.open311.tasks.fetch_partner_media", ignore_result=True)
def fetch_partner_media(self: Any, submission_id: int) -> None:
    """A partner's media links to listed hosts, fetched after filing; links that failed in passing are
    tried again after 5, 10 and 20 minutes (not in the embedded mode's eager run)."""
    retry = services.partner_media_fetch(submission_id=submission_id)
    if retry and not self.request.is_eager and self.request.retries < MEDIA_FETCH_RETRIES:
        raise self.retry(
            countdown=MEDIA_FETCH_RETRY_SECONDS * 2**self.request.retries, max_retries=MEDIA_FETCH_RETRIES
        )
