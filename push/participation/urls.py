"""``/api/v1/campaigns/``: Mitmach-Aktionen (docs/push.md, docs/api.md)."""

from __future__ import annotations

from django.urls import path

from push.participation import api

urlpatterns = [
    path("", api.ParticipationListView.as_view(), name="campaigns"),
    path("<int:participation_id>", api.ParticipationView.as_view(), name="campaign"),
    path("<int:participation_id>/gallery", api.GalleryView.as_view(), name="campaign-gallery"),
    path("<int:participation_id>/submissions", api.SubmissionsView.as_view(), name="campaign-submissions"),
    path(
        "<int:participation_id>/submissions/mine",
        api.OwnSubmissionsView.as_view(),
        name="campaign-submissions-mine",
    ),
    path(
        "<int:participation_id>/submissions/<int:submission_id>",
        api.SubmissionView.as_view(),
        name="campaign-submission",
    ),
]
