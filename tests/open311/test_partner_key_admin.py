"""Partner keys in the admin: Administration issues a key (shown once), sees what it filed, revokes it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from reports.models import Category
from reports.open311.models import PartnerApiKey, PartnerSubmission
from tests.factories import StaffFactory
from tests.open311.conftest import BASE, assert_open311_error
from tests.reports.factories import CITY_POINT

KEYS = "/admin/open311/partnerapikey/"
FORM = "application/x-www-form-urlencoded"


def browser(*roles: str) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(StaffFactory(roles=list(roles)))
    return client


def file_request(reader: Client, secret: str) -> Any:
    fields = {
        "api_key": secret,
        "service_code": "strassenlaterne",
        "lat": CITY_POINT[0],
        "long": CITY_POINT[1],
        "attribute[fehlerbild]": "aus",
    }
    return reader.post(f"{BASE}requests.json", urlencode(fields), content_type=FORM)


@pytest.mark.django_db
def test_administration_issues_a_key_shown_once_then_revokes_it(
    reader: Client, streetlight: Category
) -> None:
    admin = browser("Administration")

    response = admin.post(
        f"{KEYS}add/", {"name": "Mark-a-Spot Kreis", "contact": "it@kreis.example"}, follow=True
    )

    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"] if "shown only now" in str(m)]
    secret = re.search(r": (\S+)$", message)
    assert secret is not None
    key = PartnerApiKey.objects.get()
    assert key.name == "Mark-a-Spot Kreis"
    assert secret.group(1) not in key.key_hash
    assert key.prefix == secret.group(1)[:8]
    # Shown once: the key's page does not hold it.
    assert secret.group(1) not in admin.get(f"{KEYS}{key.pk}/change/").content.decode()

    assert file_request(reader, secret.group(1)).status_code == 200
    assert PartnerSubmission.objects.get().api_key == key
    listing = admin.get(KEYS).content.decode()
    assert "Mark-a-Spot Kreis" in listing

    revoked = admin.post(KEYS, {"action": "revoke", "_selected_action": [key.pk]}, follow=True)

    assert revoked.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert_open311_error(file_request(reader, secret.group(1)), 403, "json")
    # Revoked, not deleted: what it filed stays attributed.
    assert admin.get(f"{KEYS}{key.pk}/delete/").status_code == 403
    assert PartnerSubmission.objects.get().api_key == key


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Triage", "Kommunikation"])
def test_other_roles_cannot_issue_keys(role: str) -> None:
    response = browser(role).get(f"{KEYS}add/")

    assert response.status_code == 403
