"""The workspace's overview map: its page and its JSON data, scoped to the user's departments; the settings
every map of the workspace is drawn with; no CDN and no inline script on the workspace's map pages.

Actors: a Triage member of Tiefbau, Administration, a member of Ordnung (another department), a logged-in
user who is not staff, an anonymous browser.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from reports.models import Category, Department, Report, ReportStatus
from tests.casapp.test_content_security_policy import directives
from tests.factories import StaffFactory
from tests.reports.staff_factories import category, report, triage_staff

REPORTS = "/admin/reports/report/"
MAP = f"{REPORTS}map/"
DATA = f"{REPORTS}map/data/"
S = ReportStatus


def browser(user: Any, *, language: str = "de") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def points(client: Client, query: dict[str, Any] | None = None) -> list[int]:
    response = client.get(DATA, query or {})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return sorted(point["id"] for point in response.json()["reports"])


def map_config(content: str) -> dict[str, Any]:
    found = re.search(
        r'<script id="workspace-map-config" type="application/json">(.*?)</script>', content, re.S
    )
    assert found, "no map configuration on the page"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def aged(target: Report, *, days: float) -> Report:
    Report.objects.filter(pk=target.pk).update(created_at=timezone.now() - timedelta(days=days))
    return target


@pytest.fixture
def ampel(tiefbau: Department) -> Category:
    return category("ampel", department=tiefbau)


@pytest.fixture
def member(tiefbau: Department) -> Client:
    return browser(triage_staff(tiefbau))


@pytest.fixture
def administration(db: Any) -> Client:
    return browser(StaffFactory(roles=["Administration"]))


# --- Who sees which points


@pytest.mark.django_db
def test_the_map_shows_the_open_reports_of_my_departments_only(member, schlagloch, graffiti):
    received = report(schlagloch)
    in_progress = report(schlagloch, status=S.IN_PROGRESS)
    report(schlagloch, status=S.DONE)
    report(schlagloch, status=S.REJECTED)
    foreign = [report(graffiti), report(graffiti, status=S.IN_PROGRESS)]

    assert points(member) == sorted([received.pk, in_progress.pk])
    # Whatever the filters, another department's reports never appear.
    for query in ({"status": S.IN_PROGRESS}, {"age": "new"}, {"status": S.RECEIVED, "age": ""}):
        assert not set(points(member, query)) & {r.pk for r in foreign}, query


@pytest.mark.django_db
def test_another_departments_category_is_no_filter_choice(member, graffiti):
    report(graffiti)

    response = member.get(DATA, {"category": "graffiti"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == ["category"]


@pytest.mark.django_db
def test_administration_sees_every_open_report(administration, schlagloch, graffiti):
    shown = [report(schlagloch).pk, report(graffiti).pk]
    report(graffiti, status=S.DONE)

    assert points(administration) == sorted(shown)


@pytest.mark.django_db
def test_a_point_carries_what_the_map_shows_and_links_to_the_report(member, schlagloch):
    target = aged(
        report(
            schlagloch,
            status=S.IN_REVIEW,
            description="Ampel an der Kreuzung blinkt nur gelb",
            address="Wittener Straße 1",
        ),
        days=3,
    )

    [point] = member.get(DATA).json()["reports"]

    assert point == {
        "id": target.pk,
        "latitude": 51.55,
        "longitude": 7.31,
        "status": "in_pruefung",
        "status_label": "in Prüfung",
        "category": "Schlagloch",
        "place": "Wittener Straße 1",
        "age": "3 Tage",
        "summary": "Ampel an der Kreuzung blinkt nur gelb",
        "url": f"{REPORTS}{target.pk}/change/",
        "overdue": False,  # no due time set on this report
    }


# --- Filters


@pytest.mark.django_db
def test_the_map_filters_by_category_status_and_age(member, schlagloch, ampel):
    pothole_new = report(schlagloch)
    pothole_old = aged(report(schlagloch, status=S.IN_PROGRESS), days=10)
    light_week = aged(report(ampel, status=S.IN_REVIEW), days=3)

    assert points(member, {"category": "ampel"}) == [light_week.pk]
    assert points(member, {"status": S.IN_PROGRESS}) == [pothole_old.pk]
    assert points(member, {"age": "new"}) == [pothole_new.pk]
    assert points(member, {"age": "2"}) == sorted([pothole_old.pk, light_week.pk])
    assert points(member, {"age": "7"}) == [pothole_old.pk]
    assert points(member, {"category": "schlagloch", "age": "7"}) == [pothole_old.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": S.DONE}, "status"),  # a closed status is not on the map
        ({"status": "kaputt"}, "status"),
        ({"age": "3"}, "age"),
        ({"category": "gibt-es-nicht"}, "category"),
    ],
)
def test_a_bad_filter_is_answered_400_in_the_error_shape(member, schlagloch, query, field):
    response = member.get(DATA, query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == field
    assert body["detail"]


# --- Access


@pytest.mark.django_db
def test_the_map_and_its_data_need_a_staff_session(schlagloch):
    report(schlagloch)
    not_staff = Client()
    not_staff.force_login(get_user_model().objects.create_user("buerger", password="x"))

    for client in (Client(), not_staff):
        for url in (MAP, DATA):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


@pytest.mark.django_db
def test_staff_without_access_to_reports_get_403(schlagloch):
    report(schlagloch)
    communications = browser(StaffFactory(roles=["Kommunikation"]))

    assert communications.get(MAP).status_code == 403
    assert communications.get(DATA).status_code == 403


# --- The page


@pytest.mark.django_db
def test_the_map_page_loads_its_points_from_the_data_endpoint(member, schlagloch):
    target = report(schlagloch, description="Einzigartige Beschreibung für die Karte")

    response = member.get(MAP)

    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-points-url="{DATA}"' in content
    assert "Einzigartige Beschreibung" not in content  # the points are not in the HTML
    assert f"/{target.pk}/change/" not in content


@pytest.mark.django_db
def test_the_map_page_is_german_with_a_legend_and_filters(member, schlagloch):
    content = member.get(MAP).content.decode()

    for text in (
        "Karte der offenen Meldungen",
        "Kategorie",
        "alle Kategorien",
        "alle offenen",
        "Alter",
        "älter als eine Woche",
        "Legende",
        "eingegangen",
        "in Prüfung",
        "in Bearbeitung",
        "Stadtgrenze",
        "Mein Eingang",
    ):
        assert text in content, text
    assert 'class="report-pin report-pin--in_bearbeitung"' in content


@pytest.mark.django_db
def test_the_count_label_is_german(member, schlagloch):
    report(schlagloch)

    assert member.get(DATA).json()["count_label"] == "1 offene Meldung"


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["map", "report"])
def test_workspace_map_pages_use_no_cdn_and_no_inline_script(member, schlagloch, page):
    target = report(schlagloch)
    url = MAP if page == "map" else f"{REPORTS}{target.pk}/change/"

    content = member.get(url).content.decode()

    assert "unpkg" not in content
    assert "cdn" not in content.lower()
    for tag in re.findall(r"<script[^>]*>", content):
        # Code only from our own site; data blocks only as JSON, which the browser does not run.
        assert re.search(r'src="/(?!/)', tag) or 'type="application/json"' in tag, tag
    for href in re.findall(r'<link[^>]*href="([^"]+)"', content):
        assert href.startswith("/static/"), href
    assert "/static/vendor/leaflet/leaflet-1.9.4/leaflet.js" in content


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["map", "report"])
def test_tiles_and_boundary_come_from_the_settings(member, schlagloch, settings, page):
    target = report(schlagloch)
    url = MAP if page == "map" else f"{REPORTS}{target.pk}/change/"
    settings.MAP_TILE_URL = "https://karten.castrop-rauxel.de/tiles/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "Stadt Castrop-Rauxel"

    config = map_config(member.get(url).content.decode())

    assert config["tileUrl"] == "https://karten.castrop-rauxel.de/tiles/{z}/{x}/{y}.png"
    assert config["tileAttribution"] == "Stadt Castrop-Rauxel"
    [boundary] = config["boundary"]["features"]
    assert boundary["geometry"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.django_db
def test_without_a_tile_url_the_maps_get_no_tiles_but_the_boundary(member, settings):
    settings.MAP_TILE_URL = ""

    config = map_config(member.get(MAP).content.decode())

    assert config["tileUrl"] == ""
    assert config["boundary"]["features"]


@pytest.mark.django_db
def test_the_default_tiles_are_openstreetmaps(member):
    config = map_config(member.get(MAP).content.decode())

    assert config["tileUrl"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "openstreetmap.org/copyright" in config["tileAttribution"]


def test_the_vendored_leaflet_is_served_with_its_licences() -> None:
    from django.contrib.staticfiles import finders

    for name in (
        "vendor/leaflet/leaflet-1.9.4/leaflet.js",
        "vendor/leaflet/leaflet-1.9.4/leaflet.css",
        "vendor/leaflet/leaflet-1.9.4/LICENSE",
        "vendor/leaflet/leaflet-1.9.4/images/marker-icon.png",
        "vendor/leaflet/markercluster-1.5.3/leaflet.markercluster.js",
        "vendor/leaflet/markercluster-1.5.3/MarkerCluster.css",
        "vendor/leaflet/markercluster-1.5.3/MIT-LICENCE.txt",
        "vendor/leaflet/README.md",
    ):
        assert finders.find(name), name


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["map", "report"])
def test_the_content_security_policy_allows_our_scripts_and_the_tile_server_only(member, schlagloch, page):
    target = report(schlagloch)
    url = MAP if page == "map" else f"{REPORTS}{target.pk}/change/"

    policy = directives(member.get(url))

    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "https://tile.openstreetmap.org" in policy["img-src"]
    assert policy["connect-src"] == ["'self'"]  # the map's data endpoint


def test_the_tile_server_in_the_policy_follows_the_tile_url() -> None:
    def sources(tile_url: str) -> str:
        """MAP_CSP_SOURCES as a fresh process derives it from the environment."""
        return subprocess.run(
            [sys.executable, "-c", "from django.conf import settings; print(settings.MAP_CSP_SOURCES)"],
            env={
                **os.environ,
                "MAP_TILE_URL": tile_url,
                "DJANGO_SETTINGS_MODULE": "casapp.settings",
                "DJANGO_DEBUG": "true",
            },
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert (
        sources("https://{s}.tiles.example.de/{z}/{x}/{y}.png")
        == "{'img-src': ['https://*.tiles.example.de']}"
    )
    assert sources("") == "{}"
