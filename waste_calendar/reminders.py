"""Waste reminders: an installation's subscriptions, the pushes at each reminder time and change pushes.

Guarantees:
- At most one reminder per installation, location and collection day: before a reminder is handed to push,
  a ``ReminderSend`` row is inserted with ``ON CONFLICT DO NOTHING … RETURNING`` in the same transaction as
  the push's delivery rows. A second run (twice, or concurrently) inserts nothing and sends nothing; if the
  hand-over fails, the claim is rolled back with it and the next run sends.
- One push per installation and reminder time, however many of its addresses and types are due then:
  "Morgen: Bioabfall, Papier (Zuhause) · Restabfall (Wiesenstraße 3)" (the user's label of an address, else
  the address), in German and English; push shows the installation's language.
- Reminder times are Europe/Berlin wall-clock times each subscription chooses: 16:00-22:00 the day before
  or 05:00-08:00 on the day, in 15-minute steps, also on the days the clocks change.
- A change push goes out once per ``CollectionChange`` in the next 7 days (``notified_at`` is set in the
  same transaction as the push is handed over).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casapp.errors import Conflict, DomainError
from casapp.metrics import gauge_set
from push.models import Installation
from push.services import PersonalMessage, notify_each
from waste_calendar.feed import location_label, waste_type_name
from waste_calendar.lookup import data_generation, location_resolve
from waste_calendar.models import (
    REMINDER_DEFAULT_TIMES,
    REMINDER_TIME_STEP_MINUTES,
    REMINDER_WINDOWS,
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    Location,
    LocationDistrict,
    ReminderRun,
    ReminderSend,
    ReminderSubscription,
    ReminderTime,
    WasteType,
    reminder_times,
)
from waste_calendar.normalise import house_number_parts

REMINDER_CATEGORY = "waste_reminder"
DEEP_LINK = "casapp://waste"
LANGUAGES = ("de", "en")
MAX_SUBSCRIPTIONS_PER_INSTALLATION = 10
# Reminders handed to push per transaction (one personal notification each): drains start on the first
# batch while the next is being claimed.
SEND_BATCH = 5_000
CHANGE_WINDOW_DAYS = 7
MAX_CHANGE_BODY = 1000  # push's limit of a text


@dataclass(frozen=True)
class Slot:
    """A reminder time: the local wall-clock time, how many days before the collection, and until when a
    late run (worker down at 18:00) still sends."""

    remind_at: str
    at: dt.time
    days_before: int
    until: dt.time


# Per day: how many days before the collection, and until when a late run still sends.
_DAYS: dict[str, tuple[int, dt.time]] = {
    ReminderTime.EVENING_BEFORE: (1, dt.time(23, 59, 59)),
    ReminderTime.MORNING_OF: (0, dt.time(11, 59, 59)),
}
SLOTS = tuple(
    Slot(remind_at, at, days_before, until)
    for remind_at, (days_before, until) in _DAYS.items()
    for at in reminder_times(remind_at)
)


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


# --- Texts


@dataclass(frozen=True)
class _ReminderTexts:
    """A language's texts of one reminder time, translated once per run, not once per message."""

    title: str
    headline: str  # "Morgen: %(collections)s"
    part: str  # "%(types)s (%(address)s)"


def _reminder_texts(remind_at: str) -> dict[str, _ReminderTexts]:
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            if remind_at == ReminderTime.MORNING_OF:
                headline = _("Today: %(collections)s")
            else:
                headline = _("Tomorrow: %(collections)s")
            texts[language] = _ReminderTexts(
                title=_("Waste calendar"), headline=headline, part=_("%(types)s (%(address)s)")
            )
    return texts


def _reminder_content(
    *, texts: dict[str, _ReminderTexts], parts: list[tuple[dict[str, str], str]]
) -> dict[str, dict[str, str]]:
    """One text for every address due at one time: "Morgen: Bioabfall, Papier (Zuhause) · Restabfall
    (Wiesenstraße 3)". ``parts``: per address its type names joined, per language, and its label."""
    content = {}
    for language, text in texts.items():
        collections = " · ".join(
            text.part % {"types": names[language], "address": label} for names, label in parts
        )
        body = text.headline % {"collections": collections}
        content[language] = {"title": text.title, "body": body[:MAX_CHANGE_BODY]}
    return content


# --- Reminder times


def due_slots(now: dt.datetime) -> list[tuple[Slot, dt.date]]:
    """The slots whose time has come and not yet passed, each with the collection day it reminds of."""
    local = timezone.localtime(now)
    due = []
    for slot in SLOTS:
        if slot.at <= local.time() <= slot.until:
            due.append((slot, local.date() + dt.timedelta(days=slot.days_before)))
    return due


def slot_due_at(slot: Slot, day: dt.date) -> dt.datetime:
    """When the reminders of ``slot`` for the collections on ``day`` are due (aware, Europe/Berlin)."""
    local_day = day - dt.timedelta(days=slot.days_before)
    return timezone.make_aware(dt.datetime.combine(local_day, slot.at), timezone.get_default_timezone())


