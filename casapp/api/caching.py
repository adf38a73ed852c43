"""HTTP caching headers and the negotiated language, the same for every module's responses; the base of
views whose answers are kept in a cache.

ConditionalGetMiddleware adds the ETag and answers 304; these set who may keep a response and for how long.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from django.http import HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from rest_framework.request import Request
from rest_framework.views import APIView

from casapp.languages import supported_language

R = TypeVar("R", bound=HttpResponseBase)
T = TypeVar("T")


def request_language() -> str:
    """The language LocaleMiddleware negotiated from Accept-Language, as a bare code ("de", "en", "tr")."""
    return supported_language(get_language())


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


class CountedWhenBuilt(APIView):
    """Base of views whose answers are kept in a cache: the rate limit counts only requests that do work.

    An answer from the cache costs less than the limit's own round trip to Redis, so counting it would cut
    what the endpoint can serve and protect nothing; a request that has to query the database is counted
    before it does. Views pass their build function through ``counted``.
    """

    def check_throttles(self, request: Request) -> None:
        if request.method not in ("GET", "HEAD"):
            super().check_throttles(request)  # OPTIONS and the like are not answered from the cache
        # else in counted(), when the answer is built

    def counted(self, build: Callable[[], T]) -> Callable[[], T]:
        def build_counted() -> T:
            super(CountedWhenBuilt, self).check_throttles(self.request)
            return build()

        return build_counted
