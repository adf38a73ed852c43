"""The staff API of outage alerts, campaigns and news: ``/api/v1/push/notifications/``.

Actors: ``comms_client`` writes, ``comms_colleague_client`` is the second pair of eyes, Triage and app
installations are outsiders. Sends go through the console backend (or the fake FCM server) eagerly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from push import services
from push.fanout.messages import outgoing_message
from push.models import AuditEntry, Delivery, Installation, Notification, StaffDevice, Topic
from push.tasks import start_due_notifications
from tests.conftest import assert_error_shape
from tests.factories import InstallationFactory, StaffFactory

URL = "/api/v1/push/notifications/"
OUTAGE = {
    "de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."},
    "en": {"title": "Citizens' office closed", "body": "It stays closed today because of a failure."},
}
NEWS = {"de": {"title": "Neues Freibad", "body": "Das Parkbad öffnet am Samstag."}}

DETAIL_ENDPOINTS = [
    ("get", ""),
    ("patch", ""),
    ("post", "/request-approval"),
    ("post", "/approve"),
    ("post", "/reject"),
    ("post", "/cancel"),
    ("post", "/send-test"),
    ("post", "/send-emergency"),
    ("post", "/review"),
    ("get", "/preview"),
    ("get", "/statistics"),
]
ENDPOINTS = [("get", None), ("post", None), *DETAIL_ENDPOINTS]


def url(notification_id: int | None = None, action: str | None = "") -> str:
    return URL if notification_id is None else f"{URL}{notification_id}{action or ''}"


def call(client: APIClient, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(client, method)(path, body or {}, format="json") if method != "get" else client.get(path)


def subscribe(*, token: str, locale: str = "de") -> Installation:
    installation = InstallationFactory(push_token=token, push_token_kind="registration_token", locale=locale)
    installation.topics.add(Topic.objects.get(key="stoerungen"))
    return installation


@pytest.fixture
def subscribers(db: Any) -> dict[str, Installation]:
    return {
        language: subscribe(token=f"token-{language}-0000000000000001", locale=language)
        for language in ("de", "en", "fr")
    }


def create(client: APIClient, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, {"kind": "outage", "content": OUTAGE, **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def submitted(client: APIClient, **fields: Any) -> dict[str, Any]:
    """A draft of ``client``'s user, handed over for approval."""
    draft = create(client, **fields)
    response = client.post(url(draft["id"], "/request-approval"))
    assert response.status_code == 200, response.json()
    return response.json()


def approved(colleague: APIClient, notification_id: int, capture: Any) -> dict[str, Any]:
    with capture(execute=True):
        response = colleague.post(url(notification_id, "/approve"))
    assert response.status_code == 200, response.json()
    return colleague.get(url(notification_id)).json()


def grant(client: APIClient, codename: str) -> None:
    client.user.user_permissions.add(  # type: ignore[attr-defined]
        Permission.objects.get(content_type__app_label="push", codename=codename)
    )


@pytest.fixture
def draft(db: Any) -> Notification:
    author = StaffFactory(roles=["Kommunikation"])
    return services.notification_create(author=author, kind="outage", content=OUTAGE)


# --- Who may call


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_anonymous_callers_get_401(anon_client, draft, method, action):
    response = call(anon_client, method, url(None if action is None else draft.pk, action))

    assert_error_shape(response, 401, "not_authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_triage_gets_403(triage_client, draft, method, action):
    response = call(triage_client, method, url(None if action is None else draft.pk, action))

    assert_error_shape(response, 403, "permission_denied")
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_a_device_secret_is_no_staff_credential(device_client, draft, method, action):
    response = call(device_client, method, url(None if action is None else draft.pk, action))

    assert_error_shape(response, 401, "not_authenticated")
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), DETAIL_ENDPOINTS)
def test_unknown_ids_get_404(comms_client, method, action):
    response = call(comms_client, method, url(987654, action))

    assert_error_shape(response, 404, "not_found")


@pytest.mark.django_db
def test_ids_are_integers(comms_client):
    assert_error_shape(comms_client.get(f"{URL}abc"), 404, "not_found")


