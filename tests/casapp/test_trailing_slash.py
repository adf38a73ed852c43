"""One URL policy: every API and Open311 path answers the same with and without its trailing slash, for
every method, without a redirect (a client follows a redirected POST as a GET) and never with a 500."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.casapp.test_request_bounds import _route_paths

METHODS = ["get", "post", "put", "patch", "delete", "options"]
REDIRECTS = {301, 302, 303, 307, 308}


def _api_paths() -> list[str]:
    return [path for path in _route_paths() if path.startswith(("/api/", "/open311/"))]


def _other_form(path: str) -> str:
    return path[:-1] if path.endswith("/") else f"{path}/"


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
def test_every_api_path_answers_the_same_in_both_forms(anon_client, settings, method):
    settings.DEBUG = True  # where APPEND_SLASH raised for a POST without its slash (500 under `make run`)
    assert len(_api_paths()) > 40
    for path in _api_paths():
        answers = []
        for form in (path, _other_form(path)):
            cache.clear()  # rate limits: each path is asked a few times
            response = getattr(anon_client, method)(form, {}, format="json")
            assert response.status_code not in REDIRECTS, (method, form, response.status_code)
            assert response.status_code < 500, (method, form, response.status_code, response.content[:200])
            answers.append(response.status_code)
        assert answers[0] == answers[1], (method, path, answers)


@pytest.mark.django_db
def test_a_reminder_posted_without_the_slash_is_created(device_client, settings):
    settings.DEBUG = True
    response = device_client.post("/api/v1/waste/reminders", {}, format="json")

    # Not a redirect and not a 500: the same validation answer as with the slash.
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_an_unknown_path_stays_a_404_in_either_form(client):
    assert client.get("/api/v1/nothing-here").status_code == 404
    assert client.get("/api/v1/nothing-here/").status_code == 404
