"""A location's collections as an iCalendar feed (RFC 5545, with RFC 7986 name and refresh interval).

Each collection is an all-day VEVENT (DTSTART and DTEND as dates). The UID is made of the location's public
id, the waste type and the regular day of the collection, so it is the same in every request and after
every re-import, and a moved collection keeps its UID: calendar apps move the event instead of adding a
second.

The text is written here, not by the ``icalendar`` library: building a feed with it cost ~30 ms, half of
it in serialising. The output is byte for byte what ``icalendar`` writes (its property order, its TEXT
escaping and its folding, which this module calls for every line that needs it); a test compares both for
every status. Events are the same for every location of a district but for two lines (UID and DTSTAMP):
they are rendered once per district, language and data generation and kept in the cache, so a calendar
built on request is a join of cached text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from django.utils import translation
from django.utils.translation import gettext as _

from casapp.languages import field_in
from waste_calendar import lookup
from waste_calendar.models import (
    Collection,
    CollectionStatus,
    Location,
    LocationDistrict,
    Street,
    WasteType,
)

PRODID = "-//Stadt Castrop-Rauxel//CAS-App Abfallkalender//DE"
UID_DOMAIN = "abfall.castrop-rauxel.de"
# Calendar apps refetch a subscription at most this often; collections rarely change more often.
REFRESH_INTERVAL = "PT12H"
# A district's rendered events live as long as a built calendar: an import makes both stale at once.
DISTRICT_EVENTS_SECONDS = 6 * 3600
# A built calendar: stale at once after an import (the data generation), else kept this long.
FEED_CACHE_SECONDS = 6 * 3600
CRLF = "\r\n"


def waste_type_name(waste_type: WasteType, language: str) -> str:
    return field_in(waste_type, "name", language)


def location_label(location: Location, house_number: str = "") -> str:
    """ "Bahnhofstraße 12": the street with the number the user chose, else the location's own."""
    return f"{location.street.name} {house_number or location.house_number}".strip()


def collection_uid(*, location: Location, collection: Collection) -> str:
    return f"{location.public_id}{_uid_tail(collection)}"


def _uid_tail(collection: Collection) -> str:
    regular_day = collection.original_date or collection.date
    return f"-{collection.district.waste_type.key}-{regular_day:%Y%m%d}@{UID_DOMAIN}"


def _line(content: str) -> str:
    """One content line with its CRLF, folded as ``icalendar`` folds (at most 74 octets a line)."""
    if len(content) <= 74 and content.isascii():
        return content + CRLF  # the common case needs no fold, and icalendar's fold is slow
    from icalendar.parser import Contentline  # see _text

    folded: bytes = Contentline(content).to_ical()  # type: ignore[no-untyped-call]
    return folded.decode() + CRLF


def _text(name: str, value: str) -> str:
    # icalendar is imported on first use: every process imports this module (via the API serializers),
    # but only a web process building a feed needs the library; a push worker stays smaller without it.
    from icalendar.prop import vText

    return _line(f"{name}:{vText(value).to_ical().decode()}")


@dataclass(frozen=True, slots=True)
class EventText:
    """One collection as iCalendar text but for what differs per location: UID and DTSTAMP."""

    collection_id: int
    date: dt.date
    order: tuple[int, str]  # the waste type's position and key: events of a day in display order
    updated_at: dt.datetime
    head: str  # BEGIN:VEVENT up to DTEND
    uid_tail: str  # the UID after the location's public id
    tail: str  # SEQUENCE (if any) up to END:VEVENT

    def text(self, *, public_id: str, stamp_line: str) -> str:
        return f"{self.head}{stamp_line}{_line('UID:' + public_id + self.uid_tail)}{self.tail}"