@pytest.mark.django_db
def test_personal_notifications_and_test_sends_are_not_staff_notifications(
    comms_client, subscribers, report_category
):
    personal = services.notify_installations(
        installations=[subscribers["de"]], content=NEWS, category="report_update"
    )
    StaffDevice.objects.create(
        paired_at=timezone.now(), user=comms_client.user, installation=subscribers["de"]
    )
    notification = create(comms_client)
    test_send = comms_client.post(url(notification["id"], "/send-test")).json()

    assert_error_shape(comms_client.get(url(personal.pk)), 404, "not_found")
    assert_error_shape(comms_client.get(url(test_send["id"])), 404, "not_found")
    assert [n["id"] for n in comms_client.get(URL).json()["results"]] == [notification["id"]]


@pytest.mark.django_db
def test_administration_is_admitted(administration_client, draft):
    response = administration_client.get(URL)

    assert response.status_code == 200
    assert [n["id"] for n in response.json()["results"]] == [draft.pk]


# --- Drafts


@pytest.mark.django_db
def test_a_draft_is_written_with_everything_it_needs(comms_client):
    send_at = timezone.now() + timedelta(hours=2)
    response = comms_client.post(
        URL,
        {
            "kind": "campaign",
            "content": {"de": {"title": "Wunschfenster", "body": "Bis Freitag Wünsche einreichen."}},
            "audience_kind": "stadtteile",
            "audience_stadtteile": ["Ickern", "Habinghorst"],
            "deep_link": "https://www.castrop-rauxel.de/wunschfenster",
            "image_url": "https://www.castrop-rauxel.de/wunschfenster.png",
            "data": {"campaign": "wunschfenster"},
            "send_at": send_at.isoformat(),
            "expires_at": (send_at + timedelta(days=3)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["priority"]) == ("campaign", "draft", "normal")
    assert body["created_by"] == comms_client.user.username
    assert body["statistics"]["targeted"] == 0
    assert [entry["action"] for entry in body["audit_log"]] == ["created"]
    stored = Notification.objects.get(pk=body["id"])
    assert stored.audience_stadtteile == ["Ickern", "Habinghorst"]
    assert stored.data == {"campaign": "wunschfenster"}
    assert stored.send_at == send_at
    assert stored.created_by == comms_client.user


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "Fragen: 02305 106-0 oder buergerbuero@castrop-rauxel.de",
        "Hotline +49 2305 106-1234, Mail an presse@stadt.castrop-rauxel.de.",
        "Zentrale: 02305/106-0 (Mo-Fr)",
    ],
)
def test_the_citys_own_numbers_and_addresses_are_allowed(comms_client, text):
    response = comms_client.post(
        URL, {"kind": "news", "content": {"de": {"title": "Kontakt", "body": text}}}, format="json"
    )

    assert response.status_code == 201, response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("Rathaus 02305 106-0, Herr Meier privat 0171 2345678", "0171 2345678"),
        ("Kontakt: info@castrop-rauxel.de oder meier@gmail.com", "meier@gmail.com"),
        ("Schreiben Sie an hans@castrop-rauxel.de.example.org", "hans@castrop-rauxel.de.example.org"),
        ("Ruf an: 02305 107 2222", "02305 107 2222"),
    ],
)
def test_other_numbers_and_addresses_are_refused_by_name(comms_client, text, refused):
    response = comms_client.post(
        URL,
        {"kind": "news", "content": {"de": {"title": "Kontakt", "body": text}}},
        format="json",
        headers={"Accept-Language": "en"},
    )

    error = assert_error_shape(response, 400, "personal_data")
    assert error["detail"].endswith(f"Refused: {refused}")
    assert error["errors"][0]["field"] == "content.de.body"


@pytest.mark.django_db
def test_the_citys_contact_points_are_a_setting(comms_client, settings):
    settings.PUSH_CITY_PHONE_PREFIXES, settings.PUSH_CITY_EMAIL_DOMAINS = ["0231 50"], ["dortmund.de"]
    text = {"de": {"title": "Kontakt", "body": "0231 50-0, info@dortmund.de"}}

    allowed = comms_client.post(URL, {"kind": "news", "content": text}, format="json")
    text["de"]["body"] = "02305 106-0"
    refused = comms_client.post(URL, {"kind": "news", "content": text}, format="json")

    assert allowed.status_code == 201, allowed.json()
    assert_error_shape(refused, 400, "personal_data")


