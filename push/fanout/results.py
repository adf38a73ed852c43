"""Recording what FCM answered for a sent batch, and closing a send.

An outage of FCM (quota, or most of a batch failing transiently) pauses all sending and costs no
message an attempt: only errors of a message while FCM works for the others count towards
``PUSH_MAX_ATTEMPTS``, so a long outage delays a send but fails no message.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from casapp.metrics import event_count
from push.fanout.claims import ClaimedDelivery
from push.fanout.pacing import (
    CACHE_UNREACHABLE,
    OUTAGE_STREAK_KEY,
    backoff,
    fcm_unavailable,
    outage_pause,
    pause_sending,
)
from push.models import Delivery, DeliveryStatus, Installation, Notification, NotificationStatus
from push.transports import ErrorClass, SendResult

# One logger for the whole engine, the name operators filter on (docs/operations.md).
logger = logging.getLogger("push.fanout")

# Recording a sent batch while the database restarts: try every second, give up this long before the
# batch's lease ends (after that another drain may claim and send it anyway).
RECORD_RETRY_SECONDS = 1.0
RECORD_RETRY_MARGIN_SECONDS = 5.0


def send_finished(notification: Notification, status: str) -> None:
    """The audit log's closing entry with the figures and the author's e-mail, in the caller's transaction."""
    from push.services.workflow_mail import notification_send_finished

    notification.status = status
    notification_send_finished(notification=notification, status=status)


def fail_notification(notification: Notification, reason: str, *, now: datetime) -> None:
    with transaction.atomic():
        failed = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.FAILED, failure_reason=reason, finished_at=now
        )
        Delivery.objects.filter(
            notification_id=notification.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.CLAIMED]
        ).update(status=DeliveryStatus.CANCELLED, claimed_until=None)
        if failed:
            notification.failure_reason = reason
            send_finished(notification, NotificationStatus.FAILED)
    notification.status = NotificationStatus.FAILED


def finish_if_complete(notification: Notification, *, now: datetime) -> bool:
    """Closes the send once nothing is pending or in flight: sent, partly failed or failed."""
    if not notification.expanded:
        return False
    open_rows = Delivery.objects.filter(
        notification_id=notification.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.CLAIMED]
    )
    if open_rows.exists():
        return False
    rows = Delivery.objects.filter(notification_id=notification.pk)
    any_failed = rows.filter(status=DeliveryStatus.FAILED).exists()
    any_accepted = rows.filter(status=DeliveryStatus.ACCEPTED).exists()
    if not any_failed:
        status = NotificationStatus.SENT
    elif any_accepted:
        status = NotificationStatus.PARTLY_FAILED
    else:
        status = NotificationStatus.FAILED
    with transaction.atomic():
        if Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=status, finished_at=now
        ):
            send_finished(notification, status)
    notification.status = status
    return True


def _breaker_trips(batch_size: int, results: list[SendResult]) -> str | None:
    """The known failure of other libraries: a bad payload or a wrong project makes FCM reject every
    token in the same way, and they deactivate every installation. Identical token errors on most of a
    batch are not about the tokens; stop instead."""
    if batch_size < settings.PUSH_CIRCUIT_BREAKER_MIN_BATCH:
        return None
    codes = Counter(r.error.code for r in results if r.error and r.error.error_class == ErrorClass.TOKEN)
    if not codes:
        return None
    code, count = codes.most_common(1)[0]
    return code if count / batch_size > settings.PUSH_CIRCUIT_BREAKER_RATIO else None


@dataclass
class _ErrorPlan:
    """What the errors of a batch mean for their rows: failed (by code), installations to deactivate,
    rows to retry (delivery, seconds to wait, error code, attempts to record) and whether to stop."""

    failed: dict[str, list[int]] = field(default_factory=dict)
    deactivate: dict[str, list[Any]] = field(default_factory=dict)
    retry: list[tuple[int, float, str, int]] = field(default_factory=list)
    stop_reason: str = ""

    def add(self, result: SendResult, delivery: ClaimedDelivery, *, outage_pause: float) -> None:
        error = result.error
        assert error is not None  # noqa: S101  (only results with an error come here)
        if error.error_class == ErrorClass.TOKEN:
            self.failed.setdefault(error.code, []).append(result.delivery_id)
            self.deactivate.setdefault(error.code, []).append(delivery.installation_id)
        elif error.error_class in (ErrorClass.PAYLOAD, ErrorClass.CREDENTIALS):
            self.failed.setdefault(error.code, []).append(result.delivery_id)
            self.stop_reason = self.stop_reason or error.code
        elif error.error_class == ErrorClass.QUOTA:
            # FCM's limit, not this message's fault: the attempt is given back.
            wait = error.retry_after or 60.0
            pause_sending(wait)
            self.retry.append((result.delivery_id, wait, error.code, delivery.attempts - 1))
        elif outage_pause:
            self.retry.append((result.delivery_id, outage_pause, error.code, delivery.attempts - 1))
        elif delivery.attempts >= settings.PUSH_MAX_ATTEMPTS:
            self.failed.setdefault(error.code, []).append(result.delivery_id)
        else:
            wait = max(error.retry_after or 0.0, backoff(delivery.attempts))
            self.retry.append((result.delivery_id, wait, error.code, delivery.attempts))