def collected_types_by_location(day: dt.date) -> dict[int, set[str]]:
    """For each location the waste types collected on ``day`` (cancelled collections excluded).

    Every reminder time of an evening asks for the same day: a process keeps the answer while the day's
    collections (ids, status, last change) and the data generation are those it was built from, so the
    night's cost does not grow with the number of times people chose.
    """
    collections = list(
        Collection.objects.filter(date=day)
        .exclude(status=CollectionStatus.CANCELLED)
        .order_by("pk")
        .values_list("pk", "updated_at", "district_id", "district__waste_type__key")
    )
    fingerprint = (day, data_generation(), tuple((pk, stamp) for pk, stamp, _d, _k in collections))
    if _collected_memo and _collected_memo[0][0] == fingerprint:
        return _collected_memo[0][1]
    district_types = {district_id: key for _pk, _stamp, district_id, key in collections}
    by_location: dict[int, set[str]] = defaultdict(set)
    if district_types:
        assignments = (
            LocationDistrict.objects.filter(district_id__in=list(district_types), valid_from__lte=day)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
            .values_list("location_id", "district_id")
        )
        for location_id, district_id in assignments.iterator(chunk_size=10_000):
            by_location[location_id].add(district_types[district_id])
    _collected_memo[:] = [(fingerprint, by_location)]
    return by_location


_collected_memo: list[tuple[object, dict[int, set[str]]]] = []


def _type_names() -> dict[str, tuple[int, str, dict[str, str]]]:
    return {
        t.key: (t.position, t.key, {lang: waste_type_name(t, lang) for lang in LANGUAGES})
        for t in WasteType.objects.all()
    }


def reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Sends the reminders of every time that is due now; returns how many messages were handed to push
    (one per installation and time, however many of its addresses it names)."""
    now = now or timezone.now()
    sent = 0
    for slot, day in due_slots(now):
        sent += _slot_send(slot=slot, day=day, now=now)
    ReminderSend.objects.filter(collection_day__lt=timezone.localdate(now) - dt.timedelta(days=2)).delete()
    return sent


def _slot_run(slot: Slot, day: dt.date, now: dt.datetime) -> tuple[ReminderRun, dt.datetime | None]:
    """The run record of a slot and, if the slot was worked through before, since when to look again."""
    key = {"remind_at": slot.remind_at, "remind_time": slot.at, "collection_day": day}
    try:
        with transaction.atomic():
            run, created = ReminderRun.objects.get_or_create(**key, defaults={"started_at": now})
    except IntegrityError:  # a concurrent run created it first
        run, created = ReminderRun.objects.get(**key), False
    if created or run.finished_at is None:
        return run, None
    return run, run.started_at


def _slot_send(*, slot: Slot, day: dt.date, now: dt.datetime) -> int:
    began = time.monotonic()
    run, changed_since = _slot_run(slot, day, now)
    # Worked through before: the next look starts from this run (only later changes can still be due).
    started = now if changed_since is not None else run.started_at
    # By installation: its addresses due at this time are neighbours in the stream and go out as one push.
    subscriptions = ReminderSubscription.objects.filter(
        remind_at=slot.remind_at, remind_time=slot.at
    ).order_by("installation_id", "pk")
    if changed_since is not None:
        subscriptions = subscriptions.filter(updated_at__gte=changed_since)
    # The minutely runs after the slot's first: usually nothing changed, and one indexed query says so.
    candidates = changed_since is None or subscriptions.exists()
    collected = collected_types_by_location(day) if candidates else {}
    sent = 0
    if collected:
        type_info = _type_names()
        texts = _reminder_texts(slot.remind_at)
        rows = subscriptions.values_list(
            "installation_id",
            "location_id",
            "waste_types",
            "house_number",
            "label",
            "location__street__name",
            "location__house_number",
            "location__public_id",
        )
        batch: list[_Due] = []
        for installation_id, location_id, wanted_keys, number, label, street, own, public_id in rows.iterator(
            chunk_size=5000
        ):
            wanted = collected.get(location_id)
            if not wanted:
                continue
            keys = [key for key in wanted_keys if key in wanted]
            if not keys:
                continue
            # A batch ends between installations, never inside one.
            if len(batch) >= SEND_BATCH and batch[-1].installation_id != installation_id:
                sent += _send_batch(batch, day=day, now=now, type_info=type_info, texts=texts)
                batch = []
            shown = label or f"{street} {number or own}".strip()
            batch.append(_Due(installation_id, location_id, tuple(keys), shown, public_id))
        if batch:
            sent += _send_batch(batch, day=day, now=now, type_info=type_info, texts=texts)
    finished = timezone.now()
    ReminderRun.objects.filter(pk=run.pk).update(
        started_at=started, finished_at=finished, sent=run.sent + sent
    )
    if changed_since is None and sent:
        # The first pass of a time that had reminders: how late after the due time they were out. Times
        # nobody chose (or with nothing due) leave the figure of the last time that had some.
        late = (now - slot_due_at(slot, day)).total_seconds() + time.monotonic() - began
        gauge_set("waste_reminder_lag", late, label=slot.remind_at)
    return sent


@dataclass(frozen=True, slots=True)
class _Due:
    installation_id: uuid.UUID
    location_id: int
    type_keys: tuple[str, ...]
    label: str  # the user's label of the address, else the address
    location_public_id: str


def _claim(batch: list[_Due], *, day: dt.date, now: dt.datetime) -> set[tuple[uuid.UUID, int]]:
    """Inserts the batch's claims in one statement; returns those this call inserted (a row that exists is
    someone else's)."""
    table = connection.ops.quote_name(ReminderSend._meta.db_table)
    columns = "installation_id, location_id, collection_day, created_at"
    conflict = "ON CONFLICT (installation_id, location_id, collection_day) DO NOTHING"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two arrays instead of four parameters per row: quoting them one by one cost more than the
            # insert.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 (the table name from the model's meta)
                "SELECT claim.installation_id, claim.location_id, %s, %s "
                "FROM unnest(%s::uuid[], %s::bigint[]) AS claim (installation_id, location_id) "
                f"{conflict} RETURNING installation_id, location_id",
                [
                    day,
                    now,
                    [due.installation_id for due in batch],
                    [due.location_id for due in batch],
                ],
            )
            return set(cursor.fetchall())
        # SQLite (the embedded default): rows of parameters, within its limit of parameters per statement.
        installation_field = ReminderSend._meta.get_field("installation").target_field
        day_value = connection.ops.adapt_datefield_value(day)
        now_value = connection.ops.adapt_datetimefield_value(now)
        claimed: set[tuple[uuid.UUID, int]] = set()
        for start in range(0, len(batch), 1000):
            chunk = batch[start : start + 1000]
            params: list[Any] = []
            for due in chunk:
                params += [
                    installation_field.get_db_prep_value(due.installation_id, connection),
                    due.location_id,
                    day_value,
                    now_value,
                ]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} {conflict} "  # noqa: S608
                "RETURNING installation_id, location_id",
                params,
            )
            claimed.update((uuid.UUID(str(i)), int(loc)) for i, loc in cursor.fetchall())
        return claimed


