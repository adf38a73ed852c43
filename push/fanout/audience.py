"""Who a broadcast goes to, and writing that audience into the outbox as delivery rows.

Every targeted installation gets a delivery row (unique per notification), written in chunks that
stream over the audience by primary key; progress is stored, so a killed worker resumes where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from push.models import (
    MAX_TEST_DEVICES,
    AudienceKind,
    Delivery,
    DeliveryStatus,
    Installation,
    Notification,
    StaffDevice,
    Topic,
)

EXPANSION_CHUNK = 5000


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
