"""The triage workspace in the Django admin: the queue, a report's page and its workflow area, the bulk
actions, and the catalogue. Actors: a Triage member of Tiefbau (``member``), a colleague of the same
department, Administration; Ordnung is another department.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import ERROR, SUCCESS
from django.test import Client

from push.models import Delivery
from reports.models import Category, Department, Report, ReportEvent, ReportStatus
from tests.factories import StaffFactory
from tests.reports.staff_factories import photo, report, reporter, triage_staff

REPORTS = "/admin/reports/report/"
S = ReportStatus


def change_url(target: Report) -> str:
    return f"{REPORTS}{target.pk}/change/"


def browser(user: Any, *, language: str = "en") -> Client:
    """A staff member's browser session; English unless a test is about the German workspace."""
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def listed(client: Client, query: dict[str, Any] | None = None) -> list[int]:
    response = client.get(REPORTS, query or {})
    assert response.status_code == 200, response.content[:500]
    return sorted(report.pk for report in response.context["cl"].result_list)


def workflow(**fields: Any) -> dict[str, Any]:
    """The workflow area of a report's page as the browser posts it, left as it was rendered."""
    return {
        "new_status": "",
        "authority": "",
        "original": "",
        "message": "",
        "note": "",
        "assignee": "",
        "_continue": "Save",
        **fields,
    }


def messages_of(response: Any) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


@pytest.fixture
def member(tiefbau: Department) -> Client:
    return browser(triage_staff(tiefbau, first_name="Tina", last_name="Triage"))


@pytest.fixture
def administration(db: Any) -> Client:
    return browser(StaffFactory(roles=["Administration"]))


@pytest.fixture
def own(schlagloch: Category) -> Report:
    return report(
        schlagloch,
        installation=reporter(locale="de"),
        contact_email="erika@example.org",
        contact_consent=True,
    )


@pytest.fixture
def foreign(graffiti: Category) -> Report:
    return report(graffiti, description="Graffiti am Rathaus")


# --- Scoping


@pytest.mark.django_db
def test_a_member_sees_only_the_reports_of_their_department(member, own, foreign):
    assert listed(member) == [own.pk]


@pytest.mark.django_db
def test_another_departments_report_cannot_be_opened(member, foreign):
    response = member.get(change_url(foreign))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    response = member.post(change_url(foreign), workflow(new_status="in_pruefung"))
    assert response.status_code == 302
    foreign.refresh_from_db()
    assert foreign.status == S.RECEIVED
    assert not ReportEvent.objects.filter(report=foreign).exists()


@pytest.mark.django_db
def test_administration_sees_every_report(administration, own, foreign):
    assert listed(administration) == sorted([own.pk, foreign.pk])
    assert administration.get(change_url(foreign)).status_code == 200


@pytest.mark.django_db
def test_bulk_actions_cannot_reach_another_departments_report(member, own, foreign):
    member.post(REPORTS, {"action": "hide", "_selected_action": [own.pk, foreign.pk]})

    own.refresh_from_db()
    foreign.refresh_from_db()
    assert (own.hidden, foreign.hidden) == (True, False)


# --- The queue


@pytest.mark.django_db
def test_the_queue_filters(member, own, schlagloch, tiefbau):
    me = member.user
    mine = report(schlagloch, assigned_to=me, stadtteil="Ickern")
    with_photo = report(schlagloch, hidden=True)
    photo(with_photo)

    assert listed(member, {"assigned": "me"}) == [mine.pk]
    assert listed(member, {"assigned": "none"}) == sorted([own.pk, with_photo.pk])
    assert listed(member, {"has_photo": "yes"}) == [with_photo.pk]
    assert listed(member, {"has_photo": "no"}) == sorted([own.pk, mine.pk])
    assert listed(member, {"hidden__exact": "1"}) == [with_photo.pk]
    assert listed(member, {"stadtteil": "Ickern"}) == [mine.pk]
    assert listed(member, {"category__department__id__exact": tiefbau.pk}) == sorted(
        [own.pk, mine.pk, with_photo.pk]
    )
    assert listed(member, {"status__exact": "eingegangen", "category__id__exact": schlagloch.pk}) == sorted(
        [own.pk, mine.pk, with_photo.pk]
    )


