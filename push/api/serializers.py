from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from casapp.api.fields import AppVersionField, LanguageTagField
from casapp.models import Platform
from push.models import Installation, PushTokenKind

PUSH_TOKEN_PATTERN = r"^[A-Za-z0-9_:\-.]+$"  # noqa: S105  (a pattern, not a secret)


def _push_token_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(
        PUSH_TOKEN_PATTERN,
        min_length=16,
        max_length=512,
        error_messages={"invalid": _("This is not a push token.")},
        help_text="FCM registration token or Firebase installation id (see push_token_kind).",
        **kwargs,
    )


class InstallationRegisterSerializer(serializers.Serializer[Any]):
    platform = serializers.ChoiceField(choices=Platform.choices)
    app_version = AppVersionField()
    locale = LanguageTagField(required=False, default="de")
    push_token = _push_token_field(required=False, allow_null=True)
    push_token_kind = serializers.ChoiceField(
        choices=PushTokenKind.choices, required=False, default=PushTokenKind.REGISTRATION_TOKEN
    )


class InstallationUpdateSerializer(serializers.Serializer[Any]):
    app_version = AppVersionField(required=False)
    locale = LanguageTagField(required=False)
    push_token = _push_token_field(required=False, allow_null=True)
    push_token_kind = serializers.ChoiceField(choices=PushTokenKind.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Nothing to change."), code="empty")
        return attrs


class InstallationSerializer(serializers.ModelSerializer[Installation]):
    has_push_token = serializers.SerializerMethodField()

    class Meta:
        model = Installation
        fields = [
            "id",
            "platform",
            "app_version",
            "locale",
            "has_push_token",
            "push_token_kind",
            "is_active",
            "created_at",
            "last_seen_at",
        ]
        read_only_fields = fields

    def get_has_push_token(self, installation: Installation) -> bool:
        return bool(installation.push_token)


class InstallationCredentialsSerializer(InstallationSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Shown once. Send as `Authorization: Device <secret>`; only its hash is stored.",
    )

    class Meta(InstallationSerializer.Meta):
        fields = [*InstallationSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SecretSerializer(serializers.Serializer[Any]):
    secret = serializers.CharField(read_only=True)
