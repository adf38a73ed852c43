"""Privacy: contact data and the installation link go 90 days after closing, or at once with the phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report, ReportStatus, ReportSupport
from reports.tasks import erase_contact_after_retention
from tests.factories import InstallationFactory
from tests.reports.factories import ReportFactory

CONTACT = {"contact_email": "anna@example.org", "contact_phone": "0171 2345678", "contact_consent": True}


def closed(days_ago: int, **fields):
    return ReportFactory(
        **{
            "status": ReportStatus.DONE,
            "closed_at": timezone.now() - timedelta(days=days_ago),
            "installation": InstallationFactory(),
            **CONTACT,
            **fields,
        }
    )


@pytest.mark.django_db
def test_contact_data_is_erased_after_the_retention_period_and_not_before(settings):
    settings.REPORT_CONTACT_RETENTION_DAYS = 90
    old, recent = closed(91), closed(89)
    still_open = ReportFactory(status=ReportStatus.IN_PROGRESS, installation=InstallationFactory(), **CONTACT)

    erased = erase_contact_after_retention.delay().get()

    assert erased == 1
    old.refresh_from_db()
    assert (old.installation_id, old.contact_email, old.contact_phone) == (None, "", "")
    assert old.contact_erased_at is not None
    for kept in (recent, still_open):
        kept.refresh_from_db()
        assert kept.installation_id is not None
        assert kept.contact_email == "anna@example.org"


@pytest.mark.django_db
def test_erasing_the_installation_unlinks_its_reports_and_supports_at_once(device, device_client):
    own = ReportFactory(status=ReportStatus.RECEIVED, installation=device, **CONTACT)
    supported = ReportFactory(
        status=ReportStatus.RECEIVED, installation=InstallationFactory(), support_count=1
    )
    ReportSupport.objects.create(report=supported, installation=device)

    assert device_client.delete("/api/v1/devices/me").status_code == 204

    own.refresh_from_db()
    supported.refresh_from_db()
    assert (own.installation_id, own.contact_email, own.contact_phone) == (None, "", "")
    assert Report.objects.filter(pk=own.pk).exists()  # the report itself stays: the defect is real
    assert supported.support_count == 0
    assert not ReportSupport.objects.filter(report=supported).exists()


def test_the_erasure_runs_periodically_on_the_worker():
    from django.conf import settings

    from casapp.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    [entry] = [each for each in schedule if each["task"] == erase_contact_after_retention.name]
    assert float(entry["schedule"]) <= 24 * 3600  # a day late at most
    assert erase_contact_after_retention.name in app.tasks


@pytest.mark.django_db
def test_a_withdrawn_report_is_erased_after_the_retention_period_too(settings):
    settings.REPORT_CONTACT_RETENTION_DAYS = 90
    withdrawn = closed(91, status=ReportStatus.WITHDRAWN)
    rejected = closed(91, status=ReportStatus.REJECTED)

    assert erase_contact_after_retention.delay().get() == 2

    for report in (withdrawn, rejected):
        report.refresh_from_db()
        assert (report.installation_id, report.contact_email, report.contact_consent) == (None, "", False)


@pytest.mark.django_db
def test_the_supporters_links_go_with_the_reporters_and_the_count_stays(settings):
    settings.REPORT_CONTACT_RETENTION_DAYS = 90
    old, recent = closed(91, support_count=1), closed(89, support_count=1)
    for report in (old, recent):
        ReportSupport.objects.create(report=report, installation=InstallationFactory())

    assert erase_contact_after_retention.delay().get() == 1

    assert not ReportSupport.objects.filter(report=old).exists()
    assert ReportSupport.objects.filter(report=recent).count() == 1
    assert Report.objects.get(pk=old.pk).support_count == 1


@pytest.mark.django_db
def test_the_erasure_works_through_more_reports_than_one_batch(settings, monkeypatch):
    settings.REPORT_CONTACT_RETENTION_DAYS = 90
    monkeypatch.setattr("reports.services.RETENTION_BATCH", 2)
    due = [closed(91) for _ in range(5)]

    assert erase_contact_after_retention.delay().get() == 5
    assert erase_contact_after_retention.delay().get() == 0  # nothing twice

    assert not Report.objects.filter(pk__in=[r.pk for r in due], installation__isnull=False).exists()
