"""The drain: one task's loop over a notification's outbox, batch by batch, until nothing is ready.

A drain expands the audience while it is not fully written, claims a batch, sends it in the slices the
rate limit grants (one firebase-admin encoding per content, see ``push.firebase``), records the results
and goes on until its time budget is used; it then tells its task whether to run again now, later or
not at all. An expired notification is stopped here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from push.fanout.audience import expand_next_chunk
from push.fanout.claims import ClaimedDelivery, claim_batch, release_batch
from push.fanout.messages import outgoing_messages
from push.fanout.pacing import CACHE_UNREACHABLE, quota_pause_remaining, rate_grant
from push.fanout.results import finish_if_complete, record_once_the_database_answers, send_finished
from push.models import AuditEntry, Delivery, DeliveryStatus, Notification, NotificationStatus
from push.transports import InFlight, SendResult, Transport, get_transport

# One logger for the whole engine, the name operators filter on (docs/operations.md).
logger = logging.getLogger("push.fanout")

# Set while a drain works on a notification, so the periodic resume does not pile up more drains.
DRAINING_KEY = "push:draining:"
# How often a drain renews that mark (it lasts PUSH_CLAIM_LEASE_SECONDS): not a cache write per batch.
DRAINING_MARK_SECONDS = 10.0


class Outcome(Enum):
    DONE = "done"  # nothing left for this task to do
    MORE = "more"  # time budget used up, rows remain: run again now
    WAIT = "wait"  # rows remain but are not ready yet: run again after ``wait_seconds``


@dataclass(frozen=True)
class DrainResult:
    outcome: Outcome
    sent: int = 0
    wait_seconds: float = 0.0


def drain(notification_id: int, *, budget_seconds: float = 25.0) -> DrainResult:
    """Sends ready deliveries of one notification until none are ready or the time budget is used.

    While a batch is on the wire the drain claims the next one; it hands that one to the transport only
    once the earlier batch's answers are recorded. So a stop (circuit breaker, credentials) or a pause
    (quota, FCM unavailable) they call for holds before another message goes out, and a worker killed
    at any moment leaves at most one batch sent but not recorded (sent again when its lease ends). A
    batch claimed when such a pause begins is handed back without costing its rows an attempt. Every
    batch handed to the transport is recorded before the drain returns or raises.
    """
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status != NotificationStatus.SENDING:
        return DrainResult(Outcome.DONE)
    transport = get_transport()
    deadline = time.monotonic() + budget_seconds
    sent = 0
    on_the_wire: _Sending | None = None
    mark_due = 0.0

    def settle() -> None:
        nonlocal sent, on_the_wire
        if on_the_wire is not None:
            sending, on_the_wire = on_the_wire, None
            sent += _finish_send(notification, sending)

    try:
        while time.monotonic() < deadline:
            if on_the_wire is None and (paused := quota_pause_remaining()):
                return DrainResult(Outcome.WAIT, sent, paused)
            mark_due = _mark_draining(notification, due=mark_due)
            if _expired(notification):
                settle()
                _expire(notification)
                return DrainResult(Outcome.DONE, sent)
            _expand_some(notification)
            batch = claim_batch(notification, size=settings.PUSH_BATCH_SIZE, now=timezone.now())
            settle()
            if notification.status != NotificationStatus.SENDING:
                return DrainResult(Outcome.DONE, sent)  # stopped: the batch just claimed was cancelled
            if not batch:
                if not notification.expanded:
                    time.sleep(0.2)  # another drain holds the expansion lock; its rows will appear
                    continue
                return _nothing_ready(notification, sent)
            if paused := quota_pause_remaining():
                release_batch([d.pk for d in batch])
                return DrainResult(Outcome.WAIT, sent, paused)
            on_the_wire = _start_batch(notification, batch, transport)
            if on_the_wire.cache_error is not None:
                settle()  # records what went out, hands the rest back and raises the error
        settle()
        return DrainResult(Outcome.MORE, sent)
    finally:
        settle()  # leaving on an error: what went out is recorded, not sent again after the lease


def _expand_some(notification: Notification) -> None:
    """Writes the next chunk of the audience while it is not fully written."""
    if not notification.expanded:
        expand_next_chunk(notification)
        notification.expanded = Notification.objects.values_list("expanded", flat=True).get(
            pk=notification.pk
        )


def _nothing_ready(notification: Notification, sent: int) -> DrainResult:
    """Nothing to claim in a fully written audience: the send is finished, or rows wait for later."""
    now = timezone.now()
    if finish_if_complete(notification, now=now):
        return DrainResult(Outcome.DONE, sent)
    return _wait_for_next_ready(notification, sent, now=now)


def _mark_draining(notification: Notification, *, due: float) -> float:
    """Renews the drain's mark if it is due; when it is due next."""
    if time.monotonic() < due:
        return due
    cache.set(f"{DRAINING_KEY}{notification.pk}", 1, timeout=settings.PUSH_CLAIM_LEASE_SECONDS)
    return time.monotonic() + DRAINING_MARK_SECONDS


def _start_batch(notification: Notification, batch: list[ClaimedDelivery], transport: Transport) -> _Sending:
    """Rows without a token become inbox-only; the others are handed to the transport."""
    sendable = [d for d in batch if d.is_active and d.push_token]
    if len(sendable) < len(batch):  # push switched off or deactivated since expansion: inbox only
        sendable_ids = {d.pk for d in sendable}
        Delivery.objects.filter(id__in=[d.pk for d in batch if d.pk not in sendable_ids]).update(
            status=DeliveryStatus.INBOX_ONLY, claimed_until=None
        )
    return _start_send(notification, sendable, transport)


