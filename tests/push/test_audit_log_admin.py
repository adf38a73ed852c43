"""The audit log in the workspace: a German table people read (who, what, when in Berlin time, what changed
before → after), filtered by notification and by person, exported as CSV; and never changed or deleted."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db.models import ProtectedError
from django.test import Client

from push import services
from push.models import AuditEntry, Notification, Topic
from tests.factories import InstallationFactory, StaffFactory

LOG = "/admin/push/auditentry/"
EXPORT = "/admin/push/auditentry/export/"
OUTAGE = {"de": {"title": "Wasserrohrbruch Ickern", "body": "Die Ickerner Straße ist gesperrt."}}
NEWS = {"de": {"title": "Stadtfest", "body": "Am Samstag feiert die Altstadt."}}


def session(user: Any, language: str = "de") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    return {
        "anna": StaffFactory(roles=["Kommunikation"], first_name="Anna", last_name="Autorin"),
        "paul": StaffFactory(roles=["Kommunikation"], first_name="Paul", last_name="Presse"),
        "vera": StaffFactory(roles=["Administration"], first_name="Vera", last_name="Verwaltung"),
        "tom": StaffFactory(roles=["Triage"]),
    }


@pytest.fixture
def history(people: dict[str, Any]) -> dict[str, Notification]:
    """Anna writes an outage, Paul rejects it once, Anna changes and submits it; Paul writes news."""
    anna, paul = people["anna"], people["paul"]
    phone = InstallationFactory(
        push_token="token-audit-log-000000000001", push_token_kind="registration_token"
    )
    phone.topics.add(Topic.objects.get(key="stoerungen"))  # an audience: nobody is refused
    outage = services.notification_create(author=anna, kind="outage", content=OUTAGE)
    services.notification_request_approval(notification=outage, actor=anna)
    services.notification_reject(notification=outage, reviewer=paul, reason="Bitte die Umleitung nennen.")
    services.notification_update(
        notification=outage,
        actor=anna,
        content={"de": {"title": "Wasserrohrbruch Ickern", "body": "Umleitung über die Westfalenstraße."}},
    )
    services.notification_request_approval(notification=outage, actor=anna)
    news = services.notification_create(author=paul, kind="news", content=NEWS)
    return {"outage": outage, "news": news}


def rows(response: Any) -> list[str]:
    html = response.content.decode()
    if "<tbody>" not in html:
        return []  # no entries: no table
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr") if row.strip()]


@pytest.mark.django_db
def test_the_log_reads_in_german_without_codes_or_json(people, history):
    response = session(people["vera"]).get(LOG, {"notification": history["outage"].pk})

    assert response.status_code == 200
    html = response.content.decode()
    table = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    for heading in ("Wann (Berlin)", "Wer", "Was", "Was sich geändert hat (vorher → nachher)"):
        assert heading in table
    assert "zur Freigabe vorgelegt" in table
    assert "abgelehnt" in table
    assert "Paul Presse" in table
    assert "Anna Autorin" in table
    assert "<strong>Status</strong>: wartet auf Freigabe → Entwurf" in table
    assert "<strong>Begründung</strong>: Bitte die Umleitung nennen." in table
    assert "Umleitung über die Westfalenstraße" in table
    for code in ("awaiting_approval", "approval_requested", "{&quot;", '{"', "[&quot;", "None"):
        assert code not in table, code
    assert len(rows(response)) == 5  # created, submitted, rejected, changed, submitted again


@pytest.mark.django_db
def test_the_log_filters_by_notification_and_by_person(people, history):
    vera = session(people["vera"])

    of_news = rows(vera.get(LOG, {"notification": history["news"].pk}))
    by_paul = rows(vera.get(LOG, {"person": people["paul"].pk}))
    by_paul_on_outage = rows(
        vera.get(LOG, {"person": people["paul"].pk, "notification": history["outage"].pk})
    )
    filters = vera.get(LOG).content.decode()

    assert len(of_news) == 1
    assert len(by_paul) == 2  # the rejection and the news
    assert len(by_paul_on_outage) == 1
    assert "abgelehnt" in by_paul_on_outage[0]
    assert "Paul Presse" in filters  # the filters' choices
    assert "Wasserrohrbruch Ickern" in filters
    assert rows(vera.get(LOG, {"notification": "x"})) == []


@pytest.mark.django_db
def test_the_filtered_log_downloads_as_csv(people, history):
    vera = session(people["vera"])
    page = vera.get(LOG, {"notification": history["outage"].pk}).content.decode()
    assert f'href="{EXPORT}?notification={history["outage"].pk}"' in page

    response = vera.get(EXPORT, {"notification": history["outage"].pk})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert table[0] == ["Zeit (Berlin)", "Benachrichtigung", "Wer", "Was", "Änderungen"]
    assert [row[3] for row in table[1:]] == [
        "Entwurf geschrieben",
        "zur Freigabe vorgelegt",
        "abgelehnt",
        "geändert",
        "zur Freigabe vorgelegt",
    ]
    rejected = table[3]
    assert rejected[1] == f"#{history['outage'].pk} Wasserrohrbruch Ickern"
    assert rejected[2] == "Paul Presse"
    assert rejected[4] == "Status: wartet auf Freigabe → Entwurf; Begründung: Bitte die Umleitung nennen."
    assert "awaiting_approval" not in text


@pytest.mark.django_db
def test_the_log_is_for_the_workspace_roles_and_cannot_be_changed_there(people, history):
    entry = AuditEntry.objects.filter(notification=history["outage"]).first()
    assert entry is not None
    tom = session(people["tom"])
    anna = session(people["anna"])

    assert tom.get(LOG).status_code == 403
    assert tom.get(EXPORT).status_code == 403
    assert anna.get(LOG).status_code == 200
    assert anna.post(f"{LOG}{entry.pk}/change/", {"action": "x"}).status_code == 403
    assert anna.post(f"{LOG}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_a_notification_with_a_log_cannot_be_deleted(history):
    # Django refuses before the database would (PROTECT); the log outlives every notification.
    with pytest.raises(ProtectedError):
        history["outage"].delete()
    assert Notification.objects.filter(pk=history["outage"].pk).exists()


@pytest.mark.parametrize("value", ["²", "١٢", "abc", "-1"])
def test_a_filter_value_that_is_no_number_shows_nothing_not_an_error(people, history, value):
    # "²".isdigit() is true, int("²") is not: such a value once reached int() and gave a 500.
    client = session(people["anna"])

    for parameter in ("notification", "person"):
        response = client.get(LOG, {parameter: value})
        assert response.status_code == 200, (parameter, response.status_code)


def test_a_name_that_starts_like_a_formula_is_no_formula_in_the_csv(people, history):
    anna = people["anna"]
    anna.first_name = "=HYPERLINK(1)"
    anna.save()

    response = session(people["paul"]).get(EXPORT)

    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    assert ";=HYPERLINK" not in text
