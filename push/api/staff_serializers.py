"""Shapes of the staff API for outage alerts, campaigns and news. The rules live in the services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from casapp.api.fields import LanguageTagField, NullableChoiceField, NullableURLField
from push.models import (
    BROADCAST_KINDS,
    AuditEntry,
    Notification,
    NotificationStatus,
    OutageState,
    Priority,
    Topic,
)
from push.selectors import notification_statistics, notifications_for_staff
from push.services.notifications import STAFF_AUDIENCES

CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Text per language (ISO 639-1). German is required and shown to every other language.",
    "additionalProperties": {
        "type": "object",
        "required": ["title", "body"],
        "properties": {"title": {"type": "string"}, "body": {"type": "string"}},
    },
    "example": {
        "de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."},
        "en": {"title": "Citizens' office closed", "body": "It stays closed today because of a failure."},
    },
}


@extend_schema_field(CONTENT_SCHEMA)
class LocalizedContentField(serializers.DictField):
    """``{"de": {"title", "body"}, "en": {...}}``; lengths, languages and personal data are checked by
    the service, so its error codes reach the client unchanged."""

    def __init__(self, **kwargs: Any) -> None:
        text = serializers.CharField(allow_blank=True, trim_whitespace=False)
        super().__init__(child=serializers.DictField(child=text), **kwargs)


class _ImageUrlField(serializers.URLField):
    """An image URL; "" or null (what the answers show) for none, stored as ""."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=500, allow_blank=True, allow_null=True, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return "" if value is None else value


DEEP_LINK_HELP = (
    "What tapping opens: a link of the app's catalogue (`GET /api/v1/push/catalogue`, `links`) whose "
    "target exists, e.g. `casapp://reports/17`, `casapp://notices/42`, `casapp://waste`, "
    '`casapp://campaigns/7`; or a public https address; "" for none. Anything else: 400 `invalid_deep_link`.'
)


def kind_choices() -> list[tuple[str, StrOrPromise]]:
    return [(kind.value, kind.label) for kind in BROADCAST_KINDS]


def audience_choices() -> list[tuple[str, StrOrPromise]]:
    return [(audience.value, audience.label) for audience in STAFF_AUDIENCES]


def _topic_keys(**kwargs: Any) -> serializers.Field[Any, Any, Any, Any]:  # a ManyRelatedField
    return serializers.SlugRelatedField(
        many=True, slug_field="key", queryset=Topic.objects.all(), help_text="Topic keys.", **kwargs
    )


class NotificationDraftSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=kind_choices())
    content = LocalizedContentField()
    audience_kind = serializers.ChoiceField(choices=audience_choices(), required=False)
    audience_topics = _topic_keys(required=False)
    audience_stadtteile = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, help_text="Names of Stadtteile."
    )
    deep_link = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text=DEEP_LINK_HELP
    )
    image_url = _ImageUrlField(required=False)
    data = serializers.DictField(  # type: ignore[assignment]  # the field shadows Serializer.data
        child=serializers.CharField(allow_blank=True), required=False
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices,
        required=False,
        help_text="Defaults to high for outages, normal otherwise.",
    )
    send_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Empty: on approval.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    thread = serializers.PrimaryKeyRelatedField(
        queryset=notifications_for_staff(),
        required=False,
        allow_null=True,
        help_text="For an update of an outage: the id of its first alert. The update replaces it.",
    )
    resolves = serializers.BooleanField(
        required=False, help_text="This outage alert announces the end of the outage."
    )


