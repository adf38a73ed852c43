"""A location's resource, its collections in a window and the next collection per type."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import assert_error_shape
from tests.waste_calendar.factories import CollectionFactory, DistrictFactory, LocationDistrictFactory


def url(location, suffix=""):
    return f"/api/v1/waste/locations/{location.public_id}{suffix}"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def schedule(town, today):
    """Rest every 14 days from tomorrow; paper moved from today+2 to today+3; organic tomorrow cancelled,
    then on today+8."""
    d = town.districts
    for weeks in range(30):
        CollectionFactory(district=d["restabfall"], date=today + dt.timedelta(days=1 + 14 * weeks))
    CollectionFactory(district=d["restabfall"], date=today - dt.timedelta(days=13))
    CollectionFactory(
        district=d["papier"],
        date=today + dt.timedelta(days=3),
        status="moved",
        original_date=today + dt.timedelta(days=2),
        reason="Feiertag",
    )
    CollectionFactory(district=d["bioabfall"], date=today + dt.timedelta(days=1), status="cancelled")
    CollectionFactory(district=d["bioabfall"], date=today + dt.timedelta(days=8))
    return town


def test_location_resource_offers_https_and_webcal_links(anon_client, town):
    body = anon_client.get(url(town.bahnhof_12)).json()

    assert body["id"] == town.bahnhof_12.public_id
    assert body["street"]["name"] == "Bahnhofstraße"
    assert body["house_number"] == "12"
    assert body["types"] == ["restabfall", "bioabfall", "papier"]
    assert body["ics_url"] == f"https://testserver/api/v1/waste/locations/{town.bahnhof_12.public_id}.ics"
    assert body["webcal_url"] == f"webcal://testserver/api/v1/waste/locations/{town.bahnhof_12.public_id}.ics"


def test_local_development_over_http_gets_an_http_link(anon_client, town, settings):
    settings.DEBUG = True  # `make run`: runserver on http://127.0.0.1:8000

    body = anon_client.get(url(town.bahnhof_12)).json()

    assert body["ics_url"] == f"http://testserver/api/v1/waste/locations/{town.bahnhof_12.public_id}.ics"
    assert body["webcal_url"] == f"webcal://testserver/api/v1/waste/locations/{town.bahnhof_12.public_id}.ics"


@pytest.mark.django_db
@pytest.mark.parametrize("location_id", ["doesnotexist", "0" * 20])
def test_unknown_location_is_404_everywhere(anon_client, location_id):
    for suffix in ["", "/collections", "/next", ".ics"]:
        assert_error_shape(
            anon_client.get(f"/api/v1/waste/locations/{location_id}{suffix}"), 404, "not_found"
        )


@pytest.mark.django_db
@pytest.mark.parametrize("location_id", ["UPPER", "a" * 21, "with-dash"])
def test_malformed_location_id_is_404(anon_client, location_id):
    assert_error_shape(
        anon_client.get(f"/api/v1/waste/locations/{location_id}/collections"), 404, "not_found"
    )


def test_collections_default_window_with_moved_and_cancelled(anon_client, schedule, today):
    body = anon_client.get(url(schedule.bahnhof_12, "/collections")).json()

    assert body["date_from"] == today.isoformat()
    assert body["date_to"] == (today + dt.timedelta(days=60)).isoformat()
    rows = [(c["date"], c["type"], c["status"], c["original_date"]) for c in body["collections"]]
    day = lambda n: (today + dt.timedelta(days=n)).isoformat()  # noqa: E731
    assert rows[:4] == [
        (day(1), "restabfall", "scheduled", None),
        (day(1), "bioabfall", "cancelled", None),
        (day(3), "papier", "moved", day(2)),
        (day(8), "bioabfall", "scheduled", None),
    ]
    assert body["collections"][2]["reason"] == "Feiertag"
    assert [r[0] for r in rows if r[1] == "restabfall"] == [day(1), day(15), day(29), day(43), day(57)]


def test_collections_window_and_types(anon_client, schedule, today):
    params = {
        "from": (today - dt.timedelta(days=20)).isoformat(),
        "to": (today + dt.timedelta(days=3)).isoformat(),
        "types": "papier,restabfall",
    }
    body = anon_client.get(url(schedule.bahnhof_12, "/collections"), params).json()

    assert [(c["date"], c["type"]) for c in body["collections"]] == [
        ((today - dt.timedelta(days=13)).isoformat(), "restabfall"),
        ((today + dt.timedelta(days=1)).isoformat(), "restabfall"),
        ((today + dt.timedelta(days=3)).isoformat(), "papier"),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"types": "papier,glas"}, "types"),
        ({"types": "x" * 600}, "types"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "gestern"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-05-10", "to": "2026-05-09"}, "to"),
        ({"from": "2026-01-01", "to": "2027-03-01"}, "to"),
        ({"from": "1900-01-01", "to": "9999-12-31"}, "to"),
    ],
)
def test_collections_refuse_bad_parameters(anon_client, town, params, field):
    body = assert_error_shape(
        anon_client.get(url(town.bahnhof_12, "/collections"), params), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == field


def test_a_whole_year_is_allowed(anon_client, schedule):
    response = anon_client.get(
        url(schedule.bahnhof_12, "/collections"), {"from": "2026-01-01", "to": "2027-01-31"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")


def test_an_assignment_that_ended_stops_its_collections(anon_client, town, today):
    glas_district = DistrictFactory(waste_type__key="glas", waste_type__name_de="Glas")
    LocationDistrictFactory(
        location=town.bahnhof_12,
        district=glas_district,
        valid_from=today,
        valid_until=today + dt.timedelta(days=5),
    )
    CollectionFactory(district=glas_district, date=today + dt.timedelta(days=4))
    CollectionFactory(district=glas_district, date=today + dt.timedelta(days=11))

    body = anon_client.get(url(town.bahnhof_12, "/collections"), {"types": "glas"}).json()

    assert [c["date"] for c in body["collections"]] == [(today + dt.timedelta(days=4)).isoformat()]


def test_next_per_type_skips_cancelled_and_sorts_soonest_first(anon_client, schedule, today):
    body = anon_client.get(url(schedule.bahnhof_12, "/next"), HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["location"] == schedule.bahnhof_12.public_id
    assert [
        (n["type"], n["name"], n["days_until"], n["status"], n["original_date"]) for n in body["next"]
    ] == [
        ("restabfall", "Residual waste", 1, "scheduled", None),
        ("papier", "Paper", 3, "moved", (today + dt.timedelta(days=2)).isoformat()),
        ("bioabfall", "Organic waste", 8, "scheduled", None),
    ]


def test_next_for_some_types_and_today_counts(anon_client, schedule, today):
    CollectionFactory(district=schedule.districts["papier"], date=today)

    body = anon_client.get(url(schedule.bahnhof_12, "/next"), {"types": "papier"}).json()

    assert [(n["type"], n["date"], n["days_until"]) for n in body["next"]] == [
        ("papier", today.isoformat(), 0)
    ]


def test_next_refuses_an_unknown_type(anon_client, town):
    body = assert_error_shape(anon_client.get(url(town.bahnhof_12, "/next"), {"types": "glas"}), 400)
    assert body["errors"] == [
        {"field": "types", "code": "unknown_type", "detail": "Unbekannte Abfallart: glas."}
    ]


@pytest.mark.parametrize("suffix", ["/collections", "/next"])
def test_a_blank_type_list_means_all_types(anon_client, schedule, suffix):
    everything = anon_client.get(url(schedule.bahnhof_12) + suffix).json()
    assert len(everything["collections" if suffix == "/collections" else "next"]) >= 3

    for types in ["", ",", " , "]:
        assert anon_client.get(url(schedule.bahnhof_12) + suffix, {"types": types}).json() == everything