def _record(
    notification: Notification, batch: list[ClaimedDelivery], results: list[SendResult], *, now: datetime
) -> None:
    by_id = {d.pk: d for d in batch}
    accepted = [r.delivery_id for r in results if r.accepted]
    errors = [r for r in results if r.error]
    if tripped := _breaker_trips(len(batch), results):
        logger.error("circuit breaker: %s on most of a batch of notification %s", tripped, notification.pk)
        with transaction.atomic():
            Delivery.objects.filter(id__in=accepted).update(status=DeliveryStatus.ACCEPTED, sent_at=now)
            Delivery.objects.filter(id__in=[r.delivery_id for r in errors]).update(
                status=DeliveryStatus.FAILED, error_code=tripped, claimed_until=None
            )
            fail_notification(notification, f"circuit breaker: {tripped}", now=now)
        event_count("push_sent", len(accepted))
        event_count("push_failed", len(errors), label=tripped)
        return

    pause = 0.0
    if fcm_unavailable(len(batch), results):
        pause = outage_pause()
        pause_sending(pause)
        logger.error(
            "FCM unavailable: most of a batch of notification %s failed transiently; sending pauses %.0f s",
            notification.pk,
            pause,
        )
    elif accepted:
        with contextlib.suppress(*CACHE_UNREACHABLE):
            cache.delete(OUTAGE_STREAK_KEY)
    quota_hit = any(r.error is not None and r.error.error_class == ErrorClass.QUOTA for r in errors)
    plan = _ErrorPlan()
    for result in errors:
        plan.add(result, by_id[result.delivery_id], outage_pause=pause)
    failed, deactivate, retry, stop_reason = plan.failed, plan.deactivate, plan.retry, plan.stop_reason

    # A batch that FCM accepted whole is one UPDATE: no BEGIN and COMMIT around it.
    only_accepted = not (failed or retry or deactivate or stop_reason)
    with contextlib.nullcontext() if only_accepted else transaction.atomic():
        Delivery.objects.filter(id__in=accepted).update(
            status=DeliveryStatus.ACCEPTED, sent_at=now, claimed_until=None, error_code=""
        )
        for code, ids in failed.items():
            Delivery.objects.filter(id__in=ids).update(
                status=DeliveryStatus.FAILED, error_code=code, claimed_until=None
            )
        if retry:
            Delivery.objects.bulk_update(
                [
                    Delivery(
                        pk=delivery_id,
                        status=DeliveryStatus.PENDING,
                        not_before=now + timedelta(seconds=wait),
                        claimed_until=None,
                        error_code=code,
                        attempts=attempts,
                    )
                    for delivery_id, wait, code, attempts in retry
                ],
                ["status", "not_before", "claimed_until", "error_code", "attempts"],
            )
        for code, installation_ids in deactivate.items():
            Installation.objects.filter(pk__in=installation_ids, is_active=True).update(
                is_active=False, deactivation_reason=_deactivation_reason(code), deactivated_at=now
            )
        if stop_reason:
            if stop_reason in ("third_party_auth", "credentials"):
                logger.critical(
                    "push credentials rejected (%s): notification %s stopped; check APNs/web-push/service "
                    "account credentials in Firebase",
                    stop_reason,
                    notification.pk,
                )
            fail_notification(notification, stop_reason, now=now)
    _count_results(accepted=len(accepted), failed=failed, retry=retry, quota_hit=quota_hit)


def _count_results(
    *, accepted: int, failed: dict[str, list[int]], retry: list[tuple[int, float, str, int]], quota_hit: bool
) -> None:
    """Counted once written: the metrics (casapp/metrics.py) follow what the outbox holds."""
    event_count("push_sent", accepted)
    for code, ids in failed.items():
        event_count("push_failed", len(ids), label=code)
    for code, count in Counter(code for _delivery_id, _wait, code, _attempts in retry).items():
        event_count("push_retried", count, label=code)
    if quota_hit:
        event_count("push_quota_backoffs")


def record_once_the_database_answers(
    notification: Notification,
    batch: list[ClaimedDelivery],
    results: list[SendResult],
    *,
    lease_ends: datetime,
) -> None:
    """Records a sent batch, waiting out a database that restarts. The results exist only in this
    process: given up, the batch would be claimed again when its lease ends and sent twice."""
    while True:
        try:
            _record(notification, batch, results, now=timezone.now())
            return
        except (OperationalError, InterfaceError):
            if timezone.now() + timedelta(seconds=RECORD_RETRY_MARGIN_SECONDS) >= lease_ends:
                raise
            logger.warning(
                "results of notification %s not recorded yet: database unreachable", notification.pk
            )
            connection.close()  # broken; the next attempt connects anew
            time.sleep(RECORD_RETRY_SECONDS)


def _deactivation_reason(code: str) -> str:
    return {"unregistered": "unregistered", "sender_mismatch": "sender_mismatch"}.get(code, "invalid_token")
