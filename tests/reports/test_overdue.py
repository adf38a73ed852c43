"""Reports past their category's target time to first response: the due time (working days, NRW
holidays, Berlin time), what counts as a first response, the mark and filter in the triage list, the
count on the workspace index, the daily digest, and the preference page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from reports import alerts
from reports.models import AlertPreference, Category, Report
from reports.staff_selectors import reports_overdue
from reports.workdays import first_response_due
from tests.conftest import device_client_for
from tests.factories import InstallationFactory, StaffFactory
from tests.reports import staff_factories as f
from tests.reports.factories import CITY_POINT

CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))
REPORTS = "/admin/reports/report/"


def browser(user: Any, *, language: str = "de") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Thursday before Christmas: Friday 25th is a holiday, then the weekend: Monday 1, Tuesday 2.
        (dt.datetime(2026, 12, 24, 14, 0, tzinfo=CET), 2, dt.datetime(2026, 12, 30, 0, 0, tzinfo=CET)),
        # Friday afternoon: Monday, Tuesday.
        (dt.datetime(2026, 12, 4, 16, 0, tzinfo=CET), 2, dt.datetime(2026, 12, 9, 0, 0, tzinfo=CET)),
        # Saturday: the clock starts on Monday, as on Friday.
        (dt.datetime(2026, 12, 5, 10, 0, tzinfo=CET), 2, dt.datetime(2026, 12, 9, 0, 0, tzinfo=CET)),
        # Wednesday before Fronleichnam (Thursday 4 June 2026): Friday, Monday.
        (dt.datetime(2026, 6, 3, 9, 0, tzinfo=CEST), 2, dt.datetime(2026, 6, 9, 0, 0, tzinfo=CEST)),
        # Late on a Monday evening in UTC is already Tuesday in Berlin.
        (dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC), 1, dt.datetime(2026, 12, 10, 0, 0, tzinfo=CET)),
        # 0 days: the end of the day it came in, or of the next working day.
        (dt.datetime(2026, 12, 26, 10, 0, tzinfo=CET), 0, dt.datetime(2026, 12, 29, 0, 0, tzinfo=CET)),
    ],
)
def test_the_first_response_is_due_at_the_end_of_the_nth_working_day(received, days, due):
    assert first_response_due(received_at=received, working_days=days) == due


@pytest.fixture
def tiefbau(db: Any) -> Any:
    return f.department("tiefbau")


@pytest.fixture
def member(tiefbau: Any) -> Any:
    return f.triage_staff(tiefbau, email="triage@castrop-rauxel.de")


@pytest.fixture
def schlagloch(tiefbau: Any) -> Category:
    return f.category("schlagloch", department=tiefbau)


def test_a_filed_report_is_due_by_its_categorys_target(schlagloch):
    schlagloch.first_response_days = 5
    schlagloch.save()
    latitude, longitude = CITY_POINT
    response = device_client_for(InstallationFactory()).post(
        "/api/v1/reports/",
        {"category": "schlagloch", "latitude": latitude, "longitude": longitude},
        format="json",
    )
    assert response.status_code == 201
    stored = Report.objects.get(pk=response.json()["id"])
    assert stored.first_response_due_at == first_response_due(received_at=stored.created_at, working_days=5)
    assert stored.first_response_due_at > stored.created_at + dt.timedelta(days=5)


def overdue_report(category: Category, **fields: Any) -> Report:
    return f.report(category, first_response_due_at=timezone.now() - dt.timedelta(hours=1), **fields)


def test_open_reports_without_a_first_response_past_their_due_time_are_overdue(member, schlagloch):
    late = overdue_report(schlagloch)
    answered = overdue_report(schlagloch)
    closed = overdue_report(schlagloch, status="erledigt")
    not_yet = f.report(schlagloch, first_response_due_at=timezone.now() + dt.timedelta(hours=1))
    client = Client()
    client.force_login(member)
    reply = client.post(
        f"/api/v1/staff/reports/{answered.pk}/reply",
        {"message": "Wir schauen uns das an."},
        content_type="application/json",
    )
    assert reply.status_code == 200, reply.content

    overdue = set(reports_overdue(Report.objects.all()).values_list("pk", flat=True))
    assert overdue == {late.pk}
    assert not_yet.pk not in overdue
    assert closed.pk not in overdue


def test_a_status_change_is_a_first_response(member, schlagloch):
    late = overdue_report(schlagloch)
    client = Client()
    client.force_login(member)
    response = client.post(
        f"/api/v1/staff/reports/{late.pk}/transition",
        {"status": "in_pruefung"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert not reports_overdue(Report.objects.filter(pk=late.pk)).exists()


def test_the_triage_list_marks_and_filters_overdue_reports(member, schlagloch):
    late = overdue_report(schlagloch)
    f.report(schlagloch, first_response_due_at=timezone.now() + dt.timedelta(days=1))
    client = browser(member)

    everything = client.get(REPORTS)
    assert everything.content.decode().count("⚠ überfällig") == 1
    only_late = client.get(REPORTS, {"overdue": "yes"})
    assert [r.pk for r in only_late.context["cl"].result_list] == [late.pk]


def test_the_workspace_index_counts_the_overdue_reports_of_my_departments(member, schlagloch):
    overdue_report(schlagloch)
    overdue_report(schlagloch)
    elsewhere = f.category("laerm", department=f.department("ordnung"))
    overdue_report(elsewhere)

    page = browser(member).get("/admin/").content.decode()

    assert "2 Meldungen Ihrer Fachbereiche sind überfällig" in page
    assert f"{REPORTS}?overdue=yes" in page
    assert "Meine Benachrichtigungen" in page


def test_the_daily_digest_lists_the_departments_overdue_reports(
    member, schlagloch, django_capture_on_commit_callbacks
):
    late = overdue_report(schlagloch)
    monday = dt.datetime(2026, 12, 7, 7, 30, tzinfo=CET)
    Report.objects.filter(pk=late.pk).update(
        created_at=monday - dt.timedelta(days=10),
        arrived_at=monday - dt.timedelta(days=10),
        first_response_due_at=monday - dt.timedelta(days=5),
    )
    with django_capture_on_commit_callbacks(execute=True):
        alerts.digests_queue(frequency="daily", now=monday)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "1 überfällig" in message.subject
    assert f"#{late.pk} Schlagloch, fällig 02.12.2026 07:30" in message.body


def test_the_preference_page_is_ones_own(member):
    colleague = StaffFactory(roles=["Triage"])
    theirs = AlertPreference.objects.create(user=colleague, frequency="none")
    client = browser(member)

    page = client.get("/admin/reports/alertpreference/", follow=True)
    assert page.status_code == 200
    own = AlertPreference.objects.get(user=member)
    assert page.redirect_chain[-1][0] == f"/admin/reports/alertpreference/{own.pk}/change/"
    assert "tägliche Übersicht" in page.content.decode()

    saved = client.post(
        f"/admin/reports/alertpreference/{own.pk}/change/", {"frequency": "immediate", "language": "en"}
    )
    assert saved.status_code == 302
    own.refresh_from_db()
    assert (own.frequency, own.language) == ("immediate", "en")

    assert client.get(f"/admin/reports/alertpreference/{theirs.pk}/change/").status_code in (302, 403, 404)
    forged = client.post(
        f"/admin/reports/alertpreference/{theirs.pk}/change/", {"frequency": "immediate", "language": "de"}
    )
    assert forged.status_code in (302, 403, 404)
    theirs.refresh_from_db()
    assert theirs.frequency == "none"


def test_administration_sets_a_departments_shared_inbox(tiefbau, member):
    administration = browser(StaffFactory(roles=["Administration"]))
    response = administration.post(
        f"/admin/reports/department/{tiefbau.pk}/change/",
        {
            "key": tiefbau.key,
            "name": tiefbau.name,
            "members": [member.pk],
            "shared_inbox": "tiefbau-team@castrop-rauxel.de",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    tiefbau.refresh_from_db()
    assert tiefbau.shared_inbox == "tiefbau-team@castrop-rauxel.de"


def test_the_map_marks_and_filters_overdue_reports(member, schlagloch):
    late = overdue_report(schlagloch)
    in_time = f.report(schlagloch, first_response_due_at=timezone.now() + dt.timedelta(days=1))
    client = browser(member)

    everything = client.get("/admin/reports/report/map/data/").json()["reports"]
    assert {p["id"]: p["overdue"] for p in everything} == {late.pk: True, in_time.pk: False}
    only_late = client.get("/admin/reports/report/map/data/", {"overdue": "yes"}).json()["reports"]
    assert [p["id"] for p in only_late] == [late.pk]
    page = client.get("/admin/reports/report/map/").content.decode()
    assert "nur überfällige" in page
    assert "report-pin--overdue" in page
