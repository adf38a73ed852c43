"""Serializer fields used by several apps."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from casapp.api.parsers import JSONTooDeep, bounded_json_loads
from casapp.appconfig import MAX_APP_VERSION_LENGTH, parse_app_version

# The largest id a database row can have (a signed 64-bit integer); a larger one would reach the database
# as an overflow (a 500), not as the unknown id it is.
DATABASE_ID_MAX = 2**63 - 1

# BCP 47 as phones send it ("de", "de-DE", "en_GB", "zh-Hant-TW"); we keep the language subtag.
_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


class LanguageTagField(serializers.CharField):
    """A phone's language tag, stored as its lower-case language ("de-DE" → "de").

    Any language is accepted: content not available in it falls back to German.
    """

    default_error_messages = {"invalid": _("Enter a language tag such as 'de' or 'en-GB'.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 35)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        match = _LANGUAGE_TAG.match(value)
        if not match:
            self.fail("invalid")
        return match.group(1).lower()


class AppVersionField(serializers.CharField):
    default_error_messages = {"invalid": _("Enter a version number such as '2.4.1'.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_APP_VERSION_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        # A longer one is refused by the max_length validator, which runs after this.
        if len(value) <= MAX_APP_VERSION_LENGTH and parse_app_version(value) is None:
            self.fail("invalid")
        return value


class BoundedJSONField(serializers.JSONField):
    """DRF's JSONField, but a JSON string (a form field's value) is parsed within the JSON parser's bounds
    (``casapp.api.parsers``): DRF's own json.loads would fail with a 500 on deep nesting."""

    def to_internal_value(self, data: Any) -> Any:
        if self.binary or getattr(data, "is_json_string", False):
            if isinstance(data, bytes):
                data = data.decode()
            try:
                return bounded_json_loads(data)
            except JSONTooDeep as error:
                raise serializers.ValidationError(str(error), code="invalid") from None
            except (TypeError, ValueError):
                self.fail("invalid")
        return super().to_internal_value(data)


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose choice set is one named enum of the OpenAPI schema wherever it appears.

    drf-spectacular names enums after their field (``status``, ``kind``); push already has its own
    ``status`` and ``kind`` choice sets in several components, so the report's would get hashed names.
    """

    def __init__(self, *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field: NamedChoiceField = self.target
        values = [value for value in field.choices if value != ""]
        enum = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": values,
                "description": "\n".join(f"* `{value}` - {field.choices[value]}" for value in values),
            },
        )
        auto_schema.registry.register_on_missing(enum)
        if not field.allow_blank:
            return dict(enum.ref)
        # The same component the enum hook creates for blank choices elsewhere.
        blank = ResolvedComponent(  # type: ignore[no-untyped-call]
            name="BlankEnum", type=ResolvedComponent.SCHEMA, object="BlankEnum", schema={"enum": [""]}
        )
        auto_schema.registry.register_on_missing(blank)
        return {"oneOf": [enum.ref, blank.ref]}


class _BlankAsNull:
    """Answers a stored "" as null.

    Text columns keep "" for "none" (Django's convention), but a typed client decodes an enum or a URL
    from "" as an error; null is what its optional type means. Read-only shapes only.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value == "" else super().to_representation(value)  # type: ignore[misc]


class NullableChoiceField(_BlankAsNull, serializers.ChoiceField):
    """A choice, or null where none is stored ("")."""


class NullableURLField(_BlankAsNull, serializers.URLField):
    """A URL, or null where none is stored ("")."""


class NullableEmailField(_BlankAsNull, serializers.EmailField):
    """An e-mail address, or null where none is stored ("")."""
