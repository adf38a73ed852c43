"""``GET /api/v1/reports/screen`` and the page ``/bildschirm/``: what the screens in city hall show, from
public data only, cached, revalidated with an ETag, and without any cookie."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from reports.models import Report, ReportEvent, ReportPhoto, ReportStatus
from tests.conftest import set_rates
from tests.reports.factories import CategoryFactory, CategoryGroupFactory, ReportFactory

URL = "/api/v1/reports/screen"
PAGE = "/bildschirm/"
BERLIN = ZoneInfo("Europe/Berlin")
S = ReportStatus


@pytest.fixture
def city(db: Any) -> dict[str, Any]:
    now = timezone.now()
    local = now.astimezone(BERLIN)
    midnight = datetime.combine(local.date(), time.min, tzinfo=BERLIN)
    monday = midnight - timedelta(days=local.weekday())
    roads = CategoryGroupFactory(key="strasse", name_de="Straße", name_en="Road")
    pothole = CategoryFactory(key="schlagloch", name_de="Schlagloch", name_en="Pothole", parent=roads)
    graffiti = CategoryFactory(key="graffiti", name_de="Graffiti", name_en="Graffiti")
    today = ReportFactory(
        category=pothole,
        # After midnight and after this_week's report, also on a Monday just after midnight.
        created_at=now - min(timedelta(minutes=30), (now - midnight) / 2),
        address="Bahnhofstraße 12a, 44575 Castrop-Rauxel",
        stadtteil="Rauxel",
        description="Vor dem Haus von Frau Muster",
        contact_name="Erika Muster",
        contact_email="erika@example.org",
    )
    ReportPhoto.objects.create(
        report=today, image="r/public.jpg", thumbnail="r/public-thumb.jpg", width=640, height=480
    )
    ReportPhoto.objects.create(
        report=today,
        image="r/removed.jpg",
        thumbnail="r/removed-thumb.jpg",
        width=640,
        height=480,
        position=0,
        removed=True,
    )
    this_week = ReportFactory(
        category=graffiti, created_at=max(monday, now - timedelta(days=1, hours=1)), stadtteil="Ickern"
    )
    old_open = ReportFactory(category=graffiti, status=S.IN_PROGRESS, created_at=now - timedelta(days=40))
    ReportFactory(category=pothole, status=S.IN_REVIEW, created_at=now - timedelta(days=10))
    ReportFactory(category=pothole, status=S.RECEIVED, created_at=now - timedelta(days=3))
    resolved = ReportFactory(
        category=pothole,
        status=S.DONE,
        address="Münsterstraße 3",
        created_at=now - timedelta(days=5),
        first_response_at=now - timedelta(days=4),
        closed_at=now - timedelta(days=2),
    )
    ReportFactory(  # resolved long ago: in the 90-day median only
        category=graffiti,
        status=S.DONE,
        created_at=now - timedelta(days=60),
        first_response_at=now - timedelta(days=59),
        closed_at=now - timedelta(days=50),
    )
    hidden = ReportFactory(
        category=pothole, hidden=True, created_at=now - timedelta(minutes=5), description="Beleidigung"
    )
    return {
        "now": now,
        "today": today,
        "this_week": this_week,
        "old_open": old_open,
        "resolved": resolved,
        "hidden": hidden,
        "monday": monday,
        "midnight": midnight,
    }


def test_the_figures_of_the_screen(anon_client: APIClient, city: dict[str, Any]) -> None:
    response = anon_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    # The week began on Monday midnight in Berlin: how many of the fixture's reports fall in it depends
    # on today's weekday.
    filed = [report.created_at for report in Report.objects.filter(hidden=False)]
    assert body["today_count"] == sum(
        1 for created in filed if created >= city["midnight"]
    )  # Monday 00:xx: 2
    assert body["today_count"] >= 1
    assert body["week_count"] == sum(1 for created in filed if created >= city["monday"])
    assert body["week_count"] >= 1
    assert body["open_count"] == 5
    assert body["resolved_last_7_days_count"] == 1
    assert body["open_by_category"] == [
        {"key": "schlagloch", "label": "Schlagloch", "count": 3},
        {"key": "graffiti", "label": "Graffiti", "count": 2},
    ]
    assert body["open_by_age"] == [
        {"age": "under_2_days", "count": 2},
        {"age": "2_to_7_days", "count": 1},
        {"age": "8_to_30_days", "count": 1},
        {"age": "older", "count": 1},
    ]
    assert body["median_days_to_first_response_30"] == 1.0
    assert body["median_days_to_resolution_30"] == 3.0
    assert body["median_days_to_first_response_90"] == 1.0
    assert body["median_days_to_resolution_90"] == 6.5  # 3 and 10 days
    newest = body["newest"][0]
    assert newest["id"] == city["today"].pk
    assert newest["category_label"] == "Schlagloch"
    assert newest["place"] == "Bahnhofstraße"
    public = ReportPhoto.objects.get(image="r/public.jpg")
    assert newest["thumbnail"] == f"/media/reports/photos/{public.public_id}-{public.content_hash}-thumb.jpg"
    assert body["recently_resolved"] == [
        {"id": city["resolved"].pk, "category_label": "Schlagloch", "place": "Münsterstraße", "days": 3}
    ]
    assert {point["id"] for point in body["points"]} == {
        report.pk
        for report in Report.objects.filter(hidden=False).exclude(
            closed_at__lt=city["now"] - timedelta(days=7)
        )
    }


def test_the_figures_count_each_status_as_defined(anon_client: APIClient, db: Any) -> None:
    """Reports in every status, times in days after filing: resolution counts only done reports, first
    response any first public staff reaction (a forwarding too) in any status, never a hidden report."""
    now = timezone.now()
    category = CategoryFactory(key="schlagloch")

    def filed(
        status: str,
        days_ago: float,
        *,
        answered: float | None = None,
        closed: float | None = None,
        forwarded: float | None = None,
        hidden: bool = False,
    ) -> Report:
        created = now - timedelta(days=days_ago)
        report = ReportFactory(
            category=category,
            status=status,
            hidden=hidden,
            created_at=created,
            first_response_at=None if answered is None else created + timedelta(days=answered),
            closed_at=None if closed is None else created + timedelta(days=closed),
        )
        if forwarded is not None:
            event = ReportEvent.objects.create(report=report, kind=ReportEvent.Kind.REROUTED, is_public=True)
            ReportEvent.objects.filter(pk=event.pk).update(created_at=created + timedelta(days=forwarded))
        return report

    waiting = filed(S.RECEIVED, 20)
    forwarded = filed(S.RECEIVED, 20, forwarded=1)  # forwarded after a day, no answer yet
    in_progress = filed(S.IN_PROGRESS, 25, answered=6, forwarded=3)  # forwarded before the answer
    in_review = filed(S.IN_REVIEW, 5, answered=1.4)
    filed(S.DONE, 20, answered=2, closed=10)
    filed(S.DONE, 28, answered=4, closed=20)
    filed(S.DONE, 80, answered=5, closed=40)  # 90 days only
    done = filed(S.DONE, 4, answered=2.5, closed=3)  # done yesterday
    filed(S.REJECTED, 15, answered=1, closed=1)
    duplicate = filed(S.DUPLICATE, 5, answered=0.5, closed=0.5)
    not_responsible = filed(S.NOT_RESPONSIBLE, 6, answered=0.25, closed=0.25)
    withdrawn = filed(S.WITHDRAWN, 3, closed=2)  # withdrawn before any answer
    filed(S.WITHDRAWN, 16, answered=0.75, closed=9)  # answered, then withdrawn
    filed(S.DONE, 12, answered=10, closed=11, hidden=True)

    body = anon_client.get(URL).json()

    assert body["open_count"] == 4
    assert body["open_by_age"] == [
        {"age": "under_2_days", "count": 0},
        {"age": "2_to_7_days", "count": 1},
        {"age": "8_to_30_days", "count": 3},
        {"age": "older", "count": 0},
    ]
    # Done in the last 7 days: only the done one, not the duplicate, forwarded or withdrawn ones.
    assert body["resolved_last_7_days_count"] == 1
    assert body["recently_resolved"] == [
        {"id": done.pk, "category_label": category.name_de, "place": "", "days": 3}
    ]
    # Filing to done: 3, 10, 20 days in 30 days; and 40 in 90. Rejected (1), duplicate (0.5), not
    # responsible (0.25), withdrawn (2, 9) and the hidden one (11) would each move them.
    assert body["median_days_to_resolution_30"] == 10.0
    assert body["median_days_to_resolution_90"] == 15.0
    # First reactions in 30 days: 0.25 0.5 0.75 1 1 1.4 2 2.5 3 4 (forwardings after 1 and 3 days, the
    # closed-otherwise ones included) -> 1.2; with the one of 80 days ago (5) in 90 days -> 1.4.
    assert body["median_days_to_first_response_30"] == 1.2
    assert body["median_days_to_first_response_90"] == 1.4
    # The map: open reports and those closed in the last 7 days, in whatever status.
    current = (waiting, forwarded, in_progress, in_review, done, duplicate, not_responsible, withdrawn)
    assert {point["id"] for point in body["points"]} == {report.pk for report in current}


def test_nothing_private_reaches_the_screen(anon_client: APIClient, city: dict[str, Any]) -> None:
    text = anon_client.get(URL).content.decode()

    for private in ("Frau Muster", "Erika", "erika@example.org", "Beleidigung", "removed-thumb", "12a"):
        assert private not in text
    assert f'"id":{city["hidden"].pk},' not in text


def test_a_screen_of_one_stadtteil_and_a_group(anon_client: APIClient, city: dict[str, Any]) -> None:
    rauxel = anon_client.get(URL, {"stadtteil": "Rauxel"}).json()
    roads = anon_client.get(URL, {"category": "strasse"}).json()

    assert rauxel["open_count"] == 1
    assert [row["key"] for row in roads["open_by_category"]] == ["schlagloch"]
    assert roads["open_count"] == 3


def test_an_unknown_category_or_stadtteil_is_refused(anon_client: APIClient, city: dict[str, Any]) -> None:
    unknown = anon_client.get(URL, {"category": "schlagloch,gibtsnicht"})
    nowhere = anon_client.get(URL, {"stadtteil": "Atlantis"})

    assert unknown.status_code == 400
    assert [error["field"] for error in unknown.json()["errors"]] == ["category"]
    assert "gibtsnicht" in unknown.json()["errors"][0]["detail"]
    assert nowhere.status_code == 400


def _window_start(now: datetime) -> datetime:
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % 30, tz=UTC)


def test_an_unchanged_state_costs_a_304_and_a_change_shows_in_the_next_window(
    anon_client: APIClient, city: dict[str, Any]
) -> None:
    start = _window_start(timezone.now()) + timedelta(seconds=30)
    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        first = anon_client.get(URL)
        etag = first["ETag"]
        again = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)
        ReportFactory(category=city["today"].category)
        same_window = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        next_window = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)

    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=20"  # until the next window
    assert again.status_code == 304
    assert again["Cache-Control"] == "public, max-age=20"  # the page reads it from the 304 too
    assert same_window.status_code == 304  # computed once per window: the new report waits for the next
    assert next_window.status_code == 200
    assert next_window["Cache-Control"] == "public, max-age=30"
    assert next_window.json()["today_count"] == first.json()["today_count"] + 1


def _builds(client: APIClient) -> float:
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(client.get("/metrics").content.decode())
        for sample in family.samples
    }
    return samples["casapp_reports_screen_builds_total"]


def test_the_summary_is_computed_once_per_window_whatever_the_number_of_screens(
    settings: Any, city: dict[str, Any]
) -> None:
    settings.METRICS_TOKEN = "metrics-token-for-the-tests-0123456789abcdef"
    settings.METRICS_ALLOWED_NETWORKS = []
    scraper = APIClient(HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    set_rates(settings, anon="5/min")  # one city hall behind one address: 100 screens, 200 polls a minute
    hall = APIClient(REMOTE_ADDR="203.0.113.9")
    start = _window_start(timezone.now()) + timedelta(seconds=30)
    before = _builds(scraper)

    with time_machine.travel(start + timedelta(seconds=1), tick=False):
        first = [hall.get(URL) for _screen in range(50)]
        ickern = [hall.get(URL, {"stadtteil": "Ickern"}) for _screen in range(20)]
        revalidated = [hall.get(URL, HTTP_IF_NONE_MATCH=first[0]["ETag"]) for _screen in range(50)]
    after_one_window = _builds(scraper)
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        second = [hall.get(URL, HTTP_IF_NONE_MATCH=first[0]["ETag"]) for _screen in range(50)]

    assert {response.status_code for response in first + ickern} == {200}
    assert {response.status_code for response in revalidated + second} == {304}  # no figure changed
    assert len({response.content for response in first}) == 1
    assert after_one_window - before == 2  # all screens, and the screens of Ickern
    assert _builds(scraper) - before == 3  # the next window: once more, for the 50 screens asking


@pytest.mark.django_db(transaction=True)
def test_screens_asking_at_the_same_moment_wait_for_one_computation(settings: Any, live_server: Any) -> None:
    call_command("load_demo", stdout=StringIO())
    settings.METRICS_TOKEN = "metrics-token-for-the-tests-0123456789abcdef"
    settings.METRICS_ALLOWED_NETWORKS = []
    scraper = APIClient(HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    before = _builds(scraper)
    screens = 16
    together = threading.Barrier(screens)

    def poll(_screen: int) -> tuple[int, bytes]:
        together.wait()
        with urlopen(f"{live_server.url}{URL}") as answer:  # noqa: S310 (our own server)
            return answer.status, answer.read()

    with ThreadPoolExecutor(screens) as pool:
        answers = list(pool.map(poll, range(screens)))

    assert [status for status, _ in answers] == [200] * screens
    assert len({body for _, body in answers}) == 1
    # One computation, or two when the window turned while they asked.
    assert _builds(scraper) - before in (1, 2)


def test_the_page_sets_no_cookie_and_runs_only_our_scripts(db: Any) -> None:
    response = Client().get(PAGE, {"stadtteil": "Ickern", "theme": "dark", "refresh": "5", "view": "rotate"})

    assert response.status_code == 200
    assert not response.cookies
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.get("Vary", "")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    html = response.content.decode()
    assert 'class="screen-theme-dark"' in html
    assert 'data-refresh="5"' in html
    assert 'data-stadtteil="Ickern"' in html
    assert 'data-view="rotate"' in html
    assert "<script>" not in html


def test_bad_screen_parameters_fall_back_to_the_defaults(db: Any) -> None:
    response = Client().get(PAGE, {"refresh": "1", "theme": "pink", "stadtteil": "Atlantis", "view": "map"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-refresh="30"' in html
    assert 'class="screen-theme-light"' in html
    assert 'data-stadtteil=""' in html
    assert 'data-view="map"' in html


def test_an_unchanged_state_keeps_its_etag_when_the_cache_expires(
    anon_client: APIClient, city: dict[str, Any]
) -> None:
    first = anon_client.get(URL)

    # The next 30-s window: computed again, the same figures. (Seconds, so no report changes age group.)
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        again = anon_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
        fresh = anon_client.get(URL)

    assert again.status_code == 304
    assert fresh.json()["generated_at"] == first.json()["generated_at"]


def test_the_page_names_the_categories_it_shows(city: dict[str, Any]) -> None:
    roads = Client().get(PAGE, {"category": "strasse,graffiti"}).content.decode()
    everything = Client().get(PAGE).content.decode()

    assert '<span class="screen-scope"> · Straße, Graffiti</span>' in roads
    assert "screen-scope" not in everything


def test_the_medians_are_computed_once_per_ten_minutes_the_other_figures_per_window(
    anon_client: APIClient, city: dict[str, Any], settings: Any
) -> None:
    period = settings.SCREEN_MEDIANS_SECONDS
    seconds = int(timezone.now().timestamp())
    start = datetime.fromtimestamp(seconds - seconds % period + period, tz=UTC)
    with time_machine.travel(start + timedelta(seconds=1), tick=False):
        first = anon_client.get(URL).json()
    ReportFactory(  # resolved after 9 days: the 30-day median of 3 days becomes 6
        category=city["resolved"].category,
        status=S.DONE,
        created_at=timezone.now() - timedelta(days=9),
        closed_at=timezone.now(),
    )
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        next_window = anon_client.get(URL).json()
    with time_machine.travel(start + timedelta(seconds=period + 1), tick=False):
        next_period = anon_client.get(URL).json()

    assert first["median_days_to_resolution_30"] == 3.0
    assert next_window["resolved_last_7_days_count"] == first["resolved_last_7_days_count"] + 1
    assert next_window["median_days_to_resolution_30"] == 3.0
    assert next_period["median_days_to_resolution_30"] == 6.0


def test_a_screen_says_whether_stadtteil_polygons_are_loaded(
    anon_client: APIClient, city: dict[str, Any]
) -> None:
    without = anon_client.get(URL, {"stadtteil": "Castrop"})
    page = Client().get(PAGE, {"stadtteil": "Castrop"}).content.decode()
    districts = Path(__file__).resolve().parent / "data" / "districts-two.geojson"
    call_command("import_districts", str(districts), stdout=StringIO(), stderr=StringIO())
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):  # the next window
        loaded = anon_client.get(URL, {"stadtteil": "Castrop"})

    assert without.json()["stadtteile_available"] is False
    assert loaded.json()["stadtteile_available"] is True
    # The page's notice, shown by screen.js while the figures say no polygons are loaded.
    assert 'id="screen-no-districts" class="screen-notice" hidden>' in page
