"""A backing service that cannot be reached answers 503 ``service_unavailable`` in the one error shape.

The cache here is a real Redis client aimed at a loopback port where nothing listens: the connection is
refused, as while Redis restarts. (A database that is away is covered by ``bench.faults`` and
``tests/casapp/test_faults.py``.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.conftest import assert_error_shape
from tests.waste_calendar.factories import LocationFactory


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
def cache_unreachable() -> Iterator[None]:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "casapp",
        }
    }
    # REDIS_URL too, so the rate limits count in (unreachable) Redis as in production.
    with override_settings(CACHES=unreachable, REDIS_URL=url):
        yield


@pytest.mark.django_db
def test_an_api_view_answers_503_with_retry_after_while_the_cache_is_unreachable(
    anon_client, cache_unreachable
):
    response = anon_client.get("/api/v1/reports/stats", HTTP_ACCEPT_LANGUAGE="de")

    body = assert_error_shape(response, 503, "service_unavailable")
    assert (
        body["detail"] == "Der Dienst ist kurz nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."
    )
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_the_app_start_up_configuration_comes_from_the_database_while_the_cache_is_unreachable(
    anon_client, cache_unreachable
):
    response = anon_client.get("/api/v1/app/config", {"platform": "ios", "version": "1.0.0"})

    assert response.status_code == 200, response.content[:300]
    assert response.json()["force_update"] is False


@pytest.mark.django_db
def test_a_plain_django_view_answers_the_same_503(anon_client, cache_unreachable):
    location = LocationFactory()

    response = anon_client.get(f"/api/v1/waste/locations/{location.public_id}.ics", HTTP_ACCEPT_LANGUAGE="en")

    body = assert_error_shape(response, 503, "service_unavailable")
    assert body["detail"] == "The service is briefly unavailable. Please try again in a moment."
    assert response["Retry-After"] == "5"
