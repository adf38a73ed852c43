"""The staff triage API of the Mängelmelder, mounted at ``/api/v1/staff/reports/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from reports.api.staff_views import StaffReportViewSet as Reports

# The workflow's writes are POSTs to sub-resources of a report, one service each.
ACTIONS = ["transition", "assign", "reply", "notes", "merge", "moderate", "reroute"]

urlpatterns: list[URLPattern] = [
    path("", Reports.as_view({"get": "list"}), name="staff-reports"),
    path("<int:pk>", Reports.as_view({"get": "retrieve"}), name="staff-report"),
    *(
        path(f"<int:pk>/{action}", Reports.as_view({"post": action}), name=f"staff-report-{action}")
        for action in ACTIONS
    ),
]
