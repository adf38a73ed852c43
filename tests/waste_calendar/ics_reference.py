"""The feed as the ``icalendar`` library builds it: what ``waste_calendar.feed`` must write byte for byte.

This was the feed's builder before it wrote the text itself; the tests compare both, and ``bench.ics``
measures both side by side (with the queries the feed made then).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db.models import Count, Max
from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event
from icalendar.prop import vDuration

from waste_calendar.feed import PRODID, collection_uid, location_label, waste_type_name
from waste_calendar.lookup import feed_window, local_today
from waste_calendar.models import CollectionStatus, Location, LocationDistrict
from waste_calendar.selectors import collections_for_location

REFRESH = dt.timedelta(hours=12)


def reference(location: Location, *, type_keys: list[str] | None, language: str, stamp: dt.datetime) -> bytes:
    date_from, date_to = feed_window()
    collections = collections_for_location(
        location=location, date_from=date_from, date_to=date_to, type_keys=type_keys
    )
    with translation.override(language):
        name = _("Waste collection %(address)s") % {"address": location_label(location)}
        calendar = Calendar()
        for key, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN")):
            calendar.add(key, value)
        calendar.add("method", "PUBLISH")
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH))
        calendar.add("x-wr-timezone", "Europe/Berlin")
        for collection in collections:
            type_name = waste_type_name(collection.district.waste_type, language)
            event = Event()
            event.add("uid", collection_uid(location=location, collection=collection))
            event.add("dtstamp", stamp)
            event.add("dtstart", collection.date)
            event.add("dtend", collection.date + dt.timedelta(days=1))
            event.add("transp", "TRANSPARENT")
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
                event.add("summary", type_name)
            if collection.sequence:
                event.add("sequence", collection.sequence)
            if collection.reason:
                description.append(collection.reason)
            if description:
                event.add("description", "\n".join(description))
            calendar.add_component(event)
    return bytes(calendar.to_ical())


def reference_validators(
    location: Location, *, type_keys: list[str] | None, language: str
) -> tuple[str, dt.datetime]:
    """ETag and Last-Modified as the feed computed them before: aggregates over the location's collections."""
    today = local_today()
    date_from, date_to = feed_window(today)
    collections = collections_for_location(
        location=location, date_from=date_from, date_to=date_to, type_keys=type_keys
    )
    stats = collections.order_by().aggregate(newest=Max("updated_at"), count=Count("pk"))
    assignments = LocationDistrict.objects.filter(location=location).aggregate(newest=Max("updated_at"))
    stamps = [location.updated_at, location.street.updated_at, stats["newest"], assignments["newest"]]
    last_modified = max(s for s in stamps if s is not None).replace(microsecond=0)
    types_part = ",".join(type_keys) if type_keys is not None else "*"
    digest = hashlib.sha256(
        "|".join(
            [location.public_id, types_part, language, str(today), str(stats["count"])]
            + [s.isoformat() if s is not None else "-" for s in stamps]
        ).encode()
    ).hexdigest()[:32]
    return f'"{digest}"', last_modified
