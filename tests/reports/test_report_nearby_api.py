"""``GET /api/v1/reports/nearby`` ("is it already reported?") and ``POST /api/v1/reports/{id}/support``."""

from __future__ import annotations

from typing import Any

import pytest

from reports.models import Report, ReportStatus, ReportSupport
from tests.conftest import assert_error_shape
from tests.reports.factories import CITY_POINT, CategoryFactory, ReportFactory, moved

URL = "/api/v1/reports/nearby"


def support_url(report_id: int) -> str:
    return f"/api/v1/reports/{report_id}/support"


def nearby(client: Any, *, point: tuple[float, float] = CITY_POINT, category: str = "schlagloch") -> Any:
    return client.get(URL, {"latitude": point[0], "longitude": point[1], "category": category})


def found_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [item["report"]["id"] for item in response.json()["results"]]


@pytest.fixture
def pothole(db: Any) -> Any:
    return CategoryFactory(key="schlagloch", name_de="Schlagloch")


@pytest.fixture
def drain(pothole: Any) -> Any:
    """Another leaf of the same group as the pothole."""
    return CategoryFactory(key="gully", parent=pothole.parent, department=pothole.department)


# --- nearby


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [("get", URL), ("post", support_url(1))])
def test_without_credentials_is_401(anon_client, method, url):
    response = getattr(anon_client, method)(url)

    assert_error_shape(response, 401, "not_authenticated")


@pytest.mark.django_db
def test_open_report_within_the_radius_is_found_with_its_distance(device_client, pothole):
    report = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=30), support_count=3)

    response = nearby(device_client)

    assert found_ids(response) == [report.pk]
    body = response.json()
    assert body["radius_m"] == 50
    [item] = body["results"]
    assert item["distance_m"] == pytest.approx(30, abs=0.5)
    assert item["supported_by_me"] is False
    assert item["reported_by_me"] is False
    assert item["report"]["support_count"] == 3
    assert item["report"]["status"] == ReportStatus.RECEIVED
    assert "contact_email" not in item["report"]
    assert "installation" not in item["report"]


@pytest.mark.django_db
def test_nearest_comes_first(device_client, pothole):
    farther = ReportFactory(category=pothole, point=moved(CITY_POINT, east_m=-45))
    nearer = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=10, east_m=10))
    middle = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=-25))

    assert found_ids(nearby(device_client)) == [nearer.pk, middle.pk, farther.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(("north_m", "east_m"), [(60, 0), (0, -60), (40, 40)])
def test_report_outside_the_radius_is_not_found(device_client, pothole, north_m, east_m):
    ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=north_m, east_m=east_m))

    assert found_ids(nearby(device_client)) == []


@pytest.mark.django_db
def test_the_radius_follows_the_setting(settings, device_client, pothole):
    report = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=60))
    settings.REPORT_NEARBY_METERS = 100

    assert found_ids(nearby(device_client)) == [report.pk]


@pytest.mark.django_db
def test_report_of_another_category_is_not_found(device_client, pothole, drain):
    ReportFactory(category=drain, point=moved(CITY_POINT, north_m=5))

    assert found_ids(nearby(device_client)) == []


@pytest.mark.django_db
def test_a_group_key_finds_reports_of_all_its_categories(device_client, pothole, drain):
    ReportFactory(category=drain, point=moved(CITY_POINT, north_m=5))
    ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=10))

    assert len(found_ids(nearby(device_client, category=pothole.parent.key))) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    [ReportStatus.DONE, ReportStatus.REJECTED, ReportStatus.DUPLICATE, ReportStatus.WITHDRAWN],
)
def test_closed_report_is_not_found(device_client, pothole, status):
    ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=5), status=status)

    assert found_ids(nearby(device_client)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ReportStatus.IN_REVIEW, ReportStatus.IN_PROGRESS])
def test_report_in_work_is_found(device_client, pothole, status):
    report = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=5), status=status)

    assert found_ids(nearby(device_client)) == [report.pk]


@pytest.mark.django_db
def test_hidden_report_is_not_found(device_client, pothole):
    ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=5), hidden=True)

    assert found_ids(nearby(device_client)) == []


