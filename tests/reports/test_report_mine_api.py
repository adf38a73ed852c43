"""The reporter's own reports: ``GET /api/v1/reports/mine``, ``/mine/{id}``, withdrawing and reopening."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from reports.models import Report, ReportEvent, ReportStatus
from reports.services import report_assign, report_moderate, report_note, report_reply, report_transition
from tests.conftest import assert_error_shape
from tests.factories import StaffFactory
from tests.reports import images
from tests.reports.factories import CITY_POINT, CategoryFactory, ReportFactory

URL = "/api/v1/reports/mine"
INTERNAL_NOTE = "Anwohner ruft ständig an, intern: Bauhof informiert"
CONTACT_EMAIL = "erika@example.org"


def detail_url(report_id: int) -> str:
    return f"{URL}/{report_id}"


def withdraw_url(report_id: int) -> str:
    return f"/api/v1/reports/{report_id}/withdraw"


def reopen_url(report_id: int) -> str:
    return f"/api/v1/reports/{report_id}/reopen"


@pytest.fixture
def clerk(db: Any) -> Any:
    return StaffFactory(username="p.pruefer", first_name="Petra", last_name="Prüfer")


@pytest.fixture
def pothole(db: Any) -> Any:
    return CategoryFactory(key="schlagloch", name_de="Schlagloch", name_en="Pothole")


@pytest.fixture
def my_report(device: Any, pothole: Any) -> Report:
    return ReportFactory(
        category=pothole,
        installation=device,
        contact_email=CONTACT_EMAIL,
        contact_consent=True,
        answers={"tiefe": "10 cm"},
    )


def handled(report: Report, clerk: Any) -> Report:
    """The city's work on a report: public steps, and the internal ones the reporter never sees."""
    report_assign(report=report, actor=clerk, assignee=None)
    report_transition(
        report=report,
        actor=clerk,
        status=ReportStatus.IN_REVIEW,
        public_message="Wir sehen uns das an.",
        internal_note=INTERNAL_NOTE,
    )
    report_note(report=report, actor=clerk, note=INTERNAL_NOTE)
    report_reply(report=report, actor=clerk, message="Der Bauhof kommt am Montag.")
    return Report.objects.get(pk=report.pk)


def done(report: Report, clerk: Any, *, days_ago: float = 0) -> Report:
    report_transition(report=report, actor=clerk, status=ReportStatus.DONE, public_message="Repariert.")
    Report.objects.filter(pk=report.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))
    return Report.objects.get(pk=report.pk)


# --- credentials


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [("get", URL), ("get", detail_url(1)), ("post", withdraw_url(1)), ("post", reopen_url(1))],
)
def test_without_credentials_is_401(anon_client, method, url):
    assert_error_shape(getattr(anon_client, method)(url), 401, "not_authenticated")


# --- list and detail


@pytest.mark.django_db
def test_list_holds_only_own_reports_newest_first(device_client, device, other_device, pothole):
    older = ReportFactory(
        category=pothole, installation=device, created_at=timezone.now() - timedelta(days=2)
    )
    newer = ReportFactory(category=pothole, installation=device)
    ReportFactory(category=pothole, installation=other_device)
    ReportFactory(category=pothole, installation=None)

    response = device_client.get(URL)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [newer.pk, older.pk]
    assert response["Cache-Control"] == "private, no-cache"


@pytest.mark.django_db
def test_list_is_cursor_paginated(device_client, device, pothole):
    now = timezone.now()
    reports = [
        ReportFactory(category=pothole, installation=device, created_at=now - timedelta(hours=hours))
        for hours in range(5)
    ]

    first = device_client.get(URL, {"page_size": 2}).json()
    second = device_client.get(first["next"]).json()
    third = device_client.get(second["next"]).json()

    pages = [[item["id"] for item in page["results"]] for page in (first, second, third)]
    assert pages == [[reports[0].pk, reports[1].pk], [reports[2].pk, reports[3].pk], [reports[4].pk]]
    assert third["next"] is None


