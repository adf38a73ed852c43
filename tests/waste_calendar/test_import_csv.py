"""import_waste_csv: house number ranges with parity, all-or-nothing, moved dates, route changes."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.waste_calendar.conftest import FIXTURES, run_command
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    District,
    ImportRun,
    ImportStatus,
    Location,
    LocationDistrict,
    Street,
)
from waste_calendar.selectors import collections_for_location, locations_for_number

pytestmark = pytest.mark.django_db
D = dt.date
STREETS = str(FIXTURES / "streets.csv")
DATES = str(FIXTURES / "dates.csv")


def district_codes(location: Location, day: dt.date) -> dict[str, str]:
    return dict(
        LocationDistrict.objects.filter(location=location, valid_from__lte=day)
        .exclude(valid_until__lt=day)
        .values_list("waste_type__key", "district__code")
    )


def test_table_with_ranges_parity_and_whole_streets() -> None:
    output = run_command("import_waste_csv", STREETS, DATES)

    assert "Imported" in output
    bochumer = Street.objects.get(name="Bochumer Straße")
    assert bochumer.needs_house_number is True
    keys = set(bochumer.locations.values_list("house_number_key", flat=True))
    assert keys == {"1-199/odd", "2-200/even", "17a"}
    odd = Location.objects.get(street=bochumer, house_number_key="1-199/odd")
    assert odd.house_number == "1-199 (ungerade)"
    assert district_codes(odd, D(2025, 1, 6)) == {"restabfall": "R01", "papier": "P01"}

    # 17 is odd → R01; 17a has its own row → R02; 18 is even → R02.
    def resolved(number: int, suffix: str = "") -> dict[str, str]:
        location = locations_for_number(street_id=bochumer.pk, number=number, suffix=suffix).first()
        assert location is not None
        return district_codes(location, D(2025, 1, 6))

    assert resolved(17)["restabfall"] == "R01"
    assert resolved(17, "a")["restabfall"] == "R02"
    assert resolved(17, "b")["restabfall"] == "R01"
    assert resolved(18)["restabfall"] == "R02"

    # A street listed without numbers is one location.
    muenster = Street.objects.get(name="Münsterstraße")
    assert muenster.needs_house_number is False
    assert muenster.stadtteil == "Castrop"
    # Two ranges with the same districts: the street becomes a location of its own as well.
    ufer = Street.objects.get(name="Uferstraße")
    assert ufer.needs_house_number is False
    whole = Location.objects.get(street=ufer, house_number_key="")
    assert [
        c.date
        for c in collections_for_location(location=whole, date_from=D(2025, 1, 1), date_to=D(2025, 12, 31))
    ] == [
        D(2025, 1, 7),
        D(2025, 1, 21),
    ]
    assert District.objects.get(code="R01").name == "Tour R01 (Montag)"
    assert Collection.objects.filter(district__code="R01").count() == 3  # 03.02.2025 read as a German date


def test_bad_tables_change_nothing_and_name_every_line() -> None:
    run_command("import_waste_csv", STREETS, DATES)
    before = sorted(Collection.objects.values_list("district__code", "date", "status"))
    assignments_before = sorted(LocationDistrict.objects.values_list("location__public_id", "district__code"))

    with pytest.raises(CommandError) as failure:
        run_command("import_waste_csv", str(FIXTURES / "streets_bad.csv"), str(FIXTURES / "dates_bad.csv"))

    message = str(failure.value)
    assert "nothing was imported" in message
    assert "dates_bad.csv line 3: '2025-02-30' is not a date" in message
    assert "dates_bad.csv line 4: restabfall/R01 on 2025-01-06 already on line 2" in message
    assert "dates_bad.csv line 5: unknown waste type 'sperrgut'" in message
    assert (
        "streets_bad.csv line 3: Bochumer Straße 1-199 (ungerade) has two districts for restabfall" in message
    )
    assert "streets_bad.csv line 4: the street name must be 1-120 characters" in message
    assert "streets_bad.csv line 5: postcode '4457' is not five digits" in message
    assert "streets_bad.csv line 5: 'Castrop-Süd' is not a Stadtteil" in message
    assert "streets_bad.csv line 6: house number '40-20'" in message
    assert "streets_bad.csv line 7: parity 'jede zweite'" in message
    assert "streets_bad.csv line 8: unknown waste type 'glas'" in message
    assert "streets_bad.csv line 9: district 'P99' of papier has no dates" in message
    assert sorted(Collection.objects.values_list("district__code", "date", "status")) == before
    assert (
        sorted(LocationDistrict.objects.values_list("location__public_id", "district__code"))
        == assignments_before
    )
    assert ImportRun.objects.filter(status=ImportStatus.FAILED).count() == 1


def test_missing_columns_and_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "streets.csv").write_text("strasse;hausnummer\nOststraße;1\n", encoding="utf-8")
    with pytest.raises(CommandError) as failure:
        run_command("import_waste_csv", str(tmp_path / "streets.csv"), str(tmp_path / "missing.csv"))
    assert "streets.csv line 1: missing column(s) type, district" in str(failure.value)
    assert "cannot read" in str(failure.value)
    (tmp_path / "latin1.csv").write_bytes(
        "strasse;fraktion;tour\nM\xfcnsterstra\xdfe;papier;P01\n".encode("latin-1")
    )
    with pytest.raises(CommandError, match="not UTF-8"):
        run_command("import_waste_csv", str(tmp_path / "latin1.csv"), DATES)
    assert not Street.objects.exists()


def test_idempotent_and_moved_dates_on_reimport(tmp_path: Path) -> None:
    run_command("import_waste_csv", STREETS, DATES)
    ids = sorted(Location.objects.values_list("public_id", flat=True))
    assert run_command("import_waste_csv", STREETS, DATES).startswith("Unchanged")

    # Same content, other form (order, separators): unchanged by content.
    reordered = tmp_path / "dates.csv"
    lines = (FIXTURES / "dates.csv").read_text(encoding="utf-8").splitlines()
    reordered.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    assert run_command("import_waste_csv", STREETS, str(reordered)).startswith("Unchanged")

    # R01's 20 January moves to the 21st; P01 gets an extra date.
    moved = tmp_path / "moved.csv"
    moved.write_text(
        (FIXTURES / "dates.csv")
        .read_text(encoding="utf-8")
        .replace("restabfall,R01,2025-01-20,", "restabfall,R01,2025-01-21,")
        + "papier,P01,2025-01-29,\n",
        encoding="utf-8",
    )
    output = run_command("import_waste_csv", STREETS, str(moved))
    assert "moved 1" in output
    r01 = {c.date: c for c in Collection.objects.filter(district__code="R01")}
    assert r01[D(2025, 1, 21)].status == CollectionStatus.MOVED
    assert r01[D(2025, 1, 21)].original_date == D(2025, 1, 20)
    extra = Collection.objects.get(district__code="P01", date=D(2025, 1, 29))
    assert extra.status == CollectionStatus.EXTRA
    assert {(c.kind, c.date) for c in CollectionChange.objects.all()} == {
        (ChangeKind.MOVED, D(2025, 1, 21)),
        (ChangeKind.ADDED, D(2025, 1, 29)),
    }
    assert sorted(Location.objects.values_list("public_id", flat=True)) == ids


def test_route_change_at_year_end(tmp_path: Path) -> None:
    run_command("import_waste_csv", STREETS, DATES, "--valid-from", "2025-01-01")
    streets_2026 = tmp_path / "streets.csv"
    streets_2026.write_text(
        "strasse;stadtteil;hausnummern;fraktion;tour\nMünsterstraße;Castrop;;restabfall;R03\n",
        encoding="utf-8",
    )
    dates_2026 = tmp_path / "dates.csv"
    dates_2026.write_text(
        "fraktion;tour;datum\nrestabfall;R03;2026-01-08\nrestabfall;R03;2026-01-22\n", encoding="utf-8"
    )
    run_command("import_waste_csv", str(streets_2026), str(dates_2026), "--valid-from", "2026-01-01")

    location = Location.objects.get(street__name="Münsterstraße")
    periods = list(
        LocationDistrict.objects.filter(location=location, waste_type__key="restabfall")
        .order_by("valid_from")
        .values_list("district__code", "valid_from", "valid_until")
    )
    assert periods == [("R01", D(2025, 1, 1), D(2025, 12, 31)), ("R03", D(2026, 1, 1), None)]
    dates = [
        (c.district.code, c.date)
        for c in collections_for_location(
            location=location, date_from=D(2025, 1, 1), date_to=D(2026, 12, 31), type_keys=["restabfall"]
        )
    ]
    assert dates == [
        ("R01", D(2025, 1, 6)),
        ("R01", D(2025, 1, 20)),
        ("R01", D(2025, 2, 3)),
        ("R03", D(2026, 1, 8)),
        ("R03", D(2026, 1, 22)),
    ]
    # Papier was not in the new table: its district stays.
    assert district_codes(location, D(2026, 6, 1))["papier"] == "P01"


def test_long_imports_show_progress() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_waste_csv", STREETS, DATES, stdout=stdout, stderr=stderr)
    assert "districts [" in stderr.getvalue()
    assert "100% 3/3" in stderr.getvalue()
