"""Service tier, in a real browser: the API docs and the admin work under their Content-Security-Policy.

Debian's ``chromium`` driven by Playwright (see tests/reports/test_triage_browser.py for why the database
is only touched before the browser starts). Every page is loaded with listeners for what the browser
reports when the policy blocks something: the ``securitypolicyviolation`` DOM event and its console
message. Swagger UI must draw the operations of the schema, Redoc its sections, the admin its login form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium, offsite

pytestmark = [
    pytest.mark.services,
    needs_chromium,
]

# Recorded before any script of the page runs, so a violation during loading is not missed.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
# Redoc's sidebar always links "API docs by Redocly" with a logo from cdn.redoc.ly (hard-coded in the bundle,
# no option turns it off; it hides itself when the image fails). The policy refuses it on purpose: the docs
# make no third-party request. It is the one violation expected, and only on Redoc.
REDOC_LOGO_BLOCKED = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".pytest-screenshots"


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_and_the_admin_render_without_a_policy_violation(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1400})
            # Nothing leaves the machine; a page that tried would be blocked by the policy first anyway.
            context.route(offsite(live_server.url), lambda route: route.abort())
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

            def violations(*, expected: str = "") -> list[str]:
                reported: list[str] = page.evaluate("window.__cspViolations")
                logged = [line for line in console if "Content Security Policy" in line]
                return [line for line in reported if line != expected] + [
                    line for line in logged if not (expected and expected.split()[1] in line)
                ]

            # Swagger UI: its start script comes from this origin, and it draws every operation.
            response = page.goto(f"{live_server.url}/api/docs/")
            assert response is not None
            assert "script-src 'self'" in response.headers["content-security-policy"]
            expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
            assert page.locator(".opblock").count() >= 50
            expect(page.locator(".opblock-summary-path", has_text="/api/v1/devices/me").first).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "swagger-ui.png"))
            assert violations() == [], violations()

            # Redoc: renders the schema's operations in its menu.
            console.clear()
            page.goto(f"{live_server.url}/api/redoc/")
            expect(page.locator("h1", has_text="CAS-App API")).to_be_visible(timeout=30_000)
            expect(page.locator("li[data-item-id^='tag/']").first).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "redoc.png"))
            assert violations(expected=REDOC_LOGO_BLOCKED) == [], violations(expected=REDOC_LOGO_BLOCKED)

            # The admin's login page.
            console.clear()
            page.goto(f"{live_server.url}/admin/login/")
            expect(page.locator("input[name=username]")).to_be_visible()
            expect(page.locator("input[name=password]")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "admin-login.png"))
            assert violations() == [], violations()
        finally:
            browser.close()
