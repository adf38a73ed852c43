"""The languages citizens are answered in, the one fallback rule, and which texts citizens read.

The rule everywhere (API answers, pushes, inbox, notice board, catalogues): the device's or request's
language if the text exists in it, German otherwise. English is the language the code is written in;
German is ``LANGUAGE_CODE`` and the city's own language, so it is what any other language falls back to
(Django does the same for a msgid missing from a catalogue: it takes the ``LANGUAGE_CODE`` catalogue).

Turkish is for citizens only: staff pages, staff e-mails and the staff API are German and English; a
staff text asked for in Turkish is German. ``CITIZEN_FACING`` names the texts that must exist in Turkish;
``manage.py messages_check`` (``make check``) fails on any of them without a finished translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

FALLBACK_LANGUAGE = "de"

# Languages whose catalogues must translate every text (the staff side included); the others only
# translate the citizen-facing set. English is the source language: an empty msgstr means the msgid.
STAFF_LANGUAGES = ("de", "en")

# Source files (fnmatch patterns, relative to the project) whose translatable texts citizens read: the app
# API (answers and errors), the pushes and their templates, the ICS feed, the Open311 API.
CITIZEN_FACING = (
    "casapp/api/app_config.py",
    "casapp/api/errors.py",
    "casapp/api/fields.py",
    "casapp/api/negotiation.py",
    "casapp/api/pagination.py",
    "casapp/api/parsers.py",
    "casapp/api/permissions.py",
    "casapp/api/throttling.py",
    "casapp/images.py",
    "casapp/middleware.py",
    "casapp/urls.py",
    "casapp/settings.py",
    "push/api/serializers.py",
    "push/api/views.py",
    "push/authentication.py",
    "push/services/installations.py",
    "push/services/pairing.py",
    "push/services/preferences.py",
    "push/participation/api.py",
    "push/participation/services.py",
    "push/participation/selectors.py",
    "reports/answers.py",
    "reports/geo.py",
    "reports/notify.py",
    "reports/photos.py",
    "reports/public_photos.py",
    "reports/services.py",
    "reports/api/fields.py",
    "reports/api/serializers.py",
    "reports/api/views/app.py",
    "reports/api/views/public.py",
    "reports/open311/api.py",
    "reports/open311/documents.py",
    "reports/open311/forms.py",
    "reports/open311/representations.py",
    "reports/open311/services.py",
    "reports/open311/views.py",
    "waste_calendar/api/*.py",
    "waste_calendar/feed.py",
    "waste_calendar/reminders.py",
    "waste_calendar/reminder_night.py",
    "waste_calendar/collection_changes.py",
)

# Texts of mixed (mostly staff) modules that citizens read too, by msgid: the kinds of notifications in
# the push catalogue, the report statuses.
CITIZEN_FACING_MESSAGES = (
    "outage",
    "campaign",
    "news",
    "personal",
    "received",
    "in review",
    "in progress",
    "done",
    "rejected",
    "duplicate",
    "not responsible",
    "withdrawn",
)


def content_languages() -> tuple[str, ...]:
    """Every language a citizen-facing text is written in, German first."""
    return tuple(code for code, _name in settings.LANGUAGES)


def supported_language(language: str | None) -> str:
    """``language`` if citizens are answered in it, German otherwise ("fr", "", None → "de")."""
    code = (language or "").split("-")[0].lower()
    return code if code in content_languages() else FALLBACK_LANGUAGE


def text_in(texts: Mapping[str, Any], language: str) -> Any:
    """The text of ``language`` in a language → text mapping, German where it has none."""
    return texts.get(language) or texts.get(FALLBACK_LANGUAGE) or ""


def field_in(instance: Any, field: str, language: str) -> str:
    """A model's text column in ``language`` (``name_tr``), German (``name_de``) where it is empty."""
    localized = getattr(instance, f"{field}_{language}", "") if language != FALLBACK_LANGUAGE else ""
    return str(localized or getattr(instance, f"{field}_{FALLBACK_LANGUAGE}"))
