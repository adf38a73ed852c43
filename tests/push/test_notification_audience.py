"""The audience estimate: how many installations a notification reaches, by platform and language, in the
staff API and the workspace; zero cannot be submitted, a small campaign is warned about. The estimate is
proven against what the fake FCM server then received. Actors: an author and a colleague in
Kommunikation, Triage, anonymous."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from push import services
from push.models import Installation, Notification, Topic
from tests.conftest import assert_error_shape
from tests.factories import InstallationFactory, StaffFactory

URL = "/api/v1/push/notifications/"
OUTAGE = {"de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."}}
_tokens = iter(range(10**6))


def phone(*topics: str, platform: str = "android", locale: str = "de", **fields: Any) -> Installation:
    installation = InstallationFactory(
        platform=platform,
        locale=locale,
        push_token=f"token-audience-{next(_tokens):08d}",
        push_token_kind="registration_token",
        **fields,
    )
    installation.topics.add(*Topic.objects.filter(key__in=topics))
    return installation


@pytest.fixture
def population(db: Any) -> dict[str, list[Installation]]:
    """Who an outage to Ickern reaches, and who is just outside it."""
    long_ago = timezone.now() - timedelta(days=31)
    return {
        "reached": [
            phone("stoerungen", stadtteil="Ickern"),
            phone("stoerungen", stadtteil="Ickern", platform="ios", locale="en"),
            phone("stoerungen", "aktionen", stadtteil="Ickern", platform="ios", locale="fr"),
        ],
        "outside": [
            phone("aktionen", stadtteil="Ickern"),  # not subscribed to outages
            phone("stoerungen", stadtteil="Habinghorst"),
            phone("stoerungen", stadtteil="Ickern", last_seen_at=long_ago),  # not active for 31 days
            phone("stoerungen", stadtteil="Ickern", is_stale=True),
            phone("stoerungen", stadtteil="Ickern", is_active=False),  # push switched off (dead token)
        ],
    }


def draft(author: Any, **fields: Any) -> Notification:
    return services.notification_create(author=author, **{"kind": "outage", "content": OUTAGE, **fields})


@pytest.mark.django_db
def test_the_estimate_counts_whom_the_send_reaches_by_platform_and_language(
    comms_client, comms_colleague_client, population, firebase_backend, django_capture_on_commit_callbacks
):
    notification = draft(
        comms_client.user,
        audience_kind="stadtteile",
        audience_stadtteile=["Ickern"],
        content={**OUTAGE, "en": {"title": "Office closed", "body": "Closed today."}},
    )

    response = comms_client.get(f"{URL}{notification.pk}/audience")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "total": 3,
        "by_platform": {"android": 1, "ios": 2, "web": 0},
        "by_language": {"de": 2, "en": 1},
        "german_fallback": 1,
        "active_days": 30,
        "minimum": 1,
        "below_minimum": False,
    }
    services.notification_request_approval(notification=notification, actor=comms_client.user)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_approve(notification=notification, approver=comms_colleague_client.user)
    assert set(firebase_backend.counts()) == {p.push_token for p in population["reached"]}


@pytest.mark.django_db
def test_the_estimate_is_a_few_count_queries_however_many_installations(comms_client, population):
    notification = draft(
        comms_client.user, audience_kind="topics", audience_topics=[Topic.objects.get(key="stoerungen")]
    )
    path = f"{URL}{notification.pk}/audience"
    comms_client.get(path)  # session and permissions cached

    with CaptureQueriesContext(connection) as few:
        comms_client.get(path)
    for index in range(40):
        phone("stoerungen", platform=("android", "ios")[index % 2])
    with CaptureQueriesContext(connection) as many:
        counted = comms_client.get(path).json()

    assert counted["total"] == 44  # every outage subscriber, in any Stadtteil, active and reachable
    assert len(many.captured_queries) == len(few.captured_queries)
    grouped = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(grouped) == 1
    assert "GROUP BY" in grouped[0].upper()


@pytest.mark.django_db
def test_a_notification_that_reaches_nobody_cannot_be_submitted(comms_client, population):
    nobody = draft(comms_client.user, audience_kind="stadtteile", audience_stadtteile=["Frohlinde"])

    estimate = comms_client.get(f"{URL}{nobody.pk}/audience").json()
    response = comms_client.post(f"{URL}{nobody.pk}/request-approval")

    assert (estimate["total"], estimate["below_minimum"]) == (0, True)
    error = assert_error_shape(response, 400, "empty_audience")
    assert error["errors"][0]["field"] == "audience_kind"
    nobody.refresh_from_db()
    assert nobody.status == "draft"


@pytest.mark.django_db
def test_the_refusal_is_german_for_a_german_workspace(comms_client, population):
    nobody = draft(comms_client.user, audience_kind="stadtteile", audience_stadtteile=["Frohlinde"])

    response = comms_client.post(f"{URL}{nobody.pk}/request-approval", HTTP_ACCEPT_LANGUAGE="de")

    assert "kein einziges Gerät" in assert_error_shape(response, 400, "empty_audience")["detail"]


@pytest.mark.django_db
def test_an_audience_that_emptied_since_submitting_is_not_approved(
    comms_client, comms_colleague_client, population
):
    notification = draft(comms_client.user, audience_kind="stadtteile", audience_stadtteile=["Ickern"])
    services.notification_request_approval(notification=notification, actor=comms_client.user)
    Installation.objects.update(is_active=False)

    response = comms_colleague_client.post(f"{URL}{notification.pk}/approve")

    assert_error_shape(response, 400, "empty_audience")
    notification.refresh_from_db()
    assert notification.status == "awaiting_approval"


@pytest.mark.django_db
def test_an_emergency_send_to_nobody_is_refused(comms_client):
    from django.contrib.auth.models import Permission

    comms_client.user.user_permissions.add(Permission.objects.get(codename="send_emergency_outage"))
    notification = draft(comms_client.user)

    response = comms_client.post(
        f"{URL}{notification.pk}/send-emergency", {"reason": "Das Rathaus ist zu."}, format="json"
    )

    assert_error_shape(response, 400, "empty_audience")
    assert not notification.deliveries.exists()


@pytest.mark.django_db
def test_a_campaign_below_the_minimum_is_flagged_but_can_be_submitted(comms_client, population, settings):
    settings.PUSH_CAMPAIGN_MIN_AUDIENCE = 3
    campaign = services.notification_create(
        author=comms_client.user,
        kind="campaign",
        content={"de": {"title": "Wunschfenster", "body": "Malen Sie Ihren Wunsch ins Fenster."}},
    )

    estimate = comms_client.get(f"{URL}{campaign.pk}/audience").json()
    response = comms_client.post(f"{URL}{campaign.pk}/request-approval")

    assert (estimate["total"], estimate["minimum"], estimate["below_minimum"]) == (2, 3, True)
    assert response.status_code == 200, response.json()


@pytest.mark.django_db
def test_the_audience_is_for_kommunikation_only(anon_client, triage_client, comms_client):
    notification = draft(StaffFactory(roles=["Kommunikation"]))
    path = f"{URL}{notification.pk}/audience"

    assert_error_shape(anon_client.get(path), 401)
    assert_error_shape(triage_client.get(path), 403)
    assert_error_shape(comms_client.get(f"{URL}999999/audience"), 404)


@pytest.mark.django_db
def test_the_workspace_refuses_to_submit_a_notification_that_reaches_nobody(population):
    from tests.push.test_notification_admin import act, browser

    author = browser("Kommunikation")
    nobody = draft(author.user, audience_kind="stadtteile", audience_stadtteile=["Frohlinde"])
    somebody = draft(author.user, audience_kind="stadtteile", audience_stadtteile=["Ickern"])

    shown = act(author, "request_approval", nobody, somebody)

    assert any("would reach no installation" in text for _level, text in shown), shown
    nobody.refresh_from_db()
    somebody.refresh_from_db()
    assert (nobody.status, somebody.status) == ("draft", "awaiting_approval")
    page = author.get(f"/admin/push/notification/{somebody.pk}/change/").content.decode()
    assert 'data-total="3"' in page  # shown again to whoever approves


@pytest.mark.django_db
def test_a_sent_notification_shows_its_statistics_not_an_estimate(
    comms_client, comms_colleague_client, population, django_capture_on_commit_callbacks
):
    from tests.push.test_notification_admin import browser

    notification = draft(comms_client.user)
    services.notification_request_approval(notification=notification, actor=comms_client.user)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_approve(notification=notification, approver=comms_colleague_client.user)

    page = (
        browser("Kommunikation").get(f"/admin/push/notification/{notification.pk}/change/").content.decode()
    )

    assert 'id="push-audience"' in page
    assert "data-total=" not in page
