"""Change pushes: a moved or cancelled collection in the next 7 days, told once to the installations
subscribed to its locations.

Guarantees: a push goes out once per ``CollectionChange`` (``notified_at`` is set in the same transaction as
the push is handed over); one push per installation and location, however many of its collections changed.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casapp.languages import content_languages
from push.services import PersonalMessage
from waste_calendar.feed import location_label, waste_type_name
from waste_calendar.models import (
    ChangeKind,
    CollectionChange,
    LocationDistrict,
    ReminderSubscription,
)
from waste_calendar.reminders import MAX_PUSH_BODY, notify_in_rounds

CHANGE_WINDOW_DAYS = 7


def _change_content(changes: list[CollectionChange], *, label: str) -> dict[str, dict[str, str]]:
    """One text for all changes at one location: "Papier: verschoben vom 02.12. auf den 03.12.; Restabfall
    am 04.12. entfällt — Bahnhofstraße 12"."""
    content = {}
    for language in content_languages():
        with translation.override(language):
            parts = []
            for change in sorted(changes, key=lambda c: (c.previous_date or c.date, c.date)):
                values = {
                    "type": waste_type_name(change.district.waste_type, language),
                    "date": change.date.strftime("%d.%m."),
                    "previous": change.previous_date.strftime("%d.%m.") if change.previous_date else "",
                }
                if change.kind == ChangeKind.CANCELLED:
                    parts.append(_("%(type)s on %(date)s is cancelled") % values)
                else:
                    parts.append(_("%(type)s moves from %(previous)s to %(date)s") % values)
            body = "; ".join(parts) + " — " + label
            content[language] = {"title": _("Waste collection changed"), "body": body[:MAX_PUSH_BODY]}
    return content


def collection_changes_notify(*, now: dt.datetime | None = None) -> int:
    """Tells subscribed installations of moved or cancelled collections in the next 7 days, once each.

    Changes are claimed with ``notified_at`` in the same transaction as the push is handed over (locked
    rows are skipped, so two runs never take the same change). Changes of other days are marked without
    a push: they are not news for a reminder. Returns the number of messages handed to push.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    horizon = today + dt.timedelta(days=CHANGE_WINDOW_DAYS)
    sent = 0
    with transaction.atomic():
        pending = list(
            CollectionChange.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(notified_at__isnull=True)
            .select_related("district__waste_type")
            .order_by("pk")[:5000]
        )
        if not pending:
            return 0
        CollectionChange.objects.filter(pk__in=[c.pk for c in pending]).update(notified_at=now)

        def relevant(change: CollectionChange) -> bool:
            if change.kind not in (ChangeKind.MOVED, ChangeKind.CANCELLED):
                return False
            days = [d for d in (change.date, change.previous_date) if d is not None]
            return any(today <= d <= horizon for d in days)

        # One push per installation and location, however many of its collections changed.
        grouped: dict[tuple[uuid.UUID, int], tuple[ReminderSubscription, list[CollectionChange]]] = {}
        for change in filter(relevant, pending):
            key = change.district.waste_type.key
            on_day = change.previous_date or change.date
            location_ids = (
                LocationDistrict.objects.filter(district_id=change.district_id, valid_from__lte=on_day)
                .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on_day))
                .values("location_id")
            )
            subscriptions = ReminderSubscription.objects.filter(location_id__in=location_ids).select_related(
                "location__street"
            )
            for subscription in subscriptions.iterator(chunk_size=2000):
                if key not in subscription.waste_types:
                    continue
                target = (subscription.installation_id, subscription.location_id)
                grouped.setdefault(target, (subscription, []))[1].append(change)
        messages = [
            PersonalMessage(
                installation_id=subscription.installation_id,
                content=_change_content(
                    changes,
                    label=subscription.label
                    or location_label(subscription.location, subscription.house_number),
                ),
                data={
                    "type": "waste_change",
                    "location": subscription.location.public_id,
                    "date": min(c.date for c in changes).isoformat(),
                },
            )
            for subscription, changes in grouped.values()
        ]
        notify_in_rounds(messages)
        sent = len(messages)
    # More than one chunk of changes: take the next.
    return sent + (collection_changes_notify(now=now) if len(pending) == 5000 else 0)
