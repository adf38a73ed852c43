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
    assert subscribed["remind_day"] == "evening_before"
    assert subscribed["location"]["webcal_url"].startswith("webcal://")

    listed = device_client.get(URL)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [subscribed["id"]]
    assert listed["Cache-Control"] == "private, no-cache"
    assert ReminderSubscription.objects.get().installation == device


def test_morning_variant_and_update(device_client, town, subscribed):
    response = device_client.patch(
        one(subscribed["id"]), {"remind_day": "morning_of", "types": ["bioabfall"]}
    )

    assert response.status_code == 200
    assert (response.json()["remind_day"], response.json()["types"]) == ("morning_of", ["bioabfall"])
    stored = ReminderSubscription.objects.get()
    assert (stored.remind_at, stored.waste_types) == ("morning_of", ["bioabfall"])
    assert device_client.get(one(subscribed["id"])).json()["remind_day"] == "morning_of"


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
        ({"location": "LOC", "types": ["papier"], "remind_day": "midnight"}, "remind_day", "invalid_choice"),
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
    [({"types": []}, "types"), ({"types": ["glas"]}, "types"), ({"remind_day": "noon"}, "remind_day")],
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


# --- Times, labels, house numbers, the duplicate


def test_defaults_are_the_times_of_before(device_client, subscribed):
    assert (subscribed["remind_day"], subscribed["remind_time"], subscribed["label"]) == (
        "evening_before",
        "18:00",
        "",
    )


