"""Demo data of the Abfallkalender: the city's real street names on plausible districts, two planned years.

The street names come from ``data/castrop-rauxel-streets.tsv`` (60 attested names; see ``data/README.md``
for sources); postcode and Stadtteil only where a source states them. The districts are invented but shaped
like EUV's: Restabfall and Bioabfall every two weeks in alternating weeks, Wertstoff every two weeks, Papier
and Grünschnitt every four, the Schadstoffmobil quarterly, Weihnachtsbäume once in January. Gevelskamp gets
the rhythm of the real EUV sample address (Restabfall Tuesday and Friday), and a few long streets are split
by odd and even house numbers so the app's house number step can be tried. Idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from waste_calendar.import_data import AddressKey, ImportData, checksum_of, house_number_read
from waste_calendar.models import DistrictSource, ImportKind, WasteType
from waste_calendar.planning import DistrictRules, Rule, RulesFile, ShiftPolicy
from waste_calendar.services import import_apply, plan_rules_replace, waste_year_plan

DATA_DIR = Path(__file__).resolve().parent / "data"
STREETS_FILE = DATA_DIR / "castrop-rauxel-streets.tsv"
WASTE_TYPES_FILE = DATA_DIR / "waste_types.json"

# Streets long enough that odd and even numbers go to different tours in the demo.
SPLIT_STREETS = {
    "Bochumer Straße",
    "Wittener Straße",
    "Ickerner Straße",
    "Recklinghauser Straße",
    "Lange Straße",
}
# The real EUV sample address: Restabfall Tuesday and Friday, Wertstoff and Bioabfall alternate Fridays.
SAMPLE_STREET = "Gevelskamp"

# type key, tour prefix, number of tours, every n weeks
ROUNDS: list[tuple[str, str, int, int]] = [
    ("restabfall", "R", 10, 2),
    ("bioabfall", "B", 10, 2),
    ("wertstoff", "W", 5, 2),
    ("papier", "P", 5, 4),
    ("gruenschnitt", "G", 5, 4),
    ("schadstoffmobil", "S", 3, 13),
    ("weihnachtsbaum", "T", 2, 52),
]


def demo_streets() -> list[tuple[str, str, str]]:
    """(name, postcode, Stadtteil) of the attested street names."""
    streets = []
    for line in STREETS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, postcode, stadtteil, *_rest = [*line.split("\t"), "", "", ""]
        # "Castrop (Altstadt)", "Ickern (Ickern-End)": the official Stadtteil is the first word.
        streets.append((name.strip(), postcode.strip(), stadtteil.split(" (", maxsplit=1)[0].strip()))
    return streets


def _tour(name: str, salt: str, count: int) -> int:
    """A stable tour number for a street: the same street lands in the same tour on every run."""
    digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
    return digest[0] % count


def _district_rules(year: int) -> list[DistrictRules]:
    valid_from = dt.date(year, 1, 1)
    # Monday of the first ISO week of the year: tours alternate between even and odd weeks from there.
    week_one = dt.date.fromisocalendar(year, 1, 1)
    districts = []
    for type_key, prefix, count, every in ROUNDS:
        for tour in range(count):
            weekday = tour % 5
            if type_key == "weihnachtsbaum":
                weekday = 5  # Saturdays in January
                anchor = week_one + dt.timedelta(weeks=1 + tour, days=weekday)
            else:
                # Bioabfall runs in the other week than Restabfall of the same tour.
                offset = (tour // 5 + (1 if type_key == "bioabfall" else 0)) % every
                anchor = week_one + dt.timedelta(weeks=offset, days=weekday)
            name = f"{prefix}{tour + 1:02d}"
            districts.append(
                DistrictRules(
                    type_key, name, f"Tour {name}", [Rule(weekday, every, anchor, valid_from, None)]
                )
            )
    districts += [
        DistrictRules(
            "restabfall",
            "R-GK",
            "Tour Gevelskamp (Di + Fr)",
            [
                Rule(1, 1, dt.date(2024, 11, 12), valid_from, None),
                Rule(4, 1, dt.date(2024, 11, 8), valid_from, None),
            ],
        ),
        DistrictRules(
            "wertstoff", "W-GK", "Tour Gevelskamp", [Rule(4, 2, dt.date(2024, 11, 8), valid_from, None)]
        ),
        DistrictRules(
            "bioabfall", "B-GK", "Tour Gevelskamp", [Rule(4, 2, dt.date(2024, 11, 15), valid_from, None)]
        ),
    ]
    return districts


def _assignments(name: str, number_key: str) -> dict[str, str]:
    by_type = {
        type_key: f"{prefix}{_tour(name + number_key, type_key, count) + 1:02d}"
        for type_key, prefix, count, _every in ROUNDS
    }
    if name == SAMPLE_STREET:
        by_type.update(restabfall="R-GK", wertstoff="W-GK", bioabfall="B-GK")
    return by_type


@transaction.atomic
def load_demo(*, stdout: TextIO) -> None:
    """Idempotent: a second run finds the same streets, locations and plans and changes nothing."""
    if not WasteType.objects.exists():
        stdout.write("Abfallkalender: no waste types (migrations not applied?), skipped.\n")
        return
    year = timezone.localdate().year
    valid_from = dt.date(year, 1, 1)
    data = ImportData(
        kind=ImportKind.CSV,
        source="demo (castrop-rauxel-streets.tsv)",
        checksum=checksum_of(STREETS_FILE.read_bytes(), f"demo {year}".encode()),
        valid_from=valid_from,
        district_source=DistrictSource.PLAN,
    )
    for name, postcode, stadtteil in demo_streets():
        data.streets[(name, postcode)] = stadtteil
        numbers = [("1-199", "ungerade"), ("2-200", "gerade")] if name in SPLIT_STREETS else [("", "")]
        if name == SAMPLE_STREET:
            numbers = [("1-99", ""), ("31", "")]  # the sample address itself, and the rest of the street
        for text, parity in numbers:
            number = house_number_read(text, parity)
            address = AddressKey(street=name, postcode=postcode, house_number_key=number.key)
            data.house_numbers[address] = number
            data.assignments[address] = _assignments(name, "" if name == SAMPLE_STREET else number.key)
    plan_rules_replace(
        rules_file=RulesFile(policy=ShiftPolicy(), districts=_district_rules(year)), valid_from=valid_from
    )
    import_apply(data=data)
    for planned_year in (year, year + 1):
        waste_year_plan(year=planned_year, policy=ShiftPolicy(), source=f"demo plan {planned_year}")
    districts = sum(count for _key, _prefix, count, _every in ROUNDS) + 3
    stdout.write(
        f"Abfallkalender: {len(data.streets)} streets, {len(data.house_numbers)} locations, "
        f"{districts} districts planned for {year} and {year + 1}.\n"
    )
