"""Starting sends, personal notifications for other apps, and keeping the installation table clean."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import Any
from uuid import UUID

import kombu.exceptions
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from push import registry
from push.fanout.drains import DRAINING_KEY
from push.models import (
    AudienceKind,
    AuditEntry,
    CategoryOptOut,
    Delivery,
    DeliveryStatus,
    Installation,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutageState,
    Priority,
)
from push.services.installations import installation_erase

DELIVERY_INSERT_CHUNK = 5000

logger = logging.getLogger("push.services")


def _enqueue_drains(notification_id: int, *, parallel: int | None = None) -> None:
    """Wakes the drains of a send. Runs after the outbox rows committed (``on_commit``), so a broker that
    cannot be reached must not fail the caller's request: the rows are stored, and
    ``sends_resume_stalled`` (beat, every minute) wakes the send once the broker is back."""
    from push.tasks import drain_notification

    try:
        for _ in range(parallel or settings.PUSH_DRAIN_CONCURRENCY):
            drain_notification.delay(notification_id)
    except kombu.exceptions.OperationalError as error:
        logger.warning(
            "drains of notification %s not queued (broker unreachable: %s); resume_stalled_sends wakes it",
            notification_id,
            type(error).__name__,
        )


def notification_start(*, notification: Notification) -> Notification:
    """Moves a notification to ``sending`` and wakes the drains once the transaction commits.

    The delivery rows are the outbox: they are written before any message leaves, and a lost wake-up
    is repaired by ``sends_resume_stalled``.
    """
    now = timezone.now()
    updated = Notification.objects.filter(
        pk=notification.pk, status__in=[NotificationStatus.SCHEDULED, NotificationStatus.SENDING]
    ).update(status=NotificationStatus.SENDING, started_at=now)
    if updated:
        notification.status, notification.started_at = NotificationStatus.SENDING, now
        _outage_thread_follow(notification)
        # One drain expands a small personal send; broadcasts get the configured parallelism.
        parallel = (
            1 if notification.audience_kind in (AudienceKind.INSTALLATIONS, AudienceKind.TEST) else None
        )
        transaction.on_commit(lambda: _enqueue_drains(notification.pk, parallel=parallel))
    return notification


def _outage_thread_follow(notification: Notification) -> None:
    """An outage's update decides the state of its thread when it goes out: a resolution resolves it."""
    if notification.kind == NotificationKind.OUTAGE and notification.thread_id:
        resolved = notification.outage_state == OutageState.RESOLVED
        Notification.objects.filter(pk=notification.thread_id).update(
            outage_state=OutageState.RESOLVED if resolved else OutageState.ONGOING
        )


def notifications_start_due() -> list[int]:
    """Starts scheduled notifications whose time has come (run by beat every 20 seconds)."""
    due = list(
        Notification.objects.filter(status=NotificationStatus.SCHEDULED)
        .filter(Q(send_at__isnull=True) | Q(send_at__lte=timezone.now()))
        .values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            notification = Notification.objects.select_for_update().get(pk=pk)
            if notification.status == NotificationStatus.SCHEDULED:
                notification_start(notification=notification)
                AuditEntry.objects.create(
                    notification=notification,
                    actor=None,
                    action="sending_started",
                    changes={"status": [NotificationStatus.SCHEDULED, NotificationStatus.SENDING]},
                )
    return due


def sends_resume_stalled() -> int:
    """Wakes drains for sends that have work but maybe no task (lost message, killed worker)."""
    now = timezone.now()
    sending = Notification.objects.filter(status=NotificationStatus.SENDING)
    stalled = [
        n.pk
        for n in sending.only("pk", "expanded")
        # A drain working on it refreshes this key; resuming then would only pile up tasks.
        if cache.get(f"{DRAINING_KEY}{n.pk}") is None and _has_work(n, now=now)
    ]
    for pk in stalled:
        _enqueue_drains(pk)
    return len(stalled)


def _has_work(notification: Notification, *, now: Any) -> bool:
    if not notification.expanded:
        return True
    rows = Delivery.objects.filter(notification_id=notification.pk)
    ready = rows.filter(
        Q(status=DeliveryStatus.PENDING, not_before__isnull=True)
        | Q(status=DeliveryStatus.PENDING, not_before__lte=now)
        | Q(status=DeliveryStatus.CLAIMED, claimed_until__lt=now)
    )
    # Nothing open at all: a drain must still close the send (sent / partly failed).
    return (
        ready.exists()
        or not rows.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.CLAIMED]).exists()
    )


# --- Personal notifications for other apps


@dataclass(frozen=True)
class PersonalMessage:
    """One installation's text (``{"de": {"title", "body"}, "en": {...}}``) and data of a personal send."""

    installation_id: UUID
    content: dict[str, dict[str, str]]
    data: dict[str, str] = field(default_factory=dict)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@transaction.atomic
