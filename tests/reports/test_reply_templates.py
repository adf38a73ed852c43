"""Reply templates ("Textbausteine"): managed per department in the workspace, offered on a report's page
with their placeholders filled in, sent as the (edited) public reply.

Actors: a Triage member of Tiefbau, a colleague in Ordnung (another department), Administration.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from reports.models import Category, Department, ReplyTemplate, Report, ReportEvent
from reports.reply_templates import placeholders_unknown, reply_template_render
from tests.factories import StaffFactory
from tests.reports.staff_factories import category, report, reporter, triage_staff

TEMPLATES = "/admin/reports/replytemplate/"
REPORTS = "/admin/reports/report/"


def browser(user: Any, *, language: str = "de") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def offered(client: Client, target: Report) -> dict[str, str]:
    """The reply templates the report's page offers: title -> the text it inserts."""
    content = client.get(f"{REPORTS}{target.pk}/change/").content.decode()
    select = re.search(r'<select name="reply_template"[^>]*>(.*?)</select>', content, re.S)
    assert select, "no reply template select on the page"
    return {
        html.unescape(title): html.unescape(text)
        for text, title in re.findall(
            r'<option value="\d+" data-text="([^"]*)">([^<]*)</option>', select.group(1)
        )
    }


@pytest.fixture
def member(tiefbau: Department) -> Client:
    return browser(triage_staff(tiefbau))


@pytest.fixture
def administration(db: Any) -> Client:
    return browser(StaffFactory(roles=["Administration"]))


@pytest.fixture
def beauftragt(tiefbau: Department) -> ReplyTemplate:
    return ReplyTemplate.objects.create(
        department=tiefbau,
        title="Bauhof beauftragt",
        text="Ihre Meldung #{nummer} ({kategorie}) ist beim Bauhof. Danke!",
    )


@pytest.fixture
def foreign_template(ordnung: Department) -> ReplyTemplate:
    return ReplyTemplate.objects.create(department=ordnung, title="Ordnungsamt", text="Wir kümmern uns.")


# --- Placeholders


@pytest.mark.django_db
def test_the_placeholders_are_filled_in(schlagloch):
    target = report(schlagloch)

    assert reply_template_render(text="#{nummer}: {kategorie}, {nummer}", report=target) == (
        f"#{target.pk}: Schlagloch, {target.pk}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "{0}",
        "{nummer.__class__}",
        "{kategorie.__init__.__globals__}",
        "{nummer!r}",
        "{nummer:>10}",
        "{}",
        "Klammern { bleiben } stehen",
        "{{nummer}}",
    ],
)
def test_nothing_but_the_placeholders_has_a_meaning(schlagloch, text):
    target = report(schlagloch)

    rendered = reply_template_render(text=text, report=target)

    assert "class" not in rendered.replace("__class__", "")
    assert "<" not in rendered
    if "{{nummer}}" in text:
        assert rendered == "{" + str(target.pk) + "}"
    else:
        assert rendered == text


@pytest.mark.django_db
def test_a_value_is_not_filled_in_again(tiefbau):
    sly = Category.objects.create(
        key="sly",
        name_de="{nummer}",
        parent=category("gruppe", department=tiefbau).parent,
        department=tiefbau,
    )
    target = report(sly)

    assert reply_template_render(text="{kategorie}", report=target) == "{nummer}"


def test_unknown_placeholders_are_named():
    assert placeholders_unknown("{nummer} {Nummer} {name} {name} {kategorie} {0}") == ["Nummer", "name", "0"]


# --- Managed in the workspace


