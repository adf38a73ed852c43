"""The fan-out engine: expands a notification's audience into delivery rows and drains them.

Guarantees:
- Every targeted installation gets a delivery row (unique per notification), written in chunks that
  stream over the audience by primary key; progress is stored, so a killed worker resumes where it was.
- A worker claims up to ``PUSH_BATCH_SIZE`` ready rows with a lease (``SKIP LOCKED`` on PostgreSQL, so
  parallel drains never share a row), sends them in one firebase-admin call and records each result. A
  worker killed mid-batch leaves rows claimed; when the lease runs out they are claimed again. So nothing
  is lost and at most the batch in flight is sent twice.
- Waiting never parks a worker: quota and transient errors set ``not_before`` on the rows and the drain
  task is rescheduled with a countdown.
- An outage of FCM (quota, or most of a batch failing transiently) pauses all sending and costs no
  message an attempt: only errors of a message while FCM works for the others count towards
  ``PUSH_MAX_ATTEMPTS``, so a long outage delays a send but fails no message.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, NamedTuple
from uuid import UUID

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from casapp.metrics import event_count
from push.models import (
    MAX_TEST_DEVICES,
    AudienceKind,
    AuditEntry,
    Delivery,
    DeliveryStatus,
    Installation,
    Notification,
    NotificationKind,
    NotificationStatus,
    Priority,
    StaffDevice,
    Topic,
)
from push.transports import ErrorClass, OutgoingMessage, SendResult, Transport, get_transport

logger = logging.getLogger("push.fanout")

EXPANSION_CHUNK = 5000
# Every drain waits while this is set: FCM's quota is used up, or FCM is unavailable.
QUOTA_PAUSE_KEY = "push:quota-paused-until"
# Batches in a row that found FCM unavailable: the pause doubles with each, up to OUTAGE_PAUSE_CAP_SECONDS.
OUTAGE_STREAK_KEY = "push:fcm-unavailable-streak"
OUTAGE_PAUSE_CAP_SECONDS = 60.0
# Redis restarting: what the cache raises then.
CACHE_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
# Set while a drain works on a notification, so the periodic resume does not pile up more drains.
DRAINING_KEY = "push:draining:"
RETRY_CAP_SECONDS = 600.0
# Recording a sent batch while the database restarts: try every second, give up this long before the
# batch's lease ends (after that another drain may claim and send it anyway).
RECORD_RETRY_SECONDS = 1.0
RECORD_RETRY_MARGIN_SECONDS = 5.0


class Outcome(Enum):
    DONE = "done"  # nothing left for this task to do
    MORE = "more"  # time budget used up, rows remain: run again now
    WAIT = "wait"  # rows remain but are not ready yet: run again after ``wait_seconds``


@dataclass(frozen=True)
class DrainResult:
    outcome: Outcome
    sent: int = 0
    wait_seconds: float = 0.0


# --- Audience


def _subscribed_to(topic_ids: list[int]) -> Exists:
    # Literal topic ids, not a join or subquery: with a join PostgreSQL hashed all subscriptions for
    # every expansion chunk (15 s per chunk at a million installations, 0.1 s with the ids).
    through = Installation.topics.through
    return Exists(through.objects.filter(installation_id=OuterRef("pk"), topic_id__in=topic_ids))


def audience_queryset(notification: Notification, *, now: datetime | None = None) -> QuerySet[Installation]:
    """Installations a broadcast or test notification goes to: reachable, not stale, opted in."""
    now = now or timezone.now()
    if notification.audience_kind == AudienceKind.TEST:
        author = notification.created_by_id or 0
        # Only paired phones, and never more than the cap, whatever rows exist.
        author_devices = (
            StaffDevice.objects.filter(user_id=author, paired_at__isnull=False)
            .order_by("-paired_at")
            .values("installation_id")[:MAX_TEST_DEVICES]
        )
        return _reachable().filter(pk__in=author_devices)
    topic_ids = (
        list(notification.audience_topics.values_list("pk", flat=True))
        if notification.audience_kind == AudienceKind.TOPICS
        else []
    )
    return broadcast_audience(
        kind=notification.kind,
        audience_kind=notification.audience_kind,
        topic_ids=topic_ids,
        stadtteile=list(notification.audience_stadtteile or []),
        now=now,
    )


def _reachable() -> QuerySet[Installation]:
    return Installation.objects.filter(is_active=True, push_token__isnull=False)


def broadcast_audience(
    *, kind: str, audience_kind: str, topic_ids: list[int], stadtteile: list[str], now: datetime
) -> QuerySet[Installation]:
    """The installations a broadcast of ``kind`` reaches: push on, seen within ``PUSH_STALE_AFTER_DAYS``,
    subscribed to the chosen topics (``topics``) or to the kind's topic (``all``, ``stadtteile``), in the
    chosen Stadtteile. The one definition both the send and the audience estimate use."""
    fresh = _reachable().filter(
        is_stale=False, last_seen_at__gte=now - timedelta(days=settings.PUSH_STALE_AFTER_DAYS)
    )
    if audience_kind == AudienceKind.TOPICS:
        return fresh.filter(_subscribed_to(topic_ids))
    kind_topics = list(Topic.objects.filter(kind=kind).values_list("pk", flat=True))
    opted_in = fresh.filter(_subscribed_to(kind_topics))
    if audience_kind == AudienceKind.STADTTEILE:
        return opted_in.filter(stadtteil__in=stadtteile)
    if audience_kind == AudienceKind.ALL:
        return opted_in
    raise ValueError(f"audience {audience_kind} is not expanded from a query")


def expand_next_chunk(notification: Notification, *, chunk: int = EXPANSION_CHUNK) -> int:
    """Writes the next chunk of delivery rows; marks the notification expanded after the last one.

    Runs under a row lock on the notification, so two drains never expand the same range; the one that
    does not get the lock simply drains rows that exist already.
    """
    with transaction.atomic():
        locked = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification.pk, expanded=False)
            .only("pk", "expansion_cursor", "expanded", "kind", "audience_kind", "created_by")
            .first()
        )
        if locked is None:
            return 0
        audience = audience_queryset(locked)
        if locked.expansion_cursor is not None:
            audience = audience.filter(pk__gt=locked.expansion_cursor)
        batch = list(audience.order_by("pk").values_list("pk", flat=True)[:chunk])
        if batch:
            _insert_deliveries(locked.pk, audience.filter(pk__lte=batch[-1]))
        done = len(batch) < chunk
        Notification.objects.filter(pk=locked.pk).update(
            expansion_cursor=batch[-1] if batch else locked.expansion_cursor, expanded=done
        )
    notification.expanded = done
    return len(batch)


def _insert_deliveries(notification_id: int, audience: QuerySet[Installation]) -> None:
    """One ``INSERT … SELECT`` for a chunk: the rows never pass through Python (bulk_create of 5,000
    model instances was a sixth of a worker's CPU). Existing rows (a resumed chunk) are kept."""
    select_sql, select_params = audience.values_list("pk").query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            # chunk.*: the one selected column, whatever name the compiler gave it.
            f"INSERT INTO {table} (installation_id, notification_id, status, attempts, error_code, "  # noqa: S608
            f"fcm_message_id, created_at) SELECT chunk.*, %s, %s, 0, '', '', %s FROM ({select_sql}) chunk "
            "WHERE true ON CONFLICT DO NOTHING",  # WHERE: SQLite would read ON as a join constraint
            [notification_id, DeliveryStatus.PENDING.value, now, *select_params],
        )


