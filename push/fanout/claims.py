"""Claiming a batch of ready delivery rows for one drain.

A worker claims up to ``PUSH_BATCH_SIZE`` ready rows with a lease (``SKIP LOCKED`` on PostgreSQL, so
parallel drains never share a row). A worker killed mid-batch leaves rows claimed; when the lease runs
out they are claimed again. So nothing is lost and at most the batch in flight is sent twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from push.models import Delivery, DeliveryStatus, Installation, Notification


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


# PostgreSQL claims in one statement: lock the ready rows (SKIP LOCKED), mark them claimed and return
# them with their installation's token. The ORM path below takes five round trips (BEGIN, SELECT FOR
# UPDATE, UPDATE, COMMIT, SELECT with the join) and builds two IN lists of 500 ids; this is one.
_CLAIM_SQL = """
WITH picked AS (
    SELECT id FROM {delivery} WHERE notification_id = %s AND {condition}
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {delivery} AS d SET status = %s, claimed_until = %s, attempts = d.attempts + 1
    FROM picked WHERE d.id = picked.id
    RETURNING d.id, d.attempts, d.content, d.data, d.installation_id
)
SELECT claimed.id, claimed.attempts, claimed.content, claimed.data, claimed.installation_id,
       i.push_token, i.push_token_kind, i.locale, i.is_active
FROM claimed JOIN {installation} AS i ON i.id = claimed.installation_id
ORDER BY claimed.id
"""
# Two index range scans instead of one OR, which made PostgreSQL read and sort every ready row (141 ms
# per claim at a million rows, 83 ms for pending alone). Rows of a dead worker wait for the pending ones
# to run low; they are claimed in the same send, never lost.
_READY = "status = %s AND (not_before IS NULL OR not_before <= %s)"
_LEASE_EXPIRED = "status = %s AND claimed_until < %s"


def claim_batch(notification: Notification, *, size: int, now: datetime) -> list[ClaimedDelivery]:
    """Claims up to ``size`` rows that are ready (pending, due) or whose lease ran out, in id order,
    with a lease of ``PUSH_CLAIM_LEASE_SECONDS``; each claim counts as an attempt."""
    lease = now + timedelta(seconds=settings.PUSH_CLAIM_LEASE_SECONDS)
    if connection.vendor != "postgresql":
        return _claim_batch_orm(notification, size=size, now=now, lease=lease)
    claimed = _claim_where(notification.pk, _READY, DeliveryStatus.PENDING, size=size, now=now, lease=lease)
    if len(claimed) < size:
        claimed += _claim_where(
            notification.pk,
            _LEASE_EXPIRED,
            DeliveryStatus.CLAIMED,
            size=size - len(claimed),
            now=now,
            lease=lease,
        )
    return claimed


def _claim_where(
    notification_id: int, condition: str, status: str, size: int, *, now: datetime, lease: datetime
) -> list[ClaimedDelivery]:
    sql = _CLAIM_SQL.format(
        delivery=connection.ops.quote_name(Delivery._meta.db_table),
        installation=connection.ops.quote_name(Installation._meta.db_table),
        condition=condition,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [notification_id, status, now, size, DeliveryStatus.CLAIMED.value, lease])
        rows = cursor.fetchall()
    return [
        ClaimedDelivery(
            pk,
            attempts,
            _json(content),
            _json(data),
            installation_id,
            token,
            token_kind,
            locale,
            is_active,
        )
        for pk, attempts, content, data, installation_id, token, token_kind, locale, is_active in rows
    ]


def _json(value: Any) -> Any:
    """A jsonb column as the JSONField decodes it (Django loads jsonb as text)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _claim_batch_orm(
    notification: Notification, *, size: int, now: datetime, lease: datetime
) -> list[ClaimedDelivery]:
    """SQLite (the embedded tier, one process): the same claim through the ORM."""
    ready = Q(status=DeliveryStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    lease_expired = Q(status=DeliveryStatus.CLAIMED, claimed_until__lt=now)
    rows = Delivery.objects.filter(notification_id=notification.pk)
    with transaction.atomic():
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
            claimed_until=lease,
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


def release_batch(ids: list[int]) -> None:
    """Hands claimed rows back unsent (sending paused after they were claimed): pending again, and the
    claim's attempt given back."""
    Delivery.objects.filter(id__in=ids, status=DeliveryStatus.CLAIMED).update(
        status=DeliveryStatus.PENDING, claimed_until=None, attempts=F("attempts") - 1
    )
