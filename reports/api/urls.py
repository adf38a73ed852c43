"""The public and app API of the Mängelmelder, mounted at ``/api/v1/reports/``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from reports.api.views import app, public

urlpatterns: list[URLPattern | URLResolver] = [
    path("", public.ReportsView.as_view(), name="reports"),
    path("categories", public.CategoriesView.as_view(), name="report-categories"),
    path("nearby", app.NearbyView.as_view(), name="reports-nearby"),
    path("stats", public.StatsView.as_view(), name="report-stats"),
    path("screen", public.ScreenView.as_view(), name="report-screen"),
    path("mine", app.MyReportsView.as_view(), name="reports-mine"),
    path("mine/<int:report_id>", app.MyReportView.as_view(), name="report-mine"),
    path("<int:report_id>", public.PublicReportView.as_view(), name="report"),
    path("<int:report_id>/support", app.SupportView.as_view(), name="report-support"),
    path("<int:report_id>/withdraw", app.WithdrawView.as_view(), name="report-withdraw"),
    path("<int:report_id>/reopen", app.ReopenView.as_view(), name="report-reopen"),
]
