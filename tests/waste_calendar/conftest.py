"""Fixtures of the Abfallkalender tests: a small town with three waste types, and the fake FCM server."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from tests.push.conftest import fake_fcm, fake_fcm_server, firebase_backend  # noqa: F401 (fixtures)
from tests.waste_calendar.factories import (
    DistrictFactory,
    LocationDistrictFactory,
    LocationFactory,
    StreetFactory,
    WasteTypeFactory,
)
from waste_calendar.apps import register_reminder_category
from waste_calendar.models import District, Location, Street, WasteType


@pytest.fixture(autouse=True)
def _reminder_category() -> None:
    # The push tests' fixture unregisters the category after each of its tests; our app registers it at
    # start-up, so put it back as a fresh process would have it.
    register_reminder_category()


@dataclass
class Town:
    restabfall: WasteType
    bioabfall: WasteType
    papier: WasteType
    bahnhofstrasse: Street
    bahnhof_12: Location
    bahnhof_odd: Location
    bahnhof_12a: Location
    districts: dict[str, District]


@pytest.fixture
def town(db: Any) -> Town:
    """Bahnhofstraße with 12, 12a and the odd numbers 1-99; one district per type for all of them."""
    restabfall = WasteTypeFactory(
        key="restabfall", name_de="Restabfall", name_en="Residual waste", position=1
    )
    bioabfall = WasteTypeFactory(key="bioabfall", name_de="Bioabfall", name_en="Organic waste", position=2)
    papier = WasteTypeFactory(key="papier", name_de="Papier", name_en="Paper", position=3)
    street = StreetFactory(name="Bahnhofstraße", stadtteil="")
    locations = {
        "12": LocationFactory(street=street, house_number="12"),
        "odd": LocationFactory(street=street, house_number="1-99", parity="odd"),
        "12a": LocationFactory(street=street, house_number="12a"),
    }
    districts = {
        t.key: DistrictFactory(waste_type=t, code=f"{t.key[:1].upper()}-01")
        for t in (restabfall, bioabfall, papier)
    }
    for location in locations.values():
        for district in districts.values():
            LocationDistrictFactory(location=location, district=district, valid_from=dt.date(2020, 1, 1))
    return Town(
        restabfall=restabfall,
        bioabfall=bioabfall,
        papier=papier,
        bahnhofstrasse=street,
        bahnhof_12=locations["12"],
        bahnhof_odd=locations["odd"],
        bahnhof_12a=locations["12a"],
        districts=districts,
    )
