"""The staff API of push, mounted at ``/api/v1/push/notifications/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from push.api.staff_views import StaffNotificationViewSet as Notifications

urlpatterns: list[URLPattern] = [
    path(
        "",
        Notifications.as_view({"get": "list", "post": "create"}),
        name="staff-notifications",
    ),
    path(
        "<int:pk>",
        Notifications.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="staff-notification",
    ),
    path(
        "<int:pk>/request-approval",
        Notifications.as_view({"post": "request_approval"}),
        name="staff-notification-request-approval",
    ),
    path(
        "<int:pk>/approve",
        Notifications.as_view({"post": "approve"}),
        name="staff-notification-approve",
    ),
    path(
        "<int:pk>/reject",
        Notifications.as_view({"post": "reject"}),
        name="staff-notification-reject",
    ),
    path(
        "<int:pk>/cancel",
        Notifications.as_view({"post": "cancel"}),
        name="staff-notification-cancel",
    ),
    path(
        "<int:pk>/send-test",
        Notifications.as_view({"post": "send_test"}),
        name="staff-notification-send-test",
    ),
    path(
        "<int:pk>/send-emergency",
        Notifications.as_view({"post": "send_emergency"}),
        name="staff-notification-send-emergency",
    ),
    path(
        "<int:pk>/review",
        Notifications.as_view({"post": "review"}),
        name="staff-notification-review",
    ),
    path(
        "<int:pk>/preview",
        Notifications.as_view({"get": "preview"}),
        name="staff-notification-preview",
    ),
    path(
        "<int:pk>/audience",
        Notifications.as_view({"get": "audience"}),
        name="staff-notification-audience",
    ),
    path(
        "<int:pk>/statistics",
        Notifications.as_view({"get": "statistics"}),
        name="staff-notification-statistics",
    ),
]
