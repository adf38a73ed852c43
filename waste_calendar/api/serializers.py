"""Shapes of the Abfallkalender API and the validation of its parameters. Rules live in the services."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from casapp.api.caching import request_language
from casapp.caching import LocalMemo
from casapp.languages import field_in
from waste_calendar.feed import waste_type_name
from waste_calendar.lookup import local_today, location_type_keys
from waste_calendar.models import (
    REMINDER_LABEL_MAX_LENGTH,
    Collection,
    CollectionStatus,
    Location,
    ReminderSubscription,
    ReminderTime,
    Street,
    WasteType,
)

# A year and a month: enough for a printed calendar, small enough to answer in one response.
MAX_RANGE_DAYS = 400
DEFAULT_RANGE_DAYS = 60
MAX_TYPES_PARAMETER = 500
_STATUS_HELP = ", ".join(f"`{value}`" for value in CollectionStatus.values)


# Every public request with ``types=`` validates against these; they change a few times a year, so each
# process keeps them for a minute instead of asking the database per request.
ACTIVE_TYPES_SECONDS = 60.0
_active_types: LocalMemo[None, frozenset[str]] = LocalMemo("active waste types", seconds=ACTIVE_TYPES_SECONDS)


def active_type_keys() -> frozenset[str]:
    keys = _active_types.get(None)
    if not keys:  # none active yet is asked again, as a fresh database fills
        keys = _active_types.put(
            None, frozenset(WasteType.objects.filter(is_active=True).values_list("key", flat=True))
        )
    return keys


def active_type_keys_forget(**kwargs: Any) -> None:
    """Connected to WasteType saves and deletes: this process sees a change at once, others in a minute."""
    _active_types.forget()


class TypesParameterField(serializers.CharField):
    """``types=restabfall,papier``: known waste type keys, comma-separated; empty or absent means all."""

    default_error_messages = {"unknown_type": _("Unknown waste type: {keys}.")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_blank=True, max_length=MAX_TYPES_PARAMETER, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> list[str] | None:
        # The text is checked as text (a string of at most MAX_TYPES_PARAMETER characters), then read.
        keys = split_type_keys(super().run_validation(data))
        if keys is None:
            return None
        unknown = sorted(set(keys) - active_type_keys())
        if unknown:
            self.fail("unknown_type", keys=", ".join(unknown))
        return keys


def split_type_keys(text: str) -> list[str] | None:
    """``"restabfall, papier,restabfall"`` → ``["restabfall", "papier"]``; None for all types."""
    keys = [key.strip() for key in text.split(",") if key.strip()]
    return list(dict.fromkeys(keys)) or None


class TypesQuerySerializer(serializers.Serializer[Any]):
    types = TypesParameterField(help_text="Waste type keys, comma-separated; all types when absent.")


class CollectionsQuerySerializer(TypesQuerySerializer):
    from_ = serializers.DateField(
        required=False, help_text="First day (YYYY-MM-DD), default today (Europe/Berlin)."
    )
    to = serializers.DateField(
        required=False, help_text=f"Last day, inclusive; default {DEFAULT_RANGE_DAYS} days after `from`."
    )

    def get_fields(self) -> dict[str, Any]:
        # "from" is a Python keyword: declared as from_, exposed as from.
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        date_from: dt.date = attrs.pop("from", None) or local_today()
        date_to: dt.date = attrs.get("to") or date_from + dt.timedelta(days=DEFAULT_RANGE_DAYS)
        if date_to < date_from:
            raise serializers.ValidationError(
                {"to": _("The end lies before the start.")}, code="reversed_range"
            )
        if (date_to - date_from).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"to": _("At most %(days)d days at once.") % {"days": MAX_RANGE_DAYS}}, code="range_too_long"
            )
        attrs["date_from"], attrs["date_to"] = date_from, date_to
        return attrs


class StreetQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        min_length=2,
        max_length=100,
        trim_whitespace=True,
        help_text="At least 2 characters of a street name, optionally followed by a house number "
        '("Bahnhofstraße 12").',
    )


class HouseNumberQuerySerializer(serializers.Serializer[Any]):
    house_number = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=30,
        help_text='"12", "12a"; may be left out for a street that needs none (`needs_house_number`).',
    )


class WasteTypeSerializer(serializers.ModelSerializer[WasteType]):
    name = serializers.SerializerMethodField()
    hints = serializers.SerializerMethodField()

    class Meta:
        model = WasteType
        fields = ["key", "name", "colour", "icon_key", "hints"]

    def get_name(self, waste_type: WasteType) -> str:
        return waste_type_name(waste_type, request_language())

    def get_hints(self, waste_type: WasteType) -> str:
        return field_in(waste_type, "hints", request_language())


class StreetSerializer(serializers.ModelSerializer[Street]):
    class Meta:
        model = Street
        fields = ["id", "name", "postcode", "stadtteil", "needs_house_number"]


class StreetMatchSerializer(serializers.Serializer[Any]):
    """A street of the autocomplete: the street's fields, whether it was found despite typing errors, and
    the house number typed after it."""

    id = serializers.IntegerField(source="street.pk")
    name = serializers.CharField(source="street.name")
    postcode = serializers.CharField(source="street.postcode")
    stadtteil = serializers.CharField(source="street.stadtteil")
    needs_house_number = serializers.BooleanField(source="street.needs_house_number")
    fuzzy = serializers.BooleanField(
        help_text='Found despite one or two wrong, missing or swapped letters: ask "Meinten Sie …?". '
        "Exact and prefix matches (false) always come first."
    )
    house_number = serializers.CharField(
        help_text='The house number typed after the street ("Bahnhofstraße 12a" → "12a"), to pre-select; '
        '"" when none was typed.'
    )
    location_id = serializers.CharField(
        allow_null=True,
        help_text="The location holding `house_number`, on the first street only and only when it is the "
        "one best match; otherwise null (let the user pick the number).",
    )


class HouseNumberSerializer(serializers.ModelSerializer[Location]):
    location_id = serializers.CharField(source="public_id")

    class Meta:
        model = Location
        fields = ["location_id", "house_number", "number_from", "number_to", "suffix", "parity"]


class LocationSerializer(serializers.ModelSerializer[Location]):
    """A location with its calendar links: ``ics_url`` (https) and ``webcal_url`` for calendar apps."""

    id = serializers.CharField(source="public_id")
    street = StreetSerializer()
    types = serializers.SerializerMethodField()
    ics_url = serializers.SerializerMethodField()
    webcal_url = serializers.SerializerMethodField()

    class Meta:
        model = Location
        fields = ["id", "street", "house_number", "parity", "types", "ics_url", "webcal_url"]

    def get_types(self, location: Location) -> list[str]:
        known = self.context.get("type_keys")
        return list(known) if known is not None else location_type_keys(location=location)

    def get_ics_url(self, location: Location) -> str:
        request = self.context["request"]
        url: str = request.build_absolute_uri(
            reverse("waste-location-ics", kwargs={"location_id": location.public_id})
        )
        if settings.DEBUG:
            return url  # `make run` serves plain http on 127.0.0.1
        # Behind the TLS proxy the app must never get an http link for its calendar subscription.
        return "https://" + url.split("://", 1)[1]

    def get_webcal_url(self, location: Location) -> str:
        return "webcal://" + self.get_ics_url(location).split("://", 1)[1]


class CollectionSerializer(serializers.ModelSerializer[Collection]):
    type = serializers.CharField(source="district.waste_type.key")
    # Plain strings rather than an enum: "status" is already an enum name of the push API's schema.
    status = serializers.CharField(help_text=_STATUS_HELP)
    original_date = serializers.DateField(
        allow_null=True, help_text="The regular day of a moved collection; null otherwise."
    )

    class Meta:
        model = Collection
        fields = ["date", "type", "status", "original_date", "reason"]


class CollectionListSerializer(serializers.Serializer[Any]):
    location = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    collections = CollectionSerializer(many=True)


class NextCollectionSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(source="waste_type.key")
    name = serializers.SerializerMethodField()
    colour = serializers.CharField(source="waste_type.colour")
    date = serializers.DateField(source="collection.date")
    status = serializers.CharField(source="collection.status", help_text=_STATUS_HELP)
    original_date = serializers.DateField(source="collection.original_date", allow_null=True)
    days_until = serializers.IntegerField(help_text="0 = today, 1 = tomorrow (Europe/Berlin).")

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, entry: Any) -> str:
        return waste_type_name(entry.waste_type, request_language())


class NextCollectionListSerializer(serializers.Serializer[Any]):
    location = serializers.CharField()
    next = NextCollectionSerializer(many=True)


# --- Reminders


_REMIND_DAY_HELP = "`evening_before` (the default) or `morning_of` the collection day, Europe/Berlin."
# The first name of `remind_day`: it ends in `_at` but is no instant (docs/api.md, positions and times).
_REMIND_AT_HELP = "Deprecated: send and read `remind_day`."
_REMIND_TIME_HELP = (
    "Wall-clock time (Europe/Berlin), `HH:MM`: 16:00-22:00 for `evening_before`, 05:00-08:00 for "
    "`morning_of`, in 15-minute steps; default 18:00 and 06:00."
)
_LABEL_HELP = (
    f'Your name for the address ("Zuhause", "Mama"), at most {REMINDER_LABEL_MAX_LENGTH} characters; '
    'the push shows it instead of the address. "" for none.'
)
_HOUSE_NUMBER_HELP = (
    'The number the user lives at ("12a"), which the location must hold (a number within its range, or any '
    'number for a whole street); shown in the push instead of the location\'s range. "" for none.'
)


@extend_schema_field(
    {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", "example": "19:30"}
)
class ReminderTimeField(serializers.TimeField):
    """``"18:30"`` (seconds allowed as ``:00``); the window and the 15-minute steps are the service's rule.

    Documented as a pattern, not OpenAPI's ``format: time`` (which means ``HH:MM:SS`` with an offset).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=["%H:%M", "%H:%M:%S"], format="%H:%M", **kwargs)


