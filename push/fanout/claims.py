"""Claiming a batch of ready delivery rows for one drain.

A worker claims up to ``PUSH_BATCH_SIZE`` ready rows with a lease (``SKIP LOCKED`` on PostgreSQL, so
parallel drains never share a row). A worker killed mid-batch leaves rows claimed; when the lease runs
out they are claimed again. So nothing is lost and at most the batch in flight is sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from push.models import Delivery, DeliveryStatus, Notification


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


def claim_batch(notification: Notification, *, size: int, now: datetime) -> list[ClaimedDelivery]:
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
