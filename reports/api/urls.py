from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from reports.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/", views.ReportsView.as_view(), name="reports"),
    path("reports/categories", views.CategoriesView.as_view(), name="report-categories"),
    path("reports/nearby", views.NearbyView.as_view(), name="reports-nearby"),
    path("reports/stats", views.StatsView.as_view(), name="report-stats"),
    path("reports/mine", views.MyReportsView.as_view(), name="reports-mine"),
    path("reports/mine/<int:report_id>", views.MyReportView.as_view(), name="report-mine"),
    path("reports/<int:report_id>", views.PublicReportView.as_view(), name="report"),
    path("reports/<int:report_id>/support", views.SupportView.as_view(), name="report-support"),
    path("reports/<int:report_id>/withdraw", views.WithdrawView.as_view(), name="report-withdraw"),
    path("reports/<int:report_id>/reopen", views.ReopenView.as_view(), name="report-reopen"),
]
