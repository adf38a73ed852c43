"""Moderation of public messages: staff replace a public message of a report's timeline (a reply or a
status change's message that carried personal data or a mistake), through the staff API and the admin.

The original is overwritten, not kept anywhere (docs/privacy.md); the event records who redacted it and
when, the report's history an internal moderation event, and the public and the reporter see the new text
marked as redacted. Actors as in test_triage_api: ``member`` (Triage, Tiefbau), Ordnung another department.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from reports.models import Category, Department, Report, ReportEvent, ReportStatus
from reports.services import report_note, report_reply, report_transition
from tests.conftest import assert_error_shape, device_client_for
from tests.reports.staff_factories import category, department, report, reporter, triage_staff

STAFF_URL = "/api/v1/staff/reports/"
SLIP = "Rufen Sie Herrn Meier direkt an: 0170 9876543"
REPLACEMENT = "Wir melden uns, sobald der Bauhof da war."


def moderate_url(report_id: int) -> str:
    return f"{STAFF_URL}{report_id}/moderate"


@pytest.fixture
def graffiti(db: Any) -> Category:
    return category("graffiti", department=department("ordnung"))


@pytest.fixture
def member(triage_client: APIClient, tiefbau: Department) -> APIClient:
    tiefbau.members.add(triage_client.user)  # type: ignore[attr-defined]
    return triage_client


@pytest.fixture
def own(schlagloch: Category) -> Report:
    return report(schlagloch, installation=reporter(locale="de"))


@pytest.fixture
def slip(own: Report, member: APIClient) -> ReportEvent:
    """A public reply that should never have been public."""
    report_reply(report=own, actor=member.user, message=SLIP)  # type: ignore[attr-defined]
    return ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.REPLY)


def everything_public(client: APIClient, target: Report) -> str:
    """What anyone can read about the report: the list, the detail, the exports."""
    return "".join(
        client.get(path, query).content.decode()
        for path, query in (
            ("/api/v1/reports/", {}),
            (f"/api/v1/reports/{target.pk}", {}),
            ("/api/v1/reports/", {"format": "geojson"}),
            ("/api/v1/reports/", {"format": "csv"}),
        )
    )


def timeline_entries(client: APIClient, target: Report, *, kind: str) -> list[dict[str, Any]]:
    timeline = client.get(f"/api/v1/reports/{target.pk}").json()["timeline"]
    return [entry for entry in timeline if entry["kind"] == kind]


def redaction(event_id: int, text: str = "") -> dict[str, Any]:
    return {"redact_messages": [{"event": event_id, "public_message": text}]}


def stored_anywhere(text: str) -> bool:
    return (
        ReportEvent.objects.filter(public_message__contains=text).exists()
        or ReportEvent.objects.filter(internal_note__contains=text).exists()
    )


# --- Staff API


@pytest.mark.django_db
def test_a_public_reply_is_redacted_through_the_api_and_the_original_is_gone(member, anon_client, own, slip):
    before = Report.objects.get(pk=own.pk).updated_at
    assert SLIP in everything_public(anon_client, own)

    response = member.post(moderate_url(own.pk), redaction(slip.pk, REPLACEMENT), format="json")

    assert response.status_code == 200, response.content[:500]
    [shown] = [event for event in response.json()["events"] if event["id"] == slip.pk]
    assert shown["public_message"] == REPLACEMENT
    assert shown["redacted_by"]["id"] == member.user.pk
    assert shown["redacted_at"] is not None
    slip.refresh_from_db()
    assert (slip.public_message, slip.redacted_by, slip.is_public) == (REPLACEMENT, member.user, True)
    assert not stored_anywhere(SLIP)
    assert not stored_anywhere("0170 9876543")
    moderation = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.MODERATED)
    assert (moderation.actor, moderation.is_public) == (member.user, False)
    assert f"#{slip.pk}" in moderation.internal_note
    # Harvesters continuing with updated_since see the report again.
    assert Report.objects.get(pk=own.pk).updated_at > before

    public = everything_public(anon_client, own)
    assert SLIP not in public
    [entry] = timeline_entries(anon_client, own, kind="reply")
    assert (entry["message"], entry["redacted"]) == (REPLACEMENT, True)
    mine = device_client_for(own.installation).get(f"/api/v1/reports/mine/{own.pk}").json()
    [entry] = [e for e in mine["timeline"] if e["kind"] == "reply"]
    assert (entry["message"], entry["redacted"]) == (REPLACEMENT, True)
    assert all(e["redacted"] is False for e in mine["timeline"] if e["kind"] != "reply")


@pytest.mark.django_db
def test_a_status_changes_message_can_be_emptied(member, anon_client, own):
    report_transition(report=own, actor=member.user, status=ReportStatus.IN_REVIEW, public_message=SLIP)
    change = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.STATUS)

    response = member.post(moderate_url(own.pk), redaction(change.pk), format="json")

    assert response.status_code == 200, response.content[:500]
    change.refresh_from_db()
    assert (change.public_message, change.to_status) == ("", ReportStatus.IN_REVIEW)
    [entry] = timeline_entries(anon_client, own, kind="status")
    assert (entry["status"], entry["message"], entry["redacted"]) == ("in_pruefung", "", True)


@pytest.mark.django_db
def test_redaction_with_other_moderation_is_all_or_nothing(member, own, schlagloch, slip):
    other = report(schlagloch)
    report_reply(report=other, actor=member.user, message="Antwort an jemand anderen")
    elsewhere = ReportEvent.objects.get(report=other, kind=ReportEvent.Kind.REPLY)

    response = member.post(
        moderate_url(own.pk),
        {
            "hide": True,
            "redact_messages": [
                {"event": slip.pk, "public_message": REPLACEMENT},
                {"event": elsewhere.pk, "public_message": "x"},
            ],
        },
        format="json",
    )

    body = assert_error_shape(response, 400, "invalid_event")
    assert body["errors"][0]["field"] == "redact_messages"
    assert f"#{elsewhere.pk}" in body["detail"]
    slip.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (slip.public_message, slip.redacted_at) == (SLIP, None)
    assert elsewhere.public_message == "Antwort an jemand anderen"
    assert Report.objects.get(pk=own.pk).hidden is False
    assert not ReportEvent.objects.filter(kind=ReportEvent.Kind.MODERATED).exists()


@pytest.mark.django_db
def test_internal_notes_and_events_without_a_public_message_are_not_redactable(member, own):
    note = report_note(report=own, actor=member.user, note="intern")
    created = ReportEvent.objects.create(
        report=own, kind=ReportEvent.Kind.CREATED, to_status=ReportStatus.RECEIVED, is_public=True
    )

    for event in (note, created):
        response = member.post(moderate_url(own.pk), redaction(event.pk, "x"), format="json")
        assert_error_shape(response, 400, "invalid_event")
    note.refresh_from_db()
    assert (note.internal_note, note.public_message, note.redacted_at) == ("intern", "", None)


@pytest.mark.django_db
def test_another_departments_report_is_404(member, graffiti):
    foreign = report(graffiti)
    report_reply(report=foreign, actor=None, message="Antwort")
    event = ReportEvent.objects.get(report=foreign, kind=ReportEvent.Kind.REPLY)

    response = member.post(moderate_url(foreign.pk), redaction(event.pk), format="json")

    assert_error_shape(response, 404, "not_found")
    event.refresh_from_db()
    assert event.public_message == "Antwort"


@pytest.mark.django_db
def test_outsiders_cannot_redact(anon_client, comms_client, own, slip):
    path, body = moderate_url(own.pk), redaction(slip.pk)
    reporters_phone = device_client_for(own.installation)

    assert_error_shape(anon_client.post(path, body, format="json"), 401)
    assert_error_shape(comms_client.post(path, body, format="json"), 403)
    assert_error_shape(reporters_phone.post(path, body, format="json"), 401)
    slip.refresh_from_db()
    assert slip.public_message == SLIP


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("redact_messages", "field"),
    [
        ("alles", "redact_messages"),
        ([{"event": "eins", "public_message": ""}], "redact_messages.0.event"),
        ([{"event": 0, "public_message": ""}], "redact_messages.0.event"),
        ([{"event": 5}], "redact_messages.0.public_message"),
        ([{"event": 5, "public_message": "x" * 2001}], "redact_messages.0.public_message"),
        ([{"event": 5, "public_message": "a"}, {"event": 5, "public_message": "b"}], "redact_messages"),
        ([{"event": n, "public_message": ""} for n in range(1, 22)], "redact_messages"),
    ],
)
def test_bad_redaction_input_is_400_naming_the_field(member, own, slip, redact_messages, field):
    response = member.post(moderate_url(own.pk), {"redact_messages": redact_messages}, format="json")

    body = assert_error_shape(response, 400, "validation_error")
    assert body["errors"][0]["field"] == field
    slip.refresh_from_db()
    assert slip.public_message == SLIP


# --- Admin


def admin_browser(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def admin_workflow(**fields: Any) -> dict[str, Any]:
    return {
        "new_status": "",
        "authority": "",
        "original": "",
        "message": "",
        "note": "",
        "assignee": "",
        "redact_event": "",
        "redacted_message": "",
        "_continue": "Save",
        **fields,
    }


@pytest.mark.django_db
def test_a_public_message_is_redacted_in_the_admin(tiefbau, own, anon_client):
    clerk = triage_staff(tiefbau)
    report_reply(report=own, actor=clerk, message=SLIP)
    slip = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.REPLY)
    browser = admin_browser(clerk)
    page = browser.get(f"/admin/reports/report/{own.pk}/change/")
    assert page.status_code == 200
    offered = dict(page.context["adminform"].form.fields["redact_event"].choices)
    assert set(offered) == {"", str(slip.pk)}  # public messages only

    response = browser.post(
        f"/admin/reports/report/{own.pk}/change/",
        admin_workflow(
            redact_event=str(slip.pk), redacted_message=REPLACEMENT, redacted_description=own.description
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    slip.refresh_from_db()
    assert (slip.public_message, slip.redacted_by) == (REPLACEMENT, clerk)
    assert not stored_anywhere(SLIP)
    assert Report.objects.get(pk=own.pk).description == own.description  # unchanged text left alone
    history = browser.get(f"/admin/reports/report/{own.pk}/change/").content.decode()
    assert f"redacted by {clerk.get_username()}" in history
    assert SLIP not in everything_public(anon_client, own)


@pytest.mark.django_db
def test_the_admin_redacts_the_description(tiefbau, own, anon_client):
    clerk = triage_staff(tiefbau)
    browser = admin_browser(clerk)

    response = browser.post(
        f"/admin/reports/report/{own.pk}/change/",
        admin_workflow(redacted_description="Schlagloch vor dem Haus\r\n[Name entfernt]"),
    )

    assert response.status_code == 302
    changed = Report.objects.get(pk=own.pk)
    assert changed.description == "Schlagloch vor dem Haus\n[Name entfernt]"
    moderation = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.MODERATED)
    assert moderation.actor == clerk
    assert "Hausnummer 12" not in anon_client.get(f"/api/v1/reports/{own.pk}").content.decode()


@pytest.mark.django_db
def test_the_admin_asks_which_message_a_replacement_text_is_for(tiefbau, own):
    clerk = triage_staff(tiefbau)
    browser = admin_browser(clerk)

    response = browser.post(
        f"/admin/reports/report/{own.pk}/change/", admin_workflow(redacted_message=REPLACEMENT)
    )

    assert response.status_code == 200
    assert "redact_event" in response.context["adminform"].form.errors
    assert not ReportEvent.objects.filter(report=own, kind=ReportEvent.Kind.MODERATED).exists()


@pytest.mark.django_db
def test_the_admin_offers_no_message_of_another_report(tiefbau, own, schlagloch):
    clerk = triage_staff(tiefbau)
    other = report(schlagloch)
    report_reply(report=other, actor=clerk, message="Antwort an jemand anderen")
    elsewhere = ReportEvent.objects.get(report=other, kind=ReportEvent.Kind.REPLY)

    response = admin_browser(clerk).post(
        f"/admin/reports/report/{own.pk}/change/",
        admin_workflow(redact_event=str(elsewhere.pk), redacted_message="x"),
    )

    assert response.status_code == 200
    assert "redact_event" in response.context["adminform"].form.errors
    elsewhere.refresh_from_db()
    assert elsewhere.public_message == "Antwort an jemand anderen"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"remove_photo_ids": [2**63]},
        {"redact_messages": [{"event": 2**63, "public_message": ""}]},
    ],
)
def test_an_id_beyond_the_database_range_is_400_not_500(member, own, body):
    response = member.post(moderate_url(own.pk), body, format="json")

    assert_error_shape(response, 400, "validation_error")
