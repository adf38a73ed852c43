"""Reminder subscriptions of an installation: CRUD and the validation matrix (401/403/404/409/400)."""

from __future__ import annotations

import pytest

from tests.conftest import assert_error_shape
from tests.waste_calendar.factories import LocationFactory, WasteTypeFactory
from waste_calendar.models import ReminderSubscription
from waste_calendar.reminders import MAX_SUBSCRIPTIONS_PER_INSTALLATION

URL = "/api/v1/waste/reminders/"


def one(pk) -> str:
    return f"/api/v1/waste/reminders/{pk}"


@pytest.fixture
def subscribed(device_client, town):
    response = device_client.post(
        URL, {"location": town.bahnhof_odd.public_id, "house_number": "13", "types": ["papier", "restabfall"]}
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_create_with_defaults_and_list(device_client, device, town, subscribed):
    assert subscribed["location"]["id"] == town.bahnhof_odd.public_id
    assert subscribed["house_number"] == "13"
    assert subscribed["types"] == ["restabfall", "papier"]  # display order, not the order sent
    assert subscribed["remind_at"] == "evening_before"
    assert subscribed["location"]["webcal_url"].startswith("webcal://")

    listed = device_client.get(URL)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [subscribed["id"]]
    assert listed["Cache-Control"] == "private, no-cache"
    assert ReminderSubscription.objects.get().installation == device


def test_morning_variant_and_update(device_client, town, subscribed):
    response = device_client.patch(one(subscribed["id"]), {"remind_at": "morning_of", "types": ["bioabfall"]})

    assert response.status_code == 200
    assert (response.json()["remind_at"], response.json()["types"]) == ("morning_of", ["bioabfall"])
    stored = ReminderSubscription.objects.get()
    assert (stored.remind_at, stored.waste_types) == ("morning_of", ["bioabfall"])
    assert device_client.get(one(subscribed["id"])).json()["remind_at"] == "morning_of"


def test_delete(device_client, subscribed):
    assert device_client.delete(one(subscribed["id"])).status_code == 204
    assert not ReminderSubscription.objects.exists()
    assert_error_shape(device_client.delete(one(subscribed["id"])), 404, "not_found")


def test_several_locations_per_installation(device_client, town):
    for location in (town.bahnhof_12, town.bahnhof_odd):
        assert (
            device_client.post(URL, {"location": location.public_id, "types": ["papier"]}).status_code == 201
        )
    assert len(device_client.get(URL).json()) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"), [("get", URL), ("post", URL), ("get", one(1)), ("patch", one(1)), ("delete", one(1))]
)
def test_anonymous_is_401(anon_client, method, path):
    response = getattr(anon_client, method)(path, {})
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Device")


@pytest.mark.django_db
def test_a_wrong_device_secret_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Device not-a-secret")
    assert_error_shape(anon_client.get(URL), 401)


@pytest.mark.django_db
def test_staff_are_not_an_installation(triage_client):
    assert triage_client.get(URL).status_code in (401, 403)
    assert_error_shape(triage_client.get(URL), triage_client.get(URL).status_code)


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_installations_subscription_is_404(other_device_client, subscribed, method):
    response = getattr(other_device_client, method)(one(subscribed["id"]), {"types": ["papier"]})
    assert_error_shape(response, 404, "not_found")
    assert ReminderSubscription.objects.get().waste_types == ["restabfall", "papier"]
    assert other_device_client.get(URL).json() == []


def test_the_same_location_twice_is_409(device_client, town, subscribed):
    response = device_client.post(URL, {"location": town.bahnhof_odd.public_id, "types": ["papier"]})
    assert_error_shape(response, 409, "reminder_exists")


def test_at_most_ten_locations(device_client, town):
    for n in range(MAX_SUBSCRIPTIONS_PER_INSTALLATION):
        location = LocationFactory(street=town.bahnhofstrasse, house_number=str(200 + n))
        assert (
            device_client.post(URL, {"location": location.public_id, "types": ["papier"]}).status_code == 201
        )
    response = device_client.post(URL, {"location": town.bahnhof_12.public_id, "types": ["papier"]})
    assert_error_shape(response, 400, "too_many_reminders")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"types": ["papier"]}, "location", "required"),
        ({"location": "doesnotexist", "types": ["papier"]}, "location", "unknown_location"),
        ({"location": "x" * 21, "types": ["papier"]}, "location", "max_length"),
        ({"location": "LOC", "types": []}, "types", "min_length"),
        ({"location": "LOC"}, "types", "required"),
        ({"location": "LOC", "types": "papier"}, "types", "not_a_list"),
        ({"location": "LOC", "types": ["glas"]}, "types", "unknown_type"),
        ({"location": "LOC", "types": ["alt"]}, "types", "unknown_type"),  # inactive
        ({"location": "LOC", "types": ["Papier!"]}, "types", "invalid"),
        ({"location": "LOC", "types": ["papier"], "remind_at": "midnight"}, "remind_at", "invalid_choice"),
        ({"location": "LOC", "types": ["papier"], "house_number": "1" * 31}, "house_number", "max_length"),
    ],
)
def test_create_validation(device_client, town, body, field, code):
    WasteTypeFactory(key="alt", is_active=False)
    if body.get("location") == "LOC":
        body = {**body, "location": town.bahnhof_12.public_id}
    response = device_client.post(URL, body, format="json")
    error = assert_error_shape(response, 400)
    assert error["errors"][0]["field"].split(".")[0] == field, error
    assert error["errors"][0]["code"] == code, error
    assert not ReminderSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"types": []}, "types"), ({"types": ["glas"]}, "types"), ({"remind_at": "noon"}, "remind_at")],
)
def test_update_validation_keeps_what_is_stored(device_client, subscribed, body, field):
    error = assert_error_shape(device_client.patch(one(subscribed["id"]), body, format="json"), 400)
    assert error["errors"][0]["field"].split(".")[0] == field
    stored = ReminderSubscription.objects.get()
    assert (stored.waste_types, stored.remind_at) == (["restabfall", "papier"], "evening_before")


def test_erasing_the_installation_deletes_its_subscriptions(
    device_client, device, other_device_client, town, subscribed
):
    from push.services import installation_erase

    other_device_client.post(URL, {"location": town.bahnhof_12.public_id, "types": ["papier"]})

    installation_erase(installation=device)

    assert list(ReminderSubscription.objects.values_list("location", flat=True)) == [town.bahnhof_12.pk]


def test_erasure_through_the_api_deletes_subscriptions(device_client, subscribed):
    assert device_client.delete("/api/v1/devices/me").status_code == 204
    assert not ReminderSubscription.objects.exists()
