from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from push.models import Installation
from push.signals import installation_erasing
from tests.conftest import assert_error_shape
from tests.factories import InstallationFactory

URL = "/api/v1/devices/me"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_without_credentials_is_401_with_the_device_challenge(anon_client, method):
    response = getattr(anon_client, method)(URL)

    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Device")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Device wrong-secret", "Device", "Device a b", "Bearer nonsense", "Device \u00e4\u00f6\u00fc"],
)
def test_bad_credentials_are_401(anon_client, device, header):
    response = anon_client.get(URL, HTTP_AUTHORIZATION=header)

    assert_error_shape(response, 401)


@pytest.mark.django_db
def test_each_installation_sees_only_itself(device_client, other_device_client, device, other_device):
    mine = device_client.get(URL)
    theirs = other_device_client.get(URL)

    assert mine.status_code == 200
    assert mine.json()["id"] == str(device.pk)
    assert mine.json()["has_push_token"] is True
    assert "push_token" not in mine.json()
    assert theirs.json()["id"] == str(other_device.pk)


@pytest.mark.django_db
def test_update_changes_locale_version_and_token(device_client, device):
    response = device_client.patch(
        URL,
        {
            "locale": "en-GB",
            "app_version": "1.5.0",
            "push_token": "a-brand-new-token-0000000000",
            "push_token_kind": "fid",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    device.refresh_from_db()
    assert (device.locale, device.app_version) == ("en", "1.5.0")
    assert (device.push_token, device.push_token_kind) == ("a-brand-new-token-0000000000", "fid")


@pytest.mark.django_db
def test_null_push_token_switches_push_off(device_client, device):
    response = device_client.patch(URL, {"push_token": None}, format="json")

    assert response.status_code == 200
    assert response.json()["has_push_token"] is False
    device.refresh_from_db()
    assert device.push_token is None
    assert device.push_token_kind == ""


@pytest.mark.django_db
def test_taking_over_a_token_needs_the_token_and_reveals_nothing(
    device_client, other_device_client, device, other_device
):
    response = other_device_client.patch(URL, {"push_token": device.push_token}, format="json")

    assert response.status_code == 200
    device.refresh_from_db()
    other_device.refresh_from_db()
    assert other_device.push_token == "token-of-the-first-device-0001"
    assert device.push_token is None
    assert device_client.get(URL).json()["id"] == str(device.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, None),
        ({"locale": 42}, "locale"),
        ({"app_version": ""}, "app_version"),
        ({"push_token": "has spaces in it, not a token"}, "push_token"),
        ({"push_token_kind": "carrier-pigeon"}, "push_token_kind"),
    ],
)
def test_bad_update_is_400_and_changes_nothing(device_client, device, payload, field):
    before = Installation.objects.values().get(pk=device.pk)

    response = device_client.patch(URL, payload, format="json")

    body = assert_error_shape(response, 400, "validation_error")
    assert field in [e["field"] for e in body["errors"]]
    assert Installation.objects.values().get(pk=device.pk) == before


@pytest.mark.django_db
def test_erase_deletes_the_installation_and_tells_other_apps(device_client, device, other_device):
    erased = []

    def receiver(sender, installation, **kwargs):
        erased.append(installation.pk)

    installation_erasing.connect(receiver)
    try:
        response = device_client.delete(URL)
    finally:
        installation_erasing.disconnect(receiver)

    assert response.status_code == 204
    assert erased == [device.pk]
    assert not Installation.objects.filter(pk=device.pk).exists()
    assert Installation.objects.filter(pk=other_device.pk).exists()
    assert_error_shape(device_client.get(URL), 401)


@pytest.mark.django_db
def test_last_seen_is_written_at_most_once_per_resolution(device_client, device, django_assert_num_queries):
    fresh = timezone.now() - timedelta(minutes=5)
    Installation.objects.filter(pk=device.pk).update(last_seen_at=fresh)

    with django_assert_num_queries(1):  # the authentication lookup only, no write
        assert device_client.get(URL).status_code == 200
    device.refresh_from_db()
    assert device.last_seen_at == fresh

    stale = timezone.now() - timedelta(hours=3)
    Installation.objects.filter(pk=device.pk).update(last_seen_at=stale)
    device_client.get(URL)
    device.refresh_from_db()
    assert device.last_seen_at > stale + timedelta(hours=2)


@pytest.mark.django_db
def test_rotating_the_secret_invalidates_the_old_one(device_client, anon_client, device):
    response = device_client.post(f"{URL}/secret")

    assert response.status_code == 200
    new_secret = response.json()["secret"]
    assert new_secret != device.secret
    assert_error_shape(device_client.get(URL), 401)
    assert anon_client.get(URL, HTTP_AUTHORIZATION=f"Device {new_secret}").json()["id"] == str(device.pk)


@pytest.mark.django_db
def test_secret_rotation_needs_a_device(anon_client, triage_client):
    assert_error_shape(anon_client.post(f"{URL}/secret"), 401)
    # A staff session is no device credential: to device endpoints staff are anonymous.
    assert_error_shape(triage_client.post(f"{URL}/secret"), 401, "not_authenticated")


@pytest.mark.django_db
def test_staff_are_not_devices(triage_client):
    assert_error_shape(triage_client.get(URL), 401, "not_authenticated")


@pytest.mark.django_db
def test_many_installations_do_not_share_secrets():
    secrets = {InstallationFactory().secret_hash for _ in range(20)}
    assert len(secrets) == 20
