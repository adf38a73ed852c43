"""The one error shape, for every status the API can answer with, in German and English."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import assert_error_shape


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(anon_client):
    response = anon_client.get("/api/v1/does-not-exist")

    assert_error_shape(response, 404, "not_found")


def test_unknown_admin_path_stays_an_html_page(client, db):
    response = client.get("/admin/does-not-exist/")

    assert response.status_code in (302, 404)
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_detail_follows_accept_language(anon_client):
    german = anon_client.post("/api/v1/devices/", {}, format="json")
    english = anon_client.post("/api/v1/devices/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    default = anon_client.post("/api/v1/devices/", {}, format="json", HTTP_ACCEPT_LANGUAGE="fr")

    assert assert_error_shape(german, 400)["detail"] == "Ungültige Eingabe."
    assert assert_error_shape(english, 400)["detail"] == "Invalid input."
    assert assert_error_shape(default, 400)["detail"] == "Ungültige Eingabe."
    field_errors = {e["field"]: e for e in english.json()["errors"]}
    assert field_errors["platform"]["code"] == "required"
    assert field_errors["platform"]["detail"] == "This field is required."
    assert german.json()["errors"][0]["detail"] == "Dieses Feld ist zwingend erforderlich."


@pytest.mark.django_db
def test_wrong_method_is_a_405(anon_client):
    response = anon_client.delete("/api/v1/devices/")

    assert_error_shape(response, 405, "method_not_allowed")


@pytest.mark.django_db
def test_oversized_body_is_a_413_before_it_is_read(anon_client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000

    response = anon_client.post(
        "/api/v1/devices/", {"platform": "ios", "app_version": "1.0", "x": "y" * 2000}, format="json"
    )

    assert_error_shape(response, 413, "request_too_large")


@pytest.mark.django_db
def test_not_acceptable_is_a_406(anon_client):
    response = anon_client.get("/api/v1/app/config?platform=ios&version=1.0", HTTP_ACCEPT="application/xml")

    assert_error_shape(response, 406, "not_acceptable")


@pytest.mark.django_db
@pytest.mark.urls("tests.casapp.urls_crash")
def test_unhandled_error_in_a_view_is_logged_with_the_request_id_and_answered_in_the_shape(
    anon_client, caplog
):
    with caplog.at_level(logging.ERROR, logger="casapp.api"):
        response = anon_client.get("/api/v1/_crash")

    body = assert_error_shape(response, 500, "server_error")
    assert "boom" not in response.content.decode()
    crash_logs = [r for r in caplog.records if r.name == "casapp.api"]
    assert crash_logs
    assert crash_logs[0].exc_info is not None
    assert crash_logs[0].request_id == body["request_id"]


@pytest.mark.django_db
@pytest.mark.urls("tests.casapp.urls_crash")
def test_unhandled_error_outside_drf_is_answered_in_the_shape(client):
    client.raise_request_exception = False

    response = client.get("/api/v1/_crash_plain")

    assert_error_shape(response, 500, "server_error")


@pytest.mark.django_db
def test_request_id_from_a_proxy_is_kept_only_when_it_looks_like_one(anon_client):
    kept = anon_client.get("/api/v1/nope", HTTP_X_REQUEST_ID="lb-1234abcd")
    replaced = anon_client.get("/api/v1/nope", HTTP_X_REQUEST_ID="<script>alert(1)</script>")

    assert kept["X-Request-ID"] == "lb-1234abcd"
    assert replaced["X-Request-ID"] != "<script>alert(1)</script>"
    assert replaced.json()["request_id"] == replaced["X-Request-ID"]


@pytest.mark.django_db
def test_an_unreachable_rate_limit_store_does_not_take_the_api_down(anon_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = anon_client.get("/api/v1/app/config", {"platform": "ios", "version": "1.0"})

    assert response.status_code == 200