@pytest.mark.django_db
def test_report_shows_its_public_timeline_and_never_internal_notes_or_staff(device_client, my_report, clerk):
    handled(my_report, clerk)

    response = device_client.get(URL)

    [item] = response.json()["results"]
    assert [(entry["kind"], entry["status"], entry["message"]) for entry in item["timeline"]] == [
        ("created", ReportStatus.RECEIVED, ""),
        ("status", ReportStatus.IN_REVIEW, "Wir sehen uns das an."),
        ("reply", None, "Der Bauhof kommt am Montag."),
    ]
    assert [entry["status_label"] for entry in item["timeline"]] == ["Eingegangen", "In Prüfung", None]
    assert set(item["timeline"][0]) == {"at", "kind", "status", "status_label", "message", "redacted"}
    text = response.content.decode()
    for secret in (INTERNAL_NOTE, "p.pruefer", "Petra", "Prüfer", "assigned_to", "actor"):
        assert secret not in text
    assert ReportEvent.objects.filter(report=my_report, kind=ReportEvent.Kind.NOTE).exists()


@pytest.mark.django_db
def test_status_labels_follow_the_language(device_client, my_report, clerk):
    handled(my_report, clerk)

    item = device_client.get(detail_url(my_report.pk), HTTP_ACCEPT_LANGUAGE="en").json()

    assert item["status_label"] == "In review"
    assert item["category_label"] == "Pothole"
    assert [entry["status_label"] for entry in item["timeline"]] == ["Received", "In review", None]


