"""E-mail alerts about new reports: who gets one, what it says, when digests go out, and that a failing
mail server neither loses an alert nor the report, nor sends one twice."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from rest_framework.test import APIClient

from reports import alerts, tasks
from reports.models import AlertDigest, AlertPreference, Category, Department, IntakeAlert, Report
from reports.workdays import BERLIN as BERLIN_ZONE
from reports.workdays import is_working_day
from tests.conftest import device_client_for
from tests.factories import InstallationFactory, StaffFactory
from tests.mail import (
    RefusingThenAccepting,
    free_port,
    race_send_and_sweep,
    smtp_server,
)
from tests.reports import staff_factories as f
from tests.reports.factories import CITY_POINT

URL = "/api/v1/reports/"
BERLIN = dt.timezone(dt.timedelta(hours=1))  # CET: all dates below are in winter time
BERLIN_SUMMER = dt.timezone(dt.timedelta(hours=2))
BASE = "https://cas-app.castrop-rauxel.de"


def prefer(user: Any, frequency: str, language: str = "de") -> None:
    AlertPreference.objects.update_or_create(
        user=user,
        defaults={
            "frequency": frequency,
            "language": language,
            "digest_since": dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        },
    )


@pytest.fixture
def gruen(db: Any) -> Any:
    """Grünflächen with members of every kind, and Tiefbau next door."""
    department = f.department("gruen")
    department.shared_inbox = "gruenflaechen@castrop-rauxel.de"
    department.save()
    tiefbau = f.department("tiefbau")
    tiefbau.shared_inbox = "tiefbau@castrop-rauxel.de"
    tiefbau.save()
    people = {
        "immediate": f.triage_staff(department, email="eilig@castrop-rauxel.de"),
        "daily": f.triage_staff(department, email="taeglich@castrop-rauxel.de"),
        "nothing": f.triage_staff(department, email="nie@castrop-rauxel.de"),
        "inactive": f.triage_staff(department, email="weg@castrop-rauxel.de", is_active=False),
        "no_triage": StaffFactory(roles=["Kommunikation"], email="presse@castrop-rauxel.de"),
        "other_department": f.triage_staff(tiefbau, email="tiefbau-eilig@castrop-rauxel.de"),
    }
    department.members.add(people["no_triage"])
    for key in ("immediate", "inactive", "no_triage", "other_department"):
        prefer(people[key], "immediate")
    prefer(people["nothing"], "none")
    f.category("rasen", department=department)
    f.category("schlagloch", department=tiefbau)
    return people


def file_report(category: str = "rasen", **fields: Any) -> Any:
    latitude, longitude = CITY_POINT
    client = device_client_for(InstallationFactory())
    return client.post(
        URL,
        {
            "category": category,
            "description": "Der Rasen am Spielplatz wurde seit Wochen nicht gemäht. " * 8,
            "latitude": latitude,
            "longitude": longitude,
            "address": "Marktplatz 12",
            "contact_name": "Erika Mustermann",
            "contact_email": "erika@example.org",
            "contact_phone": "+49 2305 123456",
            "contact_consent": True,
            **fields,
        },
        format="json",
    )


@override_settings(WORKSPACE_BASE_URL=BASE)
def test_the_alert_goes_out_after_commit_to_members_who_want_every_report_and_the_shared_inbox(
    gruen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = file_report()
        assert response.status_code == 201
        assert mail.outbox == []  # nothing before the report is committed
    for callback in callbacks:
        callback()

    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["eilig@castrop-rauxel.de", "gruenflaechen@castrop-rauxel.de"]
    number = response.json()["id"]
    assert IntakeAlert.objects.filter(report_id=number, sent_at__isnull=False).count() == 2


@override_settings(WORKSPACE_BASE_URL=BASE)
def test_the_alert_names_number_category_place_and_link_but_no_contact_data(
    gruen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = file_report()
    number = response.json()["id"]
    message = next(m for m in mail.outbox if m.to == ["eilig@castrop-rauxel.de"])

    assert message.subject == f"Neue Meldung #{number}: Rasen"
    text = message.subject + message.body
    assert f"Meldung #{number}" in message.body
    assert "Kategorie: Rasen" in message.body
    assert "Ort: Marktplatz 12" in message.body
    assert f"{BASE}/admin/reports/report/{number}/change/" in message.body
    description = re.search(r"Beschreibung: (.*)", message.body)
    assert description is not None
    assert len(description.group(1)) <= 200
    for private in ("Erika", "Mustermann", "erika@example.org", "123456"):
        assert private not in text
    assert message.attachments == []


def test_a_position_without_address_is_rounded(gruen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        file_report(address="", latitude=51.5512345, longitude=7.3123456)
    message = mail.outbox[0]
    assert "Ort: 51.5512, 7.3123" in message.body
    assert "51.55123" not in message.body


def test_english_is_chosen_by_the_member(gruen, django_capture_on_commit_callbacks):
    prefer(gruen["immediate"], "immediate", language="en")
    with django_capture_on_commit_callbacks(execute=True):
        response = file_report()
    message = next(m for m in mail.outbox if m.to == ["eilig@castrop-rauxel.de"])
    assert message.subject == f"New report #{response.json()['id']}: Rasen"


def test_another_departments_report_alerts_only_that_department(gruen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        file_report(category="schlagloch")
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["tiefbau-eilig@castrop-rauxel.de", "tiefbau@castrop-rauxel.de"]


def test_a_redelivered_task_sends_nothing_twice(gruen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = file_report()
    assert len(mail.outbox) == 2

    tasks.send_intake_alerts.apply(args=[response.json()["id"]])
    tasks.resend_pending_intake_alerts.apply()
    assert len(mail.outbox) == 2


def test_queueing_again_for_the_same_department_records_no_second_alert(
    gruen, django_capture_on_commit_callbacks
):
    """What re-routing calls for the new department: an address that had this report gets none again."""
    with django_capture_on_commit_callbacks(execute=True):
        response = file_report()
    report = Report.objects.get(pk=response.json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.report_intake_alert_queue(report=report) == 0
    assert len(mail.outbox) == 2


def test_a_report_forwarded_to_another_department_reaches_that_departments_alerts_and_digest(
    gruen, django_capture_on_commit_callbacks
):
    tiefbau_daily = f.triage_staff(
        Department.objects.get(key="tiefbau"), email="tiefbau-taeglich@castrop-rauxel.de"
    )
    with django_capture_on_commit_callbacks(execute=True):
        number = file_report().json()["id"]
    long_ago = dt.datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)
    Report.objects.filter(pk=number).update(created_at=long_ago, arrived_at=long_ago)
    mail.outbox.clear()

    staff = APIClient()
    staff.force_login(gruen["immediate"])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            f"/api/v1/staff/reports/{number}/reroute",
            {"category": "schlagloch", "reason": "Ein Schlagloch, kein Rasen"},
            format="json",
        )
    assert response.status_code == 200, response.content
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["tiefbau-eilig@castrop-rauxel.de", "tiefbau@castrop-rauxel.de"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        alerts.digests_queue(frequency="daily", now=_next_daily_slot())
    digest = next(m for m in mail.outbox if m.to == [tiefbau_daily.email])
    assert f"Meldung #{number}," in digest.body
    assert all(f"Meldung #{number}," not in m.body for m in mail.outbox if m.to != [tiefbau_daily.email])


def _next_daily_slot() -> dt.datetime:
    """The first daily digest (7:30 Berlin on a working day) after now: the re-routed report arrived just
    now, so it is in that digest (today's, when the test runs before 7:30 on a working day)."""
    now = dt.datetime.now(BERLIN_ZONE)
    day = now.date()
    while not (is_working_day(day) and dt.datetime.combine(day, dt.time(7, 30), tzinfo=BERLIN_ZONE) > now):
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(7, 30), tzinfo=BERLIN_ZONE)


