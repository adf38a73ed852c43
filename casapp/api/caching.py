"""HTTP caching headers and the negotiated language, the same for every module's responses.

ConditionalGetMiddleware adds the ETag and answers 304; these set who may keep a response and for how long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.conf import settings
from django.http import HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

R = TypeVar("R", bound=HttpResponseBase)


def request_language() -> str:
    """The language LocaleMiddleware negotiated from Accept-Language, as a bare code ("de", "en")."""
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0].lower()


def cache_public(response: R, *, max_age: int, vary: Sequence[str] = ("Accept-Language",)) -> R:
    """Open to shared caches, kept per language."""
    response["Cache-Control"] = f"public, max-age={max_age}"
    patch_vary_headers(response, vary)
    return response


def cache_private(response: R) -> R:
    """One installation's own data: the phone may keep it and revalidate with the ETag, no shared cache."""
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Accept-Language"])
    return response
