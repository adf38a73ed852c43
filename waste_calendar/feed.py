"""A location's collections as an iCalendar feed (RFC 5545, with RFC 7986 name and refresh interval).

Built with the ``icalendar`` library, which writes CRLF line ends and folds lines at 75 octets. Each
collection is an all-day VEVENT (DTSTART and DTEND as dates). The UID is made of the location's public id,
the waste type and the regular day of the collection, so it is the same in every request and after every
re-import, and a moved collection keeps its UID: calendar apps move the event instead of adding a second.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext as _

from waste_calendar.lookup import feed_window
from waste_calendar.models import Collection, CollectionStatus, Location, WasteType
from waste_calendar.selectors import collections_for_location

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//Stadt Castrop-Rauxel//CAS-App Abfallkalender//DE"
UID_DOMAIN = "abfall.castrop-rauxel.de"
# Calendar apps refetch a subscription at most this often; collections rarely change more often.
REFRESH_INTERVAL = dt.timedelta(hours=12)


def waste_type_name(waste_type: WasteType, language: str) -> str:
    return waste_type.name_en if language == "en" and waste_type.name_en else waste_type.name_de


def location_label(location: Location, house_number: str = "") -> str:
    """ "Bahnhofstraße 12": the street with the number the user chose, else the location's own."""
    return f"{location.street.name} {house_number or location.house_number}".strip()


def collection_uid(*, location: Location, collection: Collection) -> str:
    regular_day = collection.original_date or collection.date
    return f"{location.public_id}-{collection.district.waste_type.key}-{regular_day:%Y%m%d}@{UID_DOMAIN}"


def location_calendar(
    *, location: Location, type_keys: list[str] | None, language: str, stamp: dt.datetime
) -> bytes:
    """The feed's body. ``stamp`` (the data's Last-Modified) is the DTSTAMP: equal data, equal bytes."""
    # icalendar is imported on first use: every process imports this module (via the API serializers),
    # but only a web process building a feed needs the library; a push worker stays smaller without it.
    from icalendar import Calendar
    from icalendar.prop import vDuration

    date_from, date_to = feed_window()
    collections = collections_for_location(
        location=location, date_from=date_from, date_to=date_to, type_keys=type_keys
    )
    with translation.override(language):
        name = _("Waste collection %(address)s") % {"address": location_label(location)}
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        # Unknown to the library as a property: the duration type must be given.
        calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
        calendar.add("x-wr-timezone", "Europe/Berlin")
        for collection in collections:
            calendar.add_component(_collection_event(location, collection, language=language, stamp=stamp))
    return bytes(calendar.to_ical())


def _collection_event(
    location: Location, collection: Collection, *, language: str, stamp: dt.datetime
) -> Event:
    from icalendar import Event  # see location_calendar

    waste_type = collection.district.waste_type
    type_name = waste_type_name(waste_type, language)
    event = Event()
    event.add("uid", collection_uid(location=location, collection=collection))
    event.add("dtstamp", stamp)
    event.add("dtstart", collection.date)
    event.add("dtend", collection.date + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a collection day does not make the user busy
    # No disposal hints per event: the same paragraph in every event doubled the feed's size and build time;
    # the app shows them, the calendar shows what is special about the day.
    description = []
    if collection.status == CollectionStatus.CANCELLED:
        event.add("summary", _("%(type)s (cancelled)") % {"type": type_name})
        event.add("status", "CANCELLED")
    elif collection.status == CollectionStatus.MOVED and collection.original_date is not None:
        event.add("summary", type_name)
        event.add("status", "CONFIRMED")
        description.append(
            _("Moved from %(date)s.") % {"date": collection.original_date.strftime("%d.%m.%Y")}
        )
    else:
        # Only what a regular day needs: each property costs build time in every one of ~130 events.
        event.add("summary", type_name)
    if collection.sequence:
        # Raised with every change, never lowered: a calendar app ignores an update with a lower one.
        event.add("sequence", collection.sequence)
    if collection.reason:
        description.append(collection.reason)
    if description:
        event.add("description", "\n".join(description))
    return event