# --- Claiming and sending


class ClaimedDelivery(NamedTuple):
    """A claimed row with what sending it needs; plain tuples, not model instances (500 per batch)."""

    pk: int
    attempts: int
    content: dict[str, Any] | None
    data: dict[str, Any] | None
    installation_id: UUID
    push_token: str | None
    token_kind: str
    locale: str
    is_active: bool


def _claim_batch(notification: Notification, *, size: int, now: datetime) -> list[ClaimedDelivery]:
    ready = Q(status=DeliveryStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    lease_expired = Q(status=DeliveryStatus.CLAIMED, claimed_until__lt=now)
    rows = Delivery.objects.filter(notification_id=notification.pk)
    with transaction.atomic():
        # Two index range scans instead of one OR, which made PostgreSQL read and sort every ready row
        # (141 ms per claim at a million rows, 83 ms for pending alone). Rows of a dead worker wait for
        # the pending ones to run low; they are claimed in the same send, never lost.
        ids = list(
            rows.filter(ready)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:size]
        )
        if len(ids) < size:
            ids += list(
                rows.filter(lease_expired)
                .order_by("id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[: size - len(ids)]
            )
        if not ids:
            return []
        Delivery.objects.filter(id__in=ids).update(
            status=DeliveryStatus.CLAIMED,
            claimed_until=now + timedelta(seconds=settings.PUSH_CLAIM_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    claimed = (
        Delivery.objects.filter(id__in=ids)
        .order_by("id")
        .values_list(
            "id",
            "attempts",
            "content",
            "data",
            "installation_id",
            "installation__push_token",
            "installation__push_token_kind",
            "installation__locale",
            "installation__is_active",
        )
    )
    return [ClaimedDelivery(*row) for row in claimed]


def localized(content: dict[str, Any], locale: str) -> dict[str, str]:
    """The installation's language if the text exists in it, German otherwise."""
    chosen: dict[str, Any] = content.get(locale) or content.get("de") or next(iter(content.values()), {})
    return {"title": str(chosen.get("title", "")), "body": str(chosen.get("body", ""))}


def collapse_key_for(notification: Notification) -> str:
    root = notification.thread_id or (
        notification.pk if notification.kind == NotificationKind.OUTAGE else None
    )
    return f"outage-{root}" if root else ""


def ttl_seconds_for(notification: Notification, *, now: datetime) -> int | None:
    if notification.expires_at is None:
        return None
    return max(0, int((notification.expires_at - now).total_seconds()))


@dataclass(frozen=True)
class _Common:
    """What every message of a notification shares, worked out once per batch."""

    data: dict[str, str]
    collapse_key: str
    high_priority: bool
    ttl_seconds: int | None

    @classmethod
    def of(cls, notification: Notification, *, now: datetime) -> _Common:
        data = {str(k): str(v) for k, v in notification.data.items()}
        return cls(
            data=data,
            collapse_key=collapse_key_for(notification),
            high_priority=notification.priority == Priority.HIGH,
            ttl_seconds=ttl_seconds_for(notification, now=now),
        )


def _message(
    notification: Notification,
    common: _Common,
    *,
    delivery_id: int,
    content: dict[str, Any] | None,
    data: dict[str, Any] | None,
    token: str | None,
    token_kind: str,
    locale: str,
) -> OutgoingMessage:
    text = localized(content or notification.content, locale)
    merged = {**common.data, **{str(k): str(v) for k, v in data.items()}} if data else dict(common.data)
    merged |= {"notification_id": str(notification.pk), "kind": notification.kind}
    if notification.deep_link:
        merged["deep_link"] = notification.deep_link
    return OutgoingMessage(
        delivery_id=delivery_id,
        token=token or "",
        token_kind=token_kind,
        title=text["title"],
        body=text["body"],
        data=merged,
        image_url=notification.image_url,
        collapse_key=common.collapse_key,
        high_priority=common.high_priority,
        ttl_seconds=common.ttl_seconds,
        channel=notification.kind,
    )


def outgoing_message(notification: Notification, delivery: Delivery, *, now: datetime) -> OutgoingMessage:
    """The message a delivery row becomes: the installation's language, the notification's payload."""
    installation = delivery.installation
    return _message(
        notification,
        _Common.of(notification, now=now),
        delivery_id=delivery.pk,
        content=delivery.content,
        data=delivery.data,
        token=installation.push_token,
        token_kind=installation.push_token_kind,
        locale=installation.locale,
    )


def outgoing_messages(
    notification: Notification, batch: list[ClaimedDelivery], *, now: datetime
) -> list[OutgoingMessage]:
    common = _Common.of(notification, now=now)
    return [
        _message(
            notification,
            common,
            delivery_id=row.pk,
            content=row.content,
            data=row.data,
            token=row.push_token,
            token_kind=row.token_kind,
            locale=row.locale,
        )
        for row in batch
    ]


# The global rate limit counts messages per tick of 1/10 s. A window of one second overlaps at most 11
# ticks, 12 when a message reaches FCM up to a tick after its grant; each tick grants 1/12 of the
# per-second rate, so no second (any second, not only whole ones) holds more than the rate.
RATE_TICKS_PER_SECOND = 10
RATE_KEY = "push:rate:"


def rate_budget() -> tuple[int, int]:
    """(ticks per second, messages granted per tick) for ``PUSH_RATE_LIMIT_PER_MINUTE``.

    Below 12 a second the ticks get longer (fewer per second) so each still grants one message; below
    3 a second one message per tick can make 3 in a second.
    """
    per_second = max(1, settings.PUSH_RATE_LIMIT_PER_MINUTE // 60)
    ticks = min(RATE_TICKS_PER_SECOND, max(1, per_second - 2))
    return ticks, max(1, per_second // (ticks + 2))


def _rate_grant(wanted: int) -> int:
    """Waits until the budget shared through the cache by every worker grants messages; how many
    (1 to ``wanted``). Waits at most a tick at a time, so an expiry is noticed between grants."""
    ticks, budget = rate_budget()
    while True:
        tick = int(time.time() * ticks)
        key = f"{RATE_KEY}{ticks}:{tick}"
        asked = min(wanted, budget)
        cache.add(key, 0, timeout=5)
        try:
            used = cache.incr(key, asked)
        except ValueError:  # expired between add and incr
            continue
        granted = min(asked, budget - (used - asked))
        if granted > 0:
            return granted
        time.sleep(max(0.0, (tick + 1) / ticks - time.time()))


def quota_pause_remaining() -> float:
    until = cache.get(QUOTA_PAUSE_KEY)
    return max(0.0, float(until) - time.time()) if until else 0.0


def _pause_sending(seconds: float) -> None:
    """Called while recording a sent batch: a cache that is away must not lose the batch's results (it
    would be sent twice); the rows' own ``not_before`` still holds them back."""
    until = time.time() + seconds
    try:
        current = cache.get(QUOTA_PAUSE_KEY)
        if current is None or float(current) < until:
            cache.set(QUOTA_PAUSE_KEY, until, timeout=int(seconds) + 5)
    except CACHE_UNREACHABLE as error:
        logger.warning("sending pause not shared: cache unreachable (%s)", type(error).__name__)


def _fcm_unavailable(batch_size: int, results: list[SendResult]) -> bool:
    """Most of a batch failed transiently: that is FCM (or the way to it), not these messages."""
    if batch_size < settings.PUSH_CIRCUIT_BREAKER_MIN_BATCH:
        return False
    transient = sum(1 for r in results if r.error and r.error.error_class == ErrorClass.TRANSIENT)
    return transient / batch_size > settings.PUSH_CIRCUIT_BREAKER_RATIO


def _outage_pause() -> float:
    """The pause after one more batch that found FCM unavailable: doubling, with jitter, capped."""
    try:
        cache.add(OUTAGE_STREAK_KEY, 0, timeout=int(RETRY_CAP_SECONDS))
        streak = int(cache.incr(OUTAGE_STREAK_KEY))
    except ValueError:  # expired between add and incr
        streak = 1
    except CACHE_UNREACHABLE:
        streak = 1
    ceiling = min(OUTAGE_PAUSE_CAP_SECONDS, settings.PUSH_RETRY_BASE_SECONDS * 2 ** (streak - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not cryptography)


def _backoff(attempts: int) -> float:
    """Exponential backoff with full jitter, so retries of many workers do not arrive together."""
    ceiling = min(RETRY_CAP_SECONDS, settings.PUSH_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not cryptography)


# --- Recording results


def _send_finished(notification: Notification, status: str) -> None:
    """The audit log's closing entry with the figures and the author's e-mail, in the caller's transaction."""
    from push.services.workflow_mail import notification_send_finished

    notification.status = status
    notification_send_finished(notification=notification, status=status)


def _fail_notification(notification: Notification, reason: str, *, now: datetime) -> None:
    with transaction.atomic():
        failed = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.FAILED, failure_reason=reason, finished_at=now
        )
        Delivery.objects.filter(
            notification_id=notification.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.CLAIMED]
        ).update(status=DeliveryStatus.CANCELLED, claimed_until=None)
        if failed:
            notification.failure_reason = reason
            _send_finished(notification, NotificationStatus.FAILED)
    notification.status = NotificationStatus.FAILED


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
            _pause_sending(wait)
            self.retry.append((result.delivery_id, wait, error.code, delivery.attempts - 1))
        elif outage_pause:
            self.retry.append((result.delivery_id, outage_pause, error.code, delivery.attempts - 1))
        elif delivery.attempts >= settings.PUSH_MAX_ATTEMPTS:
            self.failed.setdefault(error.code, []).append(result.delivery_id)
        else:
            wait = max(error.retry_after or 0.0, _backoff(delivery.attempts))
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
            _fail_notification(notification, f"circuit breaker: {tripped}", now=now)
        event_count("push_sent", len(accepted))
        event_count("push_failed", len(errors), label=tripped)
        return

    outage_pause = 0.0
    if _fcm_unavailable(len(batch), results):
        outage_pause = _outage_pause()
        _pause_sending(outage_pause)
        logger.error(
            "FCM unavailable: most of a batch of notification %s failed transiently; sending pauses %.0f s",
            notification.pk,
            outage_pause,
        )
    elif accepted:
        with contextlib.suppress(*CACHE_UNREACHABLE):
            cache.delete(OUTAGE_STREAK_KEY)
    quota_hit = any(r.error is not None and r.error.error_class == ErrorClass.QUOTA for r in errors)
    plan = _ErrorPlan()
    for result in errors:
        plan.add(result, by_id[result.delivery_id], outage_pause=outage_pause)
    failed, deactivate, retry, stop_reason = plan.failed, plan.deactivate, plan.retry, plan.stop_reason

    with transaction.atomic():
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
            _fail_notification(notification, stop_reason, now=now)
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


def _record_once_the_database_answers(
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
            _send_finished(notification, status)
    notification.status = status
    return True


def drain(notification_id: int, *, budget_seconds: float = 25.0) -> DrainResult:
    """Sends ready deliveries of one notification until none are ready or the time budget is used."""
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status != NotificationStatus.SENDING:
        return DrainResult(Outcome.DONE)
    transport = get_transport()
    deadline = time.monotonic() + budget_seconds
    sent = 0
    while time.monotonic() < deadline:
        if paused := quota_pause_remaining():
            return DrainResult(Outcome.WAIT, sent, paused)
        cache.set(f"{DRAINING_KEY}{notification.pk}", 1, timeout=settings.PUSH_CLAIM_LEASE_SECONDS)
        if _expired(notification):
            _expire(notification)
            return DrainResult(Outcome.DONE, sent)
        if not notification.expanded:
            expand_next_chunk(notification)
            notification.expanded = Notification.objects.values_list("expanded", flat=True).get(
                pk=notification.pk
            )
        now = timezone.now()
        batch = _claim_batch(notification, size=settings.PUSH_BATCH_SIZE, now=now)
        if not batch:
            if not notification.expanded:
                time.sleep(0.2)  # another drain holds the expansion lock; its rows will appear
                continue
            if finish_if_complete(notification, now=now):
                return DrainResult(Outcome.DONE, sent)
            return _wait_for_next_ready(notification, sent, now=now)
        sendable = [d for d in batch if d.is_active and d.push_token]
        sendable_ids = {d.pk for d in sendable}
        unreachable = [d.pk for d in batch if d.pk not in sendable_ids]
        if unreachable:  # push switched off or deactivated since expansion: inbox only
            Delivery.objects.filter(id__in=unreachable).update(
                status=DeliveryStatus.INBOX_ONLY, claimed_until=None
            )
        if sendable:
            sent += _send(notification, sendable, transport)
        if notification.status != NotificationStatus.SENDING:
            return DrainResult(Outcome.DONE, sent)
    return DrainResult(Outcome.MORE, sent)


def _send(notification: Notification, batch: list[ClaimedDelivery], transport: Transport) -> int:
    """Sends a claimed batch in the slices the rate limit grants and records the results together
    (the circuit breaker judges the whole batch). Rows still unsent when the notification expires
    become ``expired``. Returns how many were sent.

    Without the cache the shared rate budget cannot be kept: what went out is recorded, the rest of the
    batch is handed back (pending, not claimed) and the error goes on to the drain, which stops; beat's
    resume wakes the send once the cache is back. Leaving the batch claimed instead would send its first
    slices a second time when the lease ends.
    """
    claimed_at = timezone.now()
    results: list[SendResult] = []
    sent = 0
    cache_error: Exception | None = None
    while sent < len(batch):
        try:
            granted = _rate_grant(len(batch) - sent)
        except CACHE_UNREACHABLE as error:
            logger.warning("rate limit unreachable (%s): the rest of the batch waits", type(error).__name__)
            cache_error = error
            break
        if _expired(notification):  # checked after the wait for the grant, right before sending
            break
        part = batch[sent : sent + granted]
        results += transport.send(outgoing_messages(notification, part, now=timezone.now()))
        sent += len(part)
    unsent = [d.pk for d in batch[sent:]]
    if unsent and cache_error is not None:
        Delivery.objects.filter(id__in=unsent).update(status=DeliveryStatus.PENDING, claimed_until=None)
    elif unsent:
        Delivery.objects.filter(id__in=unsent).update(status=DeliveryStatus.EXPIRED, claimed_until=None)
    if sent:
        _record_once_the_database_answers(
            notification,
            batch[:sent],
            results,
            lease_ends=claimed_at + timedelta(seconds=settings.PUSH_CLAIM_LEASE_SECONDS),
        )
    if cache_error is not None:
        raise cache_error
    return sent


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
            _send_finished(notification, NotificationStatus.EXPIRED)
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
