"""Staff roles, staff authentication (session and API token), the German admin, the demo data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from casapp.authentication import staff_token_create
from casapp.models import StaffApiToken
from tests.conftest import assert_error_shape
from tests.factories import StaffFactory

URL = "/api/v1/staff/me"


@pytest.mark.django_db
def test_the_three_roles_exist_with_their_permissions():
    roles = {g.name: g for g in Group.objects.all()}

    assert {"Triage", "Kommunikation", "Administration"} <= set(roles)
    admin_perms = set(roles["Administration"].permissions.values_list("codename", flat=True))
    assert {
        "change_appconfiguration",
        "add_maintenancebanner",
        "view_installation",
        "add_staffapitoken",
    } <= admin_perms
    comms_perms = set(roles["Kommunikation"].permissions.values_list("codename", flat=True))
    assert "add_maintenancebanner" in comms_perms
    assert "add_staffapitoken" not in comms_perms


@pytest.mark.django_db
def test_staff_session_sees_its_roles(triage_client):
    response = triage_client.get(URL)

    assert response.status_code == 200
    assert response.json()["roles"] == ["Triage"]


@pytest.mark.django_db
def test_staff_token_authenticates_and_records_use(db):
    user = StaffFactory(roles=["Kommunikation"])
    token, key = staff_token_create(user=user, name="Pressestelle-Skript")
    client = APIClient()

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 200
    assert response.json()["username"] == user.username
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert key not in token.key_hash


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["revoked", "expired", "inactive_user", "not_staff"])
def test_unusable_staff_tokens_are_401(db, state):
    user = StaffFactory(roles=["Triage"])
    token, key = staff_token_create(user=user, name="t")
    if state == "revoked":
        StaffApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif state == "expired":
        StaffApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    elif state == "inactive_user":
        user.is_active = False
        user.save()
    else:
        user.is_staff = False
        user.save()

    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert_error_shape(response, 401, "authentication_failed")


@pytest.mark.django_db
def test_staff_endpoint_refuses_anonymous_devices_and_staff_without_role(anon_client, device_client):
    roleless = APIClient()
    roleless.force_login(StaffFactory())

    assert_error_shape(anon_client.get(URL), 401, "not_authenticated")
    # A device secret is no staff credential: to this endpoint the device is anonymous.
    device_response = device_client.get(URL)
    assert_error_shape(device_response, 401, "not_authenticated")
    assert device_response["WWW-Authenticate"] == "Bearer"
    assert_error_shape(roleless.get(URL), 403, "permission_denied")


@pytest.mark.django_db
def test_the_admin_speaks_german(client):
    page = client.get("/admin/login/").content.decode()

    assert "Anmelden" in page
    assert 'lang="de"' in page


@pytest.mark.django_db
def test_administration_can_add_a_banner_in_the_admin(client):
    user = StaffFactory(roles=["Administration"])
    client.force_login(user)

    page = client.get("/admin/casapp/maintenancebanner/add/")

    assert page.status_code == 200


@pytest.mark.django_db
def test_triage_cannot_open_the_app_configuration_admin(client):
    client.force_login(StaffFactory(roles=["Triage"]))

    assert client.get("/admin/casapp/appconfiguration/").status_code == 403


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_prints_passwords_once(capsys):
    call_command("load_demo")
    first = capsys.readouterr().out
    call_command("load_demo")
    second = capsys.readouterr().out

    staff = {
        "kommunikation": "Kommunikation",
        "presse": "Kommunikation",
        "verwaltung": "Administration",
        "triage": "Triage",
        "euv": "Triage",
        "ordnung": "Triage",
        "gruen": "Triage",
        "teamleitung": "Triage",
    }
    for username in staff:
        assert username in first
        assert username not in second
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__in=staff)
    assert {user.username: [g.name for g in user.groups.all()] for user in users} == {
        username: [role] for username, role in staff.items()
    }
    assert all(user.is_staff for user in users)
    # Two people for the four-eyes rule; the outage fast path for one of them only.
    assert [user.username for user in users if user.has_perm("push.send_emergency_outage")] == [
        "kommunikation"
    ]
    from push.services import can_approve

    # Each may approve what the other wrote, and has an address for the workflow's e-mails.
    approvers = [user for user in users if can_approve(user)]
    assert sorted(user.username for user in approvers) == ["kommunikation", "presse"]
    assert all(user.email for user in approvers)
    departments = {
        user.username: sorted(user.report_departments.values_list("key", flat=True))
        for user in users.filter(groups__name="Triage")
    }
    assert departments == {
        "triage": ["tiefbau"],
        "euv": ["euv"],
        "ordnung": ["ordnung"],
        "gruen": ["gruen"],
        "teamleitung": ["gruen", "tiefbau"],
    }
