"""import_waste_ics: the quirks of real feeds, all-or-nothing, idempotence, moved dates on re-import."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management.base import CommandError

from tests.waste_calendar.conftest import FIXTURES, ics_feed, run_command, write_manifest
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    ImportRun,
    ImportStatus,
    Location,
    LocationDistrict,
    Street,
)
from waste_calendar.selectors import collections_for_location
from waste_calendar.services import collections_changed

pytestmark = pytest.mark.django_db
D = dt.date
# The fixtures are the EUV sample of November 2024 to February 2025: these tests import them as of then (a
# feed without a date from today on is refused).
FIXTURES_TODAY = dt.datetime(2024, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _as_of_the_fixtures() -> Iterator[None]:
    with time_machine.travel(FIXTURES_TODAY, tick=True):
        yield


def dates_of(street: str, number: str, type_key: str) -> list[dt.date]:
    location = Location.objects.get(street__name=street, house_number_key=number)
    return [
        collection.date
        for collection in collections_for_location(
            location=location, date_from=D(2024, 1, 1), date_to=D(2026, 12, 31), type_keys=[type_key]
        )
        if collection.status != CollectionStatus.CANCELLED
    ]


def test_the_quirks_of_real_feeds(mapping: Path) -> None:
    output = run_command("import_waste_ics", str(FIXTURES / "quirks_manifest.csv"), "--mapping", str(mapping))

    assert "Imported" in output
    # BOM, CRLF, a folded SUMMARY ("Abfuhr Rest\r\n abfall") and a folded DESCRIPTION.
    assert dates_of("Gevelskamp", "31", "restabfall") == [D(2024, 11, 8), D(2024, 11, 12)]
    assert dates_of("Gevelskamp", "31", "wertstoff") == [D(2024, 11, 8)]
    # LF line ends, a TZID on a date-only DTSTART, no DTEND.
    assert dates_of("Gevelskamp", "33", "restabfall") == [D(2024, 11, 8)]
    assert dates_of("Gevelskamp", "33", "bioabfall") == [D(2024, 11, 15)]
    # Timed zero-length events count on their Berlin day: 23:00 UTC on the 7th is the 8th in Berlin;
    # a floating time and a summary in other case and spacing count too.
    assert dates_of("Bahnhofstraße", "12a", "restabfall") == [
        D(2024, 11, 8),
        D(2024, 11, 12),
        D(2024, 11, 15),
    ]
    # RRULE every two weeks until 31 January, EXDATE 3 January, the replacement on Saturday 4 January; a
    # COUNT-limited series; an event mapped to null ("Hinweis") is ignored.
    assert dates_of("Bahnhofstraße", "12", "wertstoff") == [
        D(2024, 11, 8),
        D(2024, 11, 22),
        D(2024, 12, 6),
        D(2024, 12, 20),
        D(2025, 1, 4),
        D(2025, 1, 17),
        D(2025, 1, 31),
    ]
    assert dates_of("Bahnhofstraße", "12", "bioabfall") == [D(2024, 11, 15), D(2024, 11, 29)]
    assert set(LocationDistrict.objects.values_list("waste_type__key", flat=True)) == {
        "restabfall",
        "wertstoff",
        "bioabfall",
    }
    street = Street.objects.get(name="Bahnhofstraße")
    assert street.stadtteil == "Rauxel"
    assert street.name_search == "bahnhofstrasse"
    # 12 and 12a differ: the app must ask for the house number.
    assert street.needs_house_number is True
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.SUCCEEDED
    assert run.summary["locations_created"] == 4


def test_same_dates_share_a_district(tmp_path: Path, mapping: Path) -> None:
    feed = ics_feed([(D(2025, 1, 7), "Abfuhr Restabfall"), (D(2025, 1, 21), "Abfuhr Restabfall")])
    (tmp_path / "a.ics").write_text(feed, encoding="utf-8")
    (tmp_path / "b.ics").write_text(feed, encoding="utf-8")
    manifest = write_manifest(
        tmp_path, [("Uferstraße", "", "Ickern", "1", "a.ics"), ("Uferstraße", "", "Ickern", "3", "b.ics")]
    )
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))

    assert (
        LocationDistrict.objects.filter(location__house_number_key__in=["1", "3"])
        .values("district")
        .distinct()
        .count()
        == 1
    )
    assert Collection.objects.count() == 2
    # Every number shares every district: the street is one location, the number step is skipped.
    street = Street.objects.get(name="Uferstraße")
    assert street.needs_house_number is False
    whole = Location.objects.get(street=street, house_number_key="")
    assert [
        c.date
        for c in collections_for_location(location=whole, date_from=D(2025, 1, 1), date_to=D(2025, 2, 1))
    ] == [
        D(2025, 1, 7),
        D(2025, 1, 21),
    ]


def test_webcal_links_are_fetched(tmp_path: Path, mapping: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(FIXTURES))

    class QuietHandler(handler.func):  # type: ignore[name-defined,misc]
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(FIXTURES))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        manifest = write_manifest(
            tmp_path, [("Westring", "", "Bladenhorst", "5", f"webcal://127.0.0.1:{port}/rrule_exdate.ics")]
        )
        run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), "--webcal-scheme", "http")
    finally:
        server.shutdown()
        server.server_close()
    assert dates_of("Westring", "5", "bioabfall") == [D(2024, 11, 15), D(2024, 11, 29)]


def test_bad_input_changes_nothing_and_names_the_lines(tmp_path: Path, mapping: Path) -> None:
    run_command("import_waste_ics", str(FIXTURES / "quirks_manifest.csv"), "--mapping", str(mapping))
    before = sorted(Collection.objects.values_list("district__code", "date", "status"))
    locations_before = Location.objects.count()

    with pytest.raises(CommandError) as failure:
        run_command("import_waste_ics", str(FIXTURES / "bad_manifest.csv"), "--mapping", str(mapping))

    message = str(failure.value)
    assert "nothing was imported" in message
    assert "bad_manifest.csv line 3: Gevelskamp 31 is already on line 2" in message
    assert "bad_manifest.csv line 4: postcode '4458' is not five digits" in message
    assert "'Atlantis' is not a Stadtteil" in message
    assert "bad_events.ics line 9: SUMMARY 'Abfuhr Glas' is not in the mapping file" in message
    assert "bad_events.ics line 14: unreadable DTSTART" in message
    assert "bad_manifest.csv line 5: house number 'x-y'" in message
    assert "bad_manifest.csv line 6: cannot read" in message
    assert "not_a_calendar.ics: not an iCalendar file" in message
    assert sorted(Collection.objects.values_list("district__code", "date", "status")) == before
    assert Location.objects.count() == locations_before
    failed = ImportRun.objects.get(status=ImportStatus.FAILED)
    assert "Abfuhr Glas" in failed.problems
    # The last good import is still the first one.
    assert ImportRun.objects.filter(status=ImportStatus.SUCCEEDED).count() == 1


def test_unknown_type_in_mapping_is_refused(tmp_path: Path) -> None:
    bad_mapping = tmp_path / "mapping.json"
    bad_mapping.write_text('{"Abfuhr Restabfall": "restmuell"}', encoding="utf-8")
    with pytest.raises(CommandError, match="maps to unknown waste type 'restmuell'"):
        run_command("import_waste_ics", str(FIXTURES / "quirks_manifest.csv"), "--mapping", str(bad_mapping))
    assert not Collection.objects.exists()


def test_reimport_is_idempotent(mapping: Path) -> None:
    run_command("import_waste_ics", str(FIXTURES / "quirks_manifest.csv"), "--mapping", str(mapping))
    ids = dict(Location.objects.values_list("house_number_key", "public_id"))
    stored = sorted(Collection.objects.values_list("pk", "date", "status", "updated_at"))

    output = run_command("import_waste_ics", str(FIXTURES / "quirks_manifest.csv"), "--mapping", str(mapping))

    assert output.startswith("Unchanged")
    assert sorted(Collection.objects.values_list("pk", "date", "status", "updated_at")) == stored
    assert dict(Location.objects.values_list("house_number_key", "public_id")) == ids
    assert not CollectionChange.objects.exists()


@pytest.fixture
def received_changes() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    collections_changed.connect(receiver, dispatch_uid="test-receiver")
    yield received
    collections_changed.disconnect(dispatch_uid="test-receiver")


def test_reimport_marks_moved_and_cancelled_dates(
    tmp_path: Path,
    mapping: Path,
    received_changes: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    regular = [D(2025, 1, 7), D(2025, 1, 14), D(2025, 1, 21), D(2025, 1, 28)]
    (tmp_path / "feed.ics").write_text(
        ics_feed((day, "Abfuhr Restabfall") for day in regular), encoding="utf-8"
    )
    manifest = write_manifest(tmp_path, [("Vinckestraße", "", "", "8", "feed.ics")])
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))
    public_id = Location.objects.get(house_number_key="8").public_id

    # The company moves the 14th to Wednesday the 15th and drops the 21st: half of the district's future
    # dates, which the operator confirms (test_import_review.py: without, it is held).
    changed = [D(2025, 1, 7), D(2025, 1, 15), D(2025, 1, 28)]
    (tmp_path / "feed.ics").write_text(
        ics_feed((day, "Abfuhr Restabfall") for day in changed), encoding="utf-8"
    )
    with django_capture_on_commit_callbacks(execute=True):
        output = run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), "--confirm")

    assert "moved 1" in output
    assert Location.objects.get(house_number_key="8").public_id == public_id
    rows = {row.date: row for row in Collection.objects.all()}
    assert rows[D(2025, 1, 15)].status == CollectionStatus.MOVED
    assert rows[D(2025, 1, 15)].original_date == D(2025, 1, 14)
    assert rows[D(2025, 1, 21)].status == CollectionStatus.CANCELLED
    assert rows[D(2025, 1, 28)].status == CollectionStatus.SCHEDULED
    assert D(2025, 1, 14) not in rows
    assert rows[D(2025, 1, 7)].status == CollectionStatus.SCHEDULED
    changes = {(c.kind, c.previous_date, c.date) for c in CollectionChange.objects.all()}
    assert changes == {
        (ChangeKind.MOVED, D(2025, 1, 14), D(2025, 1, 15)),
        (ChangeKind.CANCELLED, D(2025, 1, 21), D(2025, 1, 21)),
    }
    # The reminder side hears of it once, after commit, with the change rows.
    assert len(received_changes) == 1
    assert {(c.kind, c.date) for c in received_changes[0]["changes"]} == {
        (ChangeKind.MOVED, D(2025, 1, 15)),
        (ChangeKind.CANCELLED, D(2025, 1, 21)),
    }
    assert received_changes[0]["import_run"].status == ImportStatus.SUCCEEDED

    # Back to the regular days: the 14th is scheduled again, the 21st takes place again.
    (tmp_path / "feed.ics").write_text(
        ics_feed((day, "Abfuhr Restabfall") for day in regular), encoding="utf-8"
    )
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), "--confirm")
    rows = {row.date: row for row in Collection.objects.all()}
    assert rows[D(2025, 1, 14)].status == CollectionStatus.SCHEDULED
    assert rows[D(2025, 1, 14)].original_date is None
    assert rows[D(2025, 1, 21)].status == CollectionStatus.SCHEDULED
    assert D(2025, 1, 15) not in rows
    assert CollectionChange.objects.filter(kind=ChangeKind.ADDED, date=D(2025, 1, 21)).exists()


def test_dates_beyond_a_shorter_feed_are_kept(tmp_path: Path, mapping: Path) -> None:
    """A feed covers a window; a date after its last one is outside it, not cancelled."""
    (tmp_path / "feed.ics").write_text(
        ics_feed((day, "Abfuhr Papier") for day in [D(2025, 2, 3), D(2025, 3, 3), D(2025, 3, 31)]),
        encoding="utf-8",
    )
    manifest = write_manifest(tmp_path, [("Nordstraße", "44579", "", "60", "feed.ics")])
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))
    (tmp_path / "feed.ics").write_text(
        ics_feed((day, "Abfuhr Papier") for day in [D(2025, 2, 3), D(2025, 3, 3)]), encoding="utf-8"
    )
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))
    assert dates_of("Nordstraße", "60", "papier") == [D(2025, 2, 3), D(2025, 3, 3), D(2025, 3, 31)]
    assert not CollectionChange.objects.exists()


def test_with_a_period_a_first_or_last_date_moved_inwards_is_a_move(tmp_path: Path, mapping: Path) -> None:
    """--from/--until state the feeds' period: moving a district's first date a day later and its last a
    day earlier moves them, rather than adding dates and keeping the old ones outside the new span."""
    window = ["--from", "2025-01-01", "--until", "2025-01-31"]

    def write(restabfall: list[dt.date]) -> None:
        (tmp_path / "feed.ics").write_text(
            ics_feed((day, "Abfuhr Restabfall") for day in restabfall), encoding="utf-8"
        )

    write([D(2025, 1, 7), D(2025, 1, 14), D(2025, 1, 21), D(2025, 1, 28)])
    manifest = write_manifest(tmp_path, [("Vinckestraße", "", "", "8", "feed.ics")])
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), *window)
    write([D(2025, 1, 8), D(2025, 1, 14), D(2025, 1, 21), D(2025, 1, 27)])
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), *window, "--confirm")

    assert dates_of("Vinckestraße", "8", "restabfall") == [
        D(2025, 1, 8),
        D(2025, 1, 14),
        D(2025, 1, 21),
        D(2025, 1, 27),
    ]
    changes = {(c.kind, c.previous_date, c.date) for c in CollectionChange.objects.all()}
    assert changes == {
        (ChangeKind.MOVED, D(2025, 1, 7), D(2025, 1, 8)),
        (ChangeKind.MOVED, D(2025, 1, 28), D(2025, 1, 27)),
    }


def test_a_feed_that_ends_earlier_than_the_others_cancels_nothing(tmp_path: Path, mapping: Path) -> None:
    long = [D(2025, 2, 3), D(2025, 3, 3), D(2025, 3, 31)]
    (tmp_path / "long.ics").write_text(ics_feed((day, "Abfuhr Papier") for day in long), encoding="utf-8")
    (tmp_path / "short.ics").write_text(
        ics_feed((day, "Abfuhr Restabfall") for day in [D(2025, 2, 4), D(2025, 3, 4), D(2025, 4, 1)]),
        encoding="utf-8",
    )
    manifest = write_manifest(
        tmp_path,
        [("Nordstraße", "44579", "", "60", "long.ics"), ("Nordstraße", "44579", "", "62", "short.ics")],
    )
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))
    (tmp_path / "short.ics").write_text(
        ics_feed((day, "Abfuhr Restabfall") for day in [D(2025, 2, 4), D(2025, 3, 4)]), encoding="utf-8"
    )
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))

    assert dates_of("Nordstraße", "62", "restabfall") == [D(2025, 2, 4), D(2025, 3, 4), D(2025, 4, 1)]
    assert not CollectionChange.objects.exists()


def test_a_feed_without_dates_is_refused(tmp_path: Path, mapping: Path) -> None:
    (tmp_path / "empty.ics").write_text(ics_feed([]), encoding="utf-8")
    manifest = write_manifest(tmp_path, [("Oststraße", "", "", "1", "empty.ics")])
    with pytest.raises(CommandError, match="holds no collection dates"):
        run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))
    assert not Street.objects.exists()


def test_dry_run_writes_nothing(mapping: Path, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    output = run_command(
        "import_waste_ics",
        str(tmp_path / "fixtures" / "quirks_manifest.csv"),
        "--mapping",
        str(mapping),
        "--dry-run",
    )
    assert "Dry run" in output
    assert not Location.objects.exists()


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("bom_crlf_folded.ics", True),
        ("lf_tzid_no_dtend.ics", True),
        ("timed_zero_length.ics", True),
        ("rrule_exdate.ics", False),  # recurrence: the library expands it
        ("bad_events.ics", False),  # problems: the library reports them with their lines
    ],
)
def test_the_quick_scan_reads_plain_feeds_as_the_library_does(name: str, plain: bool) -> None:
    from waste_calendar.ics import SummaryMapping, feed_dates, plain_feed_dates

    mapping = SummaryMapping.from_file(FIXTURES / "mapping.json")
    body = (FIXTURES / name).read_bytes()
    quick = plain_feed_dates(body.decode("utf-8-sig"), mapping=mapping, window=None)
    assert (quick is not None) == plain
    thorough = feed_dates(body, mapping=mapping, label=name, thorough=True)
    assert feed_dates(body, mapping=mapping, label=name).dates == thorough.dates
    if quick is not None:
        assert quick == thorough.dates
