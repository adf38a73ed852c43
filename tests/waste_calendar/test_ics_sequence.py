"""A collection's event keeps its UID through every re-import, and its SEQUENCE never goes down: a calendar
app ignores an update whose SEQUENCE is lower than the one it has."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.waste_calendar.conftest import run_command
from waste_calendar.models import Collection, Location
from waste_calendar.services import collections_cancel

pytestmark = pytest.mark.django_db


def import_dates(directory: Path, dates: list[dt.date]) -> None:
    directory.mkdir()
    (directory / "streets.csv").write_text(
        "strasse;plz;stadtteil;hausnummern;paritaet;fraktion;tour\nLindenallee;44575;;;;papier;P01\n",
        encoding="utf-8",
    )
    (directory / "dates.csv").write_text(
        "fraktion;tour;datum\n" + "".join(f"papier;P01;{d.isoformat()}\n" for d in dates), encoding="utf-8"
    )
    run_command("import_waste_csv", str(directory / "streets.csv"), str(directory / "dates.csv"))


def event_of(client: Any, uid: str) -> Any:
    location = Location.objects.get(street__name="Lindenallee")
    response = client.get(f"/api/v1/waste/locations/{location.public_id}.ics")
    assert response.status_code == 200
    return next(e for e in Calendar.from_ical(response.content).walk("VEVENT") if str(e["uid"]) == uid)


def test_moving_a_date_there_further_and_back_never_lowers_the_sequence(
    anon_client: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    today = timezone.localdate()
    regular = [today + dt.timedelta(days=3 + 7 * n) for n in range(20)]
    day = regular[2]
    import_dates(tmp_path / "first", regular)
    location = Location.objects.get(street__name="Lindenallee")
    uid = f"{location.public_id}-papier-{day:%Y%m%d}@abfall.castrop-rauxel.de"
    assert "SEQUENCE" not in event_of(anon_client, uid)

    seen = []
    # A day later, two days later (moved again), back on the regular day, then cancelled by staff.
    for step, moved_to in enumerate([day + dt.timedelta(days=1), day + dt.timedelta(days=2), day]):
        with django_capture_on_commit_callbacks(execute=True):
            import_dates(tmp_path / f"step{step}", [moved_to if d == day else d for d in regular])
        event = event_of(anon_client, uid)
        assert event.decoded("dtstart") == moved_to
        seen.append(int(event.get("SEQUENCE", 0)))
    with django_capture_on_commit_callbacks(execute=True):
        collections_cancel(collections=Collection.objects.filter(date=day), reason="Sturm", source="test")
    seen.append(int(event_of(anon_client, uid).get("SEQUENCE", 0)))

    assert seen == [1, 2, 3, 4]
