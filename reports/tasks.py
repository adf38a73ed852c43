from __future__ import annotations

from typing import Any

from celery import shared_task

from casapp.outbox import MailDeliveryFailed, outbox_retry_later
from reports import alerts, services


@shared_task(name="reports.tasks.erase_contact_after_retention", ignore_result=True)
def erase_contact_after_retention() -> int:
    return services.reports_erase_contact_after_retention()


@shared_task(bind=True, name="reports.tasks.send_intake_alerts", ignore_result=True)
def send_intake_alerts(self: Any, report_id: int) -> int:
    try:
        return alerts.intake_alerts_send(report_id=report_id)
    except MailDeliveryFailed as failure:
        outbox_retry_later(self, failure)
        return 0


@shared_task(bind=True, name="reports.tasks.send_alert_digest", ignore_result=True)
def send_alert_digest(self: Any, digest_id: int) -> bool:
    try:
        return alerts.alert_digest_send(digest_id=digest_id)
    except MailDeliveryFailed as failure:
        outbox_retry_later(self, failure)
        return False


@shared_task(name="reports.tasks.resend_pending_intake_alerts", ignore_result=True)
def resend_pending_intake_alerts() -> int:
    return alerts.intake_alerts_resend_pending()


@shared_task(name="reports.tasks.queue_hourly_digests", ignore_result=True)
def queue_hourly_digests() -> int:
    return alerts.digests_queue(frequency="hourly")


@shared_task(name="reports.tasks.queue_daily_digests", ignore_result=True)
def queue_daily_digests() -> int:
    """Runs every few minutes; does something only from 7:30 Berlin time on working days, once a day."""
    return alerts.digests_queue(frequency="daily")
