from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from reports.api.views import app, public

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/", public.ReportsView.as_view(), name="reports"),
    path("reports/categories", public.CategoriesView.as_view(), name="report-categories"),
    path("reports/nearby", app.NearbyView.as_view(), name="reports-nearby"),
    path("reports/stats", public.StatsView.as_view(), name="report-stats"),
    path("reports/mine", app.MyReportsView.as_view(), name="reports-mine"),
    path("reports/mine/<int:report_id>", app.MyReportView.as_view(), name="report-mine"),
    path("reports/<int:report_id>", public.PublicReportView.as_view(), name="report"),
    path("reports/<int:report_id>/support", app.SupportView.as_view(), name="report-support"),
    path("reports/<int:report_id>/withdraw", app.WithdrawView.as_view(), name="report-withdraw"),
    path("reports/<int:report_id>/reopen", app.ReopenView.as_view(), name="report-reopen"),
]
