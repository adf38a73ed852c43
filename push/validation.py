"""Rules every notification text obeys before anything is sent.

Notifications appear on lock screens, so they carry no personal data; FCM refuses payloads over 4 KB.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from casapp.errors import DomainError
from push.transports import OutgoingMessage

MAX_TITLE = 120
MAX_BODY = 1000
MAX_PAYLOAD_BYTES = 4096
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# A phone number as people write it: "+49 2305 ..." or "0171 ...", seven or more digits with separators.
# (A report number "#1234567" does not start with 0 or +, so it passes.)
_LONG_NUMBER = re.compile(r"(?:\+|(?<![\d#])0)\d(?:[\s/().-]?\d){5,}")


def validate_content(content: Any, *, checked: set[str] | None = None) -> None:
    """``{"de": {"title", "body"}, "en": {...}}``: German required, known shape, no personal data.

    ``checked``: texts already found free of personal data (a send of a million messages shares a few
    titles); texts that pass are added to it.
    """
    if not isinstance(content, dict) or not isinstance(content.get("de"), dict):
        raise DomainError(
            _("A German title and text are required."), code="content_de_required", field="content"
        )
    for language, text in content.items():
        field = f"content.{language}"
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            raise DomainError(_("Unknown language code."), code="invalid_language", field=field)
        if not isinstance(text, dict) or set(text) - {"title", "body"}:
            raise DomainError(_("Each language has a title and a body."), code="invalid_content", field=field)
        title, body = text.get("title"), text.get("body")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            raise DomainError(
                _("The title is required and at most %(n)d characters long.") % {"n": MAX_TITLE},
                code="invalid_title",
                field=f"{field}.title",
            )
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
            raise DomainError(
                _("The text is required and at most %(n)d characters long.") % {"n": MAX_BODY},
                code="invalid_body",
                field=f"{field}.body",
            )
        for part, value in (("title", title), ("body", body)):
            if checked is not None and value in checked:
                continue
            refused = personal_data_in(value)
            if refused is not None:
                raise DomainError(
                    _(
                        "Notifications appear on lock screens: no e-mail addresses or phone numbers "
                        "but the city's own. Refused: %(text)s"
                    )
                    % {"text": refused},
                    code="personal_data",
                    field=f"{field}.{part}",
                )
            if checked is not None:
                checked.add(value)


def _digits(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "0" + digits[2:] if number.startswith("+49") else digits


def _is_city_number(number: str) -> bool:
    return any(
        _digits(number).startswith(_digits(prefix))
        for prefix in settings.PUSH_CITY_PHONE_PREFIXES
        if _digits(prefix)
    )


def _is_city_address(address: str) -> bool:
    domain = address.rpartition("@")[2].rstrip(".").lower()
    return any(
        domain == own or domain.endswith(f".{own}")
        for own in (d.strip().lower() for d in settings.PUSH_CITY_EMAIL_DOMAINS)
        if own
    )


def personal_data_in(text: str) -> str | None:
    """The first phone number or e-mail address in ``text`` that is not the city's own, if any."""
    if "@" not in text:  # most texts: no address to look for or to blank out
        return _phone_number_in(text)
    for match in _EMAIL.finditer(text):
        if not _is_city_address(match.group()):
            return match.group()
    # Addresses are blanked first: digits in an allowed address are not a phone number.
    return _phone_number_in(_EMAIL.sub(" ", text))


def _phone_number_in(text: str) -> str | None:
    for match in _LONG_NUMBER.finditer(text):
        if not _is_city_number(match.group()):
            return match.group().strip()
    return None


def payload_sizes(
    *, content: dict[str, dict[str, str]], data: dict[str, str], image_url: str, deep_link: str
) -> dict[str, int]:
    """Per language: bytes of the FCM message as firebase-admin encodes it (``push.firebase``), without
    the target, for the largest case of what varies per send (a 10-digit id, an outage's collapse key,
    high priority with a time to live, the longest channel name). ``-1`` when the SDK refuses it."""
    from push.firebase import encoded_size  # the SDK is loaded on the first check, not with the module

    sizes = {}
    for language, text in content.items():
        message = OutgoingMessage(
            delivery_id=0,
            token="size-check",  # the SDK needs a target; encoded_size leaves it out
            token_kind="registration_token",
            title=str(text.get("title", "")),
            body=str(text.get("body", "")),
            data={
                **data,
                **({"deep_link": deep_link} if deep_link else {}),
                "notification_id": "0000000000",
                "kind": "campaign",
            },
            image_url=image_url,
            collapse_key="outage-0000000000",
            high_priority=True,
            ttl_seconds=2_419_200,
            channel="campaign",
        )
        try:
            sizes[language] = encoded_size(message)
        except (ValueError, TypeError):
            sizes[language] = -1
    return sizes


def validate_payload_size(
    *, content: dict[str, dict[str, str]], data: dict[str, str], image_url: str, deep_link: str
) -> None:
    """Every language version must fit FCM's 4,096 bytes, measured on the message firebase-admin encodes."""
    for language, size in payload_sizes(
        content=content, data=data, image_url=image_url, deep_link=deep_link
    ).items():
        if size < 0:
            raise DomainError(
                _("Firebase refuses this message (an image address or data it cannot send)."),
                code="invalid_payload",
                field=f"content.{language}",
            )
        if size > MAX_PAYLOAD_BYTES:
            raise DomainError(
                _(
                    "The message in %(language)s is %(size)d bytes as sent to Firebase; at most "
                    "%(limit)d bytes are accepted. Shorten the text or the data."
                )
                % {"language": language, "size": size, "limit": MAX_PAYLOAD_BYTES},
                code="payload_too_large",
                field=f"content.{language}",
            )


def validate_data(data: Any) -> dict[str, str]:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise DomainError(_("Data must map text keys to text values."), code="invalid_data", field="data")
    reserved = {"notification_id", "kind", "deep_link", "from", "notification", "message_type"}
    if clash := reserved & set(data) or any(k.startswith(("google.", "gcm.")) for k in data):
        raise DomainError(
            _("Reserved data key: %(key)s") % {"key": clash or "google."}, code="invalid_data", field="data"
        )
    return data


def is_decimal_number(text: str) -> bool:
    """A decimal number ``int()`` reads: ``str.isdigit`` also accepts "²" and other digits it refuses."""
    return text.isascii() and text.isdigit()