@pytest.mark.django_db
def test_an_outage_is_high_priority_and_topics_are_chosen_by_key(comms_client):
    body = create(comms_client, audience_kind="topics", audience_topics=["stoerungen", "nachrichten"])

    assert body["priority"] == "high"
    assert body["outage_state"] == "ongoing"
    assert sorted(body["audience_topics"]) == ["nachrichten", "stoerungen"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"kind": None}, "validation_error", "kind"),
        ({"kind": "personal"}, "validation_error", "kind"),
        ({"content": {"en": OUTAGE["en"]}}, "content_de_required", "content"),
        ({"content": {"de": "Bürgerbüro zu"}}, "validation_error", "content.de"),
        (
            {"content": {"de": {"title": "Rückruf", "body": "Bitte unter 0171 2345678 anrufen."}}},
            "personal_data",
            "content.de.body",
        ),
        ({"content": {"de": {"title": "", "body": "Text"}}}, "invalid_title", "content.de.title"),
        ({"audience_kind": "topics"}, "invalid_audience", "audience_topics"),
        (
            {"audience_kind": "topics", "audience_topics": ["gibtsnicht"]},
            "validation_error",
            "audience_topics",
        ),
        ({"audience_kind": "stadtteile", "audience_stadtteile": ["Dortmund"]}, "invalid_audience", None),
        ({"audience_kind": "installations"}, "validation_error", "audience_kind"),
        ({"data": {"kind": "news"}}, "invalid_data", "data"),
        ({"image_url": "not a url"}, "validation_error", "image_url"),
        ({"send_at": "2020-01-01T08:00:00+01:00"}, "send_at_in_past", "send_at"),
        ({"thread": 987654}, "validation_error", "thread"),
    ],
)
def test_invalid_drafts_are_400_and_nothing_is_stored(comms_client, fields, code, field):
    body = {"kind": "outage", "content": OUTAGE, **fields}
    body = {key: value for key, value in body.items() if value is not None}

    response = comms_client.post(URL, body, format="json")

    error = assert_error_shape(response, 400, code)
    if field is not None:
        assert field in [e["field"] for e in error["errors"]]
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_list_is_newest_first_filtered_and_paged_by_cursor(comms_client, comms_colleague_client):
    subscribe(token="token-news-000000000001").topics.add(Topic.objects.get(key="nachrichten"))
    first = create(comms_client)
    news = create(comms_client, kind="news", content=NEWS)
    submitted(comms_colleague_client, kind="news", content=NEWS)

    everything = comms_client.get(URL).json()["results"]
    drafts_of_news = comms_client.get(URL, {"kind": "news", "status": "draft"}).json()["results"]
    page = comms_client.get(URL, {"page_size": 2}).json()
    rest = comms_client.get(page["next"]).json()

    assert [n["kind"] for n in everything] == ["news", "news", "outage"]
    assert [n["id"] for n in drafts_of_news] == [news["id"]]
    assert [n["id"] for n in rest["results"]] == [first["id"]]
    assert "audit_log" not in everything[0]


@pytest.mark.django_db
def test_an_unknown_list_filter_value_is_400(comms_client):
    error = assert_error_shape(comms_client.get(URL, {"status": "lost"}), 400, "validation_error")

    assert error["errors"][0]["field"] == "status"


# --- Changes and the audit log


