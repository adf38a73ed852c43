"""The reminder night: at each reminder time, one push per installation naming its addresses due.

Guarantees:
- At most one reminder per installation, location and collection day: before a reminder is handed to push,
  a ``ReminderSend`` row is inserted with ``ON CONFLICT DO NOTHING … RETURNING`` in the same transaction as
  the push's delivery rows. A second run (twice, or concurrently) inserts nothing and sends nothing; if the
  hand-over fails, the claim is rolled back with it and the next run sends.
- One push per installation and reminder time, however many of its addresses and types are due then:
  "Morgen: Bioabfall, Papier (Zuhause) · Restabfall (Wiesenstraße 3)" (the user's label of an address, else
  the address), in German and English; push shows the installation's language.
- Each reminder time is worked through once; the minutely runs after it look only at subscriptions changed
  since (a subscription made after 18:00 for 18:00 is reminded by the next run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casapp.caching import LocalMemo
from casapp.languages import content_languages
from casapp.metrics import gauge_set
from push.services import PersonalMessage
from waste_calendar.feed import waste_type_name
from waste_calendar.lookup import data_generation
from waste_calendar.models import (
    Collection,
    CollectionStatus,
    LocationDistrict,
    ReminderRun,
    ReminderSend,
    ReminderSubscription,
    ReminderTime,
    WasteType,
    reminder_times,
)
from waste_calendar.reminders import MAX_PUSH_BODY, notify_in_rounds

# Reminders handed to push per transaction (one personal notification each): drains start on the first
# batch while the next is being claimed.
SEND_BATCH = 5_000


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


# --- Texts


@dataclass(frozen=True)
class _ReminderTexts:
    """A language's texts of one reminder time, translated once per run, not once per message."""

    title: str
    headline: str  # "Morgen: %(collections)s"
    part: str  # "%(types)s (%(address)s)"


def _reminder_texts(remind_at: str) -> dict[str, _ReminderTexts]:
    texts = {}
    for language in content_languages():
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
        content[language] = {"title": text.title, "body": body[:MAX_PUSH_BODY]}
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


def collected_types_by_location(day: dt.date) -> dict[int, frozenset[str]]:
    """For each location the waste types collected on ``day`` (cancelled collections excluded).

    Every reminder time of an evening asks for the same day: a process keeps the answer while the day's
    collections (ids, status, last change) and the data generation are those it was built from, so the
    night's cost does not grow with the number of times people chose. The map is small: a day has few
    combinations of types, and each is one shared object.
    """
    collections = list(
        Collection.objects.filter(date=day)
        .exclude(status=CollectionStatus.CANCELLED)
        .order_by("pk")
        .values_list("pk", "updated_at", "district_id", "district__waste_type__key")
    )
    fingerprint = (day, data_generation(), tuple((pk, stamp) for pk, stamp, _d, _k in collections))
    found = _collected.get("day", fingerprint)
    if found is not None:
        return found
    _collected.forget()  # the previous day's map is not needed while this one is built
    district_types = {district_id: key for _pk, _stamp, district_id, key in collections}
    by_location: dict[int, frozenset[str]] = {}
    combinations: dict[frozenset[str], frozenset[str]] = {}
    if district_types:
        assignments = (
            LocationDistrict.objects.filter(district_id__in=list(district_types), valid_from__lte=day)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
            .values_list("location_id", "district_id")
        )
        for location_id, district_id in assignments.iterator(chunk_size=10_000):
            types = by_location.get(location_id, frozenset()) | {district_types[district_id]}
            by_location[location_id] = combinations.setdefault(types, types)
    return _collected.put("day", by_location, fingerprint)


_collected: LocalMemo[str, dict[int, frozenset[str]]] = LocalMemo("waste collected types by location")


def _type_names() -> dict[str, tuple[int, str, dict[str, str]]]:
    return {
        t.key: (t.position, t.key, {lang: waste_type_name(t, lang) for lang in content_languages()})
        for t in WasteType.objects.all()
    }


def reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Sends the reminders of every time that is due now; returns how many messages were handed to push
    (one per installation and time, however many of its addresses it names)."""
    now = now or timezone.now()
    sent = 0
    with _whole_result_reads():
        for slot, day in due_slots(now):
            sent += _slot_send(slot=slot, day=day, now=now)
    ReminderSend.objects.filter(collection_day__lt=timezone.localdate(now) - dt.timedelta(days=2)).delete()
    return sent


@contextlib.contextmanager
def _whole_result_reads() -> Iterator[None]:
    """The night reads every row its streamed queries return, so PostgreSQL is told to plan its cursors for
    the whole result, not for the first tenth (its default: for the day's locations it chose a plan that
    took 30 s instead of 1 s)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET cursor_tuple_fraction = 1.0")
    try:
        yield
    finally:
        # A connection that broke on the way is closed anyway; its error is the one to see.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET cursor_tuple_fraction")


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
            names[type_keys] = {
                lang: ", ".join(type_info[k][2][lang] for k in ordered) for lang in content_languages()
            }
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
        notify_in_rounds(handed_over)
    return len(handed_over)