def notify_each(
    *,
    messages: Iterable[PersonalMessage],
    category: str,
    deep_link: str = "",
    data: dict[str, str] | None = None,
    expires_at: Any = None,
    priority: str = Priority.NORMAL,
) -> Notification:
    """Sends each installation its own text, as one personal notification with one delivery each.

    Installations that opted out of ``category`` are skipped; those without push get the message in
    their inbox only. Streams ``messages`` in chunks, so a million reminders never sit in memory.
    """
    from push.validation import validate_content

    if not registry.category_is_registered(category):
        # Opt-outs are per registered category; an unregistered one could not be muted by anyone.
        raise ValueError(
            f"unknown personal notification category {category!r}: register it in AppConfig.ready()"
        )
    notification = Notification.objects.create(
        kind=NotificationKind.PERSONAL,
        category=category,
        content={},
        deep_link=deep_link,
        data=data or {},
        audience_kind=AudienceKind.INSTALLATIONS,
        priority=priority,
        expires_at=expires_at,
        status=NotificationStatus.SCHEDULED,
        expanded=True,
    )
    for chunk in _chunks(messages, DELIVERY_INSERT_CHUNK):
        # Texts are checked once per chunk however many messages share them (the title, a type's name).
        checked: set[str] = set()
        for message in chunk:
            validate_content(message.content, checked=checked)
        if connection.vendor == "postgresql":
            _deliveries_insert_set_based(notification=notification, chunk=chunk, category=category)
        else:
            _deliveries_insert(notification=notification, chunk=chunk, category=category)
    return notification_start(notification=notification)


def _deliveries_insert(*, notification: Notification, chunk: list[PersonalMessage], category: str) -> None:
    """One delivery per message: pending if the installation can get a push, else inbox only; none for
    an installation that muted ``category``."""
    ids = [m.installation_id for m in chunk]
    muted = set(
        CategoryOptOut.objects.filter(installation_id__in=ids, category=category).values_list(
            "installation_id", flat=True
        )
    )
    reachable = set(
        Installation.objects.filter(pk__in=ids, is_active=True, push_token__isnull=False).values_list(
            "pk", flat=True
        )
    )
    rows = [
        Delivery(
            notification=notification,
            installation_id=message.installation_id,
            content=message.content,
            data=message.data or None,
            status=DeliveryStatus.PENDING
            if message.installation_id in reachable
            else DeliveryStatus.INBOX_ONLY,
        )
        for message in chunk
        if message.installation_id not in muted
    ]
    Delivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def _deliveries_insert_set_based(
    *, notification: Notification, chunk: list[PersonalMessage], category: str
) -> None:
    """``_deliveries_insert`` as one statement on PostgreSQL: the chunk travels as one JSON document and
    the opt-outs and reachability are joined in the database. (Rows of parameters, or arrays of texts,
    are quoted value by value in Python: that cost more than the reminder night's everything else.)"""
    delivery = connection.ops.quote_name(Delivery._meta.db_table)
    installation = connection.ops.quote_name(Installation._meta.db_table)
    opt_out = connection.ops.quote_name(CategoryOptOut._meta.db_table)
    # "d" only when there is data: a missing key is SQL NULL, as bulk_create stores an empty one.
    rows = [
        {"i": str(m.installation_id), "c": m.content, "d": m.data}
        if m.data
        else {"i": str(m.installation_id), "c": m.content}
        for m in chunk
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {delivery} (notification_id, installation_id, status, content, data, attempts,
                                    error_code, fcm_message_id, created_at)
            SELECT %s, m.installation_id,
                   CASE WHEN i.is_active AND i.push_token IS NOT NULL THEN %s ELSE %s END,
                   m.content, m.data, 0, '', '', %s
            FROM (
                SELECT (row ->> 'i')::uuid AS installation_id, row -> 'c' AS content, row -> 'd' AS data,
                       position
                FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS rows (row, position)
            ) AS m
            LEFT JOIN {installation} i ON i.id = m.installation_id
            WHERE NOT EXISTS (
                SELECT 1 FROM {opt_out} o WHERE o.installation_id = m.installation_id AND o.category = %s
            )
            ORDER BY m.position
            ON CONFLICT (notification_id, installation_id) DO NOTHING
            """,  # noqa: S608 (table names from the models' meta)
            [
                notification.pk,
                DeliveryStatus.PENDING.value,
                DeliveryStatus.INBOX_ONLY.value,
                timezone.now(),
                json.dumps(rows),
                category,
            ],
        )


def notify_installations(
    *,
    installations: Iterable[Installation | UUID],
    content: dict[str, dict[str, str]],
    category: str,
    kind: str = NotificationKind.PERSONAL,
    deep_link: str = "",
    data: dict[str, str] | None = None,
) -> Notification:
    """The same personal message to a few installations (e.g. the reporter of a report)."""
    if kind != NotificationKind.PERSONAL:
        raise ValueError("other apps send personal notifications only")
    ids = [i.pk if isinstance(i, Installation) else i for i in installations]
    return notify_each(
        messages=(PersonalMessage(installation_id=pk, content=content) for pk in ids),
        category=category,
        deep_link=deep_link,
        data=data,
    )


# --- Token hygiene


def installations_mark_stale_and_purge(*, now: Any = None) -> dict[str, int]:
    """Unseen for ``PUSH_STALE_AFTER_DAYS``: marked stale, skipped by broadcasts until seen again.
    Unseen for ``PUSH_PURGE_AFTER_DAYS``: erased with everything linked to it."""
    now = now or timezone.now()
    stale = Installation.objects.filter(
        is_stale=False, last_seen_at__lt=now - timedelta(days=settings.PUSH_STALE_AFTER_DAYS)
    ).update(is_stale=True)
    purged = 0
    cutoff = now - timedelta(days=settings.PUSH_PURGE_AFTER_DAYS)
    while ids := list(
        Installation.objects.filter(last_seen_at__lt=cutoff).values_list("pk", flat=True)[:500]
    ):
        for installation in Installation.objects.filter(pk__in=ids):
            installation_erase(installation=installation)
            purged += 1
    return {"stale": stale, "purged": purged}
