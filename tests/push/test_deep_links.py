"""The deep-link catalogue: registered by the apps, served to the app, the only links staff can choose (API
and workspace), and links from before it still sent and shown. Actors: an author in Kommunikation, an
installation, anonymous."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from push import links, services
from push.models import Notification, Topic
from tests.conftest import assert_error_shape
from tests.factories import InstallationFactory
from tests.push.participation_support import campaign_participation
from tests.push.test_notification_admin import NOTIFICATIONS, browser, form_data

URL = "/api/v1/push/notifications/"
OUTAGE = {"de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."}}


def create(client: Any, **fields: Any) -> Any:
    return client.post(URL, {"kind": "outage", "content": OUTAGE, **fields}, format="json")


@pytest.fixture
def public_report(db: Any) -> Any:
    from tests.reports.staff_factories import category, department, report

    return report(category("schlagloch", department=department("tiefbau")))


@pytest.mark.django_db
def test_the_catalogue_lists_every_registered_screen_then_web(anon_client):
    response = anon_client.get("/api/v1/push/catalogue", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    by_key = {link["key"]: link for link in response.json()["links"]}
    assert list(by_key)[-1] == "web"
    assert {"notice", "campaign", "report", "waste_calendar"} <= set(by_key)
    assert by_key["report"] == {
        "key": "report",
        "template": "casapp://reports/{id}",
        "name": "Report",
        "description": "A report of the Mängelmelder, with its status.",
        "parameters": [
            {"name": "id", "type": "integer", "pattern": "[1-9][0-9]{0,17}", "description": "Report number"}
        ],
    }
    assert by_key["waste_calendar"]["template"] == "casapp://waste"
    assert by_key["waste_calendar"]["parameters"] == []
    german = anon_client.get("/api/v1/push/catalogue", HTTP_ACCEPT_LANGUAGE="de").json()["links"]
    assert {link["key"]: link["name"] for link in german}["waste_calendar"] == "Abfallkalender"


def test_the_links_the_apps_send_themselves_are_in_the_catalogue() -> None:
    from waste_calendar.reminders import DEEP_LINK

    assert links.link_parse("casapp://reports/17") == links.ParsedLink("report", {"id": "17"})
    assert links.link_parse(DEEP_LINK) == links.ParsedLink("waste_calendar", {})
    assert links.link_parse("casapp://notices/5") == links.ParsedLink("notice", {"id": "5"})
    assert links.link_parse("https://www.castrop-rauxel.de/x") == links.ParsedLink(
        "web", {"url": "https://www.castrop-rauxel.de/x"}
    )
    for stray in ("casapp://reports/0", "casapp://reports/17/../1", "casapp://aktionen/x", "free text", ""):
        assert links.link_parse(stray) is None, stray


def test_a_second_definition_under_a_taken_key_is_a_programming_error() -> None:
    with pytest.raises(ImproperlyConfigured):
        links.register_link(
            key="report",
            template="casapp://meldungen/{id}",
            name={"de": "Meldung"},
            parameters=[links.LinkParameter("id")],
        )
    with pytest.raises(ImproperlyConfigured):
        links.register_link(key="broken", template="casapp://x/{id}", name={"de": "X"})
    with pytest.raises(ImproperlyConfigured):
        links.register_link(
            key="elsewhere",
            template="https://example.org/{id}",
            name={"de": "X"},
            parameters=[links.LinkParameter("id")],
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "link",
    [
        "casapp://waste",
        "https://www.castrop-rauxel.de/buergerbuero",
        "https://www.castrop-rauxel.de/a?b=c#d",
    ],
)
def test_a_link_of_the_catalogue_or_a_public_https_address_is_accepted(comms_client, link):
    response = create(comms_client, deep_link=link)

    assert response.status_code == 201, response.json()
    assert response.json()["deep_link"] == link


@pytest.mark.django_db
def test_links_to_things_that_exist_are_accepted(comms_client, public_report):
    notice = services.notification_create(author=comms_client.user, kind="news", content=OUTAGE)

    assert create(comms_client, deep_link=f"casapp://reports/{public_report.pk}").status_code == 201
    assert create(comms_client, deep_link=f"casapp://notices/{notice.pk}").status_code == 201


@pytest.mark.django_db
def test_a_campaign_link_names_the_campaign_the_app_opens_not_its_notification(comms_client, anon_client):
    # Other notifications take ids too: a campaign's notification id is not its id in the campaign API.
    for _ in range(3):
        services.notification_create(author=comms_client.user, kind="news", content=OUTAGE)
    participation = campaign_participation()
    assert participation.pk != participation.notification_id

    accepted = create(comms_client, deep_link=f"casapp://campaigns/{participation.pk}")
    refused = create(comms_client, deep_link=f"casapp://campaigns/{participation.notification_id}")

    assert accepted.status_code == 201, accepted.json()
    assert_error_shape(refused, 400, "invalid_deep_link")
    opened = anon_client.get(f"/api/v1/campaigns/{participation.pk}")
    assert opened.json()["notice_id"] == f"n-{participation.notification_id}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "link",
    [
        "Bürgerbüro",  # free text
        "casapp://stoerungen",  # not a screen of the app
        "casapp://reports/abc",
        "casapp://reports/999999",  # no such report
        "casapp://notices/999999",
        "casapp://campaigns/999999",
        "http://www.castrop-rauxel.de/",  # not https
        "https://localhost/admin/",
        "https://10.0.0.1/",
        "https://user:secret@www.castrop-rauxel.de/",
        "https://www.castrop-rauxel.de:8443/",
        "https://www.castrop-rauxel.de/a b",
        "javascript:alert(1)",
    ],
)
def test_anything_else_is_refused(comms_client, link):
    error = assert_error_shape(create(comms_client, deep_link=link), 400, "invalid_deep_link")

    assert error["errors"][0]["field"] == "deep_link"
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_link_written_before_the_catalogue_is_kept_sent_and_shown(
    comms_client, comms_colleague_client, anon_client, firebase_backend, django_capture_on_commit_callbacks
):
    phone = InstallationFactory(push_token="token-legacy-link-0001", push_token_kind="registration_token")
    phone.topics.add(Topic.objects.get(key="stoerungen"))
    legacy = services.notification_create(author=comms_client.user, kind="outage", content=OUTAGE)
    Notification.objects.filter(pk=legacy.pk).update(deep_link="casapp://aktionen/wunschfenster")

    changed = comms_client.patch(f"{URL}{legacy.pk}", {"priority": "normal"}, format="json")
    assert changed.status_code == 200, changed.json()
    refused = comms_client.patch(f"{URL}{legacy.pk}", {"deep_link": "casapp://aktionen/other"}, format="json")
    assert_error_shape(refused, 400, "invalid_deep_link")
    assert comms_client.post(f"{URL}{legacy.pk}/request-approval").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert comms_colleague_client.post(f"{URL}{legacy.pk}/approve").status_code == 200

    [received] = firebase_backend.messages(phone.push_token)
    assert received["message"]["data"]["deep_link"] == "casapp://aktionen/wunschfenster"
    [notice] = anon_client.get("/api/v1/notices").json()["results"]
    assert (notice["deep_link"], notice["link"]) == ("casapp://aktionen/wunschfenster", None)


@pytest.mark.django_db
def test_a_notice_carries_its_link_read_against_the_catalogue(
    comms_client, comms_colleague_client, anon_client, django_capture_on_commit_callbacks
):
    InstallationFactory(push_token="token-link-0001", push_token_kind="registration_token").topics.add(
        Topic.objects.get(key="stoerungen")
    )
    notification = create(comms_client, deep_link="casapp://waste").json()
    comms_client.post(f"{URL}{notification['id']}/request-approval")
    with django_capture_on_commit_callbacks(execute=True):
        comms_colleague_client.post(f"{URL}{notification['id']}/approve")

    [notice] = anon_client.get("/api/v1/notices").json()["results"]

    assert notice["link"] == {"target": "waste_calendar", "parameters": {}}


# --- In the workspace: chosen, not typed


@pytest.mark.django_db
def test_the_workspace_offers_the_catalogue_and_composes_the_link(db):
    author = browser("Kommunikation")
    form = author.get(f"{NOTIFICATIONS}add/").context["adminform"].form
    offered = [value for value, _label in form.fields["link_target"].choices]
    assert offered[0] == ""
    assert {"notice", "campaign", "report", "waste_calendar", "web"} <= set(offered)
    assert "deep_link" not in form.fields

    waste = author.post(f"{NOTIFICATIONS}add/", form_data(link_target="waste_calendar"))
    web = author.post(
        f"{NOTIFICATIONS}add/", form_data(link_target="web", link_url="https://www.castrop-rauxel.de/")
    )
    missing = author.post(f"{NOTIFICATIONS}add/", form_data(link_target="notice", link_id="424242"))

    assert waste.status_code == web.status_code == 302
    assert sorted(Notification.objects.values_list("deep_link", flat=True)) == [
        "casapp://waste",
        "https://www.castrop-rauxel.de/",
    ]
    assert missing.status_code == 200
    assert "link_target" in missing.context["adminform"].form.errors


@pytest.mark.django_db
def test_the_workspace_keeps_a_link_from_before_unless_another_is_chosen(db):
    author = browser("Kommunikation")
    InstallationFactory(push_token="token-keep-0001", push_token_kind="registration_token")
    legacy = services.notification_create(author=author.user, kind="outage", content=OUTAGE)  # type: ignore[attr-defined]
    Notification.objects.filter(pk=legacy.pk).update(deep_link="casapp://stoerungen")
    url = f"{NOTIFICATIONS}{legacy.pk}/change/"
    form = author.get(url).context["adminform"].form
    assert form.initial["link_target"] == "keep"

    kept = author.post(url, form_data(link_target="keep", title_de="Neu"))

    assert kept.status_code == 302, kept.context["adminform"].form.errors
    legacy.refresh_from_db()
    assert (legacy.deep_link, legacy.content["de"]["title"]) == ("casapp://stoerungen", "Neu")


@pytest.mark.django_db
def test_the_workspace_offers_recent_reports_and_notices_to_link_to(public_report):
    from tests.reports.staff_factories import report

    hidden = report(public_report.category, hidden=True, description="Beleidigung")
    author = browser("Kommunikation")
    notice = services.notification_create(author=author.user, kind="news", content=OUTAGE)  # type: ignore[attr-defined]

    page = author.get(f"{NOTIFICATIONS}add/").content.decode()

    reports = page[page.index('<datalist id="push-link-report">') :].split("</datalist>")[0]
    notices = page[page.index('<datalist id="push-link-notice">') :].split("</datalist>")[0]
    assert (
        f'<option value="{public_report.pk}">#{public_report.pk} Schlagloch, Münsterstraße 12</option>'
        in reports
    )
    assert f'value="{hidden.pk}"' not in reports
    assert f'<option value="{notice.pk}">{notice.pk}: Bürgerbüro geschlossen</option>' in notices
    assert 'id="push-link-waste_calendar"' not in page  # nothing to number
