"""The screen in city hall (``/bildschirm/``): a public page that shows the Mängelmelder's current state
and updates itself from the public ``/api/v1/reports/screen`` endpoint.

Each screen is configured by its URL (docs/screen.md), so several screens can show different things. The
page sets no cookie and reads no session: it is the same for everyone, can be embedded in the city's
website, and needs nobody at a keyboard.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_safe
from rest_framework.renderers import JSONRenderer

from casapp.caching import shared_value
from casapp.city import STADTTEIL_CHOICES
from casapp.metrics import event_count
from reports.admin.triage_map import workspace_map_config
from reports.models import Category
from reports.screen_figures import ScreenMedians

REFRESH_DEFAULT = 30
REFRESH_MIN = 5  # seconds; a test screen polls this fast, a real one every 30-60 s
REFRESH_MAX = 600
ROTATE_DEFAULT = 20


class ScreenSettingsForm(forms.Form):
    """A screen's settings from its URL. Anything invalid falls back to the default: a screen on a wall
    should show something rather than an error page nobody reads."""

    stadtteil = forms.ChoiceField(choices=[("", ""), *STADTTEIL_CHOICES], required=False)
    category = forms.RegexField(regex=r"^[a-z0-9_,-]{0,500}$", required=False)
    theme = forms.ChoiceField(choices=[("light", "light"), ("dark", "dark")], required=False)
    view = forms.ChoiceField(
        choices=[("all", "all"), ("map", "map"), ("figures", "figures"), ("rotate", "rotate")],
        required=False,
    )
    refresh = forms.IntegerField(min_value=REFRESH_MIN, max_value=REFRESH_MAX, required=False)
    rotate = forms.IntegerField(min_value=5, max_value=REFRESH_MAX, required=False)

    def settings_or_defaults(self) -> dict[str, str | int]:
        self.is_valid()  # cleaned_data keeps the valid fields: one bad parameter leaves the others
        defaults: dict[str, str | int] = {
            "stadtteil": "",
            "category": "",
            "theme": "light",
            "view": "all",
            "refresh": REFRESH_DEFAULT,
            "rotate": ROTATE_DEFAULT,
        }
        return {name: self.cleaned_data.get(name) or default for name, default in defaults.items()}


def _category_names(keys: str) -> list[str]:
    """The names of the URL's categories, in the URL's order; unknown keys left out."""
    english = (get_language() or "").startswith("en")
    wanted = [key for key in keys.split(",") if key]
    found = Category.objects.in_bulk(wanted, field_name="key")
    return [
        found[key].name_en if english and found[key].name_en else found[key].name_de
        for key in dict.fromkeys(wanted)
        if key in found
    ]


@require_safe
def screen_page(request: HttpRequest) -> HttpResponse:
    screen = ScreenSettingsForm(request.GET).settings_or_defaults()
    response = render(
        request,
        "reports/screen.html",
        {
            "screen": screen,
            "summary_url": reverse("report-screen"),
            "summary_seconds": settings.SCREEN_SUMMARY_SECONDS,
            # Named in the heading: a screen of the roads only must say so to whoever reads it.
            "category_names": _category_names(str(screen["category"])),
            "map_config": workspace_map_config(),
        },
    )
    response._csp_update = settings.MAP_CSP_SOURCES  # type: ignore[attr-defined]  # read by django-csp
    if settings.SCREEN_FRAME_ANCESTORS:
        # Embeddable by the city's website, and only there: frame-ancestors names the origins, and no
        # X-Frame-Options (it knows no list; browsers that read frame-ancestors ignore it anyway).
        response._csp_replace = {"frame-ancestors": settings.SCREEN_FRAME_ANCESTORS}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True  # read by XFrameOptionsMiddleware
    return response


# --- The summary the screens poll: computed once per window, whatever the number of screens

# Waiting screens of the same window get the state being computed rather than a second computation; past
# this bound (a computation slower than it, or one that died) they get the last state.
SCREEN_BUILD_WAIT_SECONDS = 3.0
SCREEN_BUILD_POLL_SECONDS = 0.05
SCREEN_BUILD_LOCK_SECONDS = 120
# The last state a screen was sent: an unchanged state keeps its ETag (a 304) across windows, and a screen
# waiting for a computation that failed gets it rather than an error.
SCREEN_LAST_STATE_SECONDS = 24 * 3600
_KEY = "reports:screen:v2"


@dataclass(frozen=True)
class ScreenAnswer:
    """A summary as the screens get it: its ETag, the rendered JSON (None when the screen already has
    it), and the seconds until the next window, when it may change (its ``max-age``)."""

    etag: str
    content: bytes | None
    max_age: int


def screen_answer(
    *, now: datetime, language: str, filters: str, known_etag: str, build: Callable[[], dict[str, Any]]
) -> ScreenAnswer:
    """The screen summary of ``filters`` in ``language``, computed by ``build`` at most once per window of
    ``settings.SCREEN_SUMMARY_SECONDS`` (windows are aligned to the clock, the same in every process)
    across all processes sharing the cache, whatever the number of screens asking:

    - the first request of a window takes a lock in the cache and computes; the others of the same window
      wait for its result (up to ``SCREEN_BUILD_WAIT_SECONDS``), then get the last state;
    - the rendered JSON is kept under its ETag, so an answer from the cache is bytes, not a
      serialization, and a screen that has the current state (``known_etag``) costs one small read;
    - a state equal to the last one but for ``generated_at`` keeps the last one's body and ETag: a screen
      that has it gets a 304 across windows.

    A report filed, answered or hidden shows in the next window. Only a computation that fails or takes
    longer than the lock (``SCREEN_BUILD_LOCK_SECONDS``) lets a second one start in the same window.
    """
    seconds = settings.SCREEN_SUMMARY_SECONDS
    window = int(now.timestamp()) // seconds
    max_age = max(1, (window + 1) * seconds - int(now.timestamp()))
    key = f"{_KEY}:{language}:{filters}"
    current = f"{key}:{window}"
    state: dict[str, str] | None = cache.get(current)
    if state is None:
        if cache.add(f"{current}:lock", 1, SCREEN_BUILD_LOCK_SECONDS):
            try:
                state = _screen_build(key=key, build=build)
                cache.set(current, state, seconds)
            finally:
                cache.delete(f"{current}:lock")
        else:
            state = _screen_wait(current=current, last=f"{key}:last")
            if state is None:  # nothing computed before either: this request computes
                state = _screen_build(key=key, build=build)
    if state["etag"] == known_etag:
        return ScreenAnswer(etag=state["etag"], content=None, max_age=max_age)
    content: bytes | None = cache.get(f"{key}:content:{state['etag']}")
    if content is None:  # evicted: computed again rather than answered wrong
        state = _screen_build(key=key, build=build)
        content = cache.get(f"{key}:content:{state['etag']}")
    return ScreenAnswer(etag=state["etag"], content=content, max_age=max_age)


def screen_medians(*, now: datetime, filters: str, compute: Callable[[], ScreenMedians]) -> ScreenMedians:
    """The medians of a screen's ``filters``, computed by ``compute`` at most once per period of
    ``settings.SCREEN_MEDIANS_SECONDS`` (aligned to the clock like the windows) and kept in the cache.

    They are most of a summary's cost (an ordered-set aggregate over every report answered or resolved in
    90 days) and move least: over 30 and 90 days one more resolution barely moves a median, and the
    screen shows them in days. Every other figure is computed per window."""
    seconds = settings.SCREEN_MEDIANS_SECONDS
    key = f"{_KEY}:medians:{filters}:{int(now.timestamp()) // seconds}"
    return ScreenMedians(**shared_value(key, lambda: asdict(compute()), seconds=seconds))


def _screen_build(*, key: str, build: Callable[[], dict[str, Any]]) -> dict[str, str]:
    body = build()
    event_count("reports_screen_builds")
    renderer = JSONRenderer()
    content = renderer.render(body)
    # The figures without the time they were computed at: its JSON string appears once in the body.
    figures = hashlib.sha256(content.replace(renderer.render(body["generated_at"]), b"", 1)).hexdigest()
    last: dict[str, str] | None = cache.get(f"{key}:last")
    if last is not None and last["figures"] == figures and cache.touch(f"{key}:content:{last['etag']}"):
        state = last
    else:
        state = {"etag": f'"{hashlib.sha256(content).hexdigest()[:32]}"', "figures": figures}
        cache.set(f"{key}:content:{state['etag']}", content, SCREEN_LAST_STATE_SECONDS)
    cache.set(f"{key}:last", state, SCREEN_LAST_STATE_SECONDS)
    return state


def _screen_wait(*, current: str, last: str) -> dict[str, str] | None:
    deadline = time.monotonic() + SCREEN_BUILD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(SCREEN_BUILD_POLL_SECONDS)
        state: dict[str, str] | None = cache.get(current)
        if state is not None:
            return state
        if not cache.get(f"{current}:lock"):
            break  # the computation failed: no result is coming
    fallback: dict[str, str] | None = cache.get(current) or cache.get(last)
    return fallback


urlpatterns: list[URLPattern] = [path("", screen_page, name="screen")]