class NotificationChangeSerializer(serializers.Serializer[Any]):
    content = LocalizedContentField(required=False)
    audience_kind = serializers.ChoiceField(choices=audience_choices(), required=False)
    audience_topics = _topic_keys(required=False, source="topics")
    audience_stadtteile = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    deep_link = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text=DEEP_LINK_HELP
    )
    image_url = _ImageUrlField(required=False)
    data = serializers.DictField(  # type: ignore[assignment]  # the field shadows Serializer.data
        child=serializers.CharField(allow_blank=True), required=False
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    send_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Nothing to change."), code="empty")
        return attrs


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEntry
        fields = ["id", "action", "actor", "changes", "at"]
        read_only_fields = fields


class NotificationStatisticsSerializer(serializers.Serializer[Any]):
    targeted = serializers.IntegerField(help_text="Installations the notification was addressed to.")
    accepted = serializers.IntegerField(help_text="Accepted by FCM for delivery.")
    inbox_only = serializers.IntegerField(help_text="Without push; shown in the app's inbox only.")
    pending = serializers.IntegerField(help_text="Not sent yet (waiting or in flight).")
    cancelled = serializers.IntegerField()
    expired = serializers.IntegerField(
        help_text="Not sent: the notification expired first. An audience not written by then is not counted."
    )
    failed = serializers.IntegerField()
    failed_by_error = serializers.DictField(child=serializers.IntegerField(), help_text="By error code.")
    deactivated = serializers.IntegerField(help_text="Failures that switched an installation's push off.")
    opened = serializers.IntegerField()
    open_rate = serializers.FloatField(
        allow_null=True, help_text="Opened per delivery that reached a phone; null before any did."
    )
    sent_without_approval = serializers.BooleanField(
        help_text="Sent by the outage fast path, without a second approval."
    )
    fast_path_reason = serializers.CharField(
        allow_null=True, help_text="Why it was sent without a second approval; null otherwise."
    )


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    kind = serializers.ChoiceField(choices=kind_choices(), read_only=True)
    audience_kind = serializers.ChoiceField(choices=audience_choices(), read_only=True)
    content = LocalizedContentField(read_only=True)
    audience_topics: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, slug_field="key", read_only=True
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    approved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    data = serializers.DictField(  # type: ignore[assignment]  # the field shadows Serializer.data
        child=serializers.CharField(), read_only=True
    )
    audience_stadtteile = serializers.ListField(child=serializers.CharField(), read_only=True)
    image_url = NullableURLField(help_text="Null: no image.")
    outage_state = NullableChoiceField(choices=OutageState.choices, help_text="Null unless an outage alert.")

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "status",
            "content",
            "audience_kind",
            "audience_topics",
            "audience_stadtteile",
            "deep_link",
            "image_url",
            "data",
            "priority",
            "send_at",
            "expires_at",
            "thread",
            "outage_state",
            "emergency",
            "emergency_reason",
            "needs_review",
            "failure_reason",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
            "started_at",
            "finished_at",
            "updated_at",
        ]
        read_only_fields = fields


class NotificationDetailSerializer(NotificationSerializer):
    statistics = serializers.SerializerMethodField()
    audit_log = AuditEntrySerializer(source="audit_entries", many=True, read_only=True)

    class Meta(NotificationSerializer.Meta):
        fields = [*NotificationSerializer.Meta.fields, "statistics", "audit_log"]
        read_only_fields = fields

    @extend_schema_field(NotificationStatisticsSerializer)
    def get_statistics(self, notification: Notification) -> dict[str, Any]:
        return notification_statistics(notification)


class AudienceEstimateSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(
        help_text="Installations the notification would reach if it were sent now: push switched on, seen "
        "in the last `active_days` days, subscribed to its topic, in its Stadtteile. 0 cannot be "
        "submitted (`empty_audience`)."
    )
    by_platform = serializers.DictField(
        child=serializers.IntegerField(), help_text="By platform: `android`, `ios`, `web`."
    )
    by_language = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="By the text they get: each language the notification has a text in; `de` includes "
        "everyone whose language has none.",
    )
    german_fallback = serializers.IntegerField(
        help_text="Installations whose language has no text of its own; they get German."
    )
    active_days = serializers.IntegerField(help_text="`PUSH_STALE_AFTER_DAYS`.")
    minimum = serializers.IntegerField(help_text="Campaigns: `PUSH_CAMPAIGN_MIN_AUDIENCE`; other kinds: 1.")
    below_minimum = serializers.BooleanField(
        help_text="True: the workspace warns (a campaign below the minimum; any notification at 0)."
    )


class PreviewQuerySerializer(serializers.Serializer[Any]):
    language = LanguageTagField(
        required=False,
        default="de",
        help_text="The device's language, e.g. `de` or `en`. Languages without a text get German.",
    )


class NotificationPreviewSerializer(serializers.Serializer[Any]):
    language = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    image_url = serializers.CharField()
    collapse_key = serializers.CharField(help_text="Alerts of one outage share it and replace each other.")
    data = serializers.DictField(  # type: ignore[assignment]  # the field shadows Serializer.data
        child=serializers.CharField()
    )
    priority = serializers.ChoiceField(choices=Priority.choices)
    ttl_seconds = serializers.IntegerField(allow_null=True, help_text="Null: FCM's default (4 weeks).")
    channel = serializers.CharField(help_text="Android notification channel: the notification's kind.")


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=500, help_text="Required: shown to the author (rejection) or in the audit log (fast path)."
    )


class TestSendSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The test copy; its deliveries go to your test devices only.")
    status = serializers.ChoiceField(choices=NotificationStatus.choices)
    test_of = serializers.IntegerField(source="test_of_id")


class PairingCodeSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
