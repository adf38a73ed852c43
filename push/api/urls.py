from __future__ import annotations

from django.urls import path

from push.api import views

urlpatterns = [
    path("devices/", views.DeviceRegisterView.as_view(), name="device-register"),
    path("devices/me", views.DeviceMeView.as_view(), name="device-me"),
    path("devices/me/secret", views.DeviceSecretView.as_view(), name="device-secret"),
]
