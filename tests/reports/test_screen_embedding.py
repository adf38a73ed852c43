"""The screen ``/bildschirm/`` as an embeddable dashboard on the city's website: framed only by the origins
``SCREEN_FRAME_ANCESTORS`` lists, while every other page and response of the site still refuses framing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.casapp.test_settings import SETUP, _run

CITY = "https://www.castrop-rauxel.de"
PARTNER = "https://*.kreis-re.de"
REFUSING = [
    "/bildschirm/unbekannt",  # a 404 under the screen's path
    "/admin/login/",
    "/api/docs/",
    "/api/v1/reports/screen",
    "/api/v1/reports/stats",
]


def frame_ancestors(response: Any) -> str:
    policy = response["Content-Security-Policy"]
    return next(part.strip() for part in policy.split(";") if part.strip().startswith("frame-ancestors"))


@pytest.mark.django_db
def test_by_default_the_screen_refuses_framing_like_every_page() -> None:
    screen = Client().get("/bildschirm/")

    assert screen.status_code == 200
    assert screen["X-Frame-Options"] == "DENY"
    assert frame_ancestors(screen) == "frame-ancestors 'none'"


@pytest.mark.django_db
def test_the_listed_origins_may_frame_the_screen_and_nothing_else(settings: Any) -> None:
    settings.SCREEN_FRAME_ANCESTORS = [CITY, PARTNER]

    screens = [
        Client().get("/bildschirm/"),
        Client().get("/bildschirm/", {"stadtteil": "Ickern", "theme": "dark", "view": "rotate"}),
        Client().head("/bildschirm/"),
    ]
    others = [Client().get(path) for path in REFUSING]

    for screen in screens:
        assert screen.status_code == 200
        assert "X-Frame-Options" not in screen
        assert frame_ancestors(screen) == f"frame-ancestors {CITY} {PARTNER}"
        # The rest of the page's policy is unchanged: scripts only from us.
        assert "script-src 'self'" in screen["Content-Security-Policy"]
    for response in others:
        assert response.status_code in (200, 404), response.request["PATH_INFO"]
        assert response["X-Frame-Options"] == "DENY", response.request["PATH_INFO"]
        assert frame_ancestors(response) == "frame-ancestors 'none'", response.request["PATH_INFO"]


@pytest.mark.parametrize(
    "value",
    ["*", "'self'", "www.castrop-rauxel.de", "https://www.castrop-rauxel.de/pfad", "javascript:alert(1)"],
)
def test_a_value_that_is_not_an_origin_is_refused_at_start(value: str) -> None:
    result = _run(SETUP, DJANGO_DEBUG="true", SCREEN_FRAME_ANCESTORS=value)

    assert result.returncode != 0
    assert "SCREEN_FRAME_ANCESTORS" in result.stderr


def test_origins_are_read_from_the_environment() -> None:
    code = SETUP.replace("settings.DEBUG", "settings.SCREEN_FRAME_ANCESTORS")
    result = _run(
        code,
        DJANGO_DEBUG="true",
        SCREEN_FRAME_ANCESTORS="https://WWW.Castrop-Rauxel.de/,http://localhost:8080",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['https://www.castrop-rauxel.de', 'http://localhost:8080']"