@pytest.mark.django_db
def test_the_queue_is_searched_by_number_and_words(member, own, schlagloch):
    drain = report(schlagloch, description="Gully verstopft", address="Lange Straße 9")

    assert listed(member, {"q": f"#{drain.pk}"}) == [drain.pk]
    assert listed(member, {"q": str(own.pk)}) == [own.pk]
    assert listed(member, {"q": "gully lange"}) == [drain.pk]


@pytest.mark.django_db
def test_the_queue_shows_the_triage_columns(member, own):
    photo(own)
    response = member.get(REPORTS)

    content = response.content.decode()
    assert "column-support_count" in content
    assert "column-assignee" in content
    assert "column-thumbnail" in content  # the columns in detail: test_triage_list.py


@pytest.mark.django_db
def test_the_workspace_is_german_by_default(tiefbau, own):
    german = browser(triage_staff(tiefbau), language="de")

    assert "Sichern" in german.get(change_url(own)).content.decode()


# --- A report's page


@pytest.mark.django_db
def test_the_report_page_shows_map_photos_contact_and_history(member, own):
    thumbnail = photo(own, position=0)
    photo(own, position=1, removed=True)
    ReportEvent.objects.create(report=own, kind="note", actor=member.user, internal_note="Bauhof informiert")

    response = member.get(change_url(own))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="report-map"' in content
    assert 'data-latitude="51.55"' in content
    assert 'data-longitude="7.31"' in content
    assert "/static/vendor/leaflet/leaflet-1.9.4/leaflet.js" in content  # ours, no CDN
    assert "reports/admin/report_map.js" in content
    assert thumbnail.thumbnail.url in content
    assert "report-photo-removed" in content
    assert "erika@example.org" in content
    assert "Bauhof informiert" in content
    assert 'name="new_status"' in content
    assert 'name="status"' not in content  # workflow fields are read-only
    assert 'name="contact_email"' not in content


@pytest.mark.django_db
def test_staff_who_may_only_view_get_the_page_without_the_workflow_area(tiefbau, own):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_report"))
    tiefbau.members.add(viewer)

    response = browser(viewer).get(change_url(own))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="report-map"' in content
    assert 'name="new_status"' not in content