def _event_text(collection: Collection, *, language: str) -> EventText:
    waste_type = collection.district.waste_type
    type_name = waste_type_name(waste_type, language)
    # icalendar's order: SUMMARY DTSTART DTEND DTSTAMP UID SEQUENCE, then the others alphabetically.
    description: list[str] = []
    status = ""
    summary = type_name
    if collection.status == CollectionStatus.CANCELLED:
        summary = _("%(type)s (cancelled)") % {"type": type_name}
        status = "CANCELLED"
    elif collection.status == CollectionStatus.MOVED and collection.original_date is not None:
        status = "CONFIRMED"
        description.append(
            _("Moved from %(date)s.") % {"date": collection.original_date.strftime("%d.%m.%Y")}
        )
    if collection.reason:
        description.append(collection.reason)
    head = (
        f"BEGIN:VEVENT{CRLF}{_text('SUMMARY', summary)}"
        f"DTSTART;VALUE=DATE:{collection.date:%Y%m%d}{CRLF}"
        f"DTEND;VALUE=DATE:{collection.date + dt.timedelta(days=1):%Y%m%d}{CRLF}"
    )
    # Raised with every change, never lowered: a calendar app ignores an update with a lower one.
    tail = f"SEQUENCE:{collection.sequence}{CRLF}" if collection.sequence else ""
    # No disposal hints per event: the same paragraph in every event doubled the feed's size and build
    # time; the app shows them, the calendar shows what is special about the day.
    if description:
        tail += _text("DESCRIPTION", "\n".join(description))
    if status:
        tail += f"STATUS:{status}{CRLF}"
    tail += f"TRANSP:TRANSPARENT{CRLF}END:VEVENT{CRLF}"  # a collection day does not make the user busy
    return EventText(
        collection_id=collection.pk,
        date=collection.date,
        order=(waste_type.position, waste_type.key),
        updated_at=collection.updated_at,
        head=head,
        uid_tail=_uid_tail(collection),
        tail=tail,
    )


def district_events_key(district_id: int, language: str, window: tuple[dt.date, dt.date]) -> str:
    return f"waste:district-events:{district_id}|{language}|{window[0]}"


def district_events(
    district_ids: Iterable[int], *, language: str, window: tuple[dt.date, dt.date]
) -> dict[int, list[EventText]]:
    """Each district's events in the window, rendered once per language and data generation."""

    def build(missing: list[int]) -> dict[int, list[EventText]]:
        rendered: dict[int, list[EventText]] = {district_id: [] for district_id in missing}
        collections = Collection.objects.filter(
            district_id__in=missing, date__gte=window[0], date__lte=window[1]
        ).select_related("district__waste_type")
        with translation.override(language):
            for collection in collections:
                rendered[collection.district_id].append(_event_text(collection, language=language))
        return rendered

    keys = {district_id: district_events_key(district_id, language, window) for district_id in district_ids}
    return lookup.cached_values(keys=keys, build=build, seconds=DISTRICT_EVENTS_SECONDS)


# A district's assignment to the location: district, valid from, valid until, last change, waste type key.
_Assignment = tuple[int, dt.date, dt.date | None, dt.datetime, str]


