from __future__ import annotations

from django.contrib import admin

from push.models import Installation


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin[Installation]):
    """Read-only: installations belong to the phones; staff look, they do not edit."""

    list_display = ["id", "platform", "app_version", "locale", "is_active", "last_seen_at", "created_at"]
    list_filter = ["platform", "is_active", "locale", "deactivation_reason"]
    search_fields = ["id"]
    exclude = ["secret_hash", "push_token"]
    show_full_result_count = False  # COUNT(*) over hundreds of thousands of rows on every page view

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
