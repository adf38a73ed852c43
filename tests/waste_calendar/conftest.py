"""Helpers of the Abfallkalender tests: fixture files, running the import commands, writing small feeds;
a small town with three waste types for the API and reminder tests (the fake FCM server comes from
``tests/conftest.py``)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import set_rates
from tests.waste_calendar.factories import (
    DistrictFactory,
    LocationDistrictFactory,
    LocationFactory,
    StreetFactory,
    WasteTypeFactory,
)
from waste_calendar.api.serializers import active_type_keys_forget
from waste_calendar.apps import register_reminder_category
from waste_calendar.lookup import local_forget
from waste_calendar.models import District, Location, Street, WasteType

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_command(name: str, *args: str) -> str:
    """Runs a management command; returns what it printed (stdout). Raises CommandError as the CLI would."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(name, *args, "--no-progress", stdout=stdout, stderr=stderr)
    return stdout.getvalue()


def ics_feed(events: Iterable[tuple[dt.date, str]]) -> str:
    """A minimal EUV-style feed: one all-day event per (date, summary)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Feed//DE"]
    for day, summary in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{day:%Y%m%d}-{summary.replace(' ', '-')}@test",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def write_manifest(directory: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """rows: (street, postcode, Stadtteil, house number, ics)."""
    manifest = directory / "manifest.csv"
    manifest.write_text(
        "strasse;plz;stadtteil;hausnummer;ics\n" + "".join(";".join(row) + "\n" for row in rows),
        encoding="utf-8",
    )
    return manifest


@pytest.fixture
def mapping() -> Path:
    return FIXTURES / "mapping.json"


@pytest.fixture(autouse=True)
def _forget_active_types() -> None:
    # A per-process memo, like the app config's: a rolled-back test's types must not leak into the next.
    active_type_keys_forget()
    local_forget()


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


@pytest.fixture
def anon_limit(settings: Any) -> Callable[[str], None]:
    """Sets the anonymous rate limit for one test: ``anon_limit("2/min")``."""

    def set_limit(rate: str) -> None:
        set_rates(settings, anon=rate)

    return set_limit
