"""The open-data exports of ``GET /api/v1/reports/`` (GeoJSON, CSV): one cached export per normalised filter
set, and a rate limit of their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from reports.models import ReportStatus
from tests.conftest import assert_error_shape, set_rates
from tests.reports.factories import CategoryFactory, CategoryGroupFactory, ReportFactory

URL = "/api/v1/reports/"
# A box around the Marktplatz whose edges lie off the 0.001° grid.
MIN_LON, MIN_LAT, MAX_LON, MAX_LAT = 7.3101, 51.5501, 7.3155, 51.5545
BBOX = f"{MIN_LON},{MIN_LAT},{MAX_LON},{MAX_LAT}"


@pytest.fixture
def pothole(db: Any) -> Any:
    group = CategoryGroupFactory(key="strassen", name_de="Straßen und Wege")
    return CategoryFactory(parent=group, key="schlagloch", name_de="Schlagloch")


def feature_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return sorted(feature["id"] for feature in response.json()["features"])


@pytest.mark.django_db
def test_viewports_metres_apart_and_statuses_in_another_order_share_one_cached_export(anon_client, pothole):
    first = ReportFactory(category=pothole, point=(51.552, 7.312))
    ask = {"format": "geojson", "bbox": BBOX, "status": "eingegangen,in_bearbeitung"}
    assert feature_ids(anon_client.get(URL, ask)) == [first.pk]
    later = ReportFactory(category=pothole, point=(51.553, 7.313))

    shifted = f"{MIN_LON + 0.00002},{MIN_LAT + 0.00001},{MAX_LON - 0.00003},{MAX_LAT + 0.00002}"
    same_export = anon_client.get(
        URL, {"format": "geojson", "bbox": shifted, "status": "in_bearbeitung,eingegangen,eingegangen"}
    )
    other_filters = anon_client.get(URL, {"format": "geojson", "bbox": BBOX, "status": "eingegangen"})

    assert feature_ids(same_export) == [first.pk]  # computed before `later` was filed
    assert feature_ids(other_filters) == [first.pk, later.pk]


@pytest.mark.django_db
def test_the_same_instant_in_another_offset_is_the_same_export(anon_client, pothole):
    ReportFactory(category=pothole, point=(51.552, 7.312))
    since = datetime(2026, 11, 1, tzinfo=UTC)
    berlin = since.astimezone(timezone(timedelta(hours=1)))
    assert len(anon_client.get(URL, {"format": "csv", "updated_since": since.isoformat()}).content) > 0
    ReportFactory(category=pothole, point=(51.553, 7.313))

    cached_csv = anon_client.get(URL, {"format": "csv", "updated_since": berlin.isoformat()})
    other_instant = anon_client.get(
        URL, {"format": "csv", "updated_since": (since - timedelta(seconds=1)).isoformat()}
    )

    assert cached_csv.content.decode().count("\r\n") == 2  # the header and the first report only
    assert other_instant.content.decode().count("\r\n") == 3


@pytest.mark.django_db
def test_export_bbox_is_widened_outward_to_the_grid_and_the_json_list_is_not(anon_client, pothole):
    inside = ReportFactory(category=pothole, point=(51.552, 7.312))
    # East of the box's edge (7.3155) but west of the grid line it is widened to (7.316).
    just_east = ReportFactory(category=pothole, point=(51.552, 7.3158))
    # South of the box's edge (51.5501) but north of its grid line (51.550).
    just_south = ReportFactory(category=pothole, point=(51.55005, 7.312))
    beyond = ReportFactory(category=pothole, point=(51.552, 7.3165))

    exported = feature_ids(anon_client.get(URL, {"format": "geojson", "bbox": BBOX}))
    listed = anon_client.get(URL, {"bbox": BBOX}).json()["results"]

    assert exported == sorted([inside.pk, just_east.pk, just_south.pk])
    assert beyond.pk not in exported
    assert [item["id"] for item in listed] == [inside.pk]


@pytest.mark.django_db
def test_exports_have_their_own_rate_limit_per_ip(settings, anon_client, pothole):
    set_rates(settings, report_export="2/min", anon="1000/min")
    ReportFactory(category=pothole, status=ReportStatus.RECEIVED)

    allowed = [
        anon_client.get(URL, {"format": "geojson"}).status_code,
        anon_client.get(URL, {"format": "csv", "status": "eingegangen"}).status_code,
    ]
    refused = anon_client.get(URL, {"format": "csv"})
    from_elsewhere = anon_client.get(URL, {"format": "csv"}, REMOTE_ADDR="192.0.2.7")
    json_list = anon_client.get(URL)

    assert allowed == [200, 200]
    body = assert_error_shape(refused, 429, "throttled")
    assert body["detail"]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert from_elsewhere.status_code == 200
    assert json_list.status_code == 200  # the JSON pages do not count as exports


@pytest.mark.django_db
def test_exports_by_accept_header_count_as_exports(settings, anon_client, pothole):
    set_rates(settings, report_export="1/min", anon="1000/min")

    first = anon_client.get(URL, HTTP_ACCEPT="application/geo+json")
    second = anon_client.get(URL, HTTP_ACCEPT="text/csv")

    assert first.status_code == 200
    assert first["Content-Type"].startswith("application/geo+json")
    assert_error_shape(second, 429, "throttled")
