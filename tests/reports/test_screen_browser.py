"""Service tier, in a real browser: the screen in city hall (``/bildschirm/``) with the demo data.

Its figures equal the API's, a report filed through the app API appears without a reload within one
refresh, a hidden report never appears, and with the data requests failing (the network gone) the page
keeps its last state and shows its time. Every request leaving the site is refused (no tiles: the map
still draws the city boundary). Screenshots at 1920x1080 and 3840x2160 go to ``.pytest-media/screen/``
(``PYTEST_MEDIA_DIR`` overrides the directory); docs/img/screen.png is a copy.

Debian's ``chromium`` driven by Playwright for Python, as in test_workspace_browser.py; the database is
touched before the browser starts, through the live server's API while it runs, and after it is closed.
"""

from __future__ import annotations

import json
import re
import uuid
from io import StringIO
from typing import Any
from urllib.request import urlopen

import pytest
from django.core.management import call_command

from reports.models import Report
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA, needs_chromium, offsite
from tests.factories import InstallationFactory

REFRESH = 5  # seconds, the page's minimum

pytestmark = [
    pytest.mark.services,
    needs_chromium,
]


def _figures_on(page: Any) -> dict[str, str]:
    return {
        name: page.locator(f'[data-figure="{name}"]').inner_text()
        for name in ("today_count", "week_count", "open_count", "resolved_last_7_days_count")
    }


@pytest.mark.django_db(transaction=True)
def test_the_screen_in_city_hall(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    # --- the database, before the browser starts: the demo, one of its reports hidden by moderation
    call_command("load_demo", stdout=StringIO())
    hidden = Report.objects.filter(hidden=False).order_by("-created_at").first()
    assert hidden is not None
    Report.objects.filter(pk=hidden.pk).update(hidden=True)
    phone = InstallationFactory()
    shots = MEDIA / "screen"
    shots.mkdir(parents=True, exist_ok=True)

    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1920, "height": 1080})

            def refuse(route: Any) -> None:
                refused.append(route.request.url)
                route.abort()

            context.route(offsite(live_server.url), refuse)
            page = context.new_page()
            page.set_default_timeout(20_000)
            summaries: list[int] = []
            page.on(
                "response",
                lambda response: (
                    summaries.append(response.status) if "/api/v1/reports/screen" in response.url else None
                ),
            )

            page.goto(f"{live_server.url}/bildschirm/?refresh={REFRESH}")
            screen = page.locator("#screen")
            expect(screen).to_have_attribute("data-state", "online")

            # The figures are the API's.
            with urlopen(f"{live_server.url}/api/v1/reports/screen") as answer:  # noqa: S310 (our own server)
                api = json.load(answer)
            assert api["open_count"] > 10, "the demo has open reports"
            assert _figures_on(page) == {
                "today_count": str(api["today_count"]),
                "week_count": str(api["week_count"]),
                "open_count": str(api["open_count"]),
                "resolved_last_7_days_count": str(api["resolved_last_7_days_count"]),
            }
            newest = page.locator("#screen-newest-list li")
            expect(newest).to_have_count(len(api["newest"]))
            assert [
                int(item) for item in newest.evaluate_all("(items) => items.map(i => i.dataset.reportId)")
            ] == [report["id"] for report in api["newest"]]
            first_category = page.locator("#screen-by-category li").first
            expect(first_category).to_contain_text(api["open_by_category"][0]["label"])
            expect(first_category.locator(".screen-bar-count")).to_have_text(
                str(api["open_by_category"][0]["count"])
            )
            expect(screen).to_have_attribute("data-point-count", str(len(api["points"])))
            expect(page.locator("path.city-boundary")).to_have_count(1)  # drawn without tiles
            expect(page.locator(".screen-cluster, .screen-marker").first).to_be_visible()
            if api["recently_resolved"]:
                expect(page.locator("#screen-resolved")).to_contain_text("erledigt:")

            # A hidden report never appears.
            assert hidden.pk not in [report["id"] for report in api["newest"]]
            assert hidden.pk not in [point["id"] for point in api["points"]]
            assert str(hidden.pk) not in newest.evaluate_all("(items) => items.map(i => i.dataset.reportId)")

            page.screenshot(path=str(shots / "screen-1920x1080.png"))

            # An unchanged state costs a 304 on the next poll.
            page.wait_for_timeout((REFRESH + 1) * 1000)
            assert 304 in summaries, summaries

            # A report filed through the app API appears within one refresh, without a reload.
            filed = page.request.post(
                f"{live_server.url}/api/v1/reports/",
                headers={"Authorization": f"Device {phone.secret}"},
                data={
                    "category": "schlagloch",
                    "description": "Tiefes Loch direkt an der Haltestelle",
                    "latitude": 51.5547,
                    "longitude": 7.3105,
                    "address": "Bahnhofstraße 40",
                    "idempotency_key": str(uuid.uuid4()),
                },
            )
            assert filed.status == 201, filed.text()
            new_id = filed.json()["id"]
            page.evaluate("window.notReloaded = true")
            expect(newest.first).to_have_attribute(
                "data-report-id", str(new_id), timeout=(REFRESH + 2) * 1000
            )
            expect(newest.first).to_contain_text("Schlagloch")
            expect(newest.first).to_contain_text("Bahnhofstraße")
            expect(newest.first).not_to_contain_text("Haltestelle")  # no description on the screen
            assert page.evaluate("window.notReloaded") is True
            expect(page.locator('[data-figure="today_count"]')).to_have_text(str(api["today_count"] + 1))

            # The network gone: the last state stays, with its time.
            stand = page.locator("#screen-stand").inner_text()
            figures = _figures_on(page)
            page.route("**/api/v1/reports/screen*", lambda route: route.abort())
            expect(screen).to_have_attribute("data-state", "offline", timeout=(REFRESH + 2) * 1000)
            expect(page.locator("#screen-offline")).to_be_visible()
            assert re.fullmatch(r"\d\d:\d\d", stand), stand
            expect(page.locator(".screen-state")).to_contain_text(f"Stand: {stand}")
            assert _figures_on(page) == figures
            expect(newest.first).to_have_attribute("data-report-id", str(new_id))
            page.screenshot(path=str(shots / "screen-offline.png"))
            # ... and it catches up when the network is back.
            page.unroute("**/api/v1/reports/screen*")
            expect(screen).to_have_attribute("data-state", "online", timeout=(REFRESH + 2) * 1000)
            expect(page.locator("#screen-offline")).to_be_hidden()

            # The dark theme at 3840x2160 (4K): the same layout, twice as sharp.
            big = context.new_page()
            big.set_viewport_size({"width": 3840, "height": 2160})
            big.goto(f"{live_server.url}/bildschirm/?theme=dark&refresh=30")
            expect(big.locator("#screen")).to_have_attribute("data-state", "online")
            big.wait_for_timeout(500)
            big.screenshot(path=str(shots / "screen-3840x2160-dark.png"))
            # A phone or an embed: the sections stack.
            small = context.new_page()
            small.set_viewport_size({"width": 390, "height": 844})
            small.goto(f"{live_server.url}/bildschirm/")
            expect(small.locator("#screen")).to_have_attribute("data-state", "online")
            assert small.evaluate("document.documentElement.scrollWidth") <= 390
            small.screenshot(path=str(shots / "screen-phone.png"), full_page=True)
            cookies = context.cookies()
        finally:
            browser.close()

    assert cookies == []
    assert all(not url.startswith(live_server.url) for url in refused)