@pytest.mark.django_db
def test_a_change_is_audited_with_before_and_after(comms_client, comms_colleague_client, subscribers):
    notification = submitted(comms_client)
    new_text = {"de": {"title": "Bürgerbüro wieder offen", "body": "Ab 12 Uhr wieder geöffnet."}}
    send_at = timezone.now() + timedelta(hours=1)

    response = comms_colleague_client.patch(
        url(notification["id"]),
        {
            "content": new_text,
            "send_at": send_at.isoformat(),
            "audience_kind": "topics",
            "audience_topics": ["stoerungen"],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "draft"  # a change sends it back to its author's desk
    entry = body["audit_log"][-1]
    assert (entry["action"], entry["actor"]) == ("updated", comms_colleague_client.user.username)
    assert entry["changes"]["content"] == [OUTAGE, new_text]
    before, after = entry["changes"]["send_at"]
    assert (before, datetime.fromisoformat(after)) == (None, send_at)
    assert entry["changes"]["audience_topics"] == [[], ["stoerungen"]]
    assert entry["changes"]["status"] == ["awaiting_approval", "draft"]
    stored = AuditEntry.objects.get(notification_id=notification["id"], action="updated")
    assert stored.changes["audience_kind"] == ["all", "topics"]
    assert Notification.objects.get(pk=notification["id"]).content == new_text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "validation_error", None),
        ({"kind": "news"}, "validation_error", None),  # not changeable: ignored, so nothing to change
        ({"content": {"de": {"title": "Kontakt", "body": "info@beispiel-verein.de"}}}, "personal_data", None),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_before_send", "expires_at"),
        ({"priority": "urgent"}, "validation_error", "priority"),
    ],
)
def test_invalid_changes_are_400(comms_client, body, code, field):
    notification = create(comms_client)

    response = comms_client.patch(url(notification["id"]), body, format="json")

    error = assert_error_shape(response, 400, code)
    if field is not None:
        assert error["errors"][0]["field"] == field
    assert Notification.objects.get(pk=notification["id"]).content == OUTAGE


@pytest.mark.django_db
def test_a_sent_notification_cannot_be_changed(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    notification = submitted(comms_client)
    approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)

    response = comms_client.patch(url(notification["id"]), {"content": NEWS}, format="json")

    assert_error_shape(response, 409, "not_editable")
    assert Notification.objects.get(pk=notification["id"]).content == OUTAGE


# --- Four eyes


@pytest.mark.django_db
def test_four_eyes_the_author_cannot_approve_a_colleague_sends(
    comms_client,
    comms_colleague_client,
    administration_client,
    subscribers,
    django_capture_on_commit_callbacks,
):
    notification = submitted(comms_client)

    own = comms_client.post(url(notification["id"], "/approve"))
    not_kommunikation = administration_client.post(url(notification["id"], "/approve"))
    sent = approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)

    assert_error_shape(own, 403, "four_eyes")
    assert_error_shape(not_kommunikation, 403, "not_an_approver")
    assert sent["status"] == "sent"
    assert sent["approved_by"] == comms_colleague_client.user.username
    assert [entry["action"] for entry in sent["audit_log"]] == [
        "created",
        "approval_requested",
        "approved",
        "sending_started",
        "sending_finished",
    ]
    deliveries = Delivery.objects.filter(notification_id=notification["id"])
    assert sorted(d.installation.locale for d in deliveries) == ["de", "en", "fr"]
    assert {d.status for d in deliveries} == {"accepted"}
    again = comms_colleague_client.post(url(notification["id"], "/approve"))
    assert_error_shape(again, 409, "invalid_transition")


@pytest.mark.django_db
def test_a_rejection_with_a_reason_returns_the_draft_to_its_author(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks, mailoutbox
):
    comms_client.user.email = "autor@castrop-rauxel.de"  # type: ignore[attr-defined]
    comms_client.user.save()  # type: ignore[attr-defined]
    notification = submitted(comms_client)
    reject = url(notification["id"], "/reject")

    own = comms_client.post(reject, {"reason": "Passt nicht."}, format="json")
    without_reason = comms_colleague_client.post(reject, {}, format="json")
    blank = comms_colleague_client.post(reject, {"reason": "  "}, format="json")
    not_an_object = comms_colleague_client.post(reject, ["Passt nicht."], format="json")
    with django_capture_on_commit_callbacks(execute=True):
        rejected = comms_colleague_client.post(
            reject, {"reason": "Bitte die Hotline 02305 106-0 nennen."}, format="json"
        )
    again = comms_colleague_client.post(reject, {"reason": "Noch einmal."}, format="json")

    assert_error_shape(own, 403, "four_eyes")
    assert_error_shape(without_reason, 400)
    assert_error_shape(blank, 400)
    assert_error_shape(not_an_object, 400)
    assert rejected.status_code == 200, rejected.json()
    assert rejected.json()["status"] == "draft"
    last = rejected.json()["audit_log"][-1]
    assert (last["action"], last["changes"]["reason"]) == (
        "rejected",
        "Bitte die Hotline 02305 106-0 nennen.",
    )
    assert_error_shape(again, 409, "invalid_transition")
    [told] = mailoutbox
    assert told.to == ["autor@castrop-rauxel.de"]
    assert "Bitte die Hotline 02305 106-0 nennen." in told.body


