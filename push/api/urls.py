from __future__ import annotations

from django.urls import include, path

from push.api import staff_views, views

urlpatterns = [
    path("devices/", views.DeviceRegisterView.as_view(), name="device-register"),
    path("devices/me", views.DeviceMeView.as_view(), name="device-me"),
    path("devices/me/secret", views.DeviceSecretView.as_view(), name="device-secret"),
    path("devices/me/pair", views.DevicePairView.as_view(), name="device-pair"),
    path("devices/me/preferences", views.DevicePreferencesView.as_view(), name="device-preferences"),
    path("devices/me/inbox", views.DeviceInboxView.as_view(), name="device-inbox"),
    path("devices/me/inbox/read-all", views.DeviceInboxReadAllView.as_view(), name="device-inbox-read-all"),
    path(
        "devices/me/inbox/<str:item_id>/read",
        views.DeviceInboxItemReadView.as_view(),
        name="device-inbox-item-read",
    ),
    path("push/pairing-codes", staff_views.StaffPairingCodeView.as_view(), name="staff-pairing-codes"),
    path("push/catalogue", views.PushCatalogueView.as_view(), name="push-catalogue"),
    path("notices/", views.NoticesView.as_view(), name="notices"),
    path("campaigns/", include("push.participation.urls")),
]
