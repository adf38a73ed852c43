"""Open311 in the staff workspace: issuing and revoking partner keys, and what each partner filed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.open311.models import PartnerApiKey, PartnerSubmission, PartnerUpdate


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin[PartnerApiKey]):
    list_display = [
        "name",
        "prefix",
        "contact",
        "rate_limit",
        "created_at",
        "last_used_at",
        "revoked_at",
        "report_count",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "contact", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: PartnerApiKey, form: Any, change: bool) -> None:
        if not change:
            secret = PartnerApiKey.new_key()
            obj.set_key(secret)
            obj.created_by_id = request.user.pk
            messages.warning(
                request, _("The api_key is shown only now; give it to the partner: %(key)s") % {"key": secret}
            )
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Reports stay attributed to the key that filed them: revoke instead.
        return False

    @admin.display(description=_("reports"))
    def report_count(self, obj: PartnerApiKey) -> int:
        return obj.submissions.count()

    @admin.action(description=_("Revoke selected keys"))
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(PartnerSubmission)
class PartnerSubmissionAdmin(admin.ModelAdmin[PartnerSubmission]):
    list_display = ["report", "api_key", "sender_reference", "created_at"]
    list_filter = ["api_key"]
    list_select_related = ["report__category", "api_key"]
    search_fields = ["=sender_reference"]
    readonly_fields = [
        "report",
        "api_key",
        "token",
        "created_at",
        "sender_reference",
        "sender_metadata",
        "media_urls",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartnerUpdate)
class PartnerUpdateAdmin(admin.ModelAdmin[PartnerUpdate]):
    """What partners passed on about the requests they filed; the words are on the report's history."""

    list_display = ["report", "api_key", "partner_update_id", "reopened", "created_at"]
    list_filter = ["api_key", "reopened"]
    list_select_related = ["report__category", "api_key"]
    search_fields = ["=partner_update_id", "=report__id"]
    readonly_fields = [
        "report",
        "api_key",
        "event",
        "partner_update_id",
        "reopened",
        "media_urls",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
