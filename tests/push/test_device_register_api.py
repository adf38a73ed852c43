from __future__ import annotations

import pytest

from casapp.models import hash_secret
from push.models import Installation
from tests.conftest import assert_error_shape

URL = "/api/v1/devices/"
TOKEN = "fcm-token-aaaaaaaaaaaaaaaaaaaa:APA91b-0123456789"


@pytest.mark.django_db
def test_register_returns_id_and_secret_shown_once_and_stored_only_as_hash(anon_client):
    response = anon_client.post(
        URL,
        {"platform": "ios", "app_version": "1.4.2", "locale": "de-DE", "push_token": TOKEN},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    installation = Installation.objects.get(pk=body["id"])
    assert installation.platform == "ios"
    assert installation.app_version == "1.4.2"
    assert installation.locale == "de"
    assert installation.push_token == TOKEN
    assert installation.push_token_kind == "registration_token"
    assert body["has_push_token"] is True
    assert len(body["secret"]) >= 40
    assert installation.secret_hash == hash_secret(body["secret"])
    assert body["secret"] not in installation.secret_hash

    me = anon_client.get("/api/v1/devices/me", HTTP_AUTHORIZATION=f"Device {body['secret']}")
    assert me.status_code == 200
    assert "secret" not in me.json()


@pytest.mark.django_db
def test_register_without_push_token_and_with_firebase_installation_id(anon_client):
    plain = anon_client.post(URL, {"platform": "android", "app_version": "2.0"}, format="json")
    fid = anon_client.post(
        URL,
        {
            "platform": "web",
            "app_version": "2.0",
            "push_token": "cYX3p9Jq1k2m3n4o5p6q7r",
            "push_token_kind": "fid",
        },
        format="json",
    )

    assert plain.status_code == 201
    assert Installation.objects.get(pk=plain.json()["id"]).push_token is None
    assert plain.json()["locale"] == "de"
    assert Installation.objects.get(pk=fid.json()["id"]).push_token_kind == "fid"


@pytest.mark.django_db
def test_a_push_token_moves_to_the_newer_installation_without_its_data(anon_client, device, device_client):
    token = device.push_token

    response = anon_client.post(
        URL, {"platform": "android", "app_version": "1.5.0", "push_token": token}, format="json"
    )

    assert response.status_code == 201
    new = Installation.objects.get(pk=response.json()["id"])
    device.refresh_from_db()
    assert new.push_token == token
    assert device.push_token is None
    # The old installation still exists and still authenticates; the new one cannot see it.
    assert device_client.get("/api/v1/devices/me").json()["id"] == str(device.pk)
    new_me = anon_client.get("/api/v1/devices/me", HTTP_AUTHORIZATION=f"Device {response.json()['secret']}")
    assert new_me.json()["id"] == str(new.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"app_version": "1.0"}, "platform", "required"),
        ({"platform": "windows-phone", "app_version": "1.0"}, "platform", "invalid_choice"),
        ({"platform": "ios"}, "app_version", "required"),
        ({"platform": "ios", "app_version": "banana"}, "app_version", "invalid"),
        ({"platform": "ios", "app_version": "1." + "1" * 30}, "app_version", "max_length"),
        ({"platform": "ios", "app_version": "1.0", "locale": "deutsch!"}, "locale", "invalid"),
        ({"platform": "ios", "app_version": "1.0", "push_token": "short"}, "push_token", "min_length"),
        ({"platform": "ios", "app_version": "1.0", "push_token": "x" * 600}, "push_token", "max_length"),
        (
            {"platform": "ios", "app_version": "1.0", "push_token": "<script>alert(1)</script>xx"},
            "push_token",
            "invalid",
        ),
        (
            {"platform": "ios", "app_version": "1.0", "push_token": TOKEN, "push_token_kind": "apns"},
            "push_token_kind",
            "invalid_choice",
        ),
        ({"platform": ["ios"], "app_version": "1.0"}, "platform", "invalid_choice"),
    ],
)
def test_bad_registration_is_a_400_naming_the_field(anon_client, payload, field, code):
    response = anon_client.post(URL, payload, format="json")

    body = assert_error_shape(response, 400, "validation_error")
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in body["errors"]
    ]
    assert not Installation.objects.exists()


@pytest.mark.django_db
def test_malformed_json_and_wrong_media_type_are_rejected_in_the_error_shape(anon_client):
    broken = anon_client.post(URL, b'{"platform": "ios",', content_type="application/json")
    form = anon_client.post(
        URL, "platform=ios&app_version=1.0", content_type="application/x-www-form-urlencoded"
    )
    array = anon_client.post(URL, [1, 2], format="json")

    assert_error_shape(broken, 400, "parse_error")
    assert_error_shape(form, 415, "unsupported_media_type")
    assert_error_shape(array, 400, "validation_error")
    assert not Installation.objects.exists()


@pytest.mark.django_db
def test_registration_is_throttled_per_ip_with_retry_after(anon_client, settings):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["device_register"].split("/")[0])
    for _ in range(limit):
        assert (
            anon_client.post(URL, {"platform": "ios", "app_version": "1.0"}, format="json").status_code == 201
        )

    response = anon_client.post(URL, {"platform": "ios", "app_version": "1.0"}, format="json")
    other_ip = anon_client.post(
        URL, {"platform": "ios", "app_version": "1.0"}, format="json", REMOTE_ADDR="10.1.2.3"
    )

    assert_error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert other_ip.status_code == 201
    assert Installation.objects.count() == limit + 1


@pytest.mark.django_db
def test_a_stale_device_header_does_not_block_registering_again(anon_client):
    response = anon_client.post(
        URL,
        {"platform": "ios", "app_version": "1.0"},
        format="json",
        HTTP_AUTHORIZATION="Device no-longer-valid",
    )

    assert response.status_code == 201