@pytest.mark.django_db
def test_the_status_is_changed_through_the_workflow_and_the_reporter_is_told(
    member, own, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(
            change_url(own),
            workflow(new_status="in_bearbeitung", message="Der Bauhof ist unterwegs.", note="Kolonne 3"),
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    own.refresh_from_db()
    assert own.status == S.IN_PROGRESS
    event = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.STATUS)
    assert event.actor == member.user
    assert (event.public_message, event.internal_note, event.is_public) == (
        "Der Bauhof ist unterwegs.",
        "Kolonne 3",
        True,
    )
    assert not ReportEvent.objects.filter(report=own, kind__in=["reply", "note"]).exists()
    delivery = Delivery.objects.select_related("notification").get(installation=own.installation)
    assert delivery.notification.category == "report_update"


@pytest.mark.django_db
def test_the_form_offers_only_the_allowed_transitions(member, own):
    form = member.get(change_url(own)).context["adminform"].form

    offered = [value for value, _label in form.fields["new_status"].choices]
    assert offered == [
        "",
        "in_pruefung",
        "in_bearbeitung",
        "erledigt",
        "abgelehnt",
        "duplikat",
        "nicht_zustaendig",
    ]


@pytest.mark.django_db
def test_a_refused_change_is_shown_on_its_field_and_nothing_is_saved(member, own):
    response = member.post(change_url(own), workflow(new_status="abgelehnt", hide="on", note="Spam?"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "message" in form.errors
    own.refresh_from_db()
    assert own.status == S.RECEIVED
    assert own.hidden is False  # the moderation of the same submission was rolled back
    assert not ReportEvent.objects.filter(report=own).exists()


@pytest.mark.django_db
def test_a_transition_that_is_no_longer_allowed_is_a_form_error(member, own):
    Report.objects.filter(pk=own.pk).update(status=S.DONE)  # changed by a colleague meanwhile

    response = member.post(change_url(own), workflow(new_status="abgelehnt", message="Nein"))

    assert response.status_code == 200
    assert "new_status" in response.context["adminform"].form.errors


@pytest.mark.django_db
def test_not_responsible_and_duplicate_need_their_details(member, own, schlagloch, foreign):
    response = member.post(change_url(own), workflow(new_status="nicht_zustaendig"))
    assert "authority" in response.context["adminform"].form.errors

    response = member.post(change_url(own), workflow(new_status="duplikat"))
    assert "original" in response.context["adminform"].form.errors

    response = member.post(change_url(own), workflow(new_status="duplikat", original=foreign.pk))
    assert "original" in response.context["adminform"].form.errors  # not one of my reports

    original = report(schlagloch)
    response = member.post(change_url(own), workflow(new_status="duplikat", original=original.pk))
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.status, own.duplicate_of) == (S.DUPLICATE, original)


@pytest.mark.django_db
def test_a_message_without_a_status_change_is_a_reply_and_a_note_stays_internal(
    member, own, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(change_url(own), workflow(message="Danke für die Meldung!", note="Rückruf"))

    assert response.status_code == 302
    reply = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.REPLY)
    note = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.NOTE)
    assert (reply.actor, reply.is_public, reply.public_message) == (
        member.user,
        True,
        "Danke für die Meldung!",
    )
    assert (note.actor, note.is_public, note.internal_note) == (member.user, False, "Rückruf")
    own.refresh_from_db()
    assert own.status == S.RECEIVED
    assert Delivery.objects.filter(installation=own.installation).count() == 1


@pytest.mark.django_db
def test_assignment_hiding_and_photo_removal_go_through_the_services(member, own, tiefbau):
    colleague = triage_staff(tiefbau)
    kept, removed = photo(own, position=0), photo(own, position=1)

    response = member.post(
        change_url(own), workflow(assignee=colleague.pk, hide="on", remove_photos=[removed.pk])
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    own.refresh_from_db()
    kept.refresh_from_db()
    removed.refresh_from_db()
    assert own.assigned_to == colleague
    assert own.hidden is True
    assert (kept.removed, removed.removed) == (False, True)
    assert ReportEvent.objects.get(report=own, kind="assigned").actor == member.user
    assert ReportEvent.objects.get(report=own, kind="moderated").actor == member.user


@pytest.mark.django_db
def test_only_staff_of_the_department_can_be_assigned(member, own, ordnung):
    outsider = triage_staff(ordnung)

    response = member.post(change_url(own), workflow(assignee=outsider.pk))

    assert "assignee" in response.context["adminform"].form.errors
    own.refresh_from_db()
    assert own.assigned_to is None


@pytest.mark.django_db
def test_saving_the_page_changes_nothing_by_itself(member, own, ordnung):
    former = triage_staff(ordnung)  # assigned before moving to another department
    Report.objects.filter(pk=own.pk).update(assigned_to=former)

    response = member.post(
        change_url(own),
        workflow(assignee=former.pk, status="erledigt", contact_email="x@example.org", hidden="on"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    own.refresh_from_db()
    assert (own.status, own.assigned_to, own.contact_email, own.hidden) == (
        S.RECEIVED,
        former,
        "erika@example.org",
        False,
    )
    assert not ReportEvent.objects.filter(report=own).exists()


# --- Bulk actions


@pytest.mark.django_db
def test_assign_to_me_hide_and_unhide(member, own, schlagloch):
    second = report(schlagloch)
    selected = [own.pk, second.pk]

    response = member.post(REPORTS, {"action": "assign_to_me", "_selected_action": selected}, follow=True)
    assert messages_of(response) == [(SUCCESS, "2 report(s) assigned to you.")]
    assert set(Report.objects.values_list("assigned_to", flat=True)) == {member.user.pk}

    member.post(REPORTS, {"action": "hide", "_selected_action": selected})
    assert set(Report.objects.values_list("hidden", flat=True)) == {True}
    member.post(REPORTS, {"action": "unhide", "_selected_action": [second.pk]})
    assert Report.objects.get(pk=second.pk).hidden is False
    assert ReportEvent.objects.filter(kind="moderated", actor=member.user).count() == 3


@pytest.mark.django_db
def test_change_status_asks_for_the_message_then_changes_each_report(
    member, own, schlagloch, django_capture_on_commit_callbacks
):
    done = report(schlagloch, status=S.DONE)
    selected = {"action": "change_status", "_selected_action": [own.pk, done.pk]}

    page = member.post(REPORTS, selected)
    assert page.status_code == 200
    assert 'name="public_message"' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(
            REPORTS,
            {**selected, "apply": "1", "status": "abgelehnt", "public_message": "Privatgrund."},
            follow=True,
        )

    assert messages_of(response) == [
        (ERROR, f"#{done.pk}: From done a report cannot go to rejected."),
        (SUCCESS, "Status changed for 1 report(s); the reporters are being told."),
    ]
    own.refresh_from_db()
    assert own.status == S.REJECTED
    assert ReportEvent.objects.get(report=own, kind="status").public_message == "Privatgrund."
    assert Delivery.objects.filter(installation=own.installation).count() == 1
    assert Report.objects.get(pk=done.pk).status == S.DONE


@pytest.mark.django_db
def test_change_status_shows_the_services_refusal_per_report(member, own):
    response = member.post(
        REPORTS,
        {"action": "change_status", "_selected_action": [own.pk], "apply": "1", "status": "abgelehnt"},
        follow=True,
    )

    assert messages_of(response) == [(ERROR, f"#{own.pk}: Give the reporter a reason.")]
    own.refresh_from_db()
    assert own.status == S.RECEIVED


@pytest.mark.django_db
def test_reports_are_not_added_in_the_admin(member, administration):
    assert member.get(f"{REPORTS}add/").status_code == 403
    assert administration.get(f"{REPORTS}add/").status_code == 403


# --- The catalogue


@pytest.mark.django_db
def test_administration_maintains_departments_and_categories_with_questions(administration, schlagloch):
    assert administration.get("/admin/reports/department/").status_code == 200
    department_page = administration.get(f"/admin/reports/department/{schlagloch.department_id}/change/")
    assert department_page.status_code == 200
    category_page = administration.get(f"/admin/reports/category/{schlagloch.pk}/change/")
    assert category_page.status_code == 200
    assert "questions-TOTAL_FORMS" in category_page.content.decode()
    assert administration.get("/admin/reports/category/add/").status_code == 200
    assert administration.get("/admin/reports/district/").status_code == 200


@pytest.mark.django_db
def test_a_category_with_a_question_is_added(administration, tiefbau, schlagloch):
    group = schlagloch.parent
    response = administration.post(
        "/admin/reports/category/add/",
        {
            "parent": group.pk,
            "key": "ampel",
            "department": tiefbau.pk,
            "is_active": "on",
            "position": 0,
            "icon_key": "",
            "name_de": "Ampel gestört",
            "name_en": "",
            "description_de": "",
            "description_en": "",
            "first_response_days": 1,
            "questions-TOTAL_FORMS": 1,
            "questions-INITIAL_FORMS": 0,
            "questions-MIN_NUM_FORMS": 0,
            "questions-MAX_NUM_FORMS": 1000,
            "questions-0-key": "kreuzung",
            "questions-0-kind": "text",
            "questions-0-position": 0,
            "questions-0-label_de": "Welche Kreuzung?",
            "questions-0-label_en": "",
            "questions-0-choices": "[]",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Category.objects.get(key="ampel")
    assert created.department == tiefbau
    assert created.first_response_days == 1
    assert list(created.questions.values_list("key", flat=True)) == ["kreuzung"]


@pytest.mark.django_db
def test_triage_may_look_at_the_catalogue_but_not_change_it(member, schlagloch):
    assert member.get("/admin/reports/category/").status_code == 200
    assert member.get("/admin/reports/category/add/").status_code == 403
    assert member.get("/admin/reports/department/add/").status_code == 403
