"""Celery tasks of the Abfallkalender: thin wrappers around ``reminder_night`` and ``collection_changes``."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from waste_calendar.collection_changes import collection_changes_notify
from waste_calendar.reminder_night import reminders_send_due


@shared_task(name="waste_calendar.tasks.send_due_reminders", ignore_result=True)
def send_due_reminders(now: str | None = None) -> int:
    """Run by beat every minute; ``now`` (ISO 8601) only for tests and benchmarks."""
    sent = reminders_send_due(now=dt.datetime.fromisoformat(now) if now else None)
    # Changes whose signal was missed (worker down after an import) are caught up here.
    return sent + collection_changes_notify()


@shared_task(name="waste_calendar.tasks.notify_collection_changes", ignore_result=True)
def notify_collection_changes() -> int:
    return collection_changes_notify()
