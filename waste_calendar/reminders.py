"""Waste reminders: an installation's subscriptions (one per location, a time of its choice).

The pushes themselves: ``reminder_night`` (the reminders at each time) and ``collection_changes`` (moved
and cancelled collections).

Guarantees:
- One subscription per installation and location, at most ``MAX_SUBSCRIPTIONS_PER_INSTALLATION``.
- Reminder times are Europe/Berlin wall-clock times each subscription chooses: 16:00-22:00 the day before
  or 05:00-08:00 on the day, in 15-minute steps, also on the days the clocks change.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from casapp.errors import Conflict, DomainError
from push.models import Installation
from push.services import PersonalMessage, notify_each
from waste_calendar.lookup import location_resolve
from waste_calendar.models import (
    REMINDER_DEFAULT_TIMES,
    REMINDER_TIME_STEP_MINUTES,
    REMINDER_WINDOWS,
    Location,
    ReminderSend,
    ReminderSubscription,
    WasteType,
    reminder_times,
)
from waste_calendar.normalise import house_number_parts

REMINDER_CATEGORY = "waste_reminder"
DEEP_LINK = "casapp://waste"
MAX_SUBSCRIPTIONS_PER_INSTALLATION = 10
MAX_PUSH_BODY = 1000  # push's limit of a text


# --- Subscriptions


def _validated_types(keys: list[str]) -> list[str]:
    known = {
        t.key: t for t in WasteType.objects.filter(key__in=keys, is_active=True).order_by("position", "key")
    }
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise DomainError(
            gettext_lazy("Unknown waste type: {keys}.").format(keys=", ".join(unknown)),
            code="unknown_type",
            field="types",
        )
    return list(known)  # display order, duplicates dropped


def _validated_time(remind_at: str, remind_time: dt.time | None) -> dt.time:
    """The time of the day's window; the day's default when none is given."""
    if remind_time is None:
        return REMINDER_DEFAULT_TIMES[remind_at]
    if remind_time not in reminder_times(remind_at):
        first, last = REMINDER_WINDOWS[remind_at]
        raise DomainError(
            gettext_lazy(
                "Choose a time from %(first)s to %(last)s in steps of %(step)d minutes for this reminder."
            )
            % {"first": f"{first:%H:%M}", "last": f"{last:%H:%M}", "step": REMINDER_TIME_STEP_MINUTES},
            code="invalid_reminder_time",
            field="remind_time",
        )
    return remind_time


def _validated_house_number(location: Location, house_number: str) -> str:
    """The house number as the push shows it ("12a"), if the location holds it for its street; "" for none."""
    text = house_number.strip()
    if not text:
        return ""
    parts = house_number_parts(text)
    if parts is None or location_resolve(street=location.street, house_number=text) != location:
        raise DomainError(
            gettext_lazy("This house number does not belong to the chosen address."),
            code="unknown_house_number",
            field="house_number",
        )
    return f"{parts[0]}{parts[1]}"


def _reminder_exists(existing_id: int) -> Conflict:
    return Conflict(
        gettext_lazy("This location is already subscribed; change that subscription instead."),
        code="reminder_exists",
        extra={"existing_id": existing_id},
    )


def reminder_create(
    *,
    installation: Installation,
    location_id: str,
    types: list[str],
    remind_at: str,
    remind_time: dt.time | None = None,
    house_number: str = "",
    label: str = "",
) -> ReminderSubscription:
    """Subscribes an installation to a location's collections; one subscription per location.

    A second subscription of the same location is refused with the first one's id (``existing_id``); the
    house number must be one the location holds, the time one of the day's window.
    """
    location = Location.objects.select_related("street").filter(public_id=location_id).first()
    if location is None:
        raise DomainError(gettext_lazy("Unknown location."), code="unknown_location", field="location")
    existing = (
        ReminderSubscription.objects.filter(installation=installation, location=location)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise _reminder_exists(existing)
    waste_types = _validated_types(types)
    number = _validated_house_number(location, house_number)
    time_of_day = _validated_time(remind_at, remind_time)
    if (
        ReminderSubscription.objects.filter(installation=installation).count()
        >= MAX_SUBSCRIPTIONS_PER_INSTALLATION
    ):
        raise DomainError(
            gettext_lazy("At most %(n)d locations can be subscribed.")
            % {"n": MAX_SUBSCRIPTIONS_PER_INSTALLATION},
            code="too_many_reminders",
        )
    try:
        with transaction.atomic():
            return ReminderSubscription.objects.create(
                installation=installation,
                location=location,
                waste_types=waste_types,
                remind_at=remind_at,
                remind_time=time_of_day,
                house_number=number,
                label=label.strip(),
            )
    except IntegrityError:  # subscribed at the same moment by a concurrent request
        existing = (
            ReminderSubscription.objects.filter(installation=installation, location=location)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise
        raise _reminder_exists(existing) from None


def reminder_update(
    *,
    subscription: ReminderSubscription,
    types: list[str] | None = None,
    remind_at: str | None = None,
    remind_time: dt.time | None = None,
    house_number: str | None = None,
    label: str | None = None,
) -> ReminderSubscription:
    """Changes what is given. A new day without a time takes the day's default time unless the current
    time lies in the new day's window too (it never does: the windows do not overlap)."""
    if types is not None:
        subscription.waste_types = _validated_types(types)
    if remind_at is not None or remind_time is not None:
        day = remind_at if remind_at is not None else subscription.remind_at
        if remind_time is None and day == subscription.remind_at:
            remind_time = subscription.remind_time
        subscription.remind_time = _validated_time(day, remind_time)
        subscription.remind_at = day
    if house_number is not None:
        subscription.house_number = _validated_house_number(subscription.location, house_number)
    if label is not None:
        subscription.label = label.strip()
    subscription.save()
    return subscription


def reminder_delete(*, subscription: ReminderSubscription) -> None:
    subscription.delete()


def reminder_subscriptions_erase(*, installation: Installation) -> int:
    """Everything of the reminder side that links to an installation (its erasure)."""
    ReminderSend.objects.filter(installation=installation).delete()
    deleted, _ = ReminderSubscription.objects.filter(installation=installation).delete()
    return deleted


# --- Handing over to push


def notify_in_rounds(messages: Iterable[PersonalMessage]) -> None:
    """Hands messages to push, at most one per installation and notification.

    A personal notification holds one delivery per installation, so an installation with two subscribed
    locations gets its second message in a second notification (a "round"); most have one.
    """
    rounds: list[list[PersonalMessage]] = [[]]
    seen: list[set[uuid.UUID]] = [set()]
    for message in messages:
        level = 0
        while message.installation_id in seen[level]:
            level += 1
            if level == len(rounds):
                rounds.append([])
                seen.append(set())
        seen[level].add(message.installation_id)
        rounds[level].append(message)
    for round_messages in rounds:
        if round_messages:
            notify_each(messages=iter(round_messages), category=REMINDER_CATEGORY, deep_link=DEEP_LINK)
