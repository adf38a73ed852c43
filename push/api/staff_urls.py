"""The staff API of push, included under ``/api/v1/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from push.api.staff_views import StaffNotificationViewSet as Notifications

PREFIX = "push/notifications"

urlpatterns: list[URLPattern] = [
    path(
        f"{PREFIX}/",
        Notifications.as_view({"get": "list", "post": "create"}),
        name="staff-notifications",
    ),
    path(
        f"{PREFIX}/<int:pk>",
        Notifications.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="staff-notification",
    ),
    path(
        f"{PREFIX}/<int:pk>/request-approval",
        Notifications.as_view({"post": "request_approval"}),
        name="staff-notification-request-approval",
    ),
    path(
        f"{PREFIX}/<int:pk>/approve",
        Notifications.as_view({"post": "approve"}),
        name="staff-notification-approve",
    ),
    path(
        f"{PREFIX}/<int:pk>/cancel",
        Notifications.as_view({"post": "cancel"}),
        name="staff-notification-cancel",
    ),
    path(
        f"{PREFIX}/<int:pk>/send-test",
        Notifications.as_view({"post": "send_test"}),
        name="staff-notification-send-test",
    ),
    path(
        f"{PREFIX}/<int:pk>/send-emergency",
        Notifications.as_view({"post": "send_emergency"}),
        name="staff-notification-send-emergency",
    ),
    path(
        f"{PREFIX}/<int:pk>/review",
        Notifications.as_view({"post": "review"}),
        name="staff-notification-review",
    ),
    path(
        f"{PREFIX}/<int:pk>/preview",
        Notifications.as_view({"get": "preview"}),
        name="staff-notification-preview",
    ),
    path(
        f"{PREFIX}/<int:pk>/statistics",
        Notifications.as_view({"get": "statistics"}),
        name="staff-notification-statistics",
    ),
]
