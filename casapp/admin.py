"""The platform part of the staff workspace: app configuration, banners, staff API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.models import AppConfiguration, MaintenanceBanner, PlatformRelease, StaffApiToken


@admin.register(AppConfiguration)
class AppConfigurationAdmin(admin.ModelAdmin[AppConfiguration]):
    list_display = ["__str__", "reports_enabled", "waste_calendar_enabled", "push_enabled", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not AppConfiguration.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlatformRelease)
class PlatformReleaseAdmin(admin.ModelAdmin[PlatformRelease]):
    list_display = ["platform", "min_supported_version", "latest_version", "updated_at"]


@admin.register(MaintenanceBanner)
class MaintenanceBannerAdmin(admin.ModelAdmin[MaintenanceBanner]):
    list_display = ["title_de", "severity", "starts_at", "ends_at"]
    list_filter = ["severity"]
    search_fields = ["title_de", "title_en"]
    date_hierarchy = "starts_at"


@admin.register(StaffApiToken)
class StaffApiTokenAdmin(admin.ModelAdmin[StaffApiToken]):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A token acts as its user: minting one for somebody else would let Administration approve as a
        # Kommunikation member, so only superusers choose the account.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(pk=request.user.pk or 0)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: StaffApiToken, form: Any, change: bool) -> None:
        if not change:
            key = StaffApiToken.new_key()
            obj.set_key(key)
            messages.warning(
                request,
                _("The token is shown only now; copy it: %(key)s") % {"key": key},
            )
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


# Staff accounts, roles and the staff audit log: their own module.
from casapp import staff_admin  # noqa: E402, F401
