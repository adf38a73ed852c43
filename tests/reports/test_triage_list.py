"""The triage queue's columns, sorts and the saved filter "Mein Eingang", through the admin's list page.

Actors: a Triage member of Tiefbau, a team lead of Tiefbau and Grünflächen, Administration (a member of no
department); Ordnung is another department.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports.models import Category, Department, Report, ReportEvent, ReportStatus
from tests.factories import StaffFactory
from tests.reports.staff_factories import category, department, photo, report, supporter_of, triage_staff

REPORTS = "/admin/reports/report/"


def browser(user: Any, *, language: str = "de") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def listed(client: Client, query: dict[str, Any] | None = None) -> list[int]:
    """The report numbers of the page, in the order shown."""
    response = client.get(REPORTS, query or {})
    assert response.status_code == 200, response.content[:500]
    return [row.pk for row in response.context["cl"].result_list]


def sorted_by(client: Client, column: str, *, descending: bool = False) -> list[int]:
    """The page sorted by a column, as clicking its header does (``o`` counts the columns shown)."""
    columns = client.get(REPORTS).context["cl"].list_display
    index = columns.index(column)
    return listed(client, {"o": f"{'-' if descending else ''}{index}"})


def aged(target: Report, *, days: float = 0, hours: float = 0) -> Report:
    Report.objects.filter(pk=target.pk).update(created_at=timezone.now() - timedelta(days=days, hours=hours))
    target.refresh_from_db()
    return target


@pytest.fixture
def gruen(db: Any) -> Department:
    return department("gruen")


@pytest.fixture
def baum(gruen: Department) -> Category:
    return category("baum", department=gruen)


@pytest.fixture
def member(tiefbau: Department) -> Client:
    return browser(triage_staff(tiefbau, first_name="Tina", last_name="Triage"))


@pytest.fixture
def administration(db: Any) -> Client:
    return browser(StaffFactory(roles=["Administration"]))


# --- Columns


@pytest.mark.django_db
def test_the_queue_shows_a_report_in_one_line(member, schlagloch, tiefbau):
    assignee = triage_staff(tiefbau, first_name="Bernd", last_name="Bauhof")
    shown = aged(
        report(
            schlagloch,
            description=(
                "Tiefes Schlagloch vor der Hausnummer 12, Radfahrer müssen auf die Fahrbahn ausweichen"
            ),
            address="Münsterstraße 12",
            stadtteil="Ickern",
            assigned_to=assignee,
            status=ReportStatus.IN_REVIEW,
        ),
        days=3,
        hours=2,
    )
    supporter_of(shown)
    supporter_of(shown)
    picture = photo(shown)

    response = member.get(REPORTS)

    content = response.content.decode()
    [row] = [line for line in content.split("<tr") if f'href="{REPORTS}{shown.pk}/change/' in line]
    assert f">{shown.pk}</a>" in row
    assert "Schlagloch" in row
    assert "Tiefes Schlagloch vor der Hausnummer 12, Radfahrer müssen …" in row  # the first words
    assert "ausweichen" not in row
    assert "Münsterstraße 12" in row
    assert "Ickern" in row
    assert "3 Tage" in row
    assert "in Prüfung" in row
    assert "Bernd Bauhof" in row
    assert '<td class="field-support_count">2</td>' in row
    # The small thumbnail the photo pipeline made, loaded when scrolled to; never the photo itself.
    assert f'src="{picture.thumbnail.url}"' in row
    assert 'loading="lazy"' in row
    assert picture.image.url not in row


@pytest.mark.django_db
def test_a_report_without_address_shows_its_rounded_position(member, schlagloch):
    report(schlagloch, address="", latitude=51.5512345, longitude=7.3098765)

    content = member.get(REPORTS).content.decode()

    assert "51.5512, 7.3099" in content


@pytest.mark.django_db
def test_a_removed_photo_gives_no_thumbnail(member, schlagloch):
    hidden_photo = photo(report(schlagloch), removed=True)

    content = member.get(REPORTS).content.decode()

    assert hidden_photo.thumbnail.url not in content
    assert "report-list-thumbnail" not in content


@pytest.mark.django_db
def test_age_is_in_hours_on_the_first_day_and_in_days_after(member, schlagloch):
    report(schlagloch)
    aged(report(schlagloch), hours=5)
    aged(report(schlagloch), days=1, hours=1)

    content = member.get(REPORTS).content.decode()

    assert "unter 1 Stunde" in content
    assert "5 Stunden" in content
    assert "1 Tag<" in content


@pytest.mark.django_db
def test_the_column_headers_are_german_under_the_german_locale(member, schlagloch):
    report(schlagloch)

    content = member.get(REPORTS).content.decode()

    for header in (
        "Nr.",
        "Foto",
        "Kategorie",
        "Beschreibung",
        "Adresse",
        "Stadtteil",
        "Alter",
        "Status",
        "Zugewiesen an",
        "Unterstützende",
        "Letzte Änderung",
        "Mein Eingang",
        "Karte der offenen Meldungen",
    ):
        assert header in content, header
    for english in ("Assigned to", "Supporters", "My inbox", "Number", ">Age<"):
        assert english not in content, english


@pytest.mark.django_db
def test_times_in_the_queue_are_berlin_time(member, schlagloch):
    target = report(schlagloch)
    # 10:00 UTC in summer is 12:00 in Berlin.
    Report.objects.filter(pk=target.pk).update(
        created_at=datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
        updated_at=datetime(2026, 6, 2, 10, 30, tzinfo=UTC),
    )

    content = member.get(REPORTS).content.decode()

    assert "01.06.2026 12:00" in content  # the age column's exact time, on hover
    assert "02.06.2026 12:30" in content  # last change
    assert "10:00" not in content
    assert "10:30" not in content


@pytest.mark.django_db
def test_times_on_a_report_page_are_berlin_time(member, schlagloch):
    target = report(schlagloch)
    ReportEvent.objects.create(report=target, kind=ReportEvent.Kind.NOTE, internal_note="Bauhof informiert")
    # Summer: UTC + 2. Winter: UTC + 1.
    Report.objects.filter(pk=target.pk).update(
        created_at=datetime(2026, 6, 1, 10, 5, tzinfo=UTC),
        first_response_at=datetime(2026, 12, 1, 8, 20, tzinfo=UTC),
    )
    target.events.update(created_at=datetime(2026, 6, 1, 10, 45, tzinfo=UTC))

    content = member.get(f"{REPORTS}{target.pk}/change/").content.decode()

    assert "1. Juni 2026 12:05" in content  # reported
    assert "1. Dezember 2026 09:20" in content  # first response
    assert "01.06.2026 12:45" in content  # the timeline
    for utc in ("10:05", "08:20", "10:45"):
        assert utc not in content, utc


# --- Sorting


@pytest.mark.django_db
def test_the_queue_sorts_by_age(member, schlagloch):
    old = aged(report(schlagloch), days=10)
    new = aged(report(schlagloch), days=1)
    middle = aged(report(schlagloch), days=4)

    assert sorted_by(member, "age") == [new.pk, middle.pk, old.pk]
    assert sorted_by(member, "age", descending=True) == [old.pk, middle.pk, new.pk]


@pytest.mark.django_db
def test_the_queue_sorts_by_supporters(member, schlagloch):
    few, many, none = report(schlagloch), report(schlagloch), report(schlagloch)
    supporter_of(few)
    for _ in range(3):
        supporter_of(many)

    assert sorted_by(member, "support_count", descending=True) == [many.pk, few.pk, none.pk]


@pytest.mark.django_db
def test_the_queue_sorts_by_last_change(member, schlagloch):
    first, second, third = report(schlagloch), report(schlagloch), report(schlagloch)
    now = timezone.now()
    for target, hours_ago in ((first, 1), (second, 30), (third, 5)):
        Report.objects.filter(pk=target.pk).update(updated_at=now - timedelta(hours=hours_ago))

    assert sorted_by(member, "last_change", descending=True) == [first.pk, third.pk, second.pk]
    assert sorted_by(member, "last_change") == [second.pk, third.pk, first.pk]


# --- Mein Eingang


@pytest.mark.django_db
def test_my_inbox_is_the_open_reports_of_my_departments_newest_first(tiefbau, gruen, schlagloch, baum):
    lead = browser(triage_staff(tiefbau, gruen))
    older = aged(report(schlagloch), days=2)
    newer = aged(report(baum), days=1)
    newest = aged(report(schlagloch, status=ReportStatus.IN_PROGRESS), hours=1)
    report(schlagloch, status=ReportStatus.DONE)
    report(baum, status=ReportStatus.REJECTED)

    assert listed(lead, {"inbox": "mine"}) == [newest.pk, newer.pk, older.pk]


@pytest.mark.django_db
def test_my_inbox_of_administration_without_departments_is_every_open_report(
    administration, schlagloch, graffiti
):
    open_ones = [report(schlagloch).pk, report(graffiti).pk]
    report(graffiti, status=ReportStatus.DONE)

    assert sorted(listed(administration, {"inbox": "mine"})) == sorted(open_ones)


@pytest.mark.django_db
def test_my_inbox_of_administration_in_a_department_is_that_departments(tiefbau, schlagloch, graffiti):
    admin_in_tiefbau = StaffFactory(roles=["Administration"])
    tiefbau.members.add(admin_in_tiefbau)
    own = report(schlagloch)
    report(graffiti)

    assert listed(browser(admin_in_tiefbau), {"inbox": "mine"}) == [own.pk]


@pytest.mark.django_db
def test_my_inbox_is_a_prominent_link_of_the_queue(member, schlagloch):
    content = member.get(REPORTS).content.decode()

    assert '<a href="?inbox=mine" class="report-inbox-link">Mein Eingang</a>' in content
    assert f'href="{REPORTS}map/" class="report-map-link"' in content


# --- Speed


def _queue_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(REPORTS)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_a_page_of_100_reports_costs_as_many_queries_as_a_page_of_one(tiefbau, schlagloch):
    member = browser(triage_staff(tiefbau))
    assignee = triage_staff(tiefbau)

    def filed() -> Report:
        target = report(schlagloch, assigned_to=assignee, status=ReportStatus.IN_REVIEW)
        photo(target)
        supporter_of(target)
        return target

    filed()
    one = _queue_queries(member)
    for _ in range(99):
        filed()
    hundred = _queue_queries(member)

    assert Report.objects.count() == 100
    assert hundred == one
    assert hundred <= 16, hundred  # session, user, scoping, counts, the page, the filters' choices
