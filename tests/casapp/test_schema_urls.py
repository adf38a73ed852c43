"""Every path of the published schema answers unknown sub-paths and wrong methods in the error shape."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from tests.conftest import _clear_cache, assert_error_shape

METHODS = ["get", "post", "put", "patch", "delete"]


@pytest.fixture
def schema(anon_client):
    response = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.django_db
def test_schema_is_served_and_documents_the_error_shape(schema):
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "detail", "request_id"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "500" in operation["responses"], (method, path)


@pytest.mark.django_db
def test_every_schema_path_answers_unknown_sub_paths_and_wrong_methods_in_the_error_shape(schema, device):
    clients = {"anonymous": APIClient(), "device": APIClient()}
    clients["device"].credentials(HTTP_AUTHORIZATION=f"Device {device.secret}")
    assert schema["paths"], "the schema lists no path"
    for path, operations in schema["paths"].items():
        url = _concrete(path)
        # Wrong methods count against the anonymous rate limit: this test is about their answers, and
        # with every new path it would run into the limit.
        _clear_cache()
        for client in clients.values():
            unknown = client.get(url.rstrip("/") + "/no-such-thing/")
            assert_error_shape(unknown, 404, "not_found")
            for method in METHODS:
                if method in operations:
                    continue
                response = getattr(client, method)(url)
                assert response.status_code in (401, 403, 405), (method, url, response.status_code)
                assert_error_shape(response, response.status_code)


def test_docs_are_served_without_external_assets(client, db):
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        for external in ("cdn.", "unpkg", "jsdelivr"):
            assert external not in page
        assert "/static/drf_spectacular_sidecar/" in page
