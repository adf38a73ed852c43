"""load_demo installs the city-wide Abfallkalender demo, idempotently."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from waste_calendar.models import Collection, CollectionStatus, ImportRun, Location, Street
from waste_calendar.selectors import collections_for_location

pytestmark = pytest.mark.django_db


def load_demo() -> str:
    stdout = io.StringIO()
    call_command("load_demo", stdout=stdout)
    return stdout.getvalue()


def test_demo_plans_the_real_streets_for_this_and_next_year() -> None:
    output = load_demo()

    assert "Abfallkalender: 60 streets" in output
    assert Street.objects.count() == 60
    assert Street.objects.filter(name="Pöppinghauser Straße", name_search="poppinghauser strasse").exists()
    assert Street.objects.get(name="Münsterstraße").stadtteil == "Castrop"
    year = timezone.localdate().year
    years = set(Collection.objects.values_list("date__year", flat=True))
    # (A holiday shift may carry a last collection into the year after.)
    assert {year, year + 1} <= years <= {year, year + 1, year + 2}
    # Long streets are split by odd and even numbers; the others skip the number step.
    split = set(Street.objects.filter(needs_house_number=True).values_list("name", flat=True))
    assert split == {
        "Bochumer Straße",
        "Wittener Straße",
        "Ickerner Straße",
        "Recklinghauser Straße",
        "Lange Straße",
    }
    # Every street (or each half of a split one) has all the planned types, holiday shifts included.
    for location in Location.objects.exclude(street__name__in=split, house_number_key=""):
        types = {
            c.district.waste_type.key
            for c in collections_for_location(
                location=location, date_from=dt.date(year, 1, 1), date_to=dt.date(year + 1, 12, 31)
            )
        }
        assert {"restabfall", "bioabfall", "papier", "wertstoff"} <= types, location
    assert (
        Collection.objects.filter(status=CollectionStatus.MOVED, date__year=year + 1)
        .exclude(reason="")
        .exists()
    )
    # Gevelskamp keeps the rhythm of the real EUV sample address: Restabfall on Tuesday and Friday.
    gevelskamp = Location.objects.get(street__name="Gevelskamp", house_number_key="")
    weekdays = {
        c.original_date.weekday() if c.original_date else c.date.weekday()
        for c in collections_for_location(
            location=gevelskamp,
            date_from=dt.date(year, 1, 1),
            date_to=dt.date(year, 12, 31),
            type_keys=["restabfall"],
        )
    }
    assert weekdays == {1, 4}


def test_demo_is_idempotent() -> None:
    load_demo()
    stored = sorted(Collection.objects.values_list("pk", "date", "status", "updated_at"))
    ids = sorted(Location.objects.values_list("public_id", flat=True))
    load_demo()
    assert sorted(Collection.objects.values_list("pk", "date", "status", "updated_at")) == stored
    assert sorted(Location.objects.values_list("public_id", flat=True)) == ids
    assert set(ImportRun.objects.order_by("-pk").values_list("status", flat=True)[:3]) == {"unchanged"}
