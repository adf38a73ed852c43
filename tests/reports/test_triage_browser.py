"""Service tier, end to end in a real browser: a Triage member works a report in the admin workspace and
the reporter's phone is told.

Debian's ``chromium`` (/usr/bin/chromium) driven by Playwright for Python; Playwright's own browser
download is never used. The admin runs on pytest-django's live server, the push goes through a real Celery
worker and the real firebase-admin SDK to the fake FCM server on loopback.

Playwright's sync API keeps an asyncio event loop running in this thread while it is open, and Django
refuses ORM calls from a thread with a running loop (``SynchronousOnlyOperation``). Rather than switching
that check off with ``DJANGO_ALLOW_ASYNC_UNSAFE``, this test touches the database only before the browser
starts and after it is closed; while it runs, the live server answers from its own thread, where there is
no loop.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from push.fake_fcm.control import FakeFcm
from reports.models import Report, ReportEvent, ReportStatus
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, needs_chromium, offsite
from tests.reports.staff_factories import category, department, report, reporter, triage_staff
from tests.worker import WorkerProcess, wait_for

PUBLIC_MESSAGE = "Der Bauhof ist beauftragt und kommt diese Woche."

pytestmark = [
    pytest.mark.services,
    needs_chromium,
]


@pytest.mark.django_db(transaction=True)
def test_triage_member_changes_the_status_in_the_admin_and_the_reporter_is_pushed(
    live_server: Any, fake_fcm: FakeFcm, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # --- the database, before the browser starts
    tiefbau = department("tiefbau")
    member = triage_staff(tiefbau, username="t.becker", first_name="Tina", last_name="Becker")
    phone = reporter(locale="de")
    target = report(category("schlagloch", department=tiefbau), installation=phone)
    other_department = report(category("graffiti", department=department("ordnung")))
    worker_env = {
        "PUSH_BACKEND": "firebase",
        "FIREBASE_CREDENTIALS_FILE": str(fake_fcm.write_service_account(tmp_path / "service-account.json")),
        "FCM_API_BASE_URL": fake_fcm.base_url,
        "PUSH_RETRY_BASE_SECONDS": "0.05",
    }
    assert shutil.which(CHROMIUM)

    worker = WorkerProcess(concurrency=1, extra_env=worker_env)
    worker.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale="de-DE")
                # Nothing leaves the machine: the map's CDN and tiles are refused (the page works without).
                context.route(offsite(live_server.url), lambda route: route.abort())
                page = context.new_page()
                page.set_default_timeout(20_000)

                # Log in as the Triage member, through the admin's login form.
                page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/report/")
                page.fill("input[name=username]", member.username)
                page.fill("input[name=password]", PASSWORD)
                page.click("input[type=submit]")

                # The queue: their department's report, not the other one.
                page.wait_for_url(re.compile(r"/admin/reports/report/$"))
                queue = page.locator("#result_list")
                expect(queue).to_contain_text(f"{target.pk}")
                expect(page.locator(f'#result_list a[href$="/{target.pk}/change/"]').first).to_be_visible()
                assert page.locator(f'#result_list a[href$="/{other_department.pk}/change/"]').count() == 0

                # Open the report: its map placeholder and the workflow area.
                page.locator(f'#result_list a[href$="/{target.pk}/change/"]').first.click()
                page.wait_for_url(re.compile(rf"/admin/reports/report/{target.pk}/change/$"))
                expect(page.locator("#report-map")).to_have_attribute("data-latitude", re.compile(r"^51\."))
                expect(page.locator("select[name=new_status]")).to_be_visible()

                # Change its status with a public message, and save.
                page.select_option("select[name=new_status]", ReportStatus.IN_PROGRESS.value)
                page.fill("textarea[name=message]", PUBLIC_MESSAGE)
                page.fill("textarea[name=note]", "Kolonne 3, Priorität hoch")
                page.click("input[name=_continue]")

                page.wait_for_url(re.compile(rf"/admin/reports/report/{target.pk}/change/$"))
                expect(page.locator("ul.messagelist li.success")).to_be_visible()
                expect(page.locator("table.report-history")).to_contain_text(PUBLIC_MESSAGE)
                expect(page.locator(".errornote")).to_have_count(0)
            finally:
                browser.close()

        # The reporter's phone, as FCM saw it: the real SDK, sent by the worker.
        assert wait_for(lambda: fake_fcm.messages(phone.push_token), timeout=60), worker.log_path.read_text()[
            -3000:
        ]
    finally:
        worker.stop()

    [sent] = fake_fcm.messages(phone.push_token)
    notification = sent["message"]["notification"]
    assert notification["title"] == f"Ihre Meldung #{target.pk}"
    assert notification["body"].startswith("Neuer Stand: in Bearbeitung.")
    assert PUBLIC_MESSAGE[:40] in notification["body"]
    assert sent["message"]["data"]["report_id"] == str(target.pk)

    # --- the database, after the browser closed
    changed = Report.objects.get(pk=target.pk)
    assert changed.status == ReportStatus.IN_PROGRESS
    event = changed.events.get(kind=ReportEvent.Kind.STATUS)
    assert (event.actor_id, event.public_message, event.internal_note) == (
        member.pk,
        PUBLIC_MESSAGE,
        "Kolonne 3, Priorität hoch",
    )
    # The page posted its moderation fields as rendered: nothing was moderated on the way.
    assert not changed.events.filter(kind=ReportEvent.Kind.MODERATED).exists()
    assert changed.description == target.description
    assert Report.objects.get(pk=other_department.pk).status == ReportStatus.RECEIVED