# --- Digests


def report_at(category_key: str, moment: dt.datetime) -> Report:
    created = f.report(Category.objects.get(key=category_key))
    Report.objects.filter(pk=created.pk).update(created_at=moment, arrived_at=moment)
    created.refresh_from_db()
    return created


def run_digests(frequency: str, now: dt.datetime, capture: Any) -> list[Any]:
    before = len(mail.outbox)
    with capture(execute=True):
        alerts.digests_queue(frequency=frequency, now=now)
    return mail.outbox[before:]


@pytest.mark.parametrize(
    ("now", "sent"),
    [
        pytest.param(dt.datetime(2026, 12, 7, 7, 30, tzinfo=BERLIN), True, id="monday-0730"),
        pytest.param(dt.datetime(2026, 12, 7, 7, 29, tzinfo=BERLIN), False, id="monday-0729"),
        pytest.param(dt.datetime(2026, 12, 5, 7, 30, tzinfo=BERLIN), False, id="saturday"),
        pytest.param(dt.datetime(2026, 12, 6, 9, 0, tzinfo=BERLIN), False, id="sunday"),
        pytest.param(dt.datetime(2026, 12, 25, 7, 30, tzinfo=BERLIN), False, id="christmas-friday"),
        pytest.param(dt.datetime(2026, 6, 4, 7, 45, tzinfo=BERLIN_SUMMER), False, id="fronleichnam"),
        pytest.param(dt.datetime(2026, 6, 5, 7, 45, tzinfo=BERLIN_SUMMER), True, id="friday-after"),
    ],
)
def test_the_daily_digest_goes_out_at_0730_on_working_days_only(
    gruen, django_capture_on_commit_callbacks, now, sent
):
    for nobody in ("inactive", "no_triage"):  # inactive, not Triage: no digest either
        prefer(gruen[nobody], "daily")
    report_at("rasen", now - dt.timedelta(hours=3))
    delivered = run_digests("daily", now, django_capture_on_commit_callbacks)
    assert [m.to for m in delivered] == ([["taeglich@castrop-rauxel.de"]] if sent else [])