@pytest.mark.parametrize(
    ("remind_at", "remind_time"),
    [
        ("evening_before", "16:00"),
        ("evening_before", "19:45"),
        ("evening_before", "22:00"),
        ("morning_of", "05:00"),
        ("morning_of", "07:15"),
        ("morning_of", "08:00:00"),
    ],
)
def test_a_time_of_the_window_in_quarter_hours(device_client, town, remind_at, remind_time):
    response = device_client.post(
        URL,
        {
            "location": town.bahnhof_12.public_id,
            "types": ["papier"],
            "remind_day": remind_at,
            "remind_time": remind_time,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["remind_time"] == remind_time[:5]
    stored = ReminderSubscription.objects.get()
    assert (stored.remind_at, f"{stored.remind_time:%H:%M}") == (remind_at, remind_time[:5])


@pytest.mark.parametrize(
    ("remind_at", "remind_time", "code"),
    [
        ("evening_before", "15:45", "invalid_reminder_time"),  # before the window
        ("evening_before", "22:15", "invalid_reminder_time"),  # after it
        ("evening_before", "18:10", "invalid_reminder_time"),  # not a quarter hour
        ("evening_before", "06:00", "invalid_reminder_time"),  # the morning's time on the evening
        ("morning_of", "18:00", "invalid_reminder_time"),
        ("morning_of", "04:45", "invalid_reminder_time"),
        ("morning_of", "08:15", "invalid_reminder_time"),
        ("evening_before", "18:00:30", "invalid_reminder_time"),
        ("evening_before", "25:00", "invalid"),
        ("evening_before", "abends", "invalid"),
    ],
)
def test_a_time_outside_the_window_is_400(device_client, town, remind_at, remind_time, code):
    response = device_client.post(
        URL,
        {
            "location": town.bahnhof_12.public_id,
            "types": ["papier"],
            "remind_day": remind_at,
            "remind_time": remind_time,
        },
        format="json",
    )

    error = assert_error_shape(response, 400)
    assert (error["errors"][0]["field"], error["errors"][0]["code"]) == ("remind_time", code), error
    assert not ReminderSubscription.objects.exists()


def test_the_window_error_says_which_times_are_allowed(device_client, town):
    response = device_client.post(
        URL,
        {"location": town.bahnhof_12.public_id, "types": ["papier"], "remind_time": "23:00"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    error = assert_error_shape(response, 400, "invalid_reminder_time")
    assert error["detail"] == (
        "Wählen Sie für diese Erinnerung eine Uhrzeit von 16:00 bis 22:00 Uhr in Schritten von 15 Minuten."
    )


def test_changing_the_time_and_the_day(device_client, subscribed):
    url = one(subscribed["id"])

    later = device_client.patch(url, {"remind_time": "21:30"}, format="json")
    assert (later.json()["remind_day"], later.json()["remind_time"]) == ("evening_before", "21:30")
    # A new day without a time takes the day's default; with one, the time must fit the new day.
    morning = device_client.patch(url, {"remind_day": "morning_of"}, format="json")
    assert (morning.json()["remind_day"], morning.json()["remind_time"]) == ("morning_of", "06:00")
    assert_error_shape(device_client.patch(url, {"remind_time": "19:00"}, format="json"), 400)
    evening = device_client.patch(
        url, {"remind_day": "evening_before", "remind_time": "16:15"}, format="json"
    )
    assert (evening.json()["remind_day"], evening.json()["remind_time"]) == ("evening_before", "16:15")

    wrong = device_client.patch(url, {"remind_day": "morning_of", "remind_time": "16:15"}, format="json")
    assert_error_shape(wrong, 400, "invalid_reminder_time")
    stored = ReminderSubscription.objects.get()
    assert (stored.remind_at, f"{stored.remind_time:%H:%M}") == ("evening_before", "16:15")


def test_a_label_for_the_address(device_client, town):
    response = device_client.post(
        URL,
        {"location": town.bahnhof_12.public_id, "types": ["papier"], "label": "  Zuhause "},
        format="json",
    )
    assert response.json()["label"] == "Zuhause"

    renamed = device_client.patch(one(response.json()["id"]), {"label": "Mama"}, format="json")
    assert renamed.json()["label"] == "Mama"
    cleared = device_client.patch(one(response.json()["id"]), {"label": ""}, format="json")
    assert cleared.json()["label"] == ""


@pytest.mark.parametrize(
    ("label", "code"),
    [("x" * 41, "max_length"), ("Zu\nhause", "invalid"), ("Zu\x00hause", "null_characters_not_allowed")],
)
def test_a_label_too_long_or_with_control_characters_is_400(device_client, town, subscribed, label, code):
    created = device_client.post(
        URL, {"location": town.bahnhof_12.public_id, "types": ["papier"], "label": label}, format="json"
    )
    changed = device_client.patch(one(subscribed["id"]), {"label": label}, format="json")

    for response in (created, changed):
        error = assert_error_shape(response, 400)
        assert (error["errors"][0]["field"], error["errors"][0]["code"]) == ("label", code)
    assert list(ReminderSubscription.objects.values_list("label", flat=True)) == [""]


@pytest.mark.parametrize(
    ("location", "house_number", "stored"),
    [
        ("bahnhof_12", "12", "12"),
        ("bahnhof_12a", "12A", "12a"),
        ("bahnhof_odd", " 13 ", "13"),
        ("bahnhof_odd", "99b", "99b"),
        ("bahnhof_12", "", ""),
    ],
)
def test_a_house_number_the_location_holds(device_client, town, location, house_number, stored):
    response = device_client.post(
        URL,
        {"location": getattr(town, location).public_id, "types": ["papier"], "house_number": house_number},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["house_number"] == stored


@pytest.mark.parametrize(
    ("location", "house_number"),
    [
        ("bahnhof_odd", "12"),  # even: not in the odd range
        ("bahnhof_odd", "101"),  # beyond the range
        ("bahnhof_12", "13"),  # another location holds it
        ("bahnhof_12", "12a"),  # 12a has a location of its own
        ("bahnhof_odd", "zwölf"),
        ("bahnhof_odd", "13-15"),
    ],
)
def test_a_house_number_the_location_does_not_hold_is_400(device_client, town, location, house_number):
    response = device_client.post(
        URL,
        {"location": getattr(town, location).public_id, "types": ["papier"], "house_number": house_number},
        format="json",
    )
    error = assert_error_shape(response, 400, "unknown_house_number")
    assert error["errors"][0]["field"] == "house_number"
    assert not ReminderSubscription.objects.exists()


def test_changing_the_house_number_is_checked_too(device_client, subscribed):
    url = one(subscribed["id"])
    assert device_client.patch(url, {"house_number": "15"}, format="json").json()["house_number"] == "15"
    assert_error_shape(
        device_client.patch(url, {"house_number": "14"}, format="json"), 400, "unknown_house_number"
    )
    assert ReminderSubscription.objects.get().house_number == "15"


@pytest.mark.django_db
def test_a_whole_street_takes_any_house_number(device_client):
    from tests.waste_calendar.factories import StreetFactory

    whole = LocationFactory(
        street=StreetFactory(name="Kleiner Weg", needs_house_number=False), house_number=""
    )
    response = device_client.post(
        URL, {"location": whole.public_id, "types": ["papier"], "house_number": "7"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["house_number"] == "7"


def test_the_duplicate_names_the_existing_subscription(device_client, town, subscribed):
    response = device_client.post(
        URL,
        {"location": town.bahnhof_odd.public_id, "types": ["bioabfall"], "remind_time": "20:00"},
        format="json",
    )

    body = assert_error_shape(response, 409, "reminder_exists")
    assert body["existing_id"] == subscribed["id"]
    stored = ReminderSubscription.objects.get()
    assert (stored.waste_types, f"{stored.remind_time:%H:%M}") == (["restabfall", "papier"], "18:00")


def test_the_duplicate_is_409_before_any_other_check(device_client, town, subscribed):
    # The app learns which subscription to change even when its second request was otherwise wrong.
    response = device_client.post(
        URL,
        {"location": town.bahnhof_odd.public_id, "types": ["papier"], "house_number": "12"},
        format="json",
    )
    assert assert_error_shape(response, 409, "reminder_exists")["existing_id"] == subscribed["id"]


def test_another_installation_may_subscribe_the_same_location(other_device_client, town, subscribed):
    response = other_device_client.post(URL, {"location": town.bahnhof_odd.public_id, "types": ["papier"]})
    assert response.status_code == 201


def test_the_409_and_a_new_subscription_are_what_the_schema_documents(
    anon_client, device_client, town, subscribed
):
    import schemathesis

    from tests.casapp.test_response_schema import assert_documented

    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    openapi = schemathesis.openapi.from_dict(schema)
    duplicate = device_client.post(
        URL, {"location": town.bahnhof_odd.public_id, "types": ["papier"]}, format="json"
    )
    created = device_client.post(
        URL,
        {"location": town.bahnhof_12.public_id, "types": ["papier"], "label": "Mama", "remind_time": "19:30"},
        format="json",
    )

    assert assert_documented(openapi, "post", URL, duplicate)["existing_id"] == subscribed["id"]
    assert assert_documented(openapi, "post", URL, created)["remind_time"] == "19:30"
    operation = schema["paths"][URL]["post"]
    assert "existing_id" in schema["components"]["schemas"]["ReminderExistsError"]["required"]
    # The 409 itself names that schema (a generated client reads `existing_id` as a field) and shows it.
    conflict = operation["responses"]["409"]["content"]["application/json"]
    assert conflict["schema"] == {"$ref": "#/components/schemas/ReminderExistsError"}
    assert conflict["examples"]["reminder_exists"]["value"]["existing_id"] == 42


def test_the_first_name_of_the_day_still_works_for_api_v1(device_client, town):
    # remind_at was renamed remind_day (it ends in _at but is no instant); apps sending it keep working.
    created = device_client.post(
        URL,
        {"location": town.bahnhof_odd.public_id, "types": ["restabfall"], "remind_at": "morning_of"},
        format="json",
    )
    changed = device_client.patch(one(created.json()["id"]), {"remind_at": "evening_before"}, format="json")
    wrong = device_client.patch(one(created.json()["id"]), {"remind_at": "noon"}, format="json")

    assert created.status_code == 201
    assert (created.json()["remind_day"], created.json()["remind_at"]) == ("morning_of", "morning_of")
    assert created.json()["remind_time"] == "06:00"
    assert (changed.json()["remind_day"], changed.json()["remind_at"]) == ("evening_before", "evening_before")
    assert wrong.status_code == 400
    assert [error["field"] for error in wrong.json()["errors"]] == ["remind_at"]  # the name the app sent
