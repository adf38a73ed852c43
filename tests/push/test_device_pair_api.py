"""Pairing a staff member's phone as test device: ``POST /api/v1/push/pairing-codes`` (staff) shows a
one-time code, ``POST /api/v1/devices/me/pair`` (the app) consumes it. Test sends reach only paired
phones, at most five, titled "[TEST]", and stay out of the original's figures.

Actors: ``comms_client`` (the author) pairs their phones, ``comms_colleague_client`` is another staff
member, ``device`` is the phone. Sends go through the console backend eagerly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from push.models import AuditEntry, Delivery, Installation, Notification, StaffDevice, Topic
from tests.conftest import assert_error_shape, device_client_for
from tests.factories import InstallationFactory

CODES = "/api/v1/push/pairing-codes"
PAIR = "/api/v1/devices/me/pair"
NOTIFICATIONS = "/api/v1/push/notifications/"
OUTAGE = {
    "de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."},
    "en": {"title": "Citizens' office closed", "body": "It stays closed today because of a failure."},
}


def phone(n: int = 1) -> Installation:
    return InstallationFactory(push_token=f"token-staff-phone-{n:014d}", push_token_kind="registration_token")


def code_for(client: APIClient) -> str:
    response = client.post(CODES)
    assert response.status_code == 201, response.json()
    return str(response.json()["code"])


def pair(installation: Installation, code: str, **extra: Any) -> Any:
    return device_client_for(installation).post(PAIR, {"code": code, **extra}, format="json")


# --- Pairing


@pytest.mark.django_db
def test_a_phone_pairs_with_the_code_its_owner_was_shown(comms_client, device):
    issued = comms_client.post(CODES)
    code = issued.json()["code"]

    response = pair(device, code.lower(), label="Diensthandy")

    assert issued.status_code == 201
    assert len(code) == 8
    assert response.status_code == 201, response.json()
    assert response.json()["label"] == "Diensthandy"
    paired = StaffDevice.objects.get()
    assert (paired.user, paired.installation, paired.label) == (comms_client.user, device, "Diensthandy")
    assert paired.paired_at is not None
    entry = AuditEntry.objects.get(action="device_paired")
    assert (entry.actor, entry.notification, entry.changes) == (
        comms_client.user,
        None,
        {"installation": str(device.pk), "user": comms_client.user.pk},
    )


@pytest.mark.django_db
def test_a_code_pairs_once(comms_client, device, other_device):
    code = code_for(comms_client)
    assert pair(device, code).status_code == 201

    assert_error_shape(pair(other_device, code), 400, "invalid_pairing_code")
    assert list(StaffDevice.objects.values_list("installation", flat=True)) == [device.pk]


@pytest.mark.django_db
def test_an_expired_code_is_refused(comms_client, device):
    code = code_for(comms_client)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = pair(device, code)

    assert_error_shape(response, 400, "invalid_pairing_code")
    assert not StaffDevice.objects.exists()


@pytest.mark.django_db
def test_a_code_nobody_was_shown_is_refused(comms_client, device):
    code_for(comms_client)

    for forged in ("ABCDEFGH", "", "x" * 21):
        assert_error_shape(pair(device, forged), 400)
    assert not StaffDevice.objects.exists()
    assert_error_shape(device_client_for(device).post(PAIR, {}, format="json"), 400)


@pytest.mark.django_db
def test_a_sixth_phone_is_refused(comms_client):
    for n in range(5):
        assert pair(phone(n), code_for(comms_client)).status_code == 201
    code = code_for(comms_client)

    refused = pair(phone(5), code)
    StaffDevice.objects.filter(user=comms_client.user).first().delete()  # type: ignore[union-attr]
    after_unpairing = pair(phone(6), code)

    assert_error_shape(refused, 409, "test_device_limit")
    assert after_unpairing.status_code == 201  # the refused attempt did not use the code up
    assert StaffDevice.objects.filter(user=comms_client.user).count() == 5


@pytest.mark.django_db
def test_pairing_is_rate_limited_per_address(comms_client, device, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "device_pair": "3/hour",
        },
    }
    code = code_for(comms_client)

    guesses = [pair(device, f"GUESS{n:03d}").status_code for n in range(3)]
    right_code_too_late = pair(device, code)

    assert guesses == [400, 400, 400]
    assert_error_shape(right_code_too_late, 429)
    assert not StaffDevice.objects.exists()


@pytest.mark.django_db
def test_only_an_installation_pairs_and_only_staff_issue_codes(
    anon_client, comms_client, triage_client, device
):
    code = code_for(comms_client)

    assert_error_shape(anon_client.post(PAIR, {"code": code}, format="json"), 401)
    assert comms_client.post(PAIR, {"code": code}, format="json").status_code in (401, 403)
    assert_error_shape(anon_client.post(CODES), 401)
    assert_error_shape(device_client_for(device).post(CODES), 401)
    assert_error_shape(triage_client.post(CODES), 403)
    assert not StaffDevice.objects.exists()


# --- Test sends


def draft(client: APIClient) -> dict[str, Any]:
    response = client.post(NOTIFICATIONS, {"kind": "outage", "content": OUTAGE}, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


@pytest.mark.django_db
def test_a_test_send_reaches_only_paired_phones_titled_test(
    comms_client, comms_colleague_client, django_capture_on_commit_callbacks
):
    paired = phone(1)
    assert pair(paired, code_for(comms_client)).status_code == 201
    colleagues = phone(2)
    assert pair(colleagues, code_for(comms_colleague_client)).status_code == 201
    # Marked as test device before pairing existed (or by hand): not paired, so never reached.
    StaffDevice.objects.create(user=comms_client.user, installation=phone(3))
    notification = draft(comms_client)

    with django_capture_on_commit_callbacks(execute=True):
        response = comms_client.post(f"{NOTIFICATIONS}{notification['id']}/send-test")

    assert response.status_code == 202, response.json()
    test_send = Notification.objects.get(pk=response.json()["id"])
    assert list(Delivery.objects.values_list("installation_id", flat=True)) == [paired.pk]
    assert test_send.content["de"]["title"] == "[TEST] Bürgerbüro geschlossen"
    assert test_send.content["en"]["title"] == "[TEST] Citizens' office closed"


@pytest.mark.django_db
def test_a_test_send_needs_a_paired_phone(comms_client):
    StaffDevice.objects.create(user=comms_client.user, installation=phone(1))  # not paired
    notification = draft(comms_client)

    response = comms_client.post(f"{NOTIFICATIONS}{notification['id']}/send-test")

    assert_error_shape(response, 400, "no_staff_device")
    assert not Notification.objects.filter(test_of__isnull=False).exists()


@pytest.mark.django_db
def test_a_test_send_never_reaches_more_than_five_phones(comms_client, django_capture_on_commit_callbacks):
    # Rows beyond the cap can only exist from before pairing; even paired, they do not widen a test.
    for n in range(8):
        StaffDevice.objects.create(user=comms_client.user, installation=phone(n), paired_at=timezone.now())
    notification = draft(comms_client)

    with django_capture_on_commit_callbacks(execute=True):
        comms_client.post(f"{NOTIFICATIONS}{notification['id']}/send-test")

    assert Delivery.objects.count() == 5


@pytest.mark.django_db
def test_test_sends_are_not_counted_in_the_notifications_figures(
    comms_client, comms_colleague_client, django_capture_on_commit_callbacks
):
    subscriber = InstallationFactory(push_token="token-subscriber-000000000001", push_token_kind="fid")
    subscriber.topics.add(Topic.objects.get(key="stoerungen"))
    assert pair(phone(1), code_for(comms_client)).status_code == 201
    notification = draft(comms_client)
    url = f"{NOTIFICATIONS}{notification['id']}"

    with django_capture_on_commit_callbacks(execute=True):
        assert comms_client.post(f"{url}/send-test").status_code == 202
        assert comms_client.post(f"{url}/request-approval").status_code == 200
        assert comms_colleague_client.post(f"{url}/approve").status_code == 200

    figures = comms_client.get(f"{url}/statistics").json()
    assert (figures["targeted"], figures["accepted"]) == (1, 1)
    assert Delivery.objects.count() == 2  # the test send's own delivery exists, counted apart
