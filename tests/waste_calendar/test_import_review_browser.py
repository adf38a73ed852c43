"""In a real browser: an Administration user finds a held import in the workspace, sees what it would
change and applies it.

Debian's ``chromium`` (/usr/bin/chromium) driven by Playwright for Python, as in
``tests/reports/test_triage_browser.py`` (the database is touched only before the browser starts and after
it closed: Django refuses ORM calls from the thread running Playwright's event loop). The page's screenshot
is kept as ``waste-import-review.png`` in the test's temporary directory (docs/img/ has a copy).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.utils import timezone

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, needs_chromium, offsite
from tests.factories import StaffFactory
from tests.waste_calendar.conftest import ics_feed, run_command, write_manifest
from waste_calendar.models import Collection, CollectionStatus, ImportRun, ImportStatus

pytestmark = [
    pytest.mark.services,  # browser tests run in the service tier, where .ci/run installs chromium
    needs_chromium,
]


# serialized_rollback: the waste types come from a data migration, which an earlier transactional test's
# flush would have removed.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_administration_user_reviews_and_applies_a_held_import(
    live_server: Any, tmp_path: Path, mapping: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # --- the database, before the browser starts: a feed of 20 dates, then one cut after five
    today = timezone.localdate()
    regular = [today + dt.timedelta(days=3 + 7 * n) for n in range(20)]
    window = ["--from", f"{regular[0]:%Y-%m-%d}", "--until", f"{regular[-1]:%Y-%m-%d}"]
    manifest = write_manifest(tmp_path, [("Vinckestraße", "", "Habinghorst", "8", "feed.ics")])
    (tmp_path / "feed.ics").write_text(ics_feed((d, "Abfuhr Restabfall") for d in regular), encoding="utf-8")
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), *window)
    (tmp_path / "feed.ics").write_text(
        ics_feed((d, "Abfuhr Restabfall") for d in regular[:5]), encoding="utf-8"
    )
    with pytest.raises(CommandError, match="Held for review"):
        run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), *window)
    run = ImportRun.objects.get(status=ImportStatus.HELD)
    admin_user = StaffFactory(
        username="a.schulte", first_name="Anna", last_name="Schulte", roles=["Administration"]
    )
    screenshot = tmp_path / "waste-import-review.png"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
            context.route(offsite(live_server.url), lambda route: route.abort())
            page = context.new_page()
            page.goto(f"{live_server.url}/admin/login/?next=/admin/waste_calendar/importrun/")
            page.fill("#id_username", admin_user.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")

            # The import history lists it as "zu prüfen"; its page says why and what it would change.
            row = page.locator("#result_list tbody tr", has_text="zu prüfen")
            expect(row).to_have_count(1)
            row.locator("th a").click()
            expect(page.locator(".waste-import-review")).to_contain_text(
                "Restabfall, Bezirk ics-0001: 15 von 20 künftigen Abfuhren entfallen oder verschoben."
            )
            expect(page.locator(".waste-import-review tbody tr")).to_have_count(1)
            page.screenshot(path=str(screenshot), full_page=True)

            page.get_by_role("button", name="Import anwenden und Abonnenten benachrichtigen").click()
            expect(page.locator(".messagelist")).to_contain_text("Der Import wurde angewendet: 15 entfallen")
            expect(page.get_by_role("button", name="Import verwerfen")).to_have_count(0)
        finally:
            browser.close()

    # --- after the browser closed
    run.refresh_from_db()
    assert run.status == ImportStatus.SUCCEEDED
    assert run.reviewed_by == admin_user
    assert Collection.objects.filter(status=CollectionStatus.CANCELLED).count() == 15
    assert screenshot.stat().st_size > 10_000