def test_the_daily_digest_goes_out_once_a_day(gruen, django_capture_on_commit_callbacks):
    monday = dt.datetime(2026, 12, 7, 7, 30, tzinfo=BERLIN)
    report_at("rasen", monday - dt.timedelta(hours=3))
    assert len(run_digests("daily", monday, django_capture_on_commit_callbacks)) == 1
    assert run_digests("daily", monday + dt.timedelta(minutes=5), django_capture_on_commit_callbacks) == []
    assert run_digests("daily", monday + dt.timedelta(hours=10), django_capture_on_commit_callbacks) == []


def test_the_hourly_digest_lists_exactly_the_reports_of_the_hour(gruen, django_capture_on_commit_callbacks):
    prefer(gruen["daily"], "hourly")
    nine = dt.datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)
    before = report_at("rasen", nine - dt.timedelta(seconds=1))
    first = report_at("rasen", nine + dt.timedelta(seconds=1))
    on_the_hour = report_at("rasen", nine + dt.timedelta(hours=1))
    later = report_at("rasen", nine + dt.timedelta(hours=1, seconds=1))
    elsewhere = report_at("schlagloch", nine + dt.timedelta(minutes=30))

    at_ten = run_digests(
        "hourly", nine + dt.timedelta(hours=1, minutes=5), django_capture_on_commit_callbacks
    )
    at_ten_again = run_digests(
        "hourly", nine + dt.timedelta(hours=1, minutes=10), django_capture_on_commit_callbacks
    )
    at_eleven = run_digests(
        "hourly", nine + dt.timedelta(hours=2, minutes=5), django_capture_on_commit_callbacks
    )

    def numbers(message: Any) -> set[int]:
        return {int(n) for n in re.findall(r"^Meldung #(\d+)", message.body, re.MULTILINE)}

    assert [m.to for m in at_ten] == [["taeglich@castrop-rauxel.de"]]
    assert numbers(at_ten[0]) == {first.pk, on_the_hour.pk}
    assert at_ten_again == []
    assert numbers(at_eleven[0]) == {later.pk}
    assert before.pk not in numbers(at_ten[0])
    assert elsewhere.pk not in numbers(at_ten[0])
    windows = list(AlertDigest.objects.filter(recipient=gruen["daily"]).order_by("window_end"))
    assert [w.window_end for w in windows] == [nine + dt.timedelta(hours=1), nine + dt.timedelta(hours=2)]
    assert windows[1].window_start == windows[0].window_end


def test_an_hour_without_new_reports_sends_no_mail(gruen, django_capture_on_commit_callbacks):
    prefer(gruen["daily"], "hourly")
    assert (
        run_digests(
            "hourly", dt.datetime(2026, 12, 7, 10, 5, tzinfo=BERLIN), django_capture_on_commit_callbacks
        )
        == []
    )
    assert AlertDigest.objects.get(recipient=gruen["daily"]).sent_at is not None


# --- A mail server that refuses, then accepts


@pytest.fixture(
    params=[
        "451 4.3.0 Mail server busy, try again later",
        "421 4.3.2 Service shutting down, closing transmission channel",
    ],
    ids=["451", "421"],
)
def refusing_smtp(settings: Any, request: Any) -> Iterator[RefusingThenAccepting]:
    handler = RefusingThenAccepting(refusals=10**6, reply=request.param)
    controller, port = smtp_server(handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def test_a_refusing_mail_server_loses_neither_the_report_nor_the_alert_and_sends_it_once(
    gruen, refusing_smtp, django_capture_on_commit_callbacks
):
    prefer(gruen["immediate"], "none")  # one recipient: the shared inbox
    with django_capture_on_commit_callbacks(execute=True):
        response = file_report()

    assert response.status_code == 201
    number = response.json()["id"]
    assert Report.objects.filter(pk=number).exists()
    alert = IntakeAlert.objects.get(report_id=number)
    assert alert.sent_at is None
    assert alert.attempts == 1
    assert refusing_smtp.reply[:3] in alert.last_error
    assert refusing_smtp.accepted == []

    tasks.send_intake_alerts.apply(args=[number])  # a retry while the server still refuses
    alert.refresh_from_db()
    assert (alert.sent_at, alert.attempts) == (None, 2)

    refusing_smtp.refusals = 0
    tasks.send_intake_alerts.apply(args=[number])  # the next retry: accepted
    IntakeAlert.objects.filter(pk=alert.pk).update(created_at=alert.created_at - dt.timedelta(hours=1))
    tasks.send_intake_alerts.apply(args=[number])  # redelivered
    tasks.resend_pending_intake_alerts.apply()  # and the sweep

    assert len(refusing_smtp.accepted) == 1
    assert refusing_smtp.accepted[0].rcpt_tos == ["gruenflaechen@castrop-rauxel.de"]
    alert.refresh_from_db()
    assert alert.sent_at is not None


def test_the_sweep_resends_what_the_retries_gave_up_on(
    gruen, refusing_smtp, django_capture_on_commit_callbacks
):
    prefer(gruen["immediate"], "none")
    with django_capture_on_commit_callbacks(execute=True):
        number = file_report().json()["id"]
    refusing_smtp.refusals = 0
    tasks.resend_pending_intake_alerts.apply()
    assert refusing_smtp.accepted == []  # younger than RESEND_AFTER: still the task's business

    IntakeAlert.objects.filter(report_id=number).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    )
    tasks.resend_pending_intake_alerts.apply()
    tasks.resend_pending_intake_alerts.apply()
    assert len(refusing_smtp.accepted) == 1