@pytest.mark.django_db
def test_detail_shows_the_reporter_their_contact_data_and_answers(device_client, my_report):
    response = device_client.get(detail_url(my_report.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == my_report.pk
    assert body["contact_email"] == CONTACT_EMAIL
    assert body["answers"] == {"tiefe": "10 cm"}


@pytest.mark.django_db
def test_another_installations_report_is_404(other_device_client, my_report):
    assert_error_shape(other_device_client.get(detail_url(my_report.pk)), 404, "not_found")


@pytest.mark.django_db
def test_unknown_report_is_404(device_client, my_report):
    assert_error_shape(device_client.get(detail_url(my_report.pk + 1000)), 404, "not_found")


@pytest.mark.django_db
def test_removed_photo_is_not_shown_to_the_reporter_either(device_client, device, pothole, clerk):
    photos = [
        SimpleUploadedFile(f"{n}.jpg", images.phone_jpeg((40, 30), noise=False), content_type="image/jpeg")
        for n in range(2)
    ]
    filed = device_client.post(
        "/api/v1/reports/",
        {"category": "schlagloch", "latitude": CITY_POINT[0], "longitude": CITY_POINT[1], "photos": photos},
        format="multipart",
    ).json()
    report = Report.objects.get(pk=filed["id"])
    removed = report.photos.first()
    report_moderate(report=report, actor=clerk, remove_photo_ids=[removed.pk])

    body = device_client.get(detail_url(report.pk)).json()

    assert len(filed["photos"]) == 2
    assert len(body["photos"]) == 1
    assert removed.image.name.rsplit("/", 1)[-1] not in str(body)


# --- withdrawing


@pytest.mark.django_db
def test_received_report_can_be_withdrawn(device_client, my_report):
    response = device_client.post(
        withdraw_url(my_report.pk), {"message": "Hat sich erledigt."}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == ReportStatus.WITHDRAWN
    # The reporter's words may hold personal details: staff read them, the open timeline does not.
    assert body["timeline"][-1]["message"] == ""
    assert my_report.events.filter(internal_note="Hat sich erledigt.").exists()
    assert "Hat sich erledigt." not in device_client.get(f"/api/v1/reports/{my_report.pk}").content.decode()
    my_report.refresh_from_db()
    assert my_report.status == ReportStatus.WITHDRAWN
    assert my_report.closed_at is not None


@pytest.mark.django_db
def test_withdrawing_needs_no_message(device_client, my_report):
    response = device_client.post(withdraw_url(my_report.pk))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == ReportStatus.WITHDRAWN


@pytest.mark.django_db
def test_withdrawing_twice_is_409(device_client, my_report):
    device_client.post(withdraw_url(my_report.pk))

    assert_error_shape(device_client.post(withdraw_url(my_report.pk)), 409, "invalid_transition")


@pytest.mark.django_db
def test_report_in_review_cannot_be_withdrawn(device_client, my_report, clerk):
    handled(my_report, clerk)

    assert_error_shape(device_client.post(withdraw_url(my_report.pk)), 409, "invalid_transition")
    assert Report.objects.get(pk=my_report.pk).status == ReportStatus.IN_REVIEW


@pytest.mark.django_db
def test_another_installation_cannot_withdraw(other_device_client, my_report):
    assert_error_shape(other_device_client.post(withdraw_url(my_report.pk)), 404, "not_found")
    assert Report.objects.get(pk=my_report.pk).status == ReportStatus.RECEIVED


@pytest.mark.django_db
def test_withdraw_message_too_long_is_400(device_client, my_report):
    body = assert_error_shape(
        device_client.post(withdraw_url(my_report.pk), {"message": "x" * 2001}, format="json"), 400
    )

    assert [error["field"] for error in body["errors"]] == ["message"]
    assert Report.objects.get(pk=my_report.pk).status == ReportStatus.RECEIVED


# --- reopening


@pytest.mark.django_db
def test_done_report_can_be_reopened_within_the_window(settings, device_client, my_report, clerk):
    done(my_report, clerk, days_ago=settings.REPORT_REOPEN_DAYS - 1)

    response = device_client.post(reopen_url(my_report.pk), {"message": "Immer noch defekt."}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == ReportStatus.IN_REVIEW
    assert body["timeline"][-1]["message"] == ""
    assert my_report.events.filter(internal_note="Immer noch defekt.").exists()
    my_report.refresh_from_db()
    assert my_report.status == ReportStatus.IN_REVIEW
    assert my_report.closed_at is None


@pytest.mark.django_db
def test_reopening_after_the_window_is_409(settings, device_client, my_report, clerk):
    done(my_report, clerk, days_ago=settings.REPORT_REOPEN_DAYS + 1)

    response = device_client.post(reopen_url(my_report.pk), {"message": "Immer noch defekt."}, format="json")

    assert_error_shape(response, 409, "invalid_transition")
    assert Report.objects.get(pk=my_report.pk).status == ReportStatus.DONE


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ReportStatus.RECEIVED, ReportStatus.REJECTED, ReportStatus.IN_PROGRESS])
def test_only_done_reports_can_be_reopened(device_client, device, pothole, status):
    report = ReportFactory(category=pothole, installation=device, status=status, closed_at=timezone.now())

    response = device_client.post(reopen_url(report.pk), {"message": "Immer noch defekt."}, format="json")

    assert_error_shape(response, 409, "invalid_transition")


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"message": ""}, {"message": "   "}])
def test_reopening_without_message_is_400(device_client, my_report, clerk, payload):
    done(my_report, clerk)

    body = assert_error_shape(device_client.post(reopen_url(my_report.pk), payload, format="json"), 400)

    assert [error["field"] for error in body["errors"]] == ["message"]
    assert Report.objects.get(pk=my_report.pk).status == ReportStatus.DONE


@pytest.mark.django_db
def test_another_installation_cannot_reopen(other_device_client, my_report, clerk):
    done(my_report, clerk)

    response = other_device_client.post(reopen_url(my_report.pk), {"message": "Fremd."}, format="json")

    assert_error_shape(response, 404, "not_found")
    assert Report.objects.get(pk=my_report.pk).status == ReportStatus.DONE
