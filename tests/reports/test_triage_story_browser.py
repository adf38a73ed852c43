"""Service tier, in a real browser: one misrouted report from the citizen's phone to the right department.

Administration adds a Grünflächen Triage member, who sets a new password at the first login and asks for
an e-mail on every new report. A citizen files a report through the app API, in Grünflächen's category
"Parkbank beschädigt" although it is the pavement; the alert reaches the member's mailbox (a real SMTP
server on loopback, sent by a real Celery worker). The member finds it in the queue and on the map and
forwards it to Tiefbau with a reason; Tiefbau's member is alerted, answers with a reply template and sets
"in Bearbeitung"; the reporter's phone gets the push (the fake FCM server, through firebase-admin); and
Grünflächen no longer sees the report. Screenshots of the queue, the map and the report's page are saved
to ``.pytest-media/story/``.

No request leaves the site (tiles are refused). The database is touched only before the browser starts
and after it closed (Django refuses ORM calls from the thread running Playwright's event loop); the app
API is called over HTTP like a phone would.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from reports.alerts import alert_preference_update
from reports.models import Category, Department, Report, ReportEvent, ReportStatus
from reports.staff_selectors import reports_for_staff
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA, PASSWORD, needs_chromium, offsite
from tests.factories import StaffFactory
from tests.mail import RefusingThenAccepting, smtp_server
from tests.reports.staff_factories import triage_staff
from tests.reports.test_workspace_browser import _demo_catalogue
from tests.worker import push_and_mail_worker, wait_for

NEW_PASSWORD = "Grünflächen-am-Rathaus-2026"
TOKEN = "token-of-the-reporters-phone-story-0001"
REASON = "Die Platten liegen im Gehweg vor der Bank, nicht an der Bank: Tiefbau, bitte übernehmen."

pytestmark = [
    pytest.mark.services,
    needs_chromium,
]


def _api(base: str, path: str, body: dict[str, Any], secret: str = "") -> dict[str, Any]:
    """A phone's request: JSON over HTTP to the live server."""
    headers = {"Content-Type": "application/json", "Accept-Language": "de"}
    if secret:
        headers["Authorization"] = f"Device {secret}"
    request = urllib.request.Request(  # noqa: S310  (the live server on loopback)
        f"{base}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 201, response.read()
        return json.loads(response.read())


def _mails_to(handler: RefusingThenAccepting, address: str) -> list[str]:
    return [
        envelope.content.decode("utf-8", "replace")
        for envelope in handler.accepted
        if address in envelope.rcpt_tos
    ]


@pytest.mark.django_db(transaction=True)
def test_a_misrouted_report_reaches_the_right_department_and_the_reporters_phone(
    live_server: Any, fake_fcm: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # --- the database, before the browser starts: the demo catalogue, Administration and Tiefbau
    _demo_catalogue()
    vera = StaffFactory(
        username="v.verwaltung", first_name="Vera", last_name="Verwaltung", roles=["Administration"]
    )
    tiefbau = Department.objects.get(key="tiefbau")
    tina = triage_staff(
        tiefbau,
        username="t.becker",
        first_name="Tina",
        last_name="Becker",
        email="t.becker@castrop-rauxel.de",
    )
    alert_preference_update(user=tina, frequency="immediate", language="de")
    gruen = Department.objects.get(key="gruen")
    pavement = Category.objects.get(key="gehweg-schaden")
    mailbox = RefusingThenAccepting(refusals=0)
    smtp, smtp_port = smtp_server(mailbox)
    worker = push_and_mail_worker(
        fake_fcm=fake_fcm, tmp_path=tmp_path, smtp_port=smtp_port, site_url=live_server.url
    )
    shots = MEDIA / "story"
    shots.mkdir(parents=True, exist_ok=True)
    worker.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:

                def session() -> Any:
                    context = browser.new_context(locale="de-DE", viewport={"width": 1920, "height": 1080})
                    context.route(offsite(live_server.url), lambda r: r.abort())
                    page = context.new_page()
                    page.set_default_timeout(20_000)
                    return page

                def login(page: Any, username: str, password: str, then: str = "/admin/") -> None:
                    page.goto(f"{live_server.url}/admin/login/?next={then}")
                    page.fill("input[name=username]", username)
                    page.fill("input[name=password]", password)
                    page.click("input[type=submit]")

                # 1. Administration adds Greta to Grünflächen as a Triage member.
                admin_page = session()
                login(admin_page, vera.username, PASSWORD, "/admin/casapp/staffmember/add/")
                admin_page.fill("#id_username", "g.gruen")
                admin_page.fill("#id_first_name", "Greta")
                admin_page.fill("#id_last_name", "Grün")
                admin_page.fill("#id_email", "g.gruen@castrop-rauxel.de")
                admin_page.check("input[name=roles][value=Triage]")
                admin_page.click(".inline-group .add-row a")
                admin_page.locator(".inline-group select[name$='-0-department']").select_option(str(gruen.pk))
                admin_page.click("input[name=_save]")
                notice = admin_page.locator("ul.messagelist li.warning").inner_text()
                temporary = notice.rsplit(": ", 1)[1].strip()
                admin_page.context.close()

                # 2. Greta's first login: her own password, then an e-mail for every new report.
                greta_page = session()
                login(greta_page, "g.gruen", temporary)
                greta_page.wait_for_url(re.compile(r"/admin/password_change/$"))
                greta_page.fill("input[name=old_password]", temporary)
                greta_page.fill("input[name=new_password1]", NEW_PASSWORD)
                greta_page.fill("input[name=new_password2]", NEW_PASSWORD)
                greta_page.click("input[type=submit]")
                greta_page.goto(f"{live_server.url}/admin/reports/alertpreference/")
                greta_page.check("input[name=frequency][value=immediate]")
                greta_page.click("input[name=_save]")
                expect(greta_page.locator("ul.messagelist")).to_contain_text("gespeichert")

                # 3. A citizen files the report through the app API, in the wrong category.
                phone = _api(
                    live_server.url,
                    "/api/v1/devices/",
                    {"platform": "android", "app_version": "1.4.0", "locale": "de-DE", "push_token": TOKEN},
                )
                filed = _api(
                    live_server.url,
                    "/api/v1/reports/",
                    {
                        "category": "parkbank",
                        "description": "Gehwegplatten vor der Parkbank angehoben, ältere Leute stolpern.",
                        "latitude": 51.5530,
                        "longitude": 7.3117,
                        "address": "Stadtgarten, Eingang Wittener Straße",
                        "contact_email": "erika@example.org",
                        "contact_phone": "+49 2305 123456",
                        "contact_consent": True,
                    },
                    secret=phone["secret"],
                )
                number = filed["id"]

                # 4. Greta's alert arrives: number, category, place, link; no contact data.
                assert wait_for(lambda: _mails_to(mailbox, "g.gruen@castrop-rauxel.de"), timeout=60), (
                    worker.log_path.read_text()[-3000:]
                )
                [alert] = _mails_to(mailbox, "g.gruen@castrop-rauxel.de")
                assert f"#{number}" in alert
                assert "Parkbank" in alert
                assert f"{live_server.url}/admin/reports/report/{number}/change/" in alert
                assert "erika@example.org" not in alert
                assert "123456" not in alert

                # 5. She finds it in her queue and on the map, and forwards it to Tiefbau with a reason.
                greta_page.goto(f"{live_server.url}/admin/reports/report/?inbox=mine")
                row = greta_page.locator(
                    "#result_list tbody tr", has=greta_page.locator(f'a[href*="/{number}/change/"]')
                )
                expect(row).to_contain_text("Parkbank beschädigt")
                expect(row).to_contain_text("Gehwegplatten vor der Parkbank")
                greta_page.screenshot(path=str(shots / "queue.png"))
                greta_page.click("a.report-map-link")
                expect(greta_page.locator(f'#overview-map .report-pin[title="#{number}"]')).to_be_visible()
                expect(greta_page.locator("#overview-map path.city-boundary")).to_have_count(1)
                greta_page.screenshot(path=str(shots / "map.png"))
                greta_page.locator(f'#overview-map .report-pin[title="#{number}"]').click()
                greta_page.wait_for_url(re.compile(rf"/admin/reports/report/{number}/change/$"))
                greta_page.select_option("#id_move_to", str(pavement.pk))
                greta_page.fill("textarea[name=move_reason]", REASON)
                greta_page.click("input[name=_continue]")
                greta_page.wait_for_url(re.compile(r"/admin/reports/report/$"))
                expect(greta_page.locator("ul.messagelist li.success")).to_contain_text(
                    f"Meldung #{number} wurde an"
                )
                # Grünflächen no longer sees it, in the queue nor at its address.
                assert greta_page.locator(f'#result_list a[href*="/{number}/change/"]').count() == 0
                greta_page.goto(f"{live_server.url}/admin/reports/report/{number}/change/")
                expect(greta_page.locator("ul.messagelist li.warning")).to_be_visible()

                # 6. Tiefbau is alerted, answers with a template and sets "in Bearbeitung".
                assert wait_for(lambda: _mails_to(mailbox, "t.becker@castrop-rauxel.de"), timeout=60)
                tina_page = session()
                login(tina_page, tina.username, PASSWORD, f"/admin/reports/report/{number}/change/")
                tina_page.wait_for_url(re.compile(rf"/admin/reports/report/{number}/change/$"))
                expect(tina_page.locator("table.report-history")).to_contain_text(REASON)
                tina_page.select_option("#id_reply_template", index=1)
                message = tina_page.locator("textarea[name=message]")
                expect(message).to_have_value(re.compile(rf"#{number}"))
                message.press("End")
                message.type(" Wir melden uns, sobald es erledigt ist.")
                tina_page.select_option("select[name=new_status]", ReportStatus.IN_PROGRESS.value)
                tina_page.screenshot(path=str(shots / "report.png"), full_page=True)
                tina_page.click("input[name=_continue]")
                tina_page.wait_for_url(re.compile(rf"/admin/reports/report/{number}/change/$"))
                expect(tina_page.locator("ul.messagelist li.success")).to_be_visible()
                expect(tina_page.locator(".errornote")).to_have_count(0)
            finally:
                browser.close()

        # 7. The reporter's phone, as FCM saw it.
        assert wait_for(lambda: fake_fcm.messages(TOKEN), timeout=60), worker.log_path.read_text()[-3000:]
    finally:
        worker.stop()
        smtp.stop()

    [pushed] = fake_fcm.messages(TOKEN)
    assert pushed["message"]["notification"]["title"] == f"Ihre Meldung #{number}"
    assert pushed["message"]["notification"]["body"].startswith("Neuer Stand: in Bearbeitung.")

    # --- the database, after the browser closed
    report = Report.objects.get(pk=number)
    assert report.category.key == "gehweg-schaden"
    assert report.status == ReportStatus.IN_PROGRESS
    forwarded = report.events.get(kind=ReportEvent.Kind.REROUTED)
    assert forwarded.internal_note == REASON
    assert forwarded.actor.username == "g.gruen"
    status = report.events.get(kind=ReportEvent.Kind.STATUS)
    assert status.actor == tina
    assert status.public_message.endswith("Wir melden uns, sobald es erledigt ist.")
    greta = forwarded.actor
    assert not reports_for_staff(greta).filter(pk=number).exists()
    assert reports_for_staff(tina).filter(pk=number).exists()
    # One alert each, none twice, and never the reporter's contact data.
    assert len(_mails_to(mailbox, "g.gruen@castrop-rauxel.de")) == 1
    assert len(_mails_to(mailbox, "t.becker@castrop-rauxel.de")) == 1
