"""A notification whose expiry passes before or during its send: nothing goes out after it, and it ends
``expired`` ("abgelaufen"), in the staff API, its statistics, its audit log, the admin and the schema.

Actors: ``comms_client`` writes, ``comms_colleague_client`` approves (as in the staff API tests).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from push.fanout.audience import expand_next_chunk
from push.models import Delivery, Notification
from push.tasks import drain_notification
from tests.factories import StaffFactory
from tests.push.test_notification_staff_api import URL, approved, submitted, subscribe, url


def expire(notification_id: int, *, after: timedelta = timedelta(minutes=-1)) -> None:
    """Its expiry moves to ``after`` from now (the API refuses an expiry in the past, time does not)."""
    Notification.objects.filter(pk=notification_id).update(expires_at=timezone.now() + after)


@pytest.fixture
def fcm(firebase_backend: Any) -> Any:
    """The fake FCM server, and 20 phones subscribed to outages."""
    for n in range(20):
        subscribe(token=f"token-expiry-{n:02d}-000000000")
    return firebase_backend


@pytest.fixture
def undrained(settings: Any) -> Any:
    """Approval starts the send but no drain runs: the test starts it once the expiry is set."""
    settings.PUSH_DRAIN_CONCURRENCY = 0
    return settings


@pytest.mark.django_db
def test_approved_after_its_expiry_it_is_never_sent_and_the_staff_api_shows_it_expired(
    comms_client, comms_colleague_client, fcm, django_capture_on_commit_callbacks
):
    in_an_hour = (timezone.now() + timedelta(hours=1)).isoformat()
    notification = submitted(comms_client, expires_at=in_an_hour)
    expire(notification["id"])  # nobody approved it in time

    detail = approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)

    assert fcm.counts() == {}
    assert detail["status"] == "expired"
    assert detail["finished_at"] is not None
    assert detail["statistics"]["targeted"] == 0
    assert detail["statistics"]["accepted"] == 0
    assert [e["action"] for e in detail["audit_log"]][-3:] == [
        "sending_started",
        "expired",
        "sending_finished",
    ]
    listed = comms_client.get(URL, {"status": "expired"}).json()["results"]
    assert [n["id"] for n in listed] == [notification["id"]]


@pytest.mark.django_db
def test_expiry_mid_fan_out_the_statistics_say_who_got_it_and_who_not(
    comms_client,
    comms_colleague_client,
    fcm,
    django_capture_on_commit_callbacks,
    undrained,
):
    undrained.PUSH_BATCH_SIZE = 5
    notification = submitted(comms_client)
    approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)
    expire(notification["id"], after=timedelta(seconds=1))
    fcm.add_fault("slow", delay_ms=1500, times=1)  # the first batch outlasts it

    drain_notification.delay(notification["id"])

    response = comms_client.get(url(notification["id"], "/statistics"))
    assert response.json() | {"failed_by_error": None} == {
        "targeted": 20,
        "accepted": 5,
        "inbox_only": 0,
        "pending": 0,
        "cancelled": 0,
        "expired": 15,
        "failed": 0,
        "failed_by_error": None,
        "deactivated": 0,
        "opened": 0,
        "open_rate": 0.0,
        "sent_without_approval": False,
        "fast_path_reason": None,
    }
    assert sum(fcm.counts().values()) == 5
    assert comms_client.get(url(notification["id"])).json()["status"] == "expired"


@pytest.mark.django_db
def test_the_admin_shows_the_state_abgelaufen_and_what_was_not_sent(
    comms_client,
    comms_colleague_client,
    fcm,
    django_capture_on_commit_callbacks,
    undrained,
):
    notification = submitted(comms_client)
    approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)
    expand_next_chunk(Notification.objects.get(pk=notification["id"]))
    expire(notification["id"])
    drain_notification.delay(notification["id"])
    browser = Client(headers={"Accept-Language": "de"})
    browser.force_login(StaffFactory(roles=["Kommunikation"]))

    listing = browser.get("/admin/push/notification/", {"status__exact": "expired"})
    page = browser.get(f"/admin/push/notification/{notification['id']}/change/").content.decode()

    assert [n.pk for n in listing.context["cl"].result_list] == [notification["id"]]
    assert "abgelaufen" in listing.content.decode()
    assert "<tr><th>nicht gesendet: abgelaufen</th><td>20</td></tr>" in page
    assert Delivery.objects.filter(notification_id=notification["id"], status="expired").count() == 20
    assert fcm.counts() == {}


@pytest.mark.django_db
def test_the_schema_lists_the_state(anon_client):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    status = schema["components"]["schemas"]["Notification"]["properties"]["status"]
    enum = status["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert "expired" in schema["components"]["schemas"][enum]["enum"]
    statistics = schema["components"]["schemas"]["NotificationStatistics"]
    assert "expired" in statistics["required"]