@extend_schema_serializer(deprecate_fields=["remind_at"])
class ReminderSerializer(serializers.ModelSerializer[ReminderSubscription]):
    location = LocationSerializer()
    types = serializers.ListField(source="waste_types", child=serializers.CharField())
    remind_day = serializers.ChoiceField(
        choices=ReminderTime.choices, source="remind_at", read_only=True, help_text=_REMIND_DAY_HELP
    )
    remind_time = ReminderTimeField(help_text=_REMIND_TIME_HELP)

    class Meta:
        model = ReminderSubscription
        fields = [
            "id",
            "location",
            "house_number",
            "label",
            "types",
            "remind_day",
            "remind_time",
            "remind_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "remind_at": {"help_text": _REMIND_AT_HELP},
            "label": {"help_text": _LABEL_HELP},
            "house_number": {"help_text": _HOUSE_NUMBER_HELP},
        }


def _label_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        allow_blank=True,
        max_length=REMINDER_LABEL_MAX_LENGTH,
        validators=[ProhibitNullCharactersValidator(), _no_control_characters],
        help_text=_LABEL_HELP,
        **kwargs,
    )


def _no_control_characters(value: str) -> None:
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise serializers.ValidationError(_("No line breaks or control characters."), code="invalid")


@extend_schema_serializer(deprecate_fields=["remind_at"])
class ReminderCreateSerializer(serializers.Serializer[Any]):
    location = serializers.CharField(max_length=20, help_text="The location's `id`.")
    house_number = serializers.CharField(
        required=False, allow_blank=True, max_length=30, default="", help_text=_HOUSE_NUMBER_HELP
    )
    # A declared field named like Field.label: DRF's metaclass takes it out of the class, mypy does not know.
    label = _label_field(required=False, default="")  # type: ignore[assignment]
    types = serializers.ListField(child=serializers.SlugField(max_length=40), min_length=1, max_length=20)
    remind_day = serializers.ChoiceField(
        choices=ReminderTime.choices,
        default=ReminderTime.EVENING_BEFORE,
        source="remind_at",
        help_text=_REMIND_DAY_HELP,
    )
    remind_time = ReminderTimeField(required=False, help_text=_REMIND_TIME_HELP)
    # After remind_day: when an app still sends the old name, it wins over remind_day's default.
    remind_at = serializers.ChoiceField(
        choices=ReminderTime.choices, required=False, help_text=_REMIND_AT_HELP
    )


