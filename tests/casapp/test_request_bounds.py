"""Requests that cannot crash or exhaust a worker: JSON nesting and numbers, the number of parameters,
``page_size`` and ``?format=``; every refusal a 400 in the API's one error shape (Open311: the spec's)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import get_resolver

from casapp.api.parsers import MAX_JSON_DEPTH
from tests.conftest import assert_error_shape

TOO_MANY = 1001  # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000
TOO_MANY_QUERY = "&".join(f"p{index}=1" for index in range(TOO_MANY))


def nested(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


# --- JSON nesting and numbers


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400_not_a_recursion_error(anon_client):
    response = anon_client.post("/api/v1/devices/", data=nested(1000), content_type="application/json")

    body = assert_error_shape(response, 400, "parse_error")
    assert str(MAX_JSON_DEPTH) in body["detail"]


@pytest.mark.django_db
def test_nesting_is_counted_outside_strings_only(anon_client):
    # 1000 brackets inside a string are text: the body parses and fails validation on its fields.
    body = {"platform": "ios", "app_version": "[" * 1000, "locale": "de"}

    response = anon_client.post("/api/v1/devices/", data=json.dumps(body), content_type="application/json")

    errors = assert_error_shape(response, 400, "validation_error")["errors"]
    assert [error["field"] for error in errors] == ["app_version"]


@pytest.mark.django_db
def test_json_nested_up_to_the_limit_is_parsed(anon_client):
    payload = (
        '{"platform": "ios", "app_version": "1.0", "locale": "de", "x": ' + nested(MAX_JSON_DEPTH - 1) + "}"
    )

    response = anon_client.post("/api/v1/devices/", data=payload, content_type="application/json")

    assert response.status_code == 201, response.content[:300]


@pytest.mark.django_db
def test_deeply_nested_json_string_in_a_form_field_is_a_400(device_client):
    # Multipart submissions carry the answers as a JSON string; DRF's JSONField parsed it unbounded.
    response = device_client.post(
        "/api/v1/reports/",
        {"category": "x", "latitude": "51.55", "longitude": "7.31", "answers": nested(5000)},
        format="multipart",
    )

    errors = assert_error_shape(response, 400, "validation_error")["errors"]
    answers = [error for error in errors if error["field"] == "answers"]
    assert answers
    assert str(MAX_JSON_DEPTH) in answers[0]["detail"]


@pytest.mark.django_db
def test_long_integers_and_infinite_numbers_in_json_are_parse_errors(anon_client):
    for number in ("1" * 4301, "9" * 400, "1e999", "-1e999"):
        payload = '{"platform": "ios", "app_version": "1.0", "locale": "de", "x": ' + number + "}"

        response = anon_client.post("/api/v1/devices/", data=payload, content_type="application/json")

        assert_error_shape(response, 400, "parse_error")


@pytest.mark.django_db
def test_app_version_of_4301_digits_is_a_400_in_the_body(anon_client):
    response = anon_client.post(
        "/api/v1/devices/", {"platform": "ios", "app_version": "1" * 4301, "locale": "de"}, format="json"
    )

    errors = assert_error_shape(response, 400, "validation_error")["errors"]
    assert [(error["field"], error["code"]) for error in errors] == [("app_version", "max_length")]


@pytest.mark.django_db
def test_app_version_of_4301_digits_is_a_400_on_app_config(anon_client):
    response = anon_client.get("/api/v1/app/config", {"platform": "ios", "version": "1" * 4301})

    errors = assert_error_shape(response, 400, "validation_error")["errors"]
    assert [error["field"] for error in errors] == ["version"]


# --- The number of query and form parameters


def _route_paths() -> list[str]:
    """One concrete path for every URL pattern of the project (admin, API, Open311, health)."""
    values = {"format": "json", "location_id": "abc123", "service_code": "x", "token": "t"}
    any_uuid = str(uuid.UUID(int=1))
    paths: set[str] = set()

    def walk(resolver: Any, prefix: str) -> None:
        for key in resolver.reverse_dict:
            for possibilities, _pattern, _defaults, _converters in resolver.reverse_dict.getlist(key):
                for template, parameters in possibilities:
                    filled = {
                        parameter: values.get(parameter, any_uuid if "uuid" in parameter else "1")
                        for parameter in parameters
                    }
                    paths.add("/" + prefix + template % filled)
        for namespace_prefix, namespaced in resolver.namespace_dict.values():
            walk(namespaced, prefix + namespace_prefix)

    walk(get_resolver(), "")
    return sorted(paths)


def test_the_route_walk_covers_every_part_of_the_site():
    paths = _route_paths()

    for prefix in (
        "/api/v1/waste/",
        "/api/v1/reports/",
        "/api/v1/staff/",
        "/open311/v2/",
        "/admin/",
        "/healthz",
    ):
        assert any(path.startswith(prefix) for path in paths), prefix
    assert "/api/v1/waste/locations/abc123.ics" in paths
    assert len(paths) > 50


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "options"])
def test_more_than_1000_query_parameters_are_a_400_on_every_route(anon_client, method):
    for path in _route_paths():
        response = getattr(anon_client, method)(f"{path}?{TOO_MANY_QUERY}")

        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        if path.startswith("/open311/"):
            description = response.json()[0]["description"] if path.endswith(".json") else response.content
            assert description
        else:
            body = assert_error_shape(response, 400, "too_many_parameters")
            assert "1000" in body["detail"]


@pytest.mark.django_db
def test_too_many_query_parameters_are_refused_in_the_clients_language(anon_client):
    german = anon_client.get(f"/api/v1/waste/types/?{TOO_MANY_QUERY}")
    english = anon_client.get(f"/api/v1/waste/types/?{TOO_MANY_QUERY}", HTTP_ACCEPT_LANGUAGE="en")

    assert assert_error_shape(german, 400, "too_many_parameters")["detail"].startswith("Zu viele Parameter")
    assert assert_error_shape(english, 400, "too_many_parameters")["detail"].startswith("Too many parameters")


@pytest.mark.django_db
def test_open311_refuses_too_many_query_parameters_in_its_own_format(reader_client):
    as_json = reader_client.get(f"/open311/v2/requests.json?{TOO_MANY_QUERY}")
    as_xml = reader_client.get(f"/open311/v2/services.xml?{TOO_MANY_QUERY}")

    assert as_json.status_code == 400
    assert as_json["Content-Type"].startswith("application/json")
    [error] = as_json.json()
    assert error["code"] == 400
    assert "1000" in error["description"]
    assert as_xml.status_code == 400
    assert as_xml["Content-Type"].startswith("text/xml")
    assert b"<errors><error><code>400</code><description>" in as_xml.content


@pytest.fixture
def reader_client() -> Any:
    from django.test import Client

    return Client()


@pytest.mark.django_db
def test_more_than_1000_form_parameters_are_a_400_on_open311_post(reader_client):
    fields = {f"p{index}": "1" for index in range(TOO_MANY)}

    urlencoded = reader_client.post("/open311/v2/requests.json", fields)  # multipart by the test client
    form = reader_client.post(
        "/open311/v2/requests.json", urlencode(fields), content_type="application/x-www-form-urlencoded"
    )

    for response in (urlencoded, form):
        assert response.status_code == 400, response.content[:300]
        [error] = response.json()
        assert "1000" in error["description"]


@pytest.mark.django_db
def test_open311_answers_an_oversized_form_field_with_413_in_its_format(reader_client):
    response = reader_client.post("/open311/v2/requests.xml", {"description": "x" * (3 * 1024 * 1024)})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/xml")
    assert b"<code>413</code>" in response.content


@pytest.mark.django_db
def test_more_than_1000_form_parameters_are_a_400_on_the_report_submission(device_client):
    fields = {f"p{index}": "1" for index in range(TOO_MANY)}

    response = device_client.post("/api/v1/reports/", fields, format="multipart")

    assert_error_shape(response, 400, "too_many_parameters")


# --- page_size and ?format=


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "201", "1.5", "9" * 5000, " 5"])
def test_invalid_page_size_is_a_400_with_the_allowed_range(anon_client, page_size):
    response = anon_client.get("/api/v1/reports/", {"page_size": page_size})

    [error] = assert_error_shape(response, 400, "validation_error")["errors"]
    assert error["field"] == "page_size"
    assert "1" in error["detail"]
    assert "200" in error["detail"]


@pytest.mark.django_db
def test_page_size_in_range_or_empty_is_taken(anon_client):
    for page_size in ("1", "200", ""):
        response = anon_client.get("/api/v1/reports/", {"page_size": page_size})

        assert response.status_code == 200, (page_size, response.content[:200])


@pytest.mark.django_db
def test_page_size_limit_is_each_lists_own(device_client):
    # The inbox allows what its own pagination says, not the default 200.
    from push.api.views import InboxPagination

    limit = InboxPagination.max_page_size
    assert device_client.get("/api/v1/devices/me/inbox", {"page_size": str(limit)}).status_code == 200

    response = device_client.get("/api/v1/devices/me/inbox", {"page_size": str(limit + 1)})

    [error] = assert_error_shape(response, 400, "validation_error")["errors"]
    assert str(limit) in error["detail"]


@pytest.mark.django_db
def test_unknown_format_is_a_400_listing_the_allowed_formats(anon_client):
    response = anon_client.get("/api/v1/reports/", {"format": "xml"}, HTTP_ACCEPT_LANGUAGE="en")

    [error] = assert_error_shape(response, 400, "validation_error")["errors"]
    assert error["field"] == "format"
    assert error["code"] == "invalid_choice"
    assert "json" in error["detail"]


@pytest.mark.django_db
def test_known_format_is_still_served(anon_client):
    response = anon_client.get("/api/v1/reports/", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_open311_suffixes_still_choose_the_format(reader_client):
    as_xml = reader_client.get("/open311/v2/services.xml")
    as_json = reader_client.get("/open311/v2/services.json")
    unknown_suffix = reader_client.get("/open311/v2/services.yaml")

    assert as_xml.status_code == 200
    assert as_xml["Content-Type"].startswith("text/xml")
    assert as_json.status_code == 200
    assert as_json.json() == []
    assert unknown_suffix.status_code == 404


@pytest.mark.django_db
def test_unknown_format_never_answers_a_5xx_on_any_route(anon_client):
    for path in _route_paths():
        response = anon_client.get(path, {"format": "bogus"})

        assert response.status_code < 500, (path, response.status_code, response.content[:200])
        if path.startswith("/api/v1/"):
            assert_error_shape(response, 400, "validation_error")
