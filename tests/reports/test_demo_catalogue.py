"""``manage.py load_demo`` installs the Mängelmelder's demo catalogue: about 20 categories of a German city
in two levels, each leaf with its department, and extra questions of every kind; run twice, nothing
changes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from reports.models import Category, CategoryQuestion, Department, QuestionKind

CATEGORIES_URL = "/api/v1/reports/categories"


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_catalogue_is_two_levels_of_about_twenty_categories_with_questions(anon_client):
    load_demo()

    groups = Category.objects.filter(parent__isnull=True)
    leaves = Category.objects.filter(parent__isnull=False)
    assert 18 <= leaves.count() <= 25
    assert groups.count() >= 4
    assert not groups.filter(department__isnull=False).exists()
    assert not leaves.filter(department__isnull=True).exists()
    assert not leaves.filter(parent__parent__isnull=False).exists()  # two levels, no more
    assert all(leaf.name_de and leaf.name_en and leaf.icon_key for leaf in leaves)
    assert Department.objects.count() >= 3
    assert set(CategoryQuestion.objects.values_list("kind", flat=True)) == set(QuestionKind.values)
    assert CategoryQuestion.objects.filter(required=True).exists()
    assert CategoryQuestion.objects.filter(required=False).exists()

    tree = anon_client.get(CATEGORIES_URL, HTTP_ACCEPT_LANGUAGE="en").json()
    listed = [leaf["key"] for group in tree["groups"] for leaf in group["categories"]]
    assert sorted(listed) == sorted(leaves.values_list("key", flat=True))
    lamp = next(
        leaf for group in tree["groups"] for leaf in group["categories"] if leaf["key"] == "strassenlaterne"
    )
    assert lamp["label"] == "Streetlight out"
    assert {question["kind"] for question in lamp["questions"]} >= {"text", "single_choice"}


@pytest.mark.django_db
def test_demo_catalogue_is_idempotent_and_keeps_staff_edits():
    load_demo()
    Category.objects.filter(key="schlagloch").update(name_de="Schlagloch (geändert)", is_active=False)
    counts = (Category.objects.count(), CategoryQuestion.objects.count(), Department.objects.count())

    load_demo()

    assert (Category.objects.count(), CategoryQuestion.objects.count(), Department.objects.count()) == counts
    changed = Category.objects.get(key="schlagloch")
    assert (changed.name_de, changed.is_active) == ("Schlagloch (geändert)", False)


@pytest.mark.django_db
def test_load_demo_files_a_month_of_reports_through_the_real_workflow():
    from datetime import timedelta

    from django.utils import timezone

    from reports.geo import point_in_city
    from reports.models import Report, ReportEvent, ReportStatus

    load_demo()
    load_demo()  # idempotent: nothing filed twice

    reports = Report.objects.all()
    assert reports.count() == 40
    assert set(reports.values_list("status", flat=True)) == set(ReportStatus.values)
    now = timezone.now()
    ages = [now - created for created in reports.values_list("created_at", flat=True)]
    assert min(ages) < timedelta(days=1)
    assert timedelta(days=59) < max(ages) <= timedelta(days=60, minutes=5)
    assert all(point_in_city(latitude=r.latitude, longitude=r.longitude) for r in reports)
    assert reports.filter(duplicate_of__isnull=False).count() == 2
    assert ReportEvent.objects.filter(kind=ReportEvent.Kind.REROUTED).count() == 1
    assert reports.filter(support_count__gt=0).count() >= 5
    assert ReportEvent.objects.filter(kind=ReportEvent.Kind.REPLY).exists()
    with_photos = reports.filter(photos__isnull=False).distinct()
    assert with_photos.count() >= 5
    photo = with_photos.first().photos.first()
    assert photo.thumbnail  # through the photo pipeline: thumbnail made
    # Marked as demo data, in the history staff see.
    assert all(r.idempotency_key.startswith("demo-") for r in reports)
    assert (
        ReportEvent.objects.filter(kind=ReportEvent.Kind.NOTE, internal_note__startswith="Demodaten").count()
        == 40
    )
    # History in order: nothing after now, every event at or after its report was filed.
    for report in reports.prefetch_related("events"):
        assert all(report.created_at <= event.created_at <= now for event in report.events.all())
