"""The Abfallkalender API, mounted at ``/api/v1/waste/``."""

from __future__ import annotations

from django.urls import path, re_path

from waste_calendar.api import views

# Location ids are lower-case base32 (``location_public_id``); the pattern keeps ".ics" out of the id.
LOCATION = r"(?P<location_id>[a-z0-9]{1,20})"

urlpatterns = [
    # First: calendar apps polling their subscriptions make most of the requests.
    re_path(rf"^locations/{LOCATION}\.ics$", views.location_calendar_feed, name="waste-location-ics"),
    path("types/", views.WasteTypesView.as_view(), name="waste-types"),
    path("streets/", views.StreetSearchView.as_view(), name="waste-streets"),
    path(
        "streets/<int:street_id>/house-numbers",
        views.StreetHouseNumbersView.as_view(),
        name="waste-street-house-numbers",
    ),
    path(
        "streets/<int:street_id>/location",
        views.StreetLocationView.as_view(),
        name="waste-street-location",
    ),
    re_path(rf"^locations/{LOCATION}$", views.LocationView.as_view(), name="waste-location"),
    re_path(
        rf"^locations/{LOCATION}/collections$",
        views.LocationCollectionsView.as_view(),
        name="waste-location-collections",
    ),
    re_path(rf"^locations/{LOCATION}/next$", views.LocationNextView.as_view(), name="waste-location-next"),
    path("reminders/", views.RemindersView.as_view(), name="waste-reminders"),
    path("reminders/<int:reminder_id>", views.ReminderView.as_view(), name="waste-reminder"),
]
