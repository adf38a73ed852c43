"""The API's JSON parser: DRF's, with every dimension of the body bounded before and while it is parsed.

Python's ``json`` recurses once per nesting level and converts integers of any length (quadratic in their
digits, refused with a ValueError above 4,300): a 2 KB body of brackets or a 5 KB number would otherwise
cost a 500 or a worker's CPU. No body of this API nests more than a few levels or needs an integer of more
than a few digits.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 32
# 2**63 has 19 digits; the longest integer a field of ours takes.
MAX_JSON_INTEGER_DIGITS = 20

# A JSON string, so that brackets inside text do not count as nesting.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class JSONTooDeep(ValueError):
    pass


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects in ``raw`` nest deeper than ``limit`` (strings skipped).

    Unbalanced brackets count as they open: the body is no valid JSON then, and the parser says so.
    """
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def bounded_json_loads(raw: bytes | str, *, strict: bool = True) -> Any:
    """``json.loads`` within the bounds above; raises ValueError (JSONTooDeep for the nesting)."""
    encoded = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if json_depth_exceeds(encoded, MAX_JSON_DEPTH):
        message = _("The JSON is nested too deeply: at most %(levels)d levels.")
        raise JSONTooDeep(message % {"levels": MAX_JSON_DEPTH})
    return json.loads(
        raw,
        parse_int=_bounded_int,
        parse_float=_finite_float,
        parse_constant=strict_constant if strict else None,
    )


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise ValueError(f"an integer of more than {MAX_JSON_INTEGER_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)  # linear in the length; 1e999 becomes inf
    if not math.isfinite(number):
        raise ValueError("a number out of range")
    return number


class BoundedJSONParser(JSONParser):
    """JSON bodies of at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, ``MAX_JSON_DEPTH`` levels, integers of
    at most ``MAX_JSON_INTEGER_DIGITS`` digits and finite numbers; anything else is a 400 ``parse_error``
    (413 ``request_too_large`` for the size), never a 500. ``BoundedJSONField`` holds JSON strings inside
    a form to the same bounds."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Django applies this limit to request.body and form posts; DRF reads JSON from the stream past it.
        raw = stream.read(limit + 1 if limit is not None else -1)
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("JSON body above DATA_UPLOAD_MAX_MEMORY_SIZE")
        try:
            return bounded_json_loads(codecs.getdecoder(encoding)(raw)[0], strict=self.strict)
        except JSONTooDeep as error:
            raise ParseError(str(error)) from None
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
            raise ParseError(_("The body is not valid JSON: %(error)s.") % {"error": error}) from None
