"""The staff triage API of the Mängelmelder: ``/api/v1/staff/reports/``.

Actors: ``member`` is Triage staff in the Tiefbau department; Ordnung is another department whose reports
the member must not see; Administration sees all; Kommunikation staff, app installations and anonymous
callers are outsiders. Pushes go through the console backend, after commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from push.fanout.messages import outgoing_message
from push.models import Delivery
from reports.models import Category, Department, Report, ReportEvent, ReportStatus, ReportSupport
from reports.services import ALLOWED_TRANSITIONS
from tests.conftest import assert_error_shape, device_client_for
from tests.factories import StaffFactory
from tests.reports.staff_factories import (
    category,
    photo,
    report,
    reporter,
    supporter_of,
    triage_staff,
)

URL = "/api/v1/staff/reports/"
ACTIONS = ["transition", "assign", "reply", "notes", "merge", "moderate", "reroute"]
ENDPOINTS = [("get", None), *(("post", action) for action in ACTIONS)]
S = ReportStatus


def url(report_id: int | None = None, action: str | None = None) -> str:
    if report_id is None:
        return URL
    return f"{URL}{report_id}" + (f"/{action}" if action else "")


def call(client: APIClient, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, format="json") if method == "post" else client.get(path)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def laterne(tiefbau: Department) -> Category:
    return category("strassenlaterne", department=tiefbau)


@pytest.fixture
def member(triage_client: APIClient, tiefbau: Department) -> APIClient:
    """Triage staff of Tiefbau."""
    tiefbau.members.add(triage_client.user)  # type: ignore[attr-defined]
    return triage_client


@pytest.fixture
def own(schlagloch: Category) -> Report:
    """A report of the member's department, from a German phone."""
    return report(
        schlagloch,
        installation=reporter(locale="de"),
        contact_email="erika@example.org",
        contact_phone="+49 2305 123456",
        contact_consent=True,
    )


@pytest.fixture
def foreign(graffiti: Category) -> Report:
    """A report of another department."""
    return report(graffiti, description="Graffiti am Rathaus", address="Europaplatz 1")


# --- Who may call


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_anonymous_callers_get_401(anon_client, own, method, action):
    assert_error_shape(call(anon_client, method, url(own.pk, action)), 401, "not_authenticated")


