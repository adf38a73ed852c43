"""The screen in city hall (``/bildschirm/``): a public page that shows the Mängelmelder's current state
and updates itself from the public ``/api/v1/reports/screen`` endpoint.

Each screen is configured by its URL (docs/screen.md), so several screens can show different things. The
page sets no cookie and reads no session: it is the same for everyone, can be embedded in the city's
website, and needs nobody at a keyboard.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_safe

from casapp.city import STADTTEIL_CHOICES
from reports.admin.triage_map import workspace_map_config

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


@require_safe
def screen_page(request: HttpRequest) -> HttpResponse:
    screen = ScreenSettingsForm(request.GET).settings_or_defaults()
    response = render(
        request,
        "reports/screen.html",
        {
            "screen": screen,
            "summary_url": reverse("report-screen"),
            "map_config": workspace_map_config(),
        },
    )
    response._csp_update = settings.MAP_CSP_SOURCES  # type: ignore[attr-defined]  # read by django-csp
    return response


urlpatterns: list[URLPattern] = [path("", screen_page, name="screen")]
