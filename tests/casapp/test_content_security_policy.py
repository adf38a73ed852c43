"""Content-Security-Policy: the HTML pages' policy on the admin and the API docs, a strict one on the rest.

The browser half (the docs and the admin render under the policy, with no violation) is
tests/casapp/test_content_security_policy_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.reports.factories import ReportFactory

API_POLICY = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed: dict[str, list[str]] = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def assert_page_policy(response: Any) -> dict[str, list[str]]:
    assert response["Content-Type"].startswith("text/html")
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, nothing from elsewhere
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    return policy


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/app/config",  # JSON
        "/api/v1/devices/me",  # a 401 in the error shape
        "/api/v1/no-such-thing",  # a 404 from Django's handler
        "/api/schema/",  # the OpenAPI document
        "/healthz",
    ],
)
def test_everything_but_html_gets_the_strict_policy(client, path):
    response = client.get(path)

    assert directives(response) == API_POLICY


@pytest.mark.django_db
def test_a_device_call_and_a_staff_call_get_the_strict_policy(device_client, comms_client):
    assert directives(device_client.get("/api/v1/devices/me")) == API_POLICY
    assert directives(comms_client.get("/api/v1/push/notifications/")) == API_POLICY


@pytest.mark.django_db
def test_a_body_beyond_the_limit_is_refused_with_the_strict_policy(client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 10
    response = client.post("/api/v1/devices/", "x" * 100, content_type="application/json")

    assert response.status_code == 413
    assert directives(response) == API_POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_get_the_page_policy_and_carry_no_inline_script(client, path):
    response = client.get(path)

    assert_page_policy(response)
    page = response.content.decode()
    assert not INLINE_SCRIPT.findall(page), INLINE_SCRIPT.findall(page)
    assert "fonts.googleapis.com" not in page


@pytest.mark.django_db
def test_swagger_ui_loads_its_start_script_from_this_origin(client):
    page = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page)
    assert script_url is not None, page

    script = client.get(script_url.group(1).replace("&amp;", "&"))

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


@pytest.mark.django_db
def test_the_admin_login_page_gets_the_page_policy(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert_page_policy(response)
    assert not INLINE_SCRIPT.findall(response.content.decode())


@pytest.mark.django_db
def test_admin_pages_of_a_signed_in_member_get_the_page_policy(admin_client):
    for path in ("/admin/", "/admin/push/notification/", "/admin/reports/report/"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        policy = assert_page_policy(response)
        assert "https://unpkg.com" not in policy["script-src"], path


@pytest.mark.django_db
def test_a_reports_page_in_the_admin_also_allows_its_map(admin_client):
    report = ReportFactory()

    response = admin_client.get(f"/admin/reports/report/{report.pk}/change/")

    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]  # Leaflet is ours
    assert "https://tile.openstreetmap.org" in policy["img-src"]
    assert policy["frame-ancestors"] == ["'none'"]