@pytest.mark.django_db
def test_a_draft_is_not_approved_before_approval_is_requested(comms_client, comms_colleague_client):
    notification = create(comms_client)

    response = comms_colleague_client.post(url(notification["id"], "/approve"))

    assert_error_shape(response, 409, "invalid_transition")
    assert Notification.objects.get(pk=notification["id"]).status == "draft"


# --- Emergency


@pytest.mark.django_db
def test_an_emergency_outage_goes_out_alone_and_is_reviewed_by_a_colleague(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    grant(comms_client, "send_emergency_outage")
    notification = create(comms_client)

    without_reason = comms_client.post(url(notification["id"], "/send-emergency"), {}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        response = comms_client.post(
            url(notification["id"], "/send-emergency"), {"reason": "Hotline ausgefallen"}, format="json"
        )

    assert_error_shape(without_reason, 400)
    assert response.status_code == 200, response.json()
    assert (response.json()["emergency"], response.json()["needs_review"]) == (True, True)
    assert response.json()["emergency_reason"] == "Hotline ausgefallen"
    sent = comms_client.get(url(notification["id"])).json()
    assert sent["status"] == "sent"
    assert sent["statistics"]["accepted"] == 3
    assert sent["statistics"]["sent_without_approval"] is True
    assert sent["statistics"]["fast_path_reason"] == "Hotline ausgefallen"
    emergency = next(e for e in sent["audit_log"] if e["action"] == "emergency_send")
    assert emergency["changes"]["reason"] == "Hotline ausgefallen"
    assert comms_client.get(URL, {"needs_review": "true"}).json()["results"][0]["id"] == notification["id"]

    own_review = comms_client.post(url(notification["id"], "/review"))
    review = comms_colleague_client.post(url(notification["id"], "/review"))
    second_review = comms_colleague_client.post(url(notification["id"], "/review"))

    assert_error_shape(own_review, 403, "four_eyes")
    assert review.status_code == 200
    assert review.json()["needs_review"] is False
    assert review.json()["audit_log"][-1]["action"] == "reviewed"
    assert Notification.objects.get(pk=notification["id"]).needs_review is False
    assert_error_shape(second_review, 409, "no_review_pending")


@pytest.mark.django_db
def test_who_changed_the_text_of_a_fast_path_send_cannot_review_it(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    grant(comms_client, "send_emergency_outage")
    notification = create(comms_colleague_client)  # the colleague wrote it, Kai sends it at once
    with django_capture_on_commit_callbacks(execute=True):
        sent = comms_client.post(
            url(notification["id"], "/send-emergency"), {"reason": "Hotline ausgefallen"}, format="json"
        )
    assert sent.status_code == 200, sent.json()

    assert_error_shape(comms_colleague_client.post(url(notification["id"], "/review")), 403, "four_eyes")
    assert Notification.objects.get(pk=notification["id"]).needs_review is True


@pytest.mark.django_db
def test_without_the_emergency_permission_an_outage_waits_for_approval(comms_client):
    notification = create(comms_client)

    response = comms_client.post(url(notification["id"], "/send-emergency"), {"reason": "x"}, format="json")

    assert_error_shape(response, 403, "no_emergency_permission")
    assert Notification.objects.get(pk=notification["id"]).status == "draft"
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_only_outages_are_sent_as_emergencies(comms_client):
    grant(comms_client, "send_emergency_outage")
    news = create(comms_client, kind="news", content=NEWS)

    response = comms_client.post(url(news["id"], "/send-emergency"), {"reason": "x"}, format="json")

    assert_error_shape(response, 400, "not_an_outage")


# --- Scheduling and cancelling


@pytest.mark.django_db
def test_a_scheduled_notification_goes_out_when_its_time_comes(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    notification = submitted(comms_client, send_at=(timezone.now() + timedelta(hours=3)).isoformat())

    scheduled = approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        start_due_notifications()  # not due yet

    assert scheduled["status"] == "scheduled"
    assert Notification.objects.get(pk=notification["id"]).status == "scheduled"
    assert not Delivery.objects.exists()

    Notification.objects.filter(pk=notification["id"]).update(send_at=timezone.now() - timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        start_due_notifications()

    sent = comms_client.get(url(notification["id"])).json()
    assert sent["status"] == "sent"
    assert sent["statistics"]["accepted"] == 3
    started, finished = sent["audit_log"][-2:]
    assert (started["action"], started["actor"]) == ("sending_started", None)
    assert (finished["action"], finished["changes"]["accepted"]) == ("sending_finished", 3)


@pytest.mark.django_db
def test_a_scheduled_notification_can_be_cancelled_a_sent_one_cannot(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    later = submitted(comms_client, send_at=(timezone.now() + timedelta(hours=3)).isoformat())
    now = submitted(comms_client)
    approved(comms_colleague_client, later["id"], django_capture_on_commit_callbacks)
    approved(comms_colleague_client, now["id"], django_capture_on_commit_callbacks)

    cancelled = comms_client.post(url(later["id"], "/cancel"))
    too_late = comms_client.post(url(now["id"], "/cancel"))

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["audit_log"][-1]["changes"] == {"status": ["scheduled", "cancelled"]}
    assert_error_shape(too_late, 409, "invalid_transition")
    Notification.objects.filter(pk=later["id"]).update(send_at=timezone.now() - timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        start_due_notifications()
    assert Notification.objects.get(pk=later["id"]).status == "cancelled"
    assert not Delivery.objects.filter(notification_id=later["id"]).exists()
    assert Notification.objects.get(pk=now["id"]).status == "sent"


# --- What phones receive


@pytest.mark.django_db
def test_each_phone_gets_its_language_and_others_get_german(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.INFO, logger="push.transport")
    notification = submitted(comms_client)

    approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)

    stored = Notification.objects.get(pk=notification["id"])
    titles = {
        d.installation.locale: outgoing_message(stored, d, now=timezone.now()).title
        for d in Delivery.objects.filter(notification=stored).select_related("installation")
    }
    assert titles == {
        "de": "Bürgerbüro geschlossen",
        "en": "Citizens' office closed",
        "fr": "Bürgerbüro geschlossen",
    }
    console = sorted(r.getMessage() for r in caplog.records if r.name == "push.transport")
    assert console == sorted(
        [
            "push (console): Bürgerbüro geschlossen | Wegen einer Störung bleibt es heute zu.",
            "push (console): Bürgerbüro geschlossen | Wegen einer Störung bleibt es heute zu.",
            "push (console): Citizens' office closed | It stays closed today because of a failure.",
        ]
    )


@pytest.mark.django_db
def test_the_preview_shows_what_a_phone_in_a_language_receives(comms_client):
    expires_at = timezone.now() + timedelta(hours=6)
    notification = create(
        comms_client,
        deep_link="casapp://waste",
        data={"office": "buergerbuero"},
        expires_at=expires_at.isoformat(),
    )

    english = comms_client.get(url(notification["id"], "/preview"), {"language": "en-GB"}).json()
    french = comms_client.get(url(notification["id"], "/preview"), {"language": "fr"}).json()
    default = comms_client.get(url(notification["id"], "/preview")).json()

    assert (english["language"], english["title"]) == ("en", "Citizens' office closed")
    assert (french["title"], french["body"]) == (OUTAGE["de"]["title"], OUTAGE["de"]["body"])
    assert default["title"] == OUTAGE["de"]["title"]
    assert english["collapse_key"] == f"outage-{notification['id']}"
    assert english["priority"] == "high"
    assert english["channel"] == "outage"
    assert english["data"] == {
        "office": "buergerbuero",
        "notification_id": str(notification["id"]),
        "kind": "outage",
        "deep_link": "casapp://waste",
    }
    assert 6 * 3600 - 60 < english["ttl_seconds"] <= 6 * 3600


@pytest.mark.django_db
def test_a_preview_in_an_invalid_language_is_400(comms_client, draft):
    error = assert_error_shape(
        comms_client.get(url(draft.pk, "/preview"), {"language": "deutsch!"}), 400, "validation_error"
    )

    assert error["errors"][0]["field"] == "language"


@pytest.mark.django_db
def test_a_news_item_has_no_collapse_key_and_normal_priority(comms_client):
    news = create(comms_client, kind="news", content=NEWS)

    preview = comms_client.get(url(news["id"], "/preview")).json()

    assert (preview["collapse_key"], preview["priority"], preview["ttl_seconds"]) == ("", "normal", None)


# --- Outage threads


@pytest.mark.django_db
def test_an_update_replaces_the_first_alert_and_its_resolution_resolves_the_outage(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    first = submitted(comms_client)
    approved(comms_colleague_client, first["id"], django_capture_on_commit_callbacks)
    update_text = {"de": {"title": "Bürgerbüro wieder offen", "body": "Die Störung ist behoben."}}

    update = submitted(comms_client, content=update_text, thread=first["id"], resolves=True)
    preview = comms_client.get(url(update["id"], "/preview")).json()
    assert Notification.objects.get(pk=first["id"]).outage_state == "ongoing"  # not before it is sent
    sent = approved(comms_colleague_client, update["id"], django_capture_on_commit_callbacks)

    assert sent["status"] == "sent"
    assert (sent["thread"], sent["outage_state"]) == (first["id"], "resolved")
    assert preview["collapse_key"] == f"outage-{first['id']}"
    stored = Notification.objects.get(pk=update["id"])
    keys = {
        outgoing_message(stored, d, now=timezone.now()).collapse_key
        for d in Delivery.objects.filter(notification=stored).select_related("installation")
    }
    assert keys == {f"outage-{first['id']}"}
    assert Notification.objects.get(pk=first["id"]).outage_state == "resolved"
    after = comms_client.post(
        URL, {"kind": "outage", "content": update_text, "thread": first["id"]}, format="json"
    )
    assert_error_shape(after, 409, "outage_resolved")


@pytest.mark.django_db
def test_a_scheduled_resolution_resolves_the_outage_when_it_goes_out(
    comms_client, comms_colleague_client, subscribers, django_capture_on_commit_callbacks
):
    first = submitted(comms_client)
    approved(comms_colleague_client, first["id"], django_capture_on_commit_callbacks)
    resolution = submitted(
        comms_client,
        content={"de": {"title": "Wieder offen", "body": "Ab morgen wieder geöffnet."}},
        thread=first["id"],
        resolves=True,
        send_at=(timezone.now() + timedelta(hours=1)).isoformat(),
    )
    approved(comms_colleague_client, resolution["id"], django_capture_on_commit_callbacks)
    assert Notification.objects.get(pk=first["id"]).outage_state == "ongoing"

    Notification.objects.filter(pk=resolution["id"]).update(send_at=timezone.now() - timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        start_due_notifications()

    assert Notification.objects.get(pk=resolution["id"]).status == "sent"
    assert Notification.objects.get(pk=first["id"]).outage_state == "resolved"


@pytest.mark.django_db
def test_only_the_first_alert_of_an_outage_has_updates(comms_client):
    news = create(comms_client, kind="news", content=NEWS)
    first = create(comms_client)
    update = create(comms_client, thread=first["id"])

    of_news = comms_client.post(
        URL, {"kind": "outage", "content": OUTAGE, "thread": news["id"]}, format="json"
    )
    of_update = comms_client.post(
        URL, {"kind": "outage", "content": OUTAGE, "thread": update["id"]}, format="json"
    )
    news_update = comms_client.post(
        URL, {"kind": "news", "content": NEWS, "thread": first["id"]}, format="json"
    )

    for response in (of_news, of_update, news_update):
        error = assert_error_shape(response, 400, "invalid_thread")
        assert error["errors"][0]["field"] == "thread"


# --- Test sends


@pytest.mark.django_db
def test_a_test_send_reaches_only_the_authors_test_devices(
    comms_client, subscribers, django_capture_on_commit_callbacks
):
    own_phone = subscribe(token="token-of-the-comms-phone-000001")
    StaffDevice.objects.create(
        paired_at=timezone.now(), user=comms_client.user, installation=own_phone, label="Diensthandy"
    )
    notification = create(comms_client)

    with django_capture_on_commit_callbacks(execute=True):
        response = comms_client.post(url(notification["id"], "/send-test"))

    assert response.status_code == 202, response.json()
    test_send = Notification.objects.get(pk=response.json()["id"])
    assert (response.json()["test_of"], test_send.status) == (notification["id"], "sent")
    assert list(Delivery.objects.values_list("installation_id", flat=True)) == [own_phone.pk]
    original = comms_client.get(url(notification["id"])).json()
    assert original["status"] == "draft"
    assert original["audit_log"][-1]["action"] == "test_sent"


@pytest.mark.django_db
def test_a_test_send_needs_a_test_device(comms_client):
    notification = create(comms_client)

    response = comms_client.post(url(notification["id"], "/send-test"))

    assert_error_shape(response, 400, "no_staff_device")


# --- Statistics


@pytest.mark.django_db
def test_statistics_count_what_happened_to_each_delivery(
    comms_client, comms_colleague_client, firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_MAX_ATTEMPTS = 1
    phones = [subscribe(token=f"token-statistics-{n:02d}-0000000") for n in range(5)]
    firebase_backend.add_fault("unregistered", token=phones[0].push_token)
    firebase_backend.add_fault("unavailable", token=phones[1].push_token)
    notification = submitted(comms_client)
    approved(comms_colleague_client, notification["id"], django_capture_on_commit_callbacks)
    # The app reports opened notifications; two phones did.
    Delivery.objects.filter(installation__in=phones[2:4]).update(opened_at=timezone.now())

    response = comms_client.get(url(notification["id"], "/statistics"))

    assert response.status_code == 200
    assert response.json() == {
        "targeted": 5,
        "accepted": 3,
        "inbox_only": 0,
        "pending": 0,
        "cancelled": 0,
        "expired": 0,
        "failed": 2,
        "failed_by_error": {"unavailable": 1, "unregistered": 1},
        "deactivated": 1,
        "opened": 2,
        "open_rate": 0.6667,
        "sent_without_approval": False,
        "fast_path_reason": None,
    }
    detail = comms_client.get(url(notification["id"])).json()
    assert detail["status"] == "partly_failed"
    assert detail["statistics"] == response.json()


@pytest.mark.django_db
def test_a_draft_has_empty_statistics(comms_client, draft):
    response = comms_client.get(url(draft.pk, "/statistics"))

    assert response.json()["targeted"] == 0
    assert response.json()["open_rate"] is None


# --- Languages


@pytest.mark.django_db
def test_a_turkish_text_reaches_turkish_phones_and_without_one_they_get_german(
    comms_client, comms_colleague_client, firebase_backend, django_capture_on_commit_callbacks
):
    phones = {
        language: subscribe(token=f"token-{language}-0000000000000002", locale=language)
        for language in ("de", "en", "tr", "fr")
    }
    turkish = {"title": "Vatandaşlık Bürosu kapalı", "body": "Bir arıza nedeniyle bugün kapalı kalacak."}
    with_turkish = submitted(comms_client, content={**OUTAGE, "tr": turkish})
    assert with_turkish["content"]["tr"] == turkish
    approved(comms_colleague_client, with_turkish["id"], django_capture_on_commit_callbacks)
    # English only next to the German: a Turkish phone gets the German text, not the English one.
    without_turkish = submitted(comms_client, content=OUTAGE)
    approved(comms_colleague_client, without_turkish["id"], django_capture_on_commit_callbacks)

    titles = {
        language: [m["message"]["notification"]["title"] for m in firebase_backend.messages(phone.push_token)]
        for language, phone in phones.items()
    }
    german, english = OUTAGE["de"]["title"], OUTAGE["en"]["title"]
    assert titles == {
        "de": [german, german],
        "en": [english, english],
        "tr": [turkish["title"], german],
        "fr": [german, german],
    }