def test_a_refused_digest_is_retried_and_sent_once(gruen, refusing_smtp, django_capture_on_commit_callbacks):
    monday = dt.datetime(2026, 12, 7, 7, 30, tzinfo=BERLIN)
    report_at("rasen", monday - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        alerts.digests_queue(frequency="daily", now=monday)
    digest = AlertDigest.objects.get(recipient=gruen["daily"])
    assert digest.sent_at is None
    assert refusing_smtp.reply[:3] in digest.last_error

    refusing_smtp.refusals = 0
    with django_capture_on_commit_callbacks(execute=True):
        alerts.digests_queue(frequency="daily", now=monday + dt.timedelta(minutes=5))  # queued again
    tasks.send_alert_digest.apply(args=[digest.pk])
    assert len(refusing_smtp.accepted) == 1
    digest.refresh_from_db()
    assert digest.sent_at is not None
    assert digest.report_count == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_refused_alert_with_backoff_until_the_server_accepts(
    django_db_setup, django_db_blocker
):
    """Service tier: the task's own retries (Celery, Redis) against a real SMTP server on loopback."""
    from tests.worker import running_worker, wait_for

    handler = RefusingThenAccepting(refusals=2)
    controller, port = smtp_server(handler)
    department = f.department("gruen")
    department.shared_inbox = "gruenflaechen@castrop-rauxel.de"
    department.save()
    f.category("rasen", department=department)
    extra_env = {"EMAIL_URL": f"smtp://127.0.0.1:{port}", "ALERT_RETRY_BASE_SECONDS": "1"}
    try:
        with running_worker(concurrency=1, extra_env=extra_env) as worker:
            response = file_report()
            assert response.status_code == 201
            alert = IntakeAlert.objects.get(report_id=response.json()["id"])

            def delivered() -> bool:
                alert.refresh_from_db()
                return alert.sent_at is not None

            assert wait_for(delivered, timeout=90), worker.log_path.read_text()[-2000:]
            assert wait_for(lambda: False, timeout=3) is False  # room for a stray second send
    finally:
        controller.stop()

    assert len(handler.accepted) == 1
    assert handler.refusals == 0
    assert alert.attempts == 3


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["send", "sweep"])
def test_the_send_task_and_the_sweep_racing_send_the_alert_once(first: str, settings: Any) -> None:
    """Service tier (PostgreSQL row locks): while one of them is in the middle of sending the alert, the
    other finds it locked and leaves it; afterwards it finds it sent."""
    department = f.department("gruen")
    department.shared_inbox = "gruenflaechen@castrop-rauxel.de"
    department.save()
    f.category("rasen", department=department)
    number = file_report().json()["id"]  # its task waits in the broker: no worker runs here
    alert = IntakeAlert.objects.get(report_id=number)
    IntakeAlert.objects.filter(pk=alert.pk).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)  # due for the sweep
    )

    arrived = race_send_and_sweep(
        settings,
        send=lambda: tasks.send_intake_alerts.apply(args=[number]),
        sweep=tasks.resend_pending_intake_alerts.apply,
        first=first,
    )

    alert.refresh_from_db()
    assert (arrived, alert.sent_at is not None, alert.attempts) == ([[alert.email]], True, 1)


def test_no_mail_server_at_all_keeps_the_report_and_the_alert(
    gruen, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    with django_capture_on_commit_callbacks(execute=True):
        response = file_report()

    assert response.status_code == 201
    pending = IntakeAlert.objects.filter(report_id=response.json()["id"], sent_at__isnull=True)
    assert pending.count() == 2
    assert all("ConnectionRefusedError" in alert.last_error for alert in pending)
