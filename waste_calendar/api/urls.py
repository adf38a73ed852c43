from __future__ import annotations

from django.urls import path, re_path

from waste_calendar.api import views

# Location ids are lower-case base32 (``location_public_id``); the pattern keeps ".ics" out of the id.
LOCATION = r"(?P<location_id>[a-z0-9]{1,20})"

urlpatterns = [
    path("waste/types/", views.WasteTypesView.as_view(), name="waste-types"),
    path("waste/streets/", views.StreetSearchView.as_view(), name="waste-streets"),
    path(
        "waste/streets/<int:street_id>/house-numbers",
        views.StreetHouseNumbersView.as_view(),
        name="waste-street-house-numbers",
    ),
    path(
        "waste/streets/<int:street_id>/location",
        views.StreetLocationView.as_view(),
        name="waste-street-location",
    ),
    re_path(rf"^waste/locations/{LOCATION}$", views.LocationView.as_view(), name="waste-location"),
    re_path(
        rf"^waste/locations/{LOCATION}/collections$",
        views.LocationCollectionsView.as_view(),
        name="waste-location-collections",
    ),
    re_path(
        rf"^waste/locations/{LOCATION}/next$", views.LocationNextView.as_view(), name="waste-location-next"
    ),
    re_path(
        rf"^waste/locations/{LOCATION}\.ics$", views.LocationCalendarView.as_view(), name="waste-location-ics"
    ),
    path("waste/reminders/", views.RemindersView.as_view(), name="waste-reminders"),
    path("waste/reminders/<int:reminder_id>", views.ReminderView.as_view(), name="waste-reminder"),
]
