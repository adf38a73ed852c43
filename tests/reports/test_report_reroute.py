"""Forwarding a misrouted report to another category: ``POST /api/v1/staff/reports/{id}/reroute`` and the
workflow area of a report's page. Actors: ``tina`` is Triage in Tiefbau, ``olga`` Triage in Ordnung.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from reports.models import Category, Department, Report, ReportEvent, ReportStatus
from tests.conftest import assert_error_shape
from tests.reports.staff_factories import category, report, triage_staff

S = ReportStatus


def reroute_url(target: Report) -> str:
    return f"/api/v1/staff/reports/{target.pk}/reroute"


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def gehweg(tiefbau: Department) -> Category:
    return category("gehweg", department=tiefbau)


@pytest.fixture
def tina(tiefbau: Department) -> Any:
    return triage_staff(tiefbau, username="tina")


@pytest.fixture
def olga(ordnung: Department) -> Any:
    return triage_staff(ordnung, username="olga")


@pytest.fixture
def misrouted(schlagloch: Category, tina: Any) -> Report:
    return report(
        schlagloch,
        description="Graffiti an der Brücke, kein Schlagloch",
        answers={"tiefe": "10 cm"},
        assigned_to=tina,
    )


@pytest.mark.django_db
def test_a_misrouted_report_moves_to_the_other_department_which_alone_sees_it(
    misrouted, graffiti, tina, olga
):
    response = api(tina).post(
        reroute_url(misrouted), {"category": "graffiti", "reason": "Ist Graffiti, kein Straßenschaden"}
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": misrouted.pk,
        "category": "graffiti",
        "department": "Fachbereich ordnung",
        "visible": False,
    }
    misrouted.refresh_from_db()
    assert misrouted.category == graffiti
    assert misrouted.answers == {}
    assert misrouted.assigned_to is None  # Tiefbau's assignee has no business with it any more
    assert misrouted.status == S.RECEIVED
    assert misrouted.first_response_at is None  # Ordnung still owes the first response
    assert api(tina).get(f"/api/v1/staff/reports/{misrouted.pk}").status_code == 404
    assert api(olga).get(f"/api/v1/staff/reports/{misrouted.pk}").status_code == 200


@pytest.mark.django_db
def test_the_history_keeps_reason_old_category_and_answers_the_public_only_the_department(
    misrouted, graffiti, tina, olga
):
    moved = api(tina).post(reroute_url(misrouted), {"category": "graffiti", "reason": "Ist Graffiti"})
    assert moved.status_code == 200, moved.content

    event = ReportEvent.objects.get(report=misrouted, kind=ReportEvent.Kind.REROUTED)
    assert event.actor == tina
    assert event.internal_note == "Ist Graffiti"
    assert event.details == {
        "from_category": {"key": "schlagloch", "name": "Schlagloch"},
        "to_category": {"key": "graffiti", "name": "Graffiti"},
        "from_department": "Fachbereich tiefbau",
        "to_department": "Fachbereich ordnung",
        "answers": {"tiefe": "10 cm"},
    }
    staff_view = api(olga).get(f"/api/v1/staff/reports/{misrouted.pk}").json()
    assert [e["kind"] for e in staff_view["events"]][-1] == "rerouted"
    public = APIClient().get(f"/api/v1/reports/{misrouted.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert public["category"] == "graffiti"
    forwarded = [entry for entry in public["timeline"] if entry["kind"] == "rerouted"]
    assert [entry["message"] for entry in forwarded] == ["An Fachbereich ordnung weitergeleitet."]
    assert "Ist Graffiti" not in str(public)
    assert "Schlagloch" not in str(public["timeline"])


@pytest.mark.django_db
def test_moving_within_the_department_keeps_the_assignment(misrouted, gehweg, tina):
    response = api(tina).post(
        reroute_url(misrouted), {"category": "gehweg", "reason": "Gehweg, nicht Straße"}
    )

    assert response.json()["visible"] is True
    misrouted.refresh_from_db()
    assert misrouted.category == gehweg
    assert misrouted.assigned_to == tina


@pytest.mark.django_db
@pytest.mark.parametrize("closed", [S.DONE, S.REJECTED, S.DUPLICATE, S.NOT_RESPONSIBLE, S.WITHDRAWN])
def test_a_closed_report_is_not_forwarded(schlagloch, graffiti, tina, closed):
    done = report(schlagloch, status=closed)

    response = api(tina).post(reroute_url(done), {"category": "graffiti", "reason": "zu spät"})

    assert_error_shape(response, 409, "report_closed")
    done.refresh_from_db()
    assert done.category == schlagloch
    assert not done.events.filter(kind=ReportEvent.Kind.REROUTED).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"category": "graffiti", "reason": "  "}, "validation_error"),
        ({"category": "graffiti"}, "validation_error"),
        ({"category": "schlagloch", "reason": "x"}, "same_category"),
        ({"category": "gruppe-graffiti", "reason": "x"}, "invalid_category"),
        ({"category": "gibt-es-nicht", "reason": "x"}, "validation_error"),
        ({"category": ["graffiti"], "reason": "x"}, "validation_error"),
    ],
)
def test_bad_forwarding_requests_are_refused_and_change_nothing(misrouted, graffiti, tina, body, code):
    response = api(tina).post(reroute_url(misrouted), body, format="json")

    assert_error_shape(response, 400, code)
    misrouted.refresh_from_db()
    assert misrouted.category.key == "schlagloch"
    assert misrouted.answers == {"tiefe": "10 cm"}


@pytest.mark.django_db
def test_an_inactive_category_is_no_target(misrouted, graffiti, tina):
    Category.objects.filter(pk=graffiti.pk).update(is_active=False)

    assert_error_shape(
        api(tina).post(reroute_url(misrouted), {"category": "graffiti", "reason": "x"}),
        400,
        "invalid_category",
    )


@pytest.mark.django_db
def test_another_departments_report_cannot_be_forwarded(graffiti, schlagloch, tina):
    theirs = report(graffiti)

    response = api(tina).post(reroute_url(theirs), {"category": "schlagloch", "reason": "meins jetzt"})

    assert_error_shape(response, 404)
    theirs.refresh_from_db()
    assert theirs.category == graffiti


# --- In the workspace


def workflow(**fields: Any) -> dict[str, Any]:
    return {
        "new_status": "",
        "authority": "",
        "original": "",
        "message": "",
        "note": "",
        "assignee": "",
        "move_to": "",
        "move_reason": "",
        "_continue": "Sichern",
        **fields,
    }


@pytest.mark.django_db
def test_forwarding_on_the_report_page_leads_back_to_the_queue(misrouted, graffiti, tina, olga):
    browser = Client(headers={"Accept-Language": "de"})
    browser.force_login(tina)
    page = f"/admin/reports/report/{misrouted.pk}/change/"

    response = browser.post(
        page,
        workflow(assignee=tina.pk, move_to=graffiti.pk, move_reason="Graffiti, bitte übernehmen"),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/admin/reports/report/"
    assert f"Meldung #{misrouted.pk} wurde an Fachbereich ordnung weitergeleitet." in [
        str(m) for m in response.context["messages"]
    ]
    assert browser.get(page).status_code == 302  # no longer hers: Django's "does not exist" redirect
    theirs = Client(headers={"Accept-Language": "de"})
    theirs.force_login(olga)
    history = theirs.get(f"/admin/reports/report/{misrouted.pk}/change/").content.decode()
    assert "Schlagloch (Fachbereich tiefbau) → Graffiti (Fachbereich ordnung)" in history
    assert "tiefe: 10 cm" in history
    assert "Graffiti, bitte übernehmen" in history


@pytest.mark.django_db
def test_a_reason_without_a_category_is_an_error_on_the_page(misrouted, tina):
    browser = Client(headers={"Accept-Language": "de"})
    browser.force_login(tina)

    response = browser.post(
        f"/admin/reports/report/{misrouted.pk}/change/", workflow(assignee=tina.pk, move_reason="wohin?")
    )

    assert response.status_code == 200
    assert "move_to" in response.context["adminform"].form.errors
    misrouted.refresh_from_db()
    assert misrouted.category.key == "schlagloch"
