"""Reads of the Abfallkalender worth a name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import F, Q, QuerySet

from waste_calendar.models import Collection, Location, LocationDistrict, Parity


def collections_for_location(
    *,
    location: Location,
    date_from: dt.date,
    date_to: dt.date,
    type_keys: Iterable[str] | None = None,
) -> QuerySet[Collection]:
    """The collections of a location between two days (inclusive), cancelled and moved ones included.

    A collection counts when its district is the location's district for that type on the collection's day
    (``LocationDistrict`` validity), so a route change at year end switches districts on the right day.
    Ordered by date, then waste type position; ``district__waste_type`` is joined.
    """
    assignments = LocationDistrict.objects.filter(location=location)
    if type_keys is not None:
        assignments = assignments.filter(waste_type__key__in=list(type_keys))
    periods = Q()
    for district_id, valid_from, valid_until in assignments.values_list(
        "district_id", "valid_from", "valid_until"
    ):
        period = Q(district_id=district_id, date__gte=valid_from)
        if valid_until is not None:
            period &= Q(date__lte=valid_until)
        periods |= period
    if not periods:
        return Collection.objects.none()
    return (
        Collection.objects.filter(periods, date__gte=date_from, date__lte=date_to)
        .select_related("district__waste_type")
        .order_by("date", "district__waste_type__position", "district__waste_type__key")
    )


def locations_for_number(*, street_id: int, number: int, suffix: str = "") -> QuerySet[Location]:
    """The locations of a street that hold a house number, most specific first.

    An exact "12a" beats "12", which beats a range ("1-99" odd), which beats the whole street.
    """
    parity = Parity.EVEN if number % 2 == 0 else Parity.ODD
    return (
        Location.objects.filter(street_id=street_id)
        .filter(
            Q(number_from__lte=number, number_to__gte=number, parity__in=[Parity.ALL, parity])
            | Q(house_number_key="")
        )
        .filter(Q(suffix="") | Q(suffix=suffix.lower()))
        .order_by(
            F("number_from").desc(nulls_last=True),
            "-suffix",
            F("number_to").asc(nulls_last=True),
        )
    )
