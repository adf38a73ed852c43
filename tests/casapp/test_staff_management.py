"""Staff management in the workspace: Administration (``vera``) adds, changes, deactivates accounts, resets
passwords and lifts login locks, without a superuser and without a way to raise anyone, itself included,
beyond the three roles and the grantable single permissions. ``root`` is a superuser; ``kai`` is in
Kommunikation; Grünflächen and Tiefbau are departments.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from rest_framework.test import APIClient

from casapp.authentication import staff_token_create
from casapp.models import StaffAuditEntry, StaffMember
from reports.models import Department
from tests.factories import StaffFactory

STAFF = "/admin/casapp/staffmember/"
PASSWORD = "correct horse battery staple"
FAST_PATH = "push.send_emergency_outage"
Action = StaffAuditEntry.Action


def browser(user: User | None = None, *, address: str = "10.0.0.1") -> Client:
    client = Client(headers={"Accept-Language": "de"}, REMOTE_ADDR=address)
    if user is not None:
        client.force_login(user)
    return client


def account_form(**fields: Any) -> dict[str, Any]:
    """The staff member page as the browser posts it, with no department rows."""
    return {
        "username": "",
        "first_name": "Greta",
        "last_name": "Grün",
        "email": "greta.gruen@castrop-rauxel.de",
        "is_active": "on",
        "roles": [],
        "grants": [],
        "casapp_department_members_set-TOTAL_FORMS": "0",
        "casapp_department_members_set-INITIAL_FORMS": "0",
        **fields,
    }


def inline_prefix(client: Client, url: str) -> str:
    """The management-form prefix of the departments inline, as the page renders it."""
    formsets = client.get(url).context["inline_admin_formsets"]
    return str(formsets[0].formset.prefix)


def with_prefix(prefix: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("casapp_department_members_set", prefix): value for key, value in fields.items()}


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def login(client: Client, username: str, password: str) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


@pytest.fixture
def vera(db: Any) -> User:
    return StaffFactory(username="vera", roles=["Administration"])


@pytest.fixture
def kai(db: Any) -> User:
    return StaffFactory(username="kai", email="kai@castrop-rauxel.de", roles=["Kommunikation"])


@pytest.fixture
def root(db: Any) -> User:
    return User.objects.create_superuser("root", "root@castrop-rauxel.de", PASSWORD)


@pytest.fixture
def gruenflaechen(db: Any) -> Department:
    return Department.objects.create(key="gruen", name="Grünflächen")


def test_administration_adds_a_triage_member_of_a_department_with_a_temporary_password(vera, gruenflaechen):
    client = browser(vera)
    prefix = inline_prefix(client, f"{STAFF}add/")

    response = client.post(
        f"{STAFF}add/",
        with_prefix(
            prefix,
            account_form(
                username="greta",
                roles=["Triage"],
                **{
                    "casapp_department_members_set-TOTAL_FORMS": "1",
                    "casapp_department_members_set-0-department": gruenflaechen.pk,
                },
            ),
        ),
        follow=True,
    )

    assert response.status_code == 200
    greta = User.objects.get(username="greta")
    assert greta.is_staff
    assert greta.is_active
    assert not greta.is_superuser
    assert list(greta.groups.values_list("name", flat=True)) == ["Triage"]
    assert list(greta.report_departments.all()) == [gruenflaechen]
    shown = next(m for m in messages_of(response) if "Temporäres Passwort" in m)
    temporary = shown.rsplit(": ", 1)[1]
    assert greta.check_password(temporary)
    entry = StaffAuditEntry.objects.get(member=greta)
    assert (entry.actor, entry.action, entry.changes) == (
        vera,
        Action.CREATED,
        {"roles": ["Triage"], "grants": []},
    )


def test_a_temporary_password_must_be_replaced_at_first_login(vera, kai):
    response = browser(vera).post(
        f"{STAFF}", {"action": "reset_password", "_selected_action": [kai.pk]}, follow=True
    )
    temporary = next(m for m in messages_of(response) if "kai:" in m).split("<code>")[1].split("</code>")[0]
    kai_browser = browser()

    assert login(kai_browser, "kai", temporary).status_code == 302
    response = kai_browser.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/admin/password_change/"
    assert "Bitte wählen Sie ein eigenes Passwort" in response.content.decode()
    # Django's password validators apply to the new one.
    weak = kai_browser.post(
        "/admin/password_change/",
        {"old_password": temporary, "new_password1": "kai12345", "new_password2": "kai12345"},
    )
    assert weak.status_code == 200
    assert kai_browser.get("/admin/").status_code == 302
    kai_browser.post(
        "/admin/password_change/",
        {
            "old_password": temporary,
            "new_password1": "Rathausplatz-1-Castrop",
            "new_password2": "Rathausplatz-1-Castrop",
        },
    )
    assert kai_browser.get("/admin/").status_code == 200


def test_deactivated_accounts_keep_their_row_and_can_no_longer_log_in_or_use_tokens(vera, kai):
    _, key = staff_token_create(user=kai, name="Skript")

    response = browser(vera).post(
        f"{STAFF}", {"action": "deactivate", "_selected_action": [kai.pk]}, follow=True
    )

    assert response.status_code == 200
    kai.refresh_from_db()
    assert not kai.is_active
    assert StaffAuditEntry.objects.filter(member=kai, action=Action.DEACTIVATED, actor=vera).exists()
    assert login(browser(), "kai", PASSWORD).status_code == 200  # the login form again, with its error
    assert APIClient().get("/api/v1/staff/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_staff_accounts_cannot_be_deleted(vera, kai):
    client = browser(vera)

    assert client.get(f"{STAFF}{kai.pk}/delete/").status_code == 403
    assert (
        "delete_selected" not in client.get(STAFF).context["action_form"].fields["action"].choices.__str__()
    )
    assert User.objects.filter(pk=kai.pk).exists()


def test_the_fast_path_is_granted_and_taken_back_by_administration_and_audited(vera, kai):
    client = browser(vera)
    url = f"{STAFF}{kai.pk}/change/"
    prefix = inline_prefix(client, url)

    unchanged = {"first_name": kai.first_name, "last_name": kai.last_name, "email": kai.email}

    client.post(
        url, with_prefix(prefix, account_form(roles=["Kommunikation"], grants=[FAST_PATH], **unchanged))
    )
    assert User.objects.get(pk=kai.pk).has_perm(FAST_PATH)
    client.post(url, with_prefix(prefix, account_form(roles=["Kommunikation"], grants=[], **unchanged)))

    assert not User.objects.get(pk=kai.pk).has_perm(FAST_PATH)
    assert list(
        StaffAuditEntry.objects.filter(member=kai).order_by("id").values_list("action", "changes", "actor")
    ) == [
        (Action.GRANTED, {"permission": FAST_PATH}, vera.pk),
        (Action.REVOKED, {"permission": FAST_PATH}, vera.pk),
    ]


# --- Escalation attempts: each is refused and leaves the accounts as they were.


def test_administration_cannot_use_auths_own_user_admin(vera, root):
    client = browser(vera)

    assert client.get("/admin/auth/user/add/").status_code == 403
    assert client.post("/admin/auth/user/add/", {"username": "x", "is_superuser": "on"}).status_code == 403
    assert client.get(f"/admin/auth/user/{root.pk}/change/").status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_superusers_are_not_listed_nor_changeable_in_staff_management(vera, root):
    client = browser(vera)

    assert root.pk not in [m.pk for m in client.get(STAFF).context["cl"].result_list]
    response = client.post(f"{STAFF}{root.pk}/change/", account_form(is_active=""))
    assert response.status_code == 302  # Django's "does not exist" redirect
    client.post(STAFF, {"action": "deactivate", "_selected_action": [root.pk]})
    client.post(STAFF, {"action": "reset_password", "_selected_action": [root.pk]})
    root.refresh_from_db()
    assert root.is_active
    assert root.check_password(PASSWORD)


def test_a_new_account_cannot_be_a_superuser_nor_get_other_permissions(vera):
    client = browser(vera)
    other_group = Group.objects.create(name="Hintertür")
    change_user = Permission.objects.get(codename="change_user")
    prefix = inline_prefix(client, f"{STAFF}add/")

    client.post(
        f"{STAFF}add/",
        with_prefix(
            prefix,
            account_form(
                username="mallory",
                roles=["Triage"],
                is_superuser="on",
                user_permissions=[change_user.pk],
                groups=[other_group.pk],
            ),
        ),
    )

    mallory = User.objects.get(username="mallory")
    assert not mallory.is_superuser
    assert list(mallory.groups.values_list("name", flat=True)) == ["Triage"]
    assert not mallory.user_permissions.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("roles", ["Triage", "Superuser"]),
        ("grants", ["auth.change_user"]),
        ("grants", ["push.approve_notification"]),
    ],
)
def test_roles_and_grants_outside_the_declared_ones_are_refused(vera, kai, field, value):
    client = browser(vera)
    url = f"{STAFF}{kai.pk}/change/"

    response = client.post(url, with_prefix(inline_prefix(client, url), account_form(**{field: value})))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert StaffAuditEntry.objects.count() == 0
    assert not User.objects.get(pk=kai.pk).user_permissions.exists()


def test_administration_cannot_raise_nor_deactivate_itself(vera):
    client = browser(vera)
    url = f"{STAFF}{vera.pk}/change/"

    client.post(
        url,
        with_prefix(
            inline_prefix(client, url),
            account_form(roles=["Administration", "Kommunikation"], grants=[FAST_PATH], is_active=""),
        ),
    )
    response = client.post(STAFF, {"action": "deactivate", "_selected_action": [vera.pk]}, follow=True)

    vera = User.objects.get(pk=vera.pk)
    assert vera.is_active
    assert list(vera.groups.values_list("name", flat=True)) == ["Administration"]
    assert not vera.has_perm(FAST_PATH)
    assert any("eigenes Konto nicht deaktivieren" in m for m in messages_of(response))
    assert not StaffAuditEntry.objects.exclude(action=Action.CHANGED).exists()


def test_administration_cannot_mint_an_api_token_for_someone_else(vera, kai):
    client = browser(vera)

    response = client.post("/admin/casapp/staffapitoken/add/", {"user": kai.pk, "name": "Hintertür"})

    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert not kai.api_tokens.exists()
    client.post("/admin/casapp/staffapitoken/add/", {"user": vera.pk, "name": "Mein Skript"})
    assert vera.api_tokens.count() == 1


def test_triage_and_kommunikation_cannot_manage_staff(kai):
    triage = StaffFactory(roles=["Triage"])

    for user in (kai, triage):
        assert browser(user).get(STAFF).status_code == 403
        assert browser(user).get("/admin/casapp/staffauditentry/").status_code == 403


# --- Failed logins: throttled per user name and per address, lifted by Administration.


def test_five_wrong_passwords_lock_the_account_with_a_german_page(kai):
    client = browser(address="10.0.0.7")
    for _ in range(4):
        assert login(client, "kai", "falsch").status_code == 200
    assert login(client, "kai", "falsch").status_code == 429  # the fifth locks

    locked = login(client, "kai", PASSWORD)
    from_elsewhere = login(browser(address="10.9.9.9"), "kai", PASSWORD)

    assert locked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in locked.content.decode()
    assert "15 Minuten" in locked.content.decode()
    assert from_elsewhere.status_code == 429


def test_a_colleague_behind_the_same_address_can_still_log_in(kai):
    colleague = StaffFactory(username="tina", roles=["Triage"])
    for _ in range(5):
        login(browser(address="10.0.0.7"), "kai", "falsch")

    assert login(browser(address="10.0.0.7"), colleague.username, PASSWORD).status_code == 302
    # ... and that login does not clear the attempts against kai.
    assert login(browser(address="10.0.0.7"), "kai", PASSWORD).status_code == 429


def test_many_failures_from_one_address_lock_that_address(settings, kai):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    for number in range(6):
        login(browser(address="10.0.0.66"), f"guess{number}", "falsch")

    assert login(browser(address="10.0.0.66"), "kai", PASSWORD).status_code == 429
    assert login(browser(address="10.0.0.67"), "kai", PASSWORD).status_code == 302


def test_administration_lifts_a_login_lock(vera, kai):
    for _ in range(5):
        login(browser(), "kai", "falsch")
    assert "kai" in {m.username for m in browser(vera).get(STAFF).context["cl"].result_list if m.pk == kai.pk}

    response = browser(vera).post(
        STAFF, {"action": "unlock_login", "_selected_action": [kai.pk]}, follow=True
    )

    assert any("1" in m for m in messages_of(response))
    assert login(browser(), "kai", PASSWORD).status_code == 302
    assert StaffAuditEntry.objects.filter(member=kai, action=Action.UNLOCKED, actor=vera).exists()


def test_staff_management_and_its_log_are_german(vera):
    index = browser(vera).get("/admin/").content.decode()

    assert "Mitarbeitende" in index
    assert "Protokoll der Kontenänderungen" in index


def test_staff_member_is_a_proxy_of_the_same_accounts(kai):
    assert StaffMember.objects.get(pk=kai.pk).username == "kai"


def test_a_forged_forwarded_address_is_no_crash_and_counts_as_no_address(settings, kai):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client(HTTP_X_FORWARDED_FOR="<script>", REMOTE_ADDR="10.0.0.1")

    assert login(client, "kai", "falsch").status_code == 200
    assert login(client, "kai", PASSWORD).status_code == 302
