"""The workspace's maps: the overview of open reports (a page and its JSON data) and the settings every
map of the workspace is drawn with.

No script is inline: the pages carry their data in ``data-`` attributes and ``json_script`` blocks (which a
browser does not execute), the code is in static files, so a Content-Security-Policy allowing only
'self' scripts leaves the maps working. The points come from the data endpoint, never from the HTML.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from casapp.api.errors import error_response
from reports.admin.report_display import report_age, report_place, report_summary
from reports.geo import city_boundary_geojson
from reports.models import OPEN_STATUSES, ReportStatus
from reports.staff_selectors import (
    MAP_MAX_REPORTS,
    MapFilters,
    categories_for_staff,
    report_is_overdue,
    reports_on_map,
)

# The age filter: (older than, newer than) in days.
AGE_RANGES: dict[str, tuple[int | None, int | None]] = {
    "new": (None, 1),
    "2": (2, None),
    "7": (7, None),
    "30": (30, None),
}


def workspace_map_config() -> dict[str, Any]:
    """What every map of the workspace is drawn with: the tiles (none if ``MAP_TILE_URL`` is empty) and the
    city boundary, which is always drawn, tiles or not."""
    return {
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "boundary": city_boundary_geojson(),
    }


class MapFilterForm(forms.Form):
    """The overview map's filters, from the query string of the page and of its data endpoint alike."""

    category = forms.ChoiceField(label=_("category"), required=False)
    status = forms.ChoiceField(
        label=_("status"),
        required=False,
        choices=[("", _("all open")), *((status.value, status.label) for status in OPEN_STATUSES)],
    )
    age = forms.ChoiceField(
        label=_("age"),
        required=False,
        choices=[
            ("", _("any age")),
            ("new", _("less than a day")),
            ("2", _("older than 2 days")),
            ("7", _("older than a week")),
            ("30", _("older than 30 days")),
        ],
    )
    overdue = forms.ChoiceField(
        label=_("first response"),
        required=False,
        choices=[("", _("all reports")), ("yes", _("overdue only"))],
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("all categories")),
            *categories_for_staff(user).values_list("key", "name_de"),
        ]

    def map_filters(self) -> MapFilters:
        data = self.cleaned_data
        older, newer = AGE_RANGES.get(data.get("age") or "", (None, None))
        return MapFilters(
            statuses=(data["status"],) if data.get("status") else (),
            category_key=data.get("category") or None,
            older_than_days=older,
            newer_than_days=newer,
            overdue=data.get("overdue") == "yes",
        )


def map_points(request: HttpRequest) -> JsonResponse:
    """The data of the overview map: the open reports of the user's departments, filtered (see
    ``MapFilterForm``). Bad filters are answered 400 in the API's error shape."""
    form = MapFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return error_response(
            status=400,
            code="validation_error",
            errors=[
                {"field": field, "code": error["code"], "detail": error["message"]}
                for field, errors in form.errors.get_json_data().items()
                for error in errors
            ],
        )
    now = timezone.now()
    reports = list(
        reports_on_map(user=request.user, filters=form.map_filters(), now=now)[: MAP_MAX_REPORTS + 1]
    )
    truncated = len(reports) > MAP_MAX_REPORTS
    reports = reports[:MAP_MAX_REPORTS]
    return JsonResponse(
        {
            "count": len(reports),
            "count_label": ngettext("%(count)d open report", "%(count)d open reports", len(reports))
            % {"count": len(reports)},
            "truncated": truncated,
            "reports": [
                {
                    "id": report.pk,
                    "latitude": round(report.latitude, 6),
                    "longitude": round(report.longitude, 6),
                    "status": report.status,
                    "status_label": ReportStatus(report.status).label,
                    "category": report.category.name_de,
                    "place": report_place(report),
                    "age": report_age(report, now=now),
                    "summary": report_summary(report),
                    "url": reverse("admin:reports_report_change", args=[report.pk]),
                    "overdue": report_is_overdue(report, now=now),
                }
                for report in reports
            ],
        }
    )