@extend_schema_serializer(deprecate_fields=["remind_at"])
class ReminderUpdateSerializer(serializers.Serializer[Any]):
    types = serializers.ListField(
        child=serializers.SlugField(max_length=40), min_length=1, max_length=20, required=False
    )
    remind_day = serializers.ChoiceField(
        choices=ReminderTime.choices,
        required=False,
        source="remind_at",
        help_text=_REMIND_DAY_HELP + " Without `remind_time`, a new day takes its default time.",
    )
    remind_time = ReminderTimeField(required=False, help_text=_REMIND_TIME_HELP)
    remind_at = serializers.ChoiceField(
        choices=ReminderTime.choices, required=False, help_text=_REMIND_AT_HELP
    )
    house_number = serializers.CharField(
        required=False, allow_blank=True, max_length=30, help_text=_HOUSE_NUMBER_HELP
    )
    label = _label_field(required=False)  # type: ignore[assignment]


class ReminderExistsErrorSerializer(serializers.Serializer[Any]):
    """The 409 of a second subscription of the same location: the error shape plus the existing id."""

    code = serializers.CharField(help_text="`reminder_exists`")
    detail = serializers.CharField()
    request_id = serializers.CharField()
    existing_id = serializers.IntegerField(
        help_text="The id of the installation's subscription of this location: change that one (PATCH)."
    )
