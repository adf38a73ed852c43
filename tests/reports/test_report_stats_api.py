"""``GET /api/v1/reports/stats``: the figures the live screen in city hall shows."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from casapp.city import STADTTEILE
from reports.models import District, Report, ReportEvent, ReportStatus
from tests.reports.factories import CategoryFactory, ReportFactory
from tests.reports.staff_factories import category, department, triage_staff
from tests.reports.staff_factories import report as staff_report

URL = "/api/v1/reports/stats"
DISTRICTS_TWO = Path(__file__).resolve().parent / "data" / "districts-two.geojson"
BERLIN = ZoneInfo("Europe/Berlin")
S = ReportStatus


def berlin(day: Any, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def figures(db: Any) -> dict[str, Any]:
    """A small city: three reports the city closed recently (the median sample), and the noise around it."""
    now = timezone.now()
    pothole = CategoryFactory(key="schlagloch", name_de="Schlagloch", name_en="Pothole")
    graffiti = CategoryFactory(key="graffiti", name_de="Graffiti", name_en="Graffiti")

    def closed(
        status: str, *, days_ago: float, first_response_h: float | None, closed_h: float, **fields: Any
    ) -> Any:
        created = now - timedelta(days=days_ago)
        return ReportFactory(
            category=fields.pop("category", pothole),
            status=status,
            created_at=created,
            first_response_at=created + timedelta(hours=first_response_h)
            if first_response_h is not None
            else None,
            closed_at=created + timedelta(hours=closed_h),
            **fields,
        )

    # The sample: first responses after 2, 4 and 6 hours, closed after 10, 30 and 50 hours.
    closed(S.DONE, days_ago=10, first_response_h=2, closed_h=10, stadtteil="Ickern")
    closed(S.REJECTED, days_ago=20, first_response_h=4, closed_h=30, stadtteil="Ickern")
    closed(S.DONE, days_ago=40, first_response_h=6, closed_h=50, category=graffiti)
    # Left out of the medians: withdrawn by the reporter, closed too long ago, hidden.
    closed(S.WITHDRAWN, days_ago=3, first_response_h=None, closed_h=1)
    closed(S.DONE, days_ago=200, first_response_h=1000, closed_h=2000)
    closed(S.DONE, days_ago=5, first_response_h=100, closed_h=100, hidden=True)
    # Open ones: two today-ish, one in progress, one hidden (never counted).
    ReportFactory(category=pothole, status=S.RECEIVED, stadtteil="Rauxel")
    ReportFactory(category=pothole, status=S.RECEIVED)
    ReportFactory(
        category=graffiti, status=S.IN_PROGRESS, stadtteil="Rauxel", created_at=now - timedelta(days=2)
    )
    ReportFactory(category=graffiti, status=S.RECEIVED, hidden=True)
    return {"now": now}


def stats(client: Any, **headers: Any) -> dict[str, Any]:
    response = client.get(URL, **headers)
    assert response.status_code == 200, response.content[:500]
    return dict(response.json())


@pytest.mark.django_db
def test_is_public_and_cacheable(anon_client, figures):
    response = anon_client.get(URL)

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    assert anon_client.get(URL, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


@pytest.mark.django_db
def test_counts_visible_reports_by_status(anon_client, figures):
    body = stats(anon_client)

    assert body["total_count"] == 8
    assert body["open_count"] == 3
    assert [(row["status"], row["count"]) for row in body["by_status"]] == [
        (S.RECEIVED, 2),
        (S.IN_REVIEW, 0),
        (S.IN_PROGRESS, 1),
        (S.DONE, 3),
        (S.REJECTED, 1),
        (S.DUPLICATE, 0),
        (S.NOT_RESPONSIBLE, 0),
        (S.WITHDRAWN, 1),
    ]
    assert body["by_status"][0]["label"] == "Eingegangen"


@pytest.mark.django_db
def test_counts_by_category_most_reports_first(anon_client, figures):
    body = stats(anon_client, HTTP_ACCEPT_LANGUAGE="en")

    assert body["by_category"] == [
        {"key": "schlagloch", "label": "Pothole", "total": 6, "open": 2},
        {"key": "graffiti", "label": "Graffiti", "total": 2, "open": 1},
    ]
    assert body["by_status"][0]["label"] == "Received"


def import_all_stadtteile(tmp_path: Path) -> None:
    """A polygon file with every Stadtteil, imported as the city would (small boxes side by side)."""

    def box(index: int) -> list[list[list[float]]]:
        west, south, north = 7.30 + index * 0.001, 51.565, 51.566
        return [[[west, south], [west + 0.001, south], [west + 0.001, north], [west, north], [west, south]]]

    features = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": box(i)},
        }
        for i, name in enumerate(STADTTEILE)
    ]
    path = tmp_path / "stadtteile.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    call_command("import_districts", str(path), stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_counts_by_stadtteil_with_every_stadtteil_and_the_unknown(anon_client, figures, tmp_path):
    import_all_stadtteile(tmp_path)
    body = stats(anon_client)
    rows = {row["stadtteil"]: (row["total"], row["open"]) for row in body["by_stadtteil"]}

    assert [row["stadtteil"] for row in body["by_stadtteil"]] == [*STADTTEILE, None]
    assert rows["Ickern"] == (2, 0)
    assert rows["Rauxel"] == (2, 2)
    assert rows["Becklem"] == (0, 0)
    assert rows[None] == (4, 1)
    assert body["stadtteile_available"] is True


@pytest.mark.django_db
def test_without_stadtteil_polygons_says_so_instead_of_listing_nulls(anon_client, figures):
    assert not District.objects.exists()

    body = stats(anon_client)

    assert body["by_stadtteil"] == []
    assert body["stadtteile_available"] is False


@pytest.mark.django_db
def test_with_some_polygons_lists_those_and_the_stadtteile_reports_name(anon_client, figures):
    # Castrop and Pöppinghausen only: no zero for Becklem, whose reports were never looked up.
    call_command("import_districts", str(DISTRICTS_TWO), stdout=StringIO(), stderr=StringIO())

    body = stats(anon_client)

    assert [(row["stadtteil"], row["total"], row["open"]) for row in body["by_stadtteil"]] == [
        ("Castrop", 0, 0),
        ("Ickern", 2, 0),
        ("Pöppinghausen", 0, 0),
        ("Rauxel", 2, 2),
        (None, 4, 1),
    ]
    assert body["stadtteile_available"] is True


@pytest.mark.django_db
def test_reports_per_day_of_the_last_30_days_in_berlin(anon_client, figures):
    now = figures["now"]
    today = now.astimezone(BERLIN).date()
    day = today - timedelta(days=7)
    # Just after midnight in Berlin is the evening before in UTC: it counts for the Berlin day.
    category = CategoryFactory()
    ReportFactory(category=category, created_at=berlin(day, 0, 30))
    ReportFactory(category=category, created_at=berlin(day, 23, 30))
    ReportFactory(category=category, created_at=berlin(day - timedelta(days=1), 23, 59))

    per_day = stats(anon_client)["per_day"]

    assert len(per_day) == 30
    assert per_day[0]["date"] == (today - timedelta(days=29)).isoformat()
    assert per_day[-1]["date"] == today.isoformat()
    counts = {row["date"]: row["count"] for row in per_day}
    assert counts[day.isoformat()] == 2
    assert counts[(day - timedelta(days=1)).isoformat()] == 1
    expected_recent = {
        (now - timedelta(days=days_ago)).astimezone(BERLIN).date().isoformat() for days_ago in (10, 20, 3, 2)
    }
    for date in expected_recent:
        assert counts[date] >= 1
    # 3 placed above, 2 filed now, and those 10, 20, 3 and 2 days ago; not the hidden ones, not older ones.
    assert sum(counts.values()) == 3 + 2 + 4


@pytest.mark.django_db
def test_median_hours_over_reports_the_city_closed_in_the_last_90_days(anon_client, figures):
    body = stats(anon_client)

    # Done after 10 and 50 hours; the rejected one (30 hours) was closed, not resolved.
    assert body["closed_recently_count"] == 3
    assert body["resolved_recently_count"] == 2
    assert body["median_hours_to_resolution"] == 30.0
    assert body["first_responses_recently_count"] == 3
    assert body["median_hours_to_first_response"] == 4.0


@pytest.fixture
def every_status(db: Any) -> dict[str, Any]:
    """Reports in every status, each with its own first response and closing, in hours after filing."""
    now = timezone.now()
    category = CategoryFactory()

    def report(
        status: str,
        *,
        days_ago: float,
        first_response_h: float | None = None,
        closed_h: float | None = None,
        rerouted_h: tuple[float, ...] = (),
        **fields: Any,
    ) -> Any:
        created = now - timedelta(days=days_ago)
        filed = ReportFactory(
            category=category,
            status=status,
            created_at=created,
            first_response_at=None
            if first_response_h is None
            else created + timedelta(hours=first_response_h),
            closed_at=None if closed_h is None else created + timedelta(hours=closed_h),
            **fields,
        )
        for hours in rerouted_h:
            # Forwarding to another category, as report_reroute records it: public, without first_response_at.
            event = ReportEvent.objects.create(report=filed, kind=ReportEvent.Kind.REROUTED, is_public=True)
            ReportEvent.objects.filter(pk=event.pk).update(created_at=created + timedelta(hours=hours))
        # Never a reaction the reporter saw: an internal note right after filing.
        note = ReportEvent.objects.create(report=filed, kind=ReportEvent.Kind.NOTE, internal_note="intern")
        ReportEvent.objects.filter(pk=note.pk).update(created_at=created + timedelta(minutes=1))
        return filed

    report(S.RECEIVED, days_ago=1)  # not answered yet
    report(S.RECEIVED, days_ago=2, rerouted_h=(3,))  # forwarded after 3 h, no answer yet
    report(S.IN_REVIEW, days_ago=5, first_response_h=1)
    report(S.IN_PROGRESS, days_ago=6, first_response_h=5, rerouted_h=(2,))  # forwarded first, after 2 h
    report(S.DONE, days_ago=10, first_response_h=8, closed_h=20)
    report(S.DONE, days_ago=30, first_response_h=12, closed_h=40)
    report(S.DONE, days_ago=50, first_response_h=24, closed_h=100)
    report(S.REJECTED, days_ago=4, first_response_h=0.5, closed_h=0.5)
    report(S.DUPLICATE, days_ago=3, first_response_h=0, closed_h=0)
    report(S.NOT_RESPONSIBLE, days_ago=7, first_response_h=2, closed_h=2)
    report(S.WITHDRAWN, days_ago=8, closed_h=4)  # withdrawn before any answer
    report(S.WITHDRAWN, days_ago=9, first_response_h=6, closed_h=30)  # answered, then withdrawn
    # Outside the samples: done too long ago; first reaction too long ago (forwarded 100 days ago, the
    # answer 81 days ago does not count again); hidden.
    report(S.DONE, days_ago=200, first_response_h=1, closed_h=2)
    report(S.IN_PROGRESS, days_ago=101, first_response_h=24 * 20, rerouted_h=(24,))
    report(S.DONE, days_ago=5, first_response_h=7, closed_h=9, hidden=True)
    return {"now": now}


@pytest.mark.django_db
def test_resolution_median_counts_only_resolved_reports(anon_client, every_status):
    body = stats(anon_client)

    # Done after 20, 40 and 100 hours; not the rejected (0.5), duplicate (0), forwarded (2) or withdrawn.
    assert body["median_hours_to_resolution"] == 40.0
    assert body["resolved_recently_count"] == 3
    # Closed by the city, in any closed status but withdrawn: the three done, rejected, duplicate, forwarded.
    assert body["closed_recently_count"] == 6


@pytest.mark.django_db
def test_first_response_median_is_the_first_public_staff_reaction_of_any_kind(anon_client, every_status):
    body = stats(anon_client)

    # In every status: forwarded 3 (open, no answer), 1 (in review), 2 (forwarded before its answer
    # after 5), 8, 12, 24 (done), 0.5 (rejected), 0 (duplicate), 2 (not responsible), 6 (answered, then
    # withdrawn). Sorted 0, 0.5, 1, 2, 2, 3, 6, 8, 12, 24: the median is (2 + 3) / 2.
    assert body["median_hours_to_first_response"] == 2.5
    assert body["first_responses_recently_count"] == 10


@pytest.mark.django_db
def test_without_closed_reports_the_medians_are_null(anon_client):
    body = stats(anon_client)

    assert body["median_hours_to_first_response"] is None
    assert body["median_hours_to_resolution"] is None
    assert body["total_count"] == 0
    assert body["by_category"] == []
    assert [row["count"] for row in body["per_day"]] == [0] * 30


@pytest.mark.django_db
def test_figures_are_cached_for_a_minute(anon_client, figures):
    before = stats(anon_client)["open_count"]
    ReportFactory(category=CategoryFactory(), status=S.RECEIVED)

    cached = stats(anon_client)["open_count"]
    cache.clear()  # as if the minute had passed
    fresh = stats(anon_client)["open_count"]

    assert (before, cached, fresh) == (3, 3, 4)


@pytest.mark.django_db
def test_forwarding_through_the_staff_api_is_a_first_response_here_but_not_for_the_due_time(anon_client):
    tiefbau, ordnung = department("tiefbau"), department("ordnung")
    misrouted = staff_report(category("schlagloch", department=tiefbau))
    Report.objects.filter(pk=misrouted.pk).update(created_at=timezone.now() - timedelta(hours=6))
    tina = APIClient()
    tina.force_login(triage_staff(tiefbau, username="tina"))
    graffiti = category("graffiti", department=ordnung)

    forwarded = tina.post(
        f"/api/v1/staff/reports/{misrouted.pk}/reroute",
        {"category": graffiti.key, "reason": "Ist Graffiti"},
        format="json",
    )
    body = stats(anon_client)

    assert forwarded.status_code == 200, forwarded.content[:300]
    assert (body["first_responses_recently_count"], body["median_hours_to_first_response"]) == (1, 6.0)
    # Ordnung still owes its answer: the report stays due for a first response.
    assert Report.objects.get(pk=misrouted.pk).first_response_at is None