@pytest.mark.django_db
def test_anonymous_callers_get_401_for_the_queue(anon_client):
    assert_error_shape(anon_client.get(URL), 401, "not_authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_a_device_secret_is_no_staff_credential(device_client, device, schlagloch, method, action):
    its_own_report = report(schlagloch, installation=device)

    assert_error_shape(call(device_client, method, url(its_own_report.pk, action)), 401, "not_authenticated")
    assert_error_shape(device_client.get(URL), 401, "not_authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_staff_without_the_triage_role_get_403(comms_client, tiefbau, own, method, action):
    tiefbau.members.add(comms_client.user)  # membership alone is no role
    assert_error_shape(call(comms_client, method, url(own.pk, action)), 403, "permission_denied")
    assert_error_shape(comms_client.get(URL), 403, "permission_denied")


# --- Department scoping


@pytest.mark.django_db
def test_a_member_sees_the_reports_of_their_department_only(member, own, foreign, laterne):
    light = report(laterne)

    assert sorted(ids(member.get(URL))) == sorted([own.pk, light.pk])
    assert member.get(url(own.pk)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_another_departments_report_is_404_and_stays_untouched(member, foreign, method, action):
    body = {"status": "in_pruefung", "message": "x", "note": "x", "assignee": None, "hide": True}

    assert_error_shape(call(member, method, url(foreign.pk, action), body), 404, "not_found")

    foreign.refresh_from_db()
    assert foreign.status == S.RECEIVED
    assert not foreign.hidden
    assert not ReportEvent.objects.filter(report=foreign).exists()


@pytest.mark.django_db
def test_an_unknown_report_is_404(member):
    assert_error_shape(member.get(url(999_999)), 404, "not_found")


@pytest.mark.django_db
def test_triage_staff_of_no_department_see_nothing(triage_client, own, foreign):
    assert ids(triage_client.get(URL)) == []
    assert_error_shape(triage_client.get(url(own.pk)), 404, "not_found")


@pytest.mark.django_db
def test_administration_sees_every_department(administration_client, own, foreign):
    assert sorted(ids(administration_client.get(URL))) == sorted([own.pk, foreign.pk])
    assert administration_client.get(url(foreign.pk)).status_code == 200


@pytest.mark.django_db
def test_a_member_of_two_departments_sees_both(member, ordnung, own, foreign):
    ordnung.members.add(member.user)
    assert sorted(ids(member.get(URL))) == sorted([own.pk, foreign.pk])


# --- The queue


@pytest.mark.django_db
def test_the_queue_filters_by_status_category_department_and_stadtteil(
    administration_client, own, foreign, laterne
):
    in_review = report(laterne, status=S.IN_REVIEW, stadtteil="Ickern")
    done = report(laterne, status=S.DONE, stadtteil="Ickern")
    client = administration_client

    assert sorted(ids(client.get(URL, {"status": "eingegangen,in_pruefung"}))) == sorted(
        [own.pk, foreign.pk, in_review.pk]
    )
    assert ids(client.get(URL, {"status": "erledigt"})) == [done.pk]
    assert sorted(ids(client.get(URL, {"category": "strassenlaterne"}))) == sorted([in_review.pk, done.pk])
    assert ids(client.get(URL, {"department": "ordnung"})) == [foreign.pk]
    assert sorted(ids(client.get(URL, {"stadtteil": "Ickern"}))) == sorted([in_review.pk, done.pk])
    assert ids(client.get(URL, {"stadtteil": "Ickern", "status": "erledigt"})) == [done.pk]


@pytest.mark.django_db
def test_the_queue_filters_by_age(member, schlagloch):
    now = timezone.now()
    old, recent = report(schlagloch), report(schlagloch)
    Report.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=20))
    Report.objects.filter(pk=recent.pk).update(created_at=now - timedelta(days=2))

    assert ids(member.get(URL, {"older_than_days": 14})) == [old.pk]
    assert ids(member.get(URL, {"newer_than_days": 7})) == [recent.pk]
    assert ids(member.get(URL, {"older_than_days": 1, "newer_than_days": 30})) == [recent.pk, old.pk]


@pytest.mark.django_db
def test_the_queue_filters_by_assignee(member, schlagloch):
    me = member.user
    colleague = triage_staff(Department.objects.get(key="tiefbau"))
    mine = report(schlagloch, assigned_to=me)
    theirs = report(schlagloch, assigned_to=colleague)
    nobodys = report(schlagloch)

    assert ids(member.get(URL, {"assigned": "me"})) == [mine.pk]
    assert ids(member.get(URL, {"assigned": "none"})) == [nobodys.pk]
    assert ids(member.get(URL, {"assigned": colleague.pk})) == [theirs.pk]


@pytest.mark.django_db
def test_the_queue_filters_by_photo_and_hidden(member, schlagloch):
    with_photo = report(schlagloch)
    photo(with_photo)
    only_removed_photo = report(schlagloch)
    photo(only_removed_photo, removed=True)
    hidden = report(schlagloch, hidden=True)

    assert ids(member.get(URL, {"has_photo": "true"})) == [with_photo.pk]
    assert sorted(ids(member.get(URL, {"has_photo": "false"}))) == sorted([only_removed_photo.pk, hidden.pk])
    assert ids(member.get(URL, {"hidden": "true"})) == [hidden.pk]
    assert hidden.pk not in ids(member.get(URL, {"hidden": "false"}))
    rows = {row["id"]: row for row in member.get(URL).json()["results"]}
    assert rows[with_photo.pk]["has_photo"] is True
    assert rows[only_removed_photo.pk]["has_photo"] is False


@pytest.mark.django_db
def test_the_queue_is_searched_by_description_address_and_number(member, schlagloch):
    pothole = report(schlagloch, description="Tiefes Schlagloch", address="Bahnhofstraße 3")
    drain = report(schlagloch, description="Gully verstopft", address="Lange Straße 9")

    assert ids(member.get(URL, {"q": "schlagLOCH"})) == [pothole.pk]
    assert ids(member.get(URL, {"q": "lange"})) == [drain.pk]
    assert ids(member.get(URL, {"q": f"#{drain.pk}"})) == [drain.pk]
    assert ids(member.get(URL, {"q": str(pothole.pk)})) == [pothole.pk]
    assert ids(member.get(URL, {"q": "gully lange"})) == [drain.pk]
    assert ids(member.get(URL, {"q": "9" * 40})) == []


@pytest.mark.django_db
def test_the_queue_sorts_and_pages_by_cursor(member, schlagloch):
    now = timezone.now()
    reports = [report(schlagloch) for _ in range(5)]
    for age, each in enumerate(reports):
        Report.objects.filter(pk=each.pk).update(
            created_at=now - timedelta(days=age), support_count=[3, 0, 7, 1, 5][age]
        )
    newest_first = [each.pk for each in reports]

    assert ids(member.get(URL)) == newest_first
    assert ids(member.get(URL, {"sort": "created_at"})) == newest_first[::-1]
    by_support = [reports[i].pk for i in (1, 3, 0, 4, 2)]
    assert ids(member.get(URL, {"sort": "support_count"})) == by_support
    assert ids(member.get(URL, {"sort": "-support_count"})) == by_support[::-1]
    Report.objects.filter(pk=reports[3].pk).update(updated_at=now + timedelta(minutes=1))
    assert ids(member.get(URL, {"sort": "updated_at"}))[-1] == reports[3].pk

    seen: list[int] = []
    response = member.get(URL, {"sort": "support_count", "page_size": 2})
    while True:
        seen += ids(response)
        if not response.json()["next"]:
            break
        response = member.get(response.json()["next"])
    assert seen == by_support


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "eingegangen,kaputt"}, "status"),
        ({"assigned": "someone"}, "assigned"),
        ({"sort": "description"}, "sort"),
        ({"older_than_days": "-1"}, "older_than_days"),
        ({"has_photo": "maybe"}, "has_photo"),
        ({"stadtteil": "Dortmund"}, "stadtteil"),
    ],
)
def test_invalid_queue_filters_are_400(member, query, field):
    body = assert_error_shape(member.get(URL, query), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == [field]


@pytest.mark.django_db
def test_a_queue_row_has_what_triage_needs(member, own):
    row = member.get(URL).json()["results"][0]

    assert row["category"] == {"key": "schlagloch", "name_de": "Schlagloch", "name_en": ""}
    assert row["department"] == {"key": "tiefbau", "name": "Fachbereich tiefbau"}
    assert row["status"] == "eingegangen"
    assert row["latitude"] == 51.55
    assert row["assigned_to"] is None
    assert "contact_email" not in row  # private data only on the detail


# --- The detail


@pytest.mark.django_db
def test_the_detail_has_everything_but_the_installation_id(member, own):
    staff = member.user
    photo(own, position=0)
    removed = photo(own, position=1, removed=True)
    ReportEvent.objects.create(
        report=own, kind=ReportEvent.Kind.CREATED, to_status=S.RECEIVED, is_public=True
    )
    member.post(url(own.pk, "notes"), {"note": "Bauhof informiert"}, format="json")

    response = member.get(url(own.pk))

    assert response.status_code == 200
    detail = response.json()
    assert detail["contact_email"] == "erika@example.org"
    assert detail["contact_phone"] == "+49 2305 123456"
    assert detail["contact_consent"] is True
    assert detail["has_installation"] is True
    assert str(own.installation_id) not in response.content.decode()
    assert "installation" not in detail
    assert detail["allowed_transitions"] == list(ALLOWED_TRANSITIONS[S.RECEIVED])
    assert [(p["position"], p["removed"]) for p in detail["photos"]] == [(0, False), (1, True)]
    assert detail["photos"][1]["id"] == removed.pk
    assert detail["photos"][0]["thumbnail"].startswith("http://testserver/")
    assert [e["kind"] for e in detail["events"]] == ["created", "note"]
    note = detail["events"][1]
    assert note["internal_note"] == "Bauhof informiert"
    assert note["is_public"] is False
    assert note["actor"] == {"id": staff.pk, "username": staff.username, "full_name": staff.get_full_name()}
    assert detail["events"][0]["actor"] is None


# --- Transitions


@pytest.mark.django_db
def test_a_transition_is_recorded_with_its_actor_and_messages(member, own):
    response = member.post(
        url(own.pk, "transition"),
        {
            "status": "in_pruefung",
            "public_message": "Wir schauen es uns an.",
            "internal_note": "Bauhof fragen",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_pruefung"
    own.refresh_from_db()
    assert own.status == S.IN_REVIEW
    assert own.first_response_at is not None
    assert own.closed_at is None
    event = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.STATUS)
    assert event.actor == member.user
    assert (event.from_status, event.to_status) == (S.RECEIVED, S.IN_REVIEW)
    assert event.public_message == "Wir schauen es uns an."
    assert event.internal_note == "Bauhof fragen"
    assert event.is_public is True


@pytest.mark.django_db
def test_a_transition_pushes_the_reporter_in_german(member, own, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(
            url(own.pk, "transition"),
            {"status": "in_bearbeitung", "public_message": "Der Bauhof ist unterwegs."},
            format="json",
        )

    assert response.status_code == 200
    delivery = Delivery.objects.select_related("notification", "installation").get(
        installation=own.installation
    )
    assert delivery.notification.kind == "personal"
    assert delivery.notification.category == "report_update"
    assert delivery.notification.data["report_id"] == str(own.pk)
    message = outgoing_message(delivery.notification, delivery, now=timezone.now())
    assert message.title == f"Ihre Meldung #{own.pk}"
    assert message.body == "Neuer Stand: in Bearbeitung. Der Bauhof ist unterwegs."


@pytest.mark.django_db
def test_an_english_phone_is_pushed_in_english(member, schlagloch, django_capture_on_commit_callbacks):
    english = report(schlagloch, installation=reporter(locale="en"))
    with django_capture_on_commit_callbacks(execute=True):
        member.post(url(english.pk, "transition"), {"status": "erledigt"}, format="json")

    delivery = Delivery.objects.select_related("notification", "installation").get()
    message = outgoing_message(delivery.notification, delivery, now=timezone.now())
    assert message.title == f"Your report #{english.pk}"
    assert message.body == "New status: done."


@pytest.mark.django_db
def test_a_report_without_a_phone_is_changed_without_a_push(
    member, schlagloch, django_capture_on_commit_callbacks
):
    anonymous = report(schlagloch)
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(url(anonymous.pk, "transition"), {"status": "erledigt"}, format="json")

    assert response.status_code == 200
    assert not Delivery.objects.exists()


FORBIDDEN = [
    (before, after)
    for before in S.values
    for after in S.values
    if after not in ALLOWED_TRANSITIONS.get(before, ())
]


@pytest.mark.django_db
@pytest.mark.parametrize(("before", "after"), FORBIDDEN)
def test_each_forbidden_transition_is_409(
    member, schlagloch, before, after, django_capture_on_commit_callbacks
):
    target = report(schlagloch, status=before, installation=reporter())
    original = report(schlagloch)
    body = {
        "status": after,
        "public_message": "Begründung",
        "forwarded_to": "Straßen.NRW",
        "duplicate_of": original.pk,
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(url(target.pk, "transition"), body, format="json")

    error = assert_error_shape(response, 409, "invalid_transition")
    assert error["errors"][0]["field"] == "status"
    target.refresh_from_db()
    assert target.status == before
    assert target.duplicate_of is None
    assert target.forwarded_to == ""
    assert not ReportEvent.objects.filter(report__in=[target, original]).exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_an_unknown_status_is_400(member, own):
    body = assert_error_shape(
        member.post(url(own.pk, "transition"), {"status": "kaputt"}, format="json"), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == "status"


@pytest.mark.django_db
def test_rejecting_needs_a_reason(member, own):
    response = member.post(
        url(own.pk, "transition"), {"status": "abgelehnt", "public_message": " "}, format="json"
    )

    body = assert_error_shape(response, 400, "reason_required")
    assert body["errors"][0]["field"] == "public_message"
    own.refresh_from_db()
    assert own.status == S.RECEIVED

    response = member.post(
        url(own.pk, "transition"),
        {"status": "abgelehnt", "public_message": "Privatgrundstück, bitte an den Eigentümer wenden."},
        format="json",
    )
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.status == S.REJECTED
    assert own.closed_at is not None


@pytest.mark.django_db
def test_not_responsible_needs_the_responsible_authority(member, own):
    response = member.post(url(own.pk, "transition"), {"status": "nicht_zustaendig"}, format="json")

    body = assert_error_shape(response, 400, "authority_required")
    assert body["errors"][0]["field"] == "forwarded_to"

    response = member.post(
        url(own.pk, "transition"),
        {"status": "nicht_zustaendig", "forwarded_to": "Straßen.NRW", "public_message": "Landesstraße."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["forwarded_to"] == "Straßen.NRW"
    own.refresh_from_db()
    assert (own.status, own.forwarded_to) == (S.NOT_RESPONSIBLE, "Straßen.NRW")


@pytest.mark.django_db
def test_the_reporter_and_the_public_learn_the_responsible_authority(
    member, own, anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        member.post(
            url(own.pk, "transition"),
            {"status": "nicht_zustaendig", "forwarded_to": "Straßen.NRW", "public_message": "Landesstraße."},
            format="json",
        )

    delivery = Delivery.objects.select_related("notification").get(installation=own.installation)
    message = outgoing_message(delivery.notification, delivery, now=timezone.now())
    assert message.body == "Neuer Stand: nicht zuständig. Zuständig ist: Straßen.NRW. Landesstraße."
    assert anon_client.get(f"/api/v1/reports/{own.pk}").json()["forwarded_to"] == "Straßen.NRW"
    mine = device_client_for(own.installation).get(f"/api/v1/reports/mine/{own.pk}").json()
    assert mine["forwarded_to"] == "Straßen.NRW"

    # Back in review: the authority is no longer the answer (staff still see it).
    member.post(url(own.pk, "transition"), {"status": "in_pruefung"}, format="json")
    assert anon_client.get(f"/api/v1/reports/{own.pk}").json()["forwarded_to"] == ""
    assert member.get(url(own.pk)).json()["forwarded_to"] == "Straßen.NRW"


@pytest.mark.django_db
def test_a_duplicate_needs_its_original(member, own):
    response = member.post(url(own.pk, "transition"), {"status": "duplikat"}, format="json")

    body = assert_error_shape(response, 400, "duplicate_of_required")
    assert body["errors"][0]["field"] == "duplicate_of"
    own.refresh_from_db()
    assert own.status == S.RECEIVED


@pytest.mark.django_db
def test_a_duplicate_is_merged_into_its_original_with_reporter_and_supporters(member, own, schlagloch):
    original = report(schlagloch, installation=reporter())
    supporter = supporter_of(own)
    also_on_original = supporter_of(original)

    response = member.post(
        url(own.pk, "transition"),
        {
            "status": "duplikat",
            "duplicate_of": original.pk,
            "public_message": "Schon gemeldet.",
            "internal_note": "siehe Original",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["duplicate_of"] == original.pk
    own.refresh_from_db()
    original.refresh_from_db()
    assert own.status == S.DUPLICATE
    assert own.duplicate_of == original
    supporters = set(ReportSupport.objects.filter(report=original).values_list("installation_id", flat=True))
    assert supporters == {own.installation_id, supporter.pk, also_on_original.pk}
    assert original.support_count == 3
    merged = ReportEvent.objects.get(report=original, kind=ReportEvent.Kind.MERGED)
    assert merged.actor == member.user
    assert merged.is_public is False
    status = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.STATUS)
    assert (status.actor, status.to_status, status.internal_note) == (
        member.user,
        S.DUPLICATE,
        "siehe Original",
    )
    assert member.get(url(original.pk)).json()["duplicates"] == [own.pk]


@pytest.mark.django_db
def test_the_reporter_and_supporters_of_a_duplicate_are_told_and_then_follow_the_original(
    member, own, schlagloch, django_capture_on_commit_callbacks
):
    original = report(schlagloch, installation=reporter())
    supporter = supporter_of(own)

    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(
            url(own.pk, "transition"),
            {"status": "duplikat", "duplicate_of": original.pk, "public_message": "Schon gemeldet."},
            format="json",
        )
    assert response.status_code == 200, response.json()
    told = Delivery.objects.select_related("notification")
    assert {d.installation_id for d in told} == {own.installation_id, supporter.pk}
    assert all(d.notification.data["report_id"] == str(own.pk) for d in told)
    message = outgoing_message(told[0].notification, told[0], now=timezone.now())
    assert message.body == "Neuer Stand: Duplikat. Schon gemeldet."

    Delivery.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        member.post(url(original.pk, "transition"), {"status": "erledigt"}, format="json")
    followers = Delivery.objects.filter(notification__data__report_id=str(original.pk))
    assert {d.installation_id for d in followers} == {
        original.installation_id,
        own.installation_id,
        supporter.pk,
    }


@pytest.mark.django_db
def test_a_duplicate_of_another_departments_report_is_400(member, own, foreign):
    response = member.post(
        url(own.pk, "transition"), {"status": "duplikat", "duplicate_of": foreign.pk}, format="json"
    )

    body = assert_error_shape(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "duplicate_of"
    assert body["errors"][0]["code"] == "does_not_exist"


# --- Assignment


@pytest.mark.django_db
def test_a_report_is_assigned_and_unassigned(member, own):
    colleague = triage_staff(Department.objects.get(key="tiefbau"), first_name="Kim", last_name="Kollegin")

    response = member.post(url(own.pk, "assign"), {"assignee": colleague.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["assigned_to"]["id"] == colleague.pk
    own.refresh_from_db()
    assert own.assigned_to == colleague
    event = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.ASSIGNED)
    assert (event.actor, event.is_public, event.internal_note) == (member.user, False, colleague.username)

    response = member.post(url(own.pk, "assign"), {"assignee": None}, format="json")
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.assigned_to is None


@pytest.mark.django_db
def test_administration_can_be_assigned(member, own):
    boss = StaffFactory(roles=["Administration"])
    assert member.post(url(own.pk, "assign"), {"assignee": boss.pk}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who",
    ["other_department", "not_staff", "inactive", "member_without_triage_role"],
)
def test_the_assignee_must_be_staff_who_may_work_on_the_report(member, own, ordnung, tiefbau, who):
    assignee = {
        "other_department": lambda: triage_staff(ordnung),
        "not_staff": lambda: triage_staff(tiefbau, is_staff=False),
        "inactive": lambda: triage_staff(tiefbau, is_active=False),
        "member_without_triage_role": lambda: _member_with_roles(tiefbau, "Kommunikation"),
    }[who]()

    response = member.post(url(own.pk, "assign"), {"assignee": assignee.pk}, format="json")

    body = assert_error_shape(response, 400, "invalid_assignee")
    assert body["errors"][0]["field"] == "assignee"
    own.refresh_from_db()
    assert own.assigned_to is None
    assert not ReportEvent.objects.filter(report=own).exists()


def _member_with_roles(of: Department, *roles: str) -> Any:
    user = StaffFactory(roles=list(roles))
    of.members.add(user)
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "code"), [({}, "required"), ({"assignee": 999_999}, "does_not_exist")])
def test_an_unknown_or_missing_assignee_is_400(member, own, body, code):
    error = assert_error_shape(
        member.post(url(own.pk, "assign"), body, format="json"), 400, "validation_error"
    )
    assert (error["errors"][0]["field"], error["errors"][0]["code"]) == ("assignee", code)


# --- Replies and notes


@pytest.mark.django_db
def test_a_reply_is_public_and_pushed(member, own, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(url(own.pk, "reply"), {"message": "Danke, wir kümmern uns."}, format="json")

    assert response.status_code == 200
    event = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.REPLY)
    assert (event.actor, event.is_public, event.public_message) == (
        member.user,
        True,
        "Danke, wir kümmern uns.",
    )
    own.refresh_from_db()
    assert own.status == S.RECEIVED
    assert own.first_response_at is not None
    delivery = Delivery.objects.select_related("notification", "installation").get(
        installation=own.installation
    )
    assert delivery.notification.category == "report_update"
    message = outgoing_message(delivery.notification, delivery, now=timezone.now())
    assert message.body == "Neuer Stand: eingegangen. Danke, wir kümmern uns."


@pytest.mark.django_db
def test_a_note_is_internal_and_not_pushed(member, own, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(url(own.pk, "notes"), {"note": "Rückruf vereinbart"}, format="json")

    assert response.status_code == 200
    event = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.NOTE)
    assert (event.actor, event.is_public, event.internal_note) == (member.user, False, "Rückruf vereinbart")
    assert event.public_message == ""
    assert not Delivery.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "field"), [("reply", "message"), ("notes", "note")])
@pytest.mark.parametrize("text", [None, "", "x" * 4001])
def test_an_empty_or_overlong_reply_or_note_is_400(member, own, action, field, text):
    body = {} if text is None else {field: text}

    error = assert_error_shape(member.post(url(own.pk, action), body, format="json"), 400, "validation_error")

    assert error["errors"][0]["field"] == field
    assert not ReportEvent.objects.filter(report=own).exists()


# --- Merge


@pytest.mark.django_db
def test_merge_moves_reporter_and_supporters_to_the_original(member, own, schlagloch):
    original = report(schlagloch)
    supporter = supporter_of(own)

    response = member.post(url(own.pk, "merge"), {"into": original.pk}, format="json")

    assert response.status_code == 200, response.json()
    own.refresh_from_db()
    assert (own.status, own.duplicate_of) == (S.DUPLICATE, original)
    supporters = set(ReportSupport.objects.filter(report=original).values_list("installation_id", flat=True))
    assert supporters == {own.installation_id, supporter.pk}
    original.refresh_from_db()
    assert original.support_count == 2
    assert ReportEvent.objects.get(report=original, kind=ReportEvent.Kind.MERGED).actor == member.user


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.DONE, S.WITHDRAWN, S.DUPLICATE])
def test_a_report_that_cannot_become_a_duplicate_is_not_merged(member, schlagloch, status):
    target = report(schlagloch, status=status)
    original = report(schlagloch)

    response = member.post(url(target.pk, "merge"), {"into": original.pk}, format="json")

    assert_error_shape(response, 409, "invalid_transition")
    target.refresh_from_db()
    assert (target.status, target.duplicate_of) == (status, None)


@pytest.mark.django_db
def test_merge_needs_an_original(member, own, schlagloch):
    duplicate = report(schlagloch, status=S.DUPLICATE)
    Report.objects.filter(pk=duplicate.pk).update(duplicate_of=report(schlagloch))

    assert_error_shape(
        member.post(url(own.pk, "merge"), {"into": own.pk}, format="json"), 409, "invalid_merge"
    )
    assert_error_shape(
        member.post(url(own.pk, "merge"), {"into": duplicate.pk}, format="json"), 409, "invalid_merge"
    )
    error = assert_error_shape(member.post(url(own.pk, "merge"), {}, format="json"), 400, "validation_error")
    assert error["errors"][0]["field"] == "into"
    own.refresh_from_db()
    assert own.status == S.RECEIVED


@pytest.mark.django_db
def test_administration_cannot_merge_across_departments(administration_client, own, foreign):
    response = administration_client.post(url(own.pk, "merge"), {"into": foreign.pk}, format="json")

    assert_error_shape(response, 409, "invalid_merge")


# --- Moderation


@pytest.mark.django_db
def test_moderation_hides_redacts_and_removes_photos(member, own):
    first, second = photo(own, position=0), photo(own, position=1)

    response = member.post(
        url(own.pk, "moderate"),
        {"hide": True, "description": "[entfernt]", "remove_photo_ids": [second.pk]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    own.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert own.hidden is True
    assert own.description == "[entfernt]"
    assert (first.removed, second.removed) == (False, True)
    event = ReportEvent.objects.get(report=own, kind=ReportEvent.Kind.MODERATED)
    assert (event.actor, event.is_public) == (member.user, False)
    assert response.json()["has_photo"] is True

    response = member.post(url(own.pk, "moderate"), {"hide": False}, format="json")
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.hidden is False


@pytest.mark.django_db
def test_moderation_leaves_photos_of_other_reports_alone(member, own, foreign):
    elsewhere = photo(foreign)

    response = member.post(url(own.pk, "moderate"), {"remove_photo_ids": [elsewhere.pk]}, format="json")

    assert response.status_code == 200
    elsewhere.refresh_from_db()
    assert elsewhere.removed is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"hide": "vielleicht"}, "hide"),
        ({"remove_photo_ids": ["a"]}, "remove_photo_ids.0"),
        ({"remove_photo_ids": list(range(1, 30))}, "remove_photo_ids"),
    ],
)
def test_invalid_moderation_is_400(member, own, body, field):
    error = assert_error_shape(
        member.post(url(own.pk, "moderate"), body, format="json"), 400, "validation_error"
    )

    assert error["errors"][0]["field"] == field
    own.refresh_from_db()
    assert own.hidden is False


def pushed(fcm: Any, installation: Any) -> tuple[str, str]:
    [message] = fcm.messages(installation.push_token)
    notification = message["message"]["notification"]
    return notification["title"], notification["body"]


@pytest.mark.django_db
def test_a_turkish_phone_is_pushed_in_turkish_and_an_unknown_language_in_german(
    member, schlagloch, firebase_backend, django_capture_on_commit_callbacks
):
    turkish = report(schlagloch, installation=reporter(locale="tr"))
    french = report(schlagloch, installation=reporter(locale="fr"))
    for filed in (turkish, french):
        with django_capture_on_commit_callbacks(execute=True):
            response = member.post(
                url(filed.pk, "transition"),
                {"status": "in_bearbeitung", "public_message": "Der Bauhof ist unterwegs."},
                format="json",
            )
        assert response.status_code == 200, response.json()

    # Staff write their message in German; the frame around it is in the phone's language.
    assert pushed(firebase_backend, turkish.installation) == (
        f"Bildiriminiz #{turkish.pk}",
        "Yeni durum: işlem görüyor. Der Bauhof ist unterwegs.",
    )
    assert pushed(firebase_backend, french.installation) == (
        f"Ihre Meldung #{french.pk}",
        "Neuer Stand: in Bearbeitung. Der Bauhof ist unterwegs.",
    )


@pytest.mark.django_db
def test_a_turkish_phone_learns_who_is_responsible_in_turkish(
    member, schlagloch, firebase_backend, django_capture_on_commit_callbacks
):
    turkish = report(schlagloch, installation=reporter(locale="tr"))
    with django_capture_on_commit_callbacks(execute=True):
        member.post(
            url(turkish.pk, "transition"),
            {"status": "nicht_zustaendig", "forwarded_to": "Straßen.NRW", "public_message": "Landesstraße."},
            format="json",
        )

    assert pushed(firebase_backend, turkish.installation)[1] == (
        "Yeni durum: yetki alanımız dışında. Sorumlu kurum: Straßen.NRW. Landesstraße."
    )