class LocationFeed:
    """The calendar of a location for some waste types, in one language, for today's window."""

    def __init__(
        self,
        *,
        location: Location,
        type_keys: list[str] | None,
        language: str,
        assignments: list[_Assignment] | None = None,
    ) -> None:
        self.location = location
        self.type_keys = type_keys
        self.language = language
        self.today = lookup.local_today()
        if assignments is not None:
            self._assignments = assignments

    @classmethod
    def load(cls, *, location_id: str, type_keys: list[str] | None, language: str) -> LocationFeed | None:
        """The feed of a location read in one query: the location, its street and its district assignments
        (a row per assignment; one without assignments when it has none). None: no such location."""
        # No ordering: the events are sorted, and Location's default order would join and sort for nothing.
        rows = list(
            Location.objects.filter(public_id=location_id)
            .order_by()
            .values_list(
                "pk",
                "house_number",
                "updated_at",
                "street_id",
                "street__name",
                "street__updated_at",
                "assignments__district_id",
                "assignments__valid_from",
                "assignments__valid_until",
                "assignments__updated_at",
                "assignments__waste_type__key",
            )
        )
        if not rows:
            return None
        pk, house_number, updated_at, street_id, street_name, street_updated_at = rows[0][:6]
        location = Location(
            pk=pk,
            public_id=location_id,
            house_number=house_number,
            updated_at=updated_at,
            street=Street(pk=street_id, name=street_name, updated_at=street_updated_at),
        )
        assignments = [row[6:] for row in rows if row[6] is not None]
        return cls(location=location, type_keys=type_keys, language=language, assignments=assignments)

    @cached_property
    def _assignments(self) -> list[_Assignment]:
        return list(
            LocationDistrict.objects.filter(location=self.location).values_list(
                "district_id", "valid_from", "valid_until", "updated_at", "waste_type__key"
            )
        )

    @cached_property
    def events(self) -> list[EventText]:
        """The location's events: each district's within the periods it serves the location, in order.

        The same selection as ``selectors.collections_for_location``, made of the cached district events.
        """
        periods: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
        for district_id, valid_from, valid_until, _updated, type_key in self._assignments:
            if self.type_keys is None or type_key in self.type_keys:
                periods.setdefault(district_id, []).append((valid_from, valid_until))
        by_district = district_events(periods, language=self.language, window=lookup.feed_window(self.today))
        chosen = [
            event
            for district_id, served in periods.items()
            for event in by_district[district_id]
            if any(start <= event.date and (until is None or event.date <= until) for start, until in served)
        ]
        return sorted(chosen, key=lambda event: (event.date, event.order))

    @cached_property
    def version(self) -> lookup.FeedVersion:
        """The validators: from the newest change of the location, its street, its assignments and its
        events, plus their count (a deleted collection changes nothing else)."""
        location = self.location
        newest_assignment = max((row[3] for row in self._assignments), default=None)
        newest_event = max((event.updated_at for event in self.events), default=None)
        stamps = [location.updated_at, location.street.updated_at, newest_event, newest_assignment]
        last_modified = max(s for s in stamps if s is not None).replace(microsecond=0)
        types_part = ",".join(self.type_keys) if self.type_keys is not None else "*"
        digest = hashlib.sha256(
            "|".join(
                [location.public_id, types_part, self.language, str(self.today), str(len(self.events))]
                + [s.isoformat() if s is not None else "-" for s in stamps]
            ).encode()
        ).hexdigest()[:32]
        return lookup.FeedVersion(etag=f'"{digest}"', last_modified=last_modified)

    def body(self) -> bytes:
        """The feed's bytes. DTSTAMP is the data's Last-Modified: equal data, equal bytes."""
        stamp = self.version.last_modified.astimezone(dt.UTC)
        stamp_line = f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}{CRLF}"
        with translation.override(self.language):
            name = _("Waste collection %(address)s") % {"address": location_label(self.location)}
        public_id = self.location.public_id
        parts = [
            f"BEGIN:VCALENDAR{CRLF}VERSION:2.0{CRLF}{_text('PRODID', PRODID)}CALSCALE:GREGORIAN{CRLF}"
            f"METHOD:PUBLISH{CRLF}{_text('NAME', name)}{_text('X-WR-CALNAME', name)}"
            f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH_INTERVAL}{CRLF}X-PUBLISHED-TTL:{REFRESH_INTERVAL}{CRLF}"
            f"X-WR-TIMEZONE:Europe/Berlin{CRLF}"
        ]
        parts += [event.text(public_id=public_id, stamp_line=stamp_line) for event in self.events]
        parts.append(f"END:VCALENDAR{CRLF}")
        return "".join(parts).encode()


def feed_body_parts(
    location_id: str, type_keys: list[str] | None, language: str, version: lookup.FeedVersion
) -> list[object]:
    """What a calendar's body is cached under: equal parts, equal bytes."""
    return ["ics", location_id, type_keys, language, version.etag]


def location_feed_build(
    *, location_id: str, type_keys: list[str] | None, language: str
) -> tuple[lookup.FeedVersion, bytes] | None:
    """A location's calendar built now: one query (location, street, assignments), the districts' events
    from the cache (rendered on a miss), and validators and body stored together in one cache round trip.
    None: no such location."""
    feed = LocationFeed.load(location_id=location_id, type_keys=type_keys, language=language)
    if feed is None:
        return None
    version = feed.version
    body = feed.body()
    lookup.feed_store(
        location_id=location_id,
        type_keys=type_keys,
        language=language,
        version=version,
        body_parts=feed_body_parts(location_id, type_keys, language, version),
        body=body,
        body_seconds=FEED_CACHE_SECONDS,
    )
    return version, body
