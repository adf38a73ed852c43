"""Responses are what the published schema says, checked with schemathesis' own validator.

The bounded run over every operation is `make conformance` (tests/schema_conformance.py); these pin the
cases it found, where a value the schema calls an enum or a URI was sent as "" instead of null.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.reports.factories import ReportFactory

NOTIFICATIONS = "/api/v1/push/notifications/"
NEWS = {"de": {"title": "Neues Freibad", "body": "Das Parkbad öffnet am Samstag."}}


@pytest.fixture
def openapi(anon_client: Any) -> OpenApiSchema:
    response = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


def assert_documented(openapi: OpenApiSchema, method: str, path: str, response: Any) -> dict[str, Any]:
    """Fails with schemathesis' explanation unless the status and body are documented for the operation."""
    operation = openapi[path][method.upper()]
    assert str(response.status_code) in operation.definition.raw["responses"], response.status_code
    checked = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=response.content,
        request=requests.Request(method.upper(), f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=False,
    )
    operation.validate_response(checked)  # raises with schemathesis' explanation
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.django_db
def test_an_installation_without_push_token_has_no_token_kind(anon_client, openapi):
    registered = anon_client.post(
        "/api/v1/devices/", {"platform": "ios", "app_version": "2.4.1"}, format="json"
    )
    body = assert_documented(openapi, "post", "/api/v1/devices/", registered)
    assert body["has_push_token"] is False
    assert body["push_token_kind"] is None

    anon_client.credentials(HTTP_AUTHORIZATION=f"Device {body['secret']}")
    me = assert_documented(openapi, "get", "/api/v1/devices/me", anon_client.get("/api/v1/devices/me"))
    assert me["push_token_kind"] is None


@pytest.mark.django_db
def test_switching_push_off_leaves_no_token_kind_and_a_new_token_brings_it_back(device_client, openapi):
    path = "/api/v1/devices/me"
    off = assert_documented(
        openapi, "patch", path, device_client.patch(path, {"push_token": None}, format="json")
    )
    assert (off["has_push_token"], off["push_token_kind"]) == (False, None)

    on = assert_documented(
        openapi,
        "patch",
        path,
        device_client.patch(path, {"push_token": "fcm-token-abcdefghijklmnop"}, format="json"),
    )
    assert (on["has_push_token"], on["push_token_kind"]) == (True, "registration_token")


@pytest.mark.django_db
def test_news_without_image_has_null_image_url_and_null_outage_state(comms_client, openapi):
    created = comms_client.post(NOTIFICATIONS, {"kind": "news", "content": NEWS}, format="json")
    draft = assert_documented(openapi, "post", NOTIFICATIONS, created)
    assert (draft["image_url"], draft["outage_state"]) == (None, None)

    detail_path = "/api/v1/push/notifications/{id}"
    detail = comms_client.get(f"{NOTIFICATIONS}{draft['id']}")
    assert assert_documented(openapi, "get", detail_path, detail)["image_url"] is None
    listed = assert_documented(openapi, "get", NOTIFICATIONS, comms_client.get(NOTIFICATIONS))
    assert [(item["image_url"], item["outage_state"]) for item in listed["results"]] == [(None, None)]


@pytest.mark.django_db
def test_an_image_and_an_outage_state_are_shown_as_they_are(comms_client, openapi):
    created = comms_client.post(
        NOTIFICATIONS,
        {
            "kind": "outage",
            "content": NEWS,
            "image_url": "https://www.castrop-rauxel.de/bild.png",
        },
        format="json",
    )
    draft = assert_documented(openapi, "post", NOTIFICATIONS, created)
    assert (draft["image_url"], draft["outage_state"]) == (
        "https://www.castrop-rauxel.de/bild.png",
        "ongoing",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("image_url", ["", None])
def test_an_image_is_removed_with_an_empty_string_or_null(comms_client, openapi, image_url):
    created = comms_client.post(
        NOTIFICATIONS,
        {"kind": "news", "content": NEWS, "image_url": "https://www.castrop-rauxel.de/bild.png"},
        format="json",
    ).json()

    changed = comms_client.patch(f"{NOTIFICATIONS}{created['id']}", {"image_url": image_url}, format="json")

    body = assert_documented(openapi, "patch", "/api/v1/push/notifications/{id}", changed)
    assert body["image_url"] is None


@pytest.mark.django_db
def test_a_forged_cursor_answers_a_documented_404(anon_client, device_client, openapi):
    forged = {"cursor": "not-a-cursor"}
    for client, path in [
        (anon_client, "/api/v1/reports/"),
        (device_client, "/api/v1/reports/mine"),
        (device_client, "/api/v1/devices/me/inbox"),
    ]:
        response = client.get(path, forged)
        assert response.status_code == 404
        assert_documented(openapi, "get", path, response)


@pytest.mark.django_db
def test_every_cursor_paginated_list_documents_the_404_of_a_forged_cursor(openapi):
    paginated = [
        (operation.method, operation.path)
        for operation in (result.ok() for result in openapi.get_all_operations())
        if any(parameter.name == "cursor" for parameter in operation.query)
    ]
    assert len(paginated) >= 5
    for method, path in paginated:
        assert "404" in openapi[path][method.upper()].definition.raw["responses"], (method, path)


@pytest.mark.django_db
def test_a_report_without_stadtteil_media_link_or_e_mail_shows_them_as_null_to_staff(
    administration_client, openapi
):
    report = ReportFactory(stadtteil="", media_url="", contact_email="")

    listed = administration_client.get("/api/v1/staff/reports/")
    assert (
        assert_documented(openapi, "get", "/api/v1/staff/reports/", listed)["results"][0]["stadtteil"] is None
    )
    detail = assert_documented(
        openapi,
        "get",
        "/api/v1/staff/reports/{id}",
        administration_client.get(f"/api/v1/staff/reports/{report.pk}"),
    )
    assert (detail["stadtteil"], detail["media_url"], detail["contact_email"]) == (None, None, None)


@pytest.mark.django_db
def test_a_report_with_stadtteil_media_link_and_e_mail_shows_them_to_staff(administration_client, openapi):
    report = ReportFactory(
        stadtteil="Ickern", media_url="https://example.org/video", contact_email="erika@example.org"
    )

    detail = assert_documented(
        openapi,
        "get",
        "/api/v1/staff/reports/{id}",
        administration_client.get(f"/api/v1/staff/reports/{report.pk}"),
    )
    assert (detail["stadtteil"], detail["media_url"], detail["contact_email"]) == (
        "Ickern",
        "https://example.org/video",
        "erika@example.org",
    )


@pytest.mark.django_db
def test_a_report_filed_without_contact_data_has_a_null_contact_email(device_client, openapi):
    from tests.reports.factories import CITY_POINT, CategoryFactory

    category = CategoryFactory(key="schlagloch")
    filing = {"category": category.key, "latitude": CITY_POINT[0], "longitude": CITY_POINT[1]}
    filed = assert_documented(
        openapi, "post", "/api/v1/reports/", device_client.post("/api/v1/reports/", filing, format="json")
    )
    assert (filed["contact_email"], filed["contact_phone"]) == (None, "")

    mine = device_client.get(f"/api/v1/reports/mine/{filed['id']}")
    assert (
        assert_documented(openapi, "get", "/api/v1/reports/mine/{report_id}", mine)["contact_email"] is None
    )