def _send_batch(
    batch: list[_Due],
    *,
    day: dt.date,
    now: dt.datetime,
    type_info: dict[str, tuple[int, str, dict[str, str]]],
    texts: dict[str, _ReminderTexts],
) -> int:
    """Claims the batch's reminders and hands one message per installation to push; returns how many."""
    # A batch names few combinations of types: their names are joined once per language, not per message.
    names: dict[tuple[str, ...], dict[str, str]] = {}

    def names_of(type_keys: tuple[str, ...]) -> dict[str, str]:
        if type_keys not in names:
            ordered = sorted(type_keys, key=lambda k: type_info[k][:2])
            names[type_keys] = {lang: ", ".join(type_info[k][2][lang] for k in ordered) for lang in LANGUAGES}
        return names[type_keys]

    def message_of(dues: list[_Due]) -> PersonalMessage:
        parts = [(names_of(due.type_keys), due.label) for due in dues]
        data = {"type": "waste_reminder", "location": dues[0].location_public_id, "date": day.isoformat()}
        if len(dues) > 1:
            data["locations"] = ",".join(due.location_public_id for due in dues)
        return PersonalMessage(
            installation_id=dues[0].installation_id,
            content=_reminder_content(texts=texts, parts=parts),
            data=data,
        )

    def messages(claimed: set[tuple[uuid.UUID, int]]) -> Iterator[PersonalMessage]:
        group: list[_Due] = []
        for due in batch:
            if (due.installation_id, due.location_id) not in claimed:
                continue
            if group and group[0].installation_id != due.installation_id:
                yield message_of(group)
                group = []
            group.append(due)
        if group:
            yield message_of(group)

    with transaction.atomic():
        claimed = _claim(batch, day=day, now=now)
        if not claimed:
            return 0
        handed_over = list(messages(claimed))
        _notify_in_rounds(handed_over)
    return len(handed_over)


def _notify_in_rounds(messages: Iterable[PersonalMessage]) -> None:
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


# --- Change pushes


def _change_content(changes: list[CollectionChange], *, label: str) -> dict[str, dict[str, str]]:
    """One text for all changes at one location: "Papier: verschoben vom 02.12. auf den 03.12.; Restabfall
    am 04.12. entfällt — Bahnhofstraße 12"."""
    content = {}
    for language in LANGUAGES:
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
            content[language] = {"title": _("Waste collection changed"), "body": body[:MAX_CHANGE_BODY]}
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
        _notify_in_rounds(messages)
        sent = len(messages)
    # More than one chunk of changes: take the next.
    return sent + (collection_changes_notify(now=now) if len(pending) == 5000 else 0)
