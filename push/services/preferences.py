"""Writes an installation makes about what it receives: topics, muted categories, Stadtteil, read marks."""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.city import STADTTEILE
from casapp.errors import DomainError, NotFound
from push import registry, selectors
from push.models import CategoryOptOut, Delivery, DeliveryStatus, Installation, Topic


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


@transaction.atomic
def preferences_update(
    *,
    installation: Installation,
    topics: Collection[str] | None = None,
    muted_categories: Collection[str] | None = None,
    stadtteil: str | _Unset | None = UNSET,
) -> selectors.Preferences:
    """Replaces what is given and leaves the rest, all in one transaction or nothing at all.

    ``topics`` and ``muted_categories`` replace the whole set; every key must exist (a topic in the
    database, a category in the registry) or nothing changes. ``stadtteil=None`` clears it.
    """
    # Serialises two concurrent changes of one installation (the M2M diff would otherwise race).
    Installation.objects.select_for_update().filter(pk=installation.pk).values_list("pk").first()

    chosen_topics: list[Topic] | None = None
    if topics is not None:
        chosen_topics = list(Topic.objects.filter(key__in=set(topics)))
        unknown = sorted(set(topics) - {topic.key for topic in chosen_topics})
        if unknown:
            raise DomainError(
                _("Unknown topics: %(keys)s.") % {"keys": ", ".join(unknown)},
                code="unknown_topic",
                field="topics",
            )
    if muted_categories is not None:
        unknown = sorted(key for key in set(muted_categories) if not registry.category_is_registered(key))
        if unknown:
            raise DomainError(
                _("Unknown notification categories: %(keys)s.") % {"keys": ", ".join(unknown)},
                code="unknown_category",
                field="muted_categories",
            )
    if isinstance(stadtteil, str) and stadtteil not in STADTTEILE:
        raise DomainError(_("Unknown Stadtteil."), code="unknown_stadtteil", field="stadtteil")

    if chosen_topics is not None:
        installation.topics.set(chosen_topics)
    if muted_categories is not None:
        muted = set(muted_categories)
        installation.opt_outs.exclude(category__in=muted).delete()
        CategoryOptOut.objects.bulk_create(
            [CategoryOptOut(installation=installation, category=key) for key in sorted(muted)],
            ignore_conflicts=True,
        )
    if not isinstance(stadtteil, _Unset):
        installation.stadtteil = stadtteil or ""
        installation.save(update_fields=["stadtteil", "updated_at"])
    return selectors.installation_preferences(installation=installation)


def _open(*, installation: Installation, notification_id: int) -> None:
    """Sets ``opened_at`` on the installation's delivery row, creating an ``inbox_only`` row for a notice
    it was never pushed (not subscribed, push off). The first open time stays."""
    now = timezone.now()
    # get_or_create retries as a get when a concurrent read of the same notice inserted the row first.
    _, created = Delivery.objects.get_or_create(
        notification_id=notification_id,
        installation=installation,
        defaults={"status": DeliveryStatus.INBOX_ONLY, "opened_at": now},
    )
    if not created:
        Delivery.objects.filter(
            notification_id=notification_id, installation=installation, opened_at__isnull=True
        ).update(opened_at=now)


def inbox_mark_read(*, installation: Installation, notification_id: int) -> None:
    """Marks one inbox item read: the installation opened it, which the statistics count as an open.

    Idempotent; the first open time stays. Raises ``NotFound`` for anything that is not in this
    installation's inbox (another installation's personal notification, a draft, a test send).
    """
    notification = selectors.inbox_notification(installation=installation, notification_id=notification_id)
    if notification is None:
        raise NotFound(_("No such inbox item."))
    _open(installation=installation, notification_id=notification.pk)


@transaction.atomic
def inbox_mark_all_read(*, installation: Installation) -> int:
    """Marks every item now in the installation's inbox read (not older posts folded into an outage
    thread, which it never saw as items); returns how many were unread. Idempotent."""
    now = timezone.now()
    inbox = selectors.inbox_queryset(installation=installation, now=now)
    marked = Delivery.objects.filter(
        installation=installation, notification_id__in=inbox.values("pk"), opened_at__isnull=True
    ).update(opened_at=now)
    never_pushed = inbox.exclude(
        pk__in=Delivery.objects.filter(installation=installation).values("notification_id")
    ).values_list("pk", flat=True)
    # Rows that only hold the read mark, as inbox_mark_read creates them one by one.
    new_rows = [
        Delivery(
            notification_id=pk, installation=installation, status=DeliveryStatus.INBOX_ONLY, opened_at=now
        )
        for pk in never_pushed
    ]
    Delivery.objects.bulk_create(new_rows, batch_size=1000, ignore_conflicts=True)
    return marked + len(new_rows)
