from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from casapp.api.fields import AppVersionField, LanguageTagField, NullableChoiceField
from casapp.city import STADTTEIL_CHOICES
from casapp.models import Platform
from push.models import BROADCAST_KINDS, Installation, NotificationKind, PushTokenKind

PUSH_TOKEN_PATTERN = r"^[A-Za-z0-9_:\-.]+$"


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
    push_token_kind = NullableChoiceField(
        choices=PushTokenKind.choices, help_text="What `push_token` is; null while there is none."
    )

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


class PairingSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=20, help_text=_("The one-time code the workspace shows."))
    # "label" shadows Field.label in the stubs only; DRF declares fields by class attribute.
    label = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)  # type: ignore[assignment]


class PairedDeviceSerializer(serializers.Serializer[Any]):
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    paired_at = serializers.DateTimeField(read_only=True)


# --- What an installation receives: catalogue, preferences, notices, inbox


class CatalogueKindSerializer(serializers.Serializer[Any]):
    key = serializers.ChoiceField(choices=NotificationKind.choices)
    name = serializers.CharField()


class CatalogueTopicSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    default_subscribed = serializers.BooleanField(help_text="Subscribed on registration.")
    kind = serializers.CharField(help_text="The kind of notification this topic carries; may be empty.")


class CatalogueCategorySerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class CatalogueLinkParameterSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["integer", "slug", "https_url"])
    pattern = serializers.CharField(help_text="A regular expression every value matches.")
    description = serializers.CharField()


class CatalogueLinkSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="`report`, `notice`, `waste_calendar`, `campaign`, ...; `web`.")
    template = serializers.CharField(
        help_text="The link with its parameters in braces, e.g. `casapp://reports/{id}`; `{url}` for web."
    )
    name = serializers.CharField()
    description = serializers.CharField()
    parameters = CatalogueLinkParameterSerializer(many=True)


class CatalogueSerializer(serializers.Serializer[Any]):
    kinds = CatalogueKindSerializer(many=True)
    topics = CatalogueTopicSerializer(many=True, help_text="Broadcasts an installation subscribes to.")
    categories = CatalogueCategorySerializer(
        many=True, help_text="Personal notifications an installation may mute (`muted_categories`)."
    )
    links = CatalogueLinkSerializer(
        many=True,
        help_text="The deep links pushes and notices carry (`deep_link`): screens of the app, then `web`.",
    )


class PreferencesSerializer(serializers.Serializer[Any]):
    topics = serializers.ListField(child=serializers.CharField(), help_text="Keys of subscribed topics.")
    muted_categories = serializers.ListField(child=serializers.CharField())
    stadtteil = serializers.ChoiceField(choices=STADTTEIL_CHOICES, allow_null=True)


class PreferencesUpdateSerializer(serializers.Serializer[Any]):
    topics = serializers.ListField(
        child=serializers.SlugField(max_length=40),
        required=False,
        max_length=100,
        help_text="Replaces the subscribed topics: keys from the catalogue.",
    )
    muted_categories = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=100,
        help_text="Replaces the muted categories of personal notifications: keys from the catalogue.",
    )
    stadtteil = serializers.ChoiceField(
        choices=STADTTEIL_CHOICES,
        allow_null=True,
        required=False,
        help_text="For notices about one part of town; null forgets it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Nothing to change."), code="empty")
        return attrs


class TimelineEntrySerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    published_at = serializers.DateTimeField()


class ParsedLinkSerializer(serializers.Serializer[Any]):
    target = serializers.CharField(help_text="The `key` of a catalogue link, or `web`.")
    parameters = serializers.DictField(
        child=serializers.CharField(),
        help_text='The parameters, e.g. `{"id": "17"}`; `{"url": ...}` for web.',
    )


class NoticeSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="`n-<notification id>`, the id a push carries as notification_id.")
    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in BROADCAST_KINDS])
    category = serializers.CharField(allow_null=True, help_text="Category of a personal notification.")
    title = serializers.CharField()
    body = serializers.CharField()
    deep_link = serializers.CharField(
        allow_blank=True,
        help_text=(
            "What tapping opens, as in the push's data `deep_link`: a link of the catalogue's `links` "
            "(`casapp://notices/{id}`, `casapp://reports/{id}`, `casapp://waste`, "
            "`casapp://campaigns/{id}`), "
            'a public https address, or "" for none. Notices from before the catalogue may carry other '
            "text: then `link` is null and the app opens the notice itself."
        ),
    )
    link = ParsedLinkSerializer(
        allow_null=True, help_text="`deep_link` read against the catalogue; null: none or not in it."
    )
    image_url = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    ongoing = serializers.BooleanField(help_text="An outage whose resolution has not been sent yet.")
    timeline = TimelineEntrySerializer(
        many=True, help_text="An outage's posts, oldest first (this entry shows the latest); else empty."
    )


class NoticeListSerializer(serializers.Serializer[Any]):
    results = NoticeSerializer(many=True)


class InboxItemSerializer(NoticeSerializer):
    # A plain string: a second enum named "kind" with another choice set would clash in the schema.
    kind = serializers.CharField(help_text="outage, campaign, news or personal.")  # type: ignore[assignment]
    read = serializers.BooleanField()