@pytest.mark.django_db
def test_own_report_is_found_and_marked(device_client, device, pothole):
    ReportFactory(category=pothole, installation=device)

    [item] = nearby(device_client).json()["results"]

    assert item["reported_by_me"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lon": 7.29, "category": "schlagloch"}, "lat"),
        ({"lat": 51.57, "category": "schlagloch"}, "lon"),
        ({"lat": 51.57, "lon": 7.29}, "category"),
        ({"lat": "NaN", "lon": 7.29, "category": "schlagloch"}, "lat"),
        ({"lat": 51.57, "lon": "-inf", "category": "schlagloch"}, "lon"),
        ({"lat": 91, "lon": 7.29, "category": "schlagloch"}, "lat"),
        ({"lat": 51.57, "lon": 7.29, "category": "gibt-es-nicht"}, "category"),
    ],
)
def test_bad_query_in_the_deprecated_names_is_400_naming_the_parameter(device_client, pothole, query, field):
    body = assert_error_shape(device_client.get(URL, query), 400, "validation_error")

    assert [error["field"] for error in body["errors"]] == [field]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"longitude": 7.29, "category": "schlagloch"}, "latitude"),
        ({"latitude": 51.57, "category": "schlagloch"}, "longitude"),
        ({"category": "schlagloch"}, "latitude"),
        ({"latitude": "NaN", "longitude": 7.29, "category": "schlagloch"}, "latitude"),
        ({"latitude": 91, "longitude": 7.29, "category": "schlagloch"}, "latitude"),
        ({"latitude": 51.57, "longitude": 181, "category": "schlagloch"}, "longitude"),
    ],
)
def test_bad_query_is_400_naming_the_parameter(device_client, pothole, query, field):
    body = assert_error_shape(device_client.get(URL, query), 400, "validation_error")

    assert [error["field"] for error in body["errors"]][:1] == [field]


@pytest.mark.django_db
def test_the_deprecated_lat_lon_find_the_same_reports_as_latitude_longitude(device_client, pothole):
    near = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=20))
    ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=400))
    old = device_client.get(URL, {"lat": CITY_POINT[0], "lon": CITY_POINT[1], "category": "schlagloch"})

    assert found_ids(old) == found_ids(nearby(device_client)) == [near.pk]


@pytest.mark.django_db
def test_the_new_names_win_over_the_deprecated_ones(device_client, pothole):
    near = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=20))
    query = {"latitude": CITY_POINT[0], "longitude": CITY_POINT[1], "lat": 10.0, "lon": 10.0}

    assert found_ids(device_client.get(URL, {**query, "category": "schlagloch"})) == [near.pk]


# --- me too


@pytest.mark.django_db
def test_support_counts_once_per_installation(device_client, other_device, pothole):
    report = ReportFactory(category=pothole, installation=other_device)

    first = device_client.post(support_url(report.pk))
    again = device_client.post(support_url(report.pk))

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == {"id": report.pk, "support_count": 1}
    assert again.json() == {"id": report.pk, "support_count": 1}
    report.refresh_from_db()
    assert report.support_count == 1
    assert ReportSupport.objects.filter(report=report).count() == 1


@pytest.mark.django_db
def test_supported_report_is_marked_in_nearby(device_client, other_device_client, pothole):
    report = ReportFactory(category=pothole)
    device_client.post(support_url(report.pk))

    [mine] = nearby(device_client).json()["results"]
    [theirs] = nearby(other_device_client).json()["results"]

    assert (mine["supported_by_me"], theirs["supported_by_me"]) == (True, False)
    assert mine["report"]["support_count"] == 1


@pytest.mark.django_db
def test_two_installations_count_twice(device_client, other_device_client, pothole):
    report = ReportFactory(category=pothole)

    device_client.post(support_url(report.pk))
    response = other_device_client.post(support_url(report.pk))

    assert response.json()["support_count"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ReportStatus.DONE, ReportStatus.WITHDRAWN, ReportStatus.NOT_RESPONSIBLE])
def test_closed_report_cannot_be_supported(device_client, pothole, status):
    report = ReportFactory(category=pothole, status=status)

    assert_error_shape(device_client.post(support_url(report.pk)), 409, "report_closed")
    assert ReportSupport.objects.count() == 0


@pytest.mark.django_db
def test_own_report_cannot_be_supported(device_client, device, pothole):
    report = ReportFactory(category=pothole, installation=device)

    assert_error_shape(device_client.post(support_url(report.pk)), 409, "own_report")
    assert Report.objects.get().support_count == 0


@pytest.mark.django_db
def test_hidden_or_unknown_report_is_404(device_client, pothole):
    hidden = ReportFactory(category=pothole, hidden=True)

    assert_error_shape(device_client.post(support_url(hidden.pk)), 404, "not_found")
    assert_error_shape(device_client.post(support_url(hidden.pk + 1000)), 404, "not_found")
    assert ReportSupport.objects.count() == 0
