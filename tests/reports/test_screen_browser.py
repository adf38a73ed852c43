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

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from django.core.management import call_command

from reports.models import Report
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA, needs_chromium, offsite
from tests.factories import InstallationFactory

REFRESH = 5  # seconds, the page's minimum
# The server computes a new state every REFRESH seconds too; a screen asks just after it, within 0.5-2 s.
WITHIN_ONE_REFRESH = (2 * REFRESH + 2) * 1000
ROAD_CATEGORIES = {
    "schlagloch",
    "gehweg-schaden",
    "radweg",
    "gully",
    "verkehrszeichen",
}  # the demo's "strassen"

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
def test_the_screen_in_city_hall(live_server: Any, settings: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    settings.SCREEN_SUMMARY_SECONDS = REFRESH
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
            # The demo has more categories open than the panel's six rows: the rest summed in the last one,
            # so the bars add up to the open reports.
            assert len(api["open_by_category"]) > 6
            bars = page.locator("#screen-by-category li")
            expect(bars).to_have_count(6)
            expect(bars.last).to_contain_text("weitere Kategorien")
            counts = bars.locator(".screen-bar-count").all_inner_texts()
            assert sum(int(count) for count in counts) == api["open_count"]
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

            # An unchanged state costs a 304 on the next poll: it comes just after the server's next window
            # plus up to 2 s of spread, later on a busy machine, so wait for it up to three refreshes.
            for _ in range(REFRESH * 3 * 2):
                if 304 in summaries:
                    break
                page.wait_for_timeout(500)
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
            expect(newest.first).to_have_attribute("data-report-id", str(new_id), timeout=WITHIN_ONE_REFRESH)
            expect(newest.first).to_contain_text("Schlagloch")
            expect(newest.first).to_contain_text("Bahnhofstraße")
            expect(newest.first).not_to_contain_text("Haltestelle")  # no description on the screen
            assert page.evaluate("window.notReloaded") is True
            expect(page.locator('[data-figure="today_count"]')).to_have_text(str(api["today_count"] + 1))

            # The network gone: the last state stays, with its time.
            stand = page.locator("#screen-stand").inner_text()
            figures = _figures_on(page)
            page.route("**/api/v1/reports/screen*", lambda route: route.abort())
            expect(screen).to_have_attribute("data-state", "offline", timeout=WITHIN_ONE_REFRESH)
            expect(page.locator("#screen-offline")).to_be_visible()
            assert re.fullmatch(r"\d\d:\d\d", stand), stand
            expect(page.locator(".screen-state")).to_contain_text(f"Stand: {stand}")
            assert _figures_on(page) == figures
            expect(newest.first).to_have_attribute("data-report-id", str(new_id))
            page.screenshot(path=str(shots / "screen-offline.png"))
            # ... and it catches up when the network is back.
            page.unroute("**/api/v1/reports/screen*")
            expect(screen).to_have_attribute("data-state", "online", timeout=WITHIN_ONE_REFRESH)
            expect(page.locator("#screen-offline")).to_be_hidden()

            # A screen configured by its URL: the roads only, dark, turning between map and figures.
            roads = context.new_page()
            roads.goto(f"{live_server.url}/bildschirm/?category=strassen&theme=dark&view=rotate&rotate=5")
            expect(roads.locator("#screen")).to_have_attribute("data-state", "online")
            with urlopen(f"{live_server.url}/api/v1/reports/screen?category=strassen") as answer:  # noqa: S310
                roads_api = json.load(answer)
            assert roads_api["open_count"] < api["open_count"]
            assert _figures_on(roads)["open_count"] == str(roads_api["open_count"])
            assert {item["key"] for item in roads_api["open_by_category"]} <= ROAD_CATEGORIES
            expect(roads.locator("h1")).to_contain_text("Straßen und Wege")  # what this screen shows
            expect(roads.locator("html")).to_have_class("screen-theme-dark")
            expect(roads.locator("#screen")).to_have_class(re.compile(r"\bscreen--map\b"))
            expect(roads.locator(".screen-figures")).to_be_hidden()
            roads.screenshot(path=str(shots / "screen-rotate-map-dark.png"))
            expect(roads.locator("#screen")).to_have_class(re.compile(r"\bscreen--figures\b"), timeout=8000)
            expect(roads.locator(".screen-figures")).to_be_visible()
            expect(roads.locator(".screen-map-panel")).to_be_hidden()
            roads.screenshot(path=str(shots / "screen-rotate-figures-dark.png"))
            roads.close()
            # One Stadtteil: named in the heading, its figures the API's.
            ickern = context.new_page()
            ickern.goto(f"{live_server.url}/bildschirm/?stadtteil=Ickern")
            expect(ickern.locator("#screen")).to_have_attribute("data-state", "online")
            expect(ickern.locator("h1")).to_contain_text("Ickern")
            with urlopen(f"{live_server.url}/api/v1/reports/screen?stadtteil=Ickern") as answer:  # noqa: S310
                ickern_api = json.load(answer)
            assert _figures_on(ickern)["open_count"] == str(ickern_api["open_count"])
            ickern.close()

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

    # No cookie, and nothing requested from anywhere but this site, except the map's tiles
    # (MAP_TILE_URL; refused here, the boundary is drawn without them).
    assert cookies == []
    tiles = urlsplit(settings.MAP_TILE_URL).netloc
    assert {urlsplit(url).netloc for url in refused} <= {tiles}, refused


@pytest.mark.django_db(transaction=True)
def test_the_city_website_embeds_the_screen_and_no_other_site_can(live_server: Any, settings: Any) -> None:
    """The city's website on another origin (a second server on loopback) frames /bildschirm/ once
    SCREEN_FRAME_ANCESTORS names it; without, the browser refuses the frame."""
    from playwright.sync_api import expect, sync_playwright

    call_command("load_demo", stdout=StringIO())
    with (
        _city_website(f"{live_server.url}/bildschirm/?view=figures") as city,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
            refused: list[str] = []

            def refuse(route: Any) -> None:
                refused.append(route.request.url)
                route.abort()

            context.route(re.compile(rf"^(?!({re.escape(live_server.url)}|{re.escape(city)})/).*"), refuse)
            page = context.new_page()
            page.set_default_timeout(20_000)

            settings.SCREEN_FRAME_ANCESTORS = [city]
            page.goto(f"{city}/")
            embedded = page.frame_locator("iframe")
            expect(embedded.locator("#screen")).to_have_attribute("data-state", "online")
            expect(embedded.locator('[data-figure="open_count"]')).not_to_have_text("\u2013")
            page.screenshot(path=str(MEDIA / "screen" / "screen-embedded.png"))

            settings.SCREEN_FRAME_ANCESTORS = []
            page.reload()
            page.wait_for_load_state("load")
            page.wait_for_timeout(500)
            expect(embedded.locator("#screen")).to_have_count(0)  # the browser refused the frame
            cookies = context.cookies()
        finally:
            browser.close()

    assert cookies == []
    assert refused == []


@contextlib.contextmanager
def _city_website(screen_url: str) -> Iterator[str]:
    """A page of "the city's website" with the screen in an iframe, served from another origin."""
    page = (
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Stadt Castrop-Rauxel</title>'
        "</head><body><h1>Mängelmelder: der aktuelle Stand</h1>"
        f'<iframe src="{screen_url}" title="Mängelmelder" width="1200" height="760" '
        'style="border:0"></iframe></body></html>'
    ).encode()

    class CityPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), CityPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_screen_of_one_stadtteil_says_when_no_boundaries_are_loaded(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    call_command("load_demo", stdout=StringIO())  # the demo loads no Stadtteil polygons
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1920, "height": 1080})
            context.route(re.compile(rf"^(?!{re.escape(live_server.url)}/).*"), lambda route: route.abort())
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{live_server.url}/bildschirm/?stadtteil=Ickern")
            expect(page.locator("#screen")).to_have_attribute("data-state", "online")
            expect(page.locator("#screen-no-districts")).to_be_visible()
            expect(page.locator("#screen-no-districts")).to_contain_text("keine Stadtteilgrenzen")
            page.screenshot(path=str(MEDIA / "screen" / "screen-stadtteil-without-boundaries.png"))
            whole_city = context.new_page()
            whole_city.goto(f"{live_server.url}/bildschirm/")
            expect(whole_city.locator("#screen")).to_have_attribute("data-state", "online")
            expect(whole_city.locator("#screen-no-districts")).to_be_hidden()
        finally:
            browser.close()