@dataclass
class _Sending:
    """A claimed batch handed to the transport in the slices the rate limit granted (``parts``); the
    rows after ``handed`` were not handed over (expiry, or the cache unreachable)."""

    batch: list[ClaimedDelivery]
    claimed_at: datetime
    parts: list[InFlight]
    handed: int
    cache_error: Exception | None
    _results: list[SendResult] | None = None

    def results(self) -> list[SendResult]:
        """Waits for the answers of every part (once)."""
        if self._results is None:
            self._results = [result for part in self.parts for result in part.results()]
        return self._results


def _start_send(notification: Notification, batch: list[ClaimedDelivery], transport: Transport) -> _Sending:
    """Hands a claimed batch to the transport in the slices the rate limit grants, each checked
    against the notification's expiry right before it goes.

    Without the cache the shared rate budget cannot be kept: the rest of the batch is not handed over,
    and ``_finish_send`` hands it back (pending, not claimed) and raises the error; beat's resume wakes
    the send once the cache is back. Leaving the batch claimed instead would send its first slices a
    second time when the lease ends.
    """
    claimed_at = timezone.now()
    parts: list[InFlight] = []
    handed = 0
    cache_error: Exception | None = None
    while handed < len(batch):
        try:
            granted = rate_grant(len(batch) - handed)
        except CACHE_UNREACHABLE as error:
            logger.warning("rate limit unreachable (%s): the rest of the batch waits", type(error).__name__)
            cache_error = error
            break
        if _expired(notification):  # checked after the wait for the grant, right before sending
            break
        part = batch[handed : handed + granted]
        parts.append(transport.submit(outgoing_messages(notification, part, now=timezone.now())))
        handed += len(part)
    return _Sending(batch, claimed_at, parts, handed, cache_error)


def _finish_send(notification: Notification, sending: _Sending) -> int:
    """Waits for a batch's answers and records them together (the circuit breaker judges the whole
    batch). Rows not handed over become ``expired``, or ``pending`` again if the cache was away (and
    its error is raised). Returns how many were sent."""
    results = sending.results()
    batch, handed = sending.batch, sending.handed
    unsent = [d.pk for d in batch[handed:]]
    if unsent and sending.cache_error is not None:
        Delivery.objects.filter(id__in=unsent).update(status=DeliveryStatus.PENDING, claimed_until=None)
    elif unsent:
        Delivery.objects.filter(id__in=unsent).update(status=DeliveryStatus.EXPIRED, claimed_until=None)
    if handed:
        record_once_the_database_answers(
            notification,
            batch[:handed],
            results,
            lease_ends=sending.claimed_at + timedelta(seconds=settings.PUSH_CLAIM_LEASE_SECONDS),
        )
    if sending.cache_error is not None:
        raise sending.cache_error
    return handed


def _expired(notification: Notification) -> bool:
    return notification.expires_at is not None and notification.expires_at <= timezone.now()


def _expire(notification: Notification) -> None:
    """Past its expiry a message is no longer sent: a stale outage alert is worse than none.

    Rows not sent yet (pending, or claimed by a worker whose lease ran out) become ``expired``; an
    audience not written yet is not written. The send ends ``expired`` unless everything had gone
    out already. Rows another worker is sending right now are recorded by that worker.
    """
    now = timezone.now()
    was_expanded = Notification.objects.values_list("expanded", flat=True).get(pk=notification.pk)
    stopped = (
        Delivery.objects.filter(notification_id=notification.pk)
        .filter(Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.CLAIMED, claimed_until__lt=now))
        .update(status=DeliveryStatus.EXPIRED, claimed_until=None)
    )
    Notification.objects.filter(pk=notification.pk).update(expanded=True)
    notification.expanded = True
    expired_rows = Delivery.objects.filter(notification_id=notification.pk, status=DeliveryStatus.EXPIRED)
    if was_expanded and not stopped and not expired_rows.exists():
        finish_if_complete(notification, now=now)  # everything went out before the expiry
        return
    _mark_expired(notification, now=now)


def _mark_expired(notification: Notification, *, now: datetime) -> None:
    with transaction.atomic():
        if Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.EXPIRED, finished_at=now
        ):
            AuditEntry.objects.create(
                notification_id=notification.pk,
                actor=None,
                action="expired",
                changes={"status": [NotificationStatus.SENDING, NotificationStatus.EXPIRED]},
            )
            send_finished(notification, NotificationStatus.EXPIRED)
    notification.status = NotificationStatus.EXPIRED


def _wait_for_next_ready(notification: Notification, sent: int, *, now: datetime) -> DrainResult:
    waiting = Delivery.objects.filter(
        notification_id=notification.pk, status=DeliveryStatus.PENDING
    ).aggregate(first=Min("not_before"))["first"]
    in_flight = Delivery.objects.filter(
        notification_id=notification.pk, status=DeliveryStatus.CLAIMED
    ).aggregate(first=Min("claimed_until"))["first"]
    moments = [m for m in (waiting, in_flight) if m is not None]
    if not moments:
        return DrainResult(Outcome.DONE, sent)
    return DrainResult(Outcome.WAIT, sent, max(0.5, (min(moments) - now).total_seconds()))