@pytest.mark.django_db
def test_a_triage_member_adds_a_template_for_their_department(member, tiefbau):
    response = member.post(
        f"{TEMPLATES}add/",
        {"department": tiefbau.pk, "title": "Erledigt", "text": "Meldung #{nummer} ist erledigt."},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    created = ReplyTemplate.objects.get()
    assert (created.department, created.title, created.text) == (
        tiefbau,
        "Erledigt",
        "Meldung #{nummer} ist erledigt.",
    )


@pytest.mark.django_db
def test_a_triage_member_cannot_add_a_template_for_another_department(member, ordnung):
    response = member.post(f"{TEMPLATES}add/", {"department": ordnung.pk, "title": "Fremd", "text": "x"})

    assert response.status_code == 200
    assert "department" in response.context["adminform"].form.errors
    assert not ReplyTemplate.objects.exists()


@pytest.mark.django_db
def test_a_triage_member_sees_and_changes_only_their_departments_templates(
    member, beauftragt, foreign_template
):
    listing = member.get(TEMPLATES)
    assert [t.pk for t in listing.context["cl"].result_list] == [beauftragt.pk]

    assert member.get(f"{TEMPLATES}{foreign_template.pk}/change/").status_code == 302
    member.post(
        f"{TEMPLATES}{foreign_template.pk}/change/",
        {"department": foreign_template.department_id, "title": "Geändert", "text": "x"},
    )
    member.post(f"{TEMPLATES}{foreign_template.pk}/delete/", {"post": "yes"})
    foreign_template.refresh_from_db()
    assert foreign_template.title == "Ordnungsamt"


@pytest.mark.django_db
def test_administration_manages_every_departments_templates(
    administration, beauftragt, foreign_template, ordnung
):
    listing = administration.get(TEMPLATES)
    assert sorted(t.pk for t in listing.context["cl"].result_list) == sorted(
        [beauftragt.pk, foreign_template.pk]
    )

    response = administration.post(
        f"{TEMPLATES}{foreign_template.pk}/change/",
        {"department": ordnung.pk, "title": "Ordnungsamt", "text": "Zu Meldung #{nummer}: wir kümmern uns."},
    )
    assert response.status_code == 302
    foreign_template.refresh_from_db()
    assert foreign_template.text == "Zu Meldung #{nummer}: wir kümmern uns."


@pytest.mark.django_db
def test_an_unknown_placeholder_is_refused_in_german(member, tiefbau):
    response = member.post(
        f"{TEMPLATES}add/",
        {"department": tiefbau.pk, "title": "Tippfehler", "text": "Meldung {Nummer} {name}"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text"] == [
        "Unbekannter Platzhalter: {Nummer}, {name}. Verfügbar sind: {nummer}, {kategorie}."
    ]
    assert not ReplyTemplate.objects.exists()


@pytest.mark.django_db
def test_the_template_form_documents_the_placeholders_in_german(member):
    content = member.get(f"{TEMPLATES}add/").content.decode()

    assert "{nummer}: die Nummer der Meldung" in content
    assert "{kategorie}: die Kategorie der Meldung" in content
    assert "Textbaustein hinzufügen" in content


# --- On a report's page


@pytest.mark.django_db
def test_the_report_page_offers_its_departments_templates_filled_in(
    member, schlagloch, beauftragt, foreign_template
):
    target = report(schlagloch)

    assert offered(member, target) == {
        "Bauhof beauftragt": f"Ihre Meldung #{target.pk} (Schlagloch) ist beim Bauhof. Danke!"
    }


@pytest.mark.django_db
def test_template_text_is_escaped_on_the_page(member, schlagloch, tiefbau):
    ReplyTemplate.objects.create(department=tiefbau, title="<b>fett</b>", text='"><script>alert(1)</script>')
    target = report(schlagloch)

    content = member.get(f"{REPORTS}{target.pk}/change/").content.decode()

    assert "<script>alert(1)</script>" not in content
    assert "<b>fett</b>" not in content
    assert offered(member, target) == {"<b>fett</b>": '"><script>alert(1)</script>'}


@pytest.mark.django_db
def test_an_edited_template_is_sent_as_the_public_reply(member, schlagloch, beauftragt):
    target = report(schlagloch, installation=reporter(locale="de"))
    edited = offered(member, target)["Bauhof beauftragt"] + " Voraussichtlich am Freitag."

    response = member.post(
        f"{REPORTS}{target.pk}/change/",
        {
            "new_status": "",
            "authority": "",
            "original": "",
            "reply_template": str(beauftragt.pk),  # the select as the page left it: only a helper
            "message": edited,
            "note": "",
            "assignee": "",
            "_continue": "Sichern",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    reply = target.events.get(kind=ReportEvent.Kind.REPLY)
    assert reply.public_message == edited
    assert reply.is_public


@pytest.mark.django_db
def test_a_deleted_template_posted_with_the_page_does_not_block_saving(member, schlagloch, beauftragt):
    target = report(schlagloch)
    posted = str(beauftragt.pk)
    beauftragt.delete()

    response = member.post(
        f"{REPORTS}{target.pk}/change/",
        {"reply_template": posted, "message": "Danke!", "_continue": "Sichern"},
    )

    assert response.status_code == 302
    assert target.events.get(kind=ReportEvent.Kind.REPLY).public_message == "Danke!"


@pytest.mark.django_db
def test_a_department_without_templates_says_so(member, schlagloch):
    target = report(schlagloch)

    content = member.get(f"{REPORTS}{target.pk}/change/").content.decode()

    assert "— keine Textbausteine für diesen Fachbereich —" in content
    assert "Textbaustein" in content


@pytest.mark.django_db
def test_the_demo_has_templates_for_every_department_with_known_placeholders_only():
    from reports.demo import DEPARTMENTS, load_demo_reply_templates

    for key, name in DEPARTMENTS.items():
        Department.objects.create(key=key, name=name)
    load_demo_reply_templates()
    load_demo_reply_templates()  # idempotent

    templates = list(ReplyTemplate.objects.select_related("department"))
    assert {template.department.key for template in templates} == set(DEPARTMENTS)
    assert len(templates) == len({(t.department_id, t.title) for t in templates})
    for template in templates:
        assert placeholders_unknown(template.text) == [], template.title
