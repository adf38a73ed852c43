"""Serializer fields used by several apps."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from casapp.appconfig import parse_app_version

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
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if parse_app_version(value) is None:
            self.fail("invalid")
        return value
