"""Service tier, in a real browser: the notification form's preview and audience as a person types, with an
image chosen from the disk, under the pages' Content-Security-Policy and with nothing loaded from outside.

Debian's ``chromium`` driven by Playwright (tests/browser.py); as in the other browser tests, the database is
touched only before the browser starts and after it is closed. Screenshots of the form and of the saved
notification's page go to ``.pytest-media/push/`` (``PYTEST_MEDIA_DIR`` overrides the directory).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from push.models import Notification, PushImage, Topic
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA, PASSWORD, needs_chromium, offsite
from tests.factories import InstallationFactory, StaffFactory
from tests.reports import images

pytestmark = [
    pytest.mark.services,
    needs_chromium,
]

LONG_TITLE = "Vollsperrung der Wittener Straße zwischen Bahnhof und Marktplatz ab Montag"  # 74 characters
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.mark.django_db(transaction=True)
def test_the_preview_and_the_audience_follow_what_is_typed(live_server: Any, tmp_path: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    author = StaffFactory(roles=["Kommunikation"])
    outages = Topic.objects.get(key="stoerungen")
    for index, (platform, locale, stadtteil) in enumerate(
        [
            ("android", "de", "Ickern"),
            ("ios", "de", "Ickern"),
            ("ios", "en", "Castrop"),
            ("android", "tr", "Rauxel"),
        ]
    ):
        InstallationFactory(
            platform=platform,
            locale=locale,
            stadtteil=stadtteil,
            push_token=f"token-browser-preview-{index:04d}",
            push_token_kind="fid",
        ).topics.add(outages)
    photo = tmp_path / "wasserrohrbruch.jpg"
    photo.write_bytes(images.phone_jpeg((1600, 1200), orientation=None, noise=False))
    shots = MEDIA / "push"
    shots.mkdir(parents=True, exist_ok=True)

    refused: list[str] = []
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1800})

            def refuse(route: Any) -> None:
                refused.append(route.request.url)
                route.abort()

            context.route(offsite(live_server.url), refuse)
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

            page.goto(f"{live_server.url}/admin/login/?next=/admin/push/notification/add/")
            page.fill("input[name=username]", author.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(re.compile(r"/admin/push/notification/add/$"))

            preview = page.locator("#push-preview")
            audience = page.locator("#push-audience")
            # The first answer comes as the page opens: four lock screens and every outage subscriber.
            expect(preview.locator(".push-lock")).to_have_count(4)
            expect(audience.locator(".push-preview__audience")).to_have_attribute("data-total", "4")
            expect(audience).to_contain_text("Android 2, iOS 2")

            page.fill("#id_title_de", LONG_TITLE)
            page.fill("#id_body_de", "Wegen eines Wasserrohrbruchs. Umleitung über die Lange Straße.")
            ios_german = preview.locator(
                '.push-lock[data-platform="ios"][data-language="de"] .push-lock__title'
            )
            expect(ios_german).to_have_text(LONG_TITLE[:49].rstrip() + "…")
            android_german = preview.locator(
                '.push-lock[data-platform="android"][data-language="de"] .push-lock__title'
            )
            expect(android_german).to_have_text(LONG_TITLE[:64].rstrip() + "…")
            warnings = preview.locator(".push-preview__warnings")
            expect(warnings).to_contain_text("iOS schneidet Titel (Deutsch) nach 50 Zeichen ab.")
            expect(warnings).to_contain_text("Es gibt keinen englischen Text")
            english_ios = preview.locator('.push-lock[data-platform="ios"][data-language="en"]')
            expect(english_ios).to_contain_text("deutscher Text")

            page.fill("#id_title_en", "Wittener Straße closed")
            page.fill("#id_body_en", "Because of a burst water main.")
            expect(english_ios.locator(".push-lock__title")).to_have_text("Wittener Straße closed")
            expect(warnings).not_to_contain_text("Es gibt keinen englischen Text")

            # Narrowed to one Stadtteil, then to one nobody lives in.
            page.select_option("#id_audience_kind", "stadtteile")
            page.check('input[name=audience_stadtteile][value="Ickern"]')
            expect(audience.locator(".push-preview__audience")).to_have_attribute("data-total", "2")
            page.uncheck('input[name=audience_stadtteile][value="Ickern"]')
            page.check('input[name=audience_stadtteile][value="Frohlinde"]')
            expect(audience.locator(".push-preview__audience")).to_have_attribute("data-total", "0")
            expect(audience.locator(".push-preview__errors")).to_contain_text("kein einziges Gerät")
            page.uncheck('input[name=audience_stadtteile][value="Frohlinde"]')
            page.check('input[name=audience_stadtteile][value="Ickern"]')
            expect(audience.locator(".push-preview__audience")).to_have_attribute("data-total", "2")

            # An image from the disk is shown at once, before it is uploaded.
            page.set_input_files("#id_image_upload", str(photo))
            expect(preview.locator("img.push-lock__image").first).to_have_attribute(
                "src", re.compile("^data:image/jpeg")
            )
            # The number only where the target takes one, the address only for a web page.
            expect(page.locator("#id_link_id")).to_be_hidden()
            page.select_option("#id_link_target", "report")
            expect(page.locator("#id_link_id")).to_be_visible()
            expect(page.locator("#id_link_id")).to_have_attribute("list", "push-link-report")
            expect(page.locator("#id_link_url")).to_be_hidden()
            page.select_option("#id_link_target", "web")
            expect(page.locator("#id_link_url")).to_be_visible()
            expect(page.locator("#id_link_id")).to_be_hidden()
            page.select_option("#id_link_target", "waste_calendar")
            expect(preview.locator(".push-preview__sizes")).to_contain_text("Abfallkalender")
            page.screenshot(path=str(shots / "notification-form.png"), full_page=True)

            page.click("input[name=_continue]")
            page.wait_for_url(re.compile(r"/admin/push/notification/\d+/change/"))
            expect(page.locator("#push-audience .push-preview__audience")).to_have_attribute(
                "data-total", "2"
            )
            saved_image = page.locator("#push-preview img.push-lock__image").first
            expect(saved_image).to_have_attribute("src", re.compile(r"^/push/images/[0-9a-f-]{36}\.jpg$"))
            assert saved_image.evaluate("image => image.complete && image.naturalWidth") == 1440
            page.screenshot(path=str(shots / "notification-detail.png"), full_page=True)
            violations = page.evaluate("window.__cspViolations")
        finally:
            browser.close()

    assert violations == [], violations
    assert refused == [], refused
    assert not [line for line in console if "error" in line.lower()], console
    notification = Notification.objects.get()
    assert notification.deep_link == "casapp://waste"
    assert notification.audience_stadtteile == ["Ickern"]
    assert str(PushImage.objects.get().pk) in notification.image_url
