"""Rate limits by kind of client, counted in the shared cache (Redis in production).

App installations are counted per installation, staff per user, anonymous callers per client IP
(``DJANGO_NUM_PROXIES`` tells how many proxies' ``X-Forwarded-For`` entries to trust).

Counting is a fixed window: one ``INCR`` per request on a small integer key. DRF's default keeps a list
of every request's timestamp per client and rewrites it on each call, which cost more than the endpoint
it guarded. A fixed window admits at most two windows' worth in a burst across a boundary, which is
fine for abuse protection.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from casapp.api.permissions import is_device_request
from casapp.caching import local_state_register

logger = logging.getLogger("casapp.api")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'120/min' → (120, 60)."""
    count, period = rate.split("/")
    return int(count), _UNITS[period[0]]


@functools.cache
def _redis(url: str) -> Any:
    # One client per process: Django's RedisCache builds a new client object on every call (~0.2 ms).
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _count(key: str, period: int) -> int:
    """Adds one to the window's counter and returns it: one round trip to Redis, or the local cache.

    Without Redis the limit is not enforced (fail open): a rate limit must not take the API down.
    """
    return _add_counts({key: 1}, period).get(key, 0)


def _add_counts(counts: dict[str, int], period: int) -> dict[str, int]:
    """Adds each key's count to its window's counter in one round trip; the totals (none if Redis is away)."""
    if settings.REDIS_URL:
        try:
            pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
            for key, amount in counts.items():
                pipe.incrby(key, amount)
                pipe.expire(key, period + 1, nx=True)
            replies = pipe.execute()
        except redis.RedisError:
            logger.warning("rate limit not counted: Redis unreachable")
            return {}
        return {key: int(total) for key, total in zip(counts, replies[::2], strict=True)}
    totals = {}
    for key, amount in counts.items():
        try:
            totals[key] = int(cache.incr(key, amount))
        except ValueError:  # first request of this window
            added = cache.add(key, amount, timeout=period + 1)
            totals[key] = amount if added else int(cache.incr(key, amount))
    return totals


def _peek(key: str) -> int:
    if not settings.REDIS_URL:
        return int(cache.get(key) or 0)
    try:
        return int(_redis(settings.REDIS_URL).get(key) or 0)
    except redis.RedisError:
        logger.warning("rate limit not read: Redis unreachable")
        return 0


class FixedWindowThrottle(BaseThrottle):
    scope = ""
    # Count only what succeeded (the view calls ``charge``): a limit on things made, not on attempts.
    charge_on_success = False

    def __init__(self) -> None:
        self._retry_at = 0.0

    def identity(self, request: Request) -> str:
        return self.get_ident(request)

    def scope_for(self, request: Request, view: Any) -> str:
        return self.scope

    def rate_for(self, request: Request, scope: str) -> str | None:
        """The scope's rate from the settings; a subclass may give one per client."""
        rate: str | None = api_settings.DEFAULT_THROTTLE_RATES.get(scope)  # type: ignore[assignment]
        return rate

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = self.scope_for(request, view)
        rate = self.rate_for(request, scope)
        if not scope or not rate:
            return True
        limit, period = parse_rate(rate)
        key, window = self._key(request, view, scope, period)
        used = _peek(key) + 1 if self.charge_on_success else _count(key, period)
        if used <= limit:
            return True
        self._retry_at = (window + 1) * period
        return False

    def charge(self, request: Request, view: Any) -> None:
        scope = self.scope_for(request, view)
        rate = self.rate_for(request, scope)
        if scope and rate:
            _, period = parse_rate(rate)
            _count(self._key(request, view, scope, period)[0], period)

    def _key(self, request: Request, view: Any, scope: str, period: int) -> tuple[str, int]:
        window = int(time.time() // period)
        return f"casapp:throttle:{scope}:{self.identity(request)}:{window}", window

    def wait(self) -> float | None:
        return max(1.0, self._retry_at - time.time()) if self._retry_at else None


class ClientRateThrottle(FixedWindowThrottle):
    """The default limit of every endpoint, scoped by who is calling."""

    def scope_for(self, request: Request, view: Any) -> str:
        if is_device_request(request):
            return "device"
        if request.user and request.user.is_authenticated:
            return "staff"
        return "anon"

    def identity(self, request: Request) -> str:
        if is_device_request(request):
            return f"i{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"u{request.user.pk}"
        return self.get_ident(request)


class PerIpScopedThrottle(FixedWindowThrottle):
    """A named limit (``throttle_scope`` on the view) counted per client IP, whoever is calling."""

    def scope_for(self, request: Request, view: Any) -> str:
        return str(getattr(view, "throttle_scope", ""))


class LocalTally:
    """A fixed-window limit counted in this process and added to the shared counters in batches.

    For answers cheaper than a round trip to Redis (the app's start-up configuration from the per-process
    memo): ``admit`` costs a dictionary update; every ``flush_seconds`` the counts of all clients go to
    Redis in one pipeline, which answers each client's total over all processes. A client is admitted while
    that total plus what this process counted since is below the limit; one that reaches it is not admitted
    here, and the caller hands it to the exact path (the view's throttle, one round trip per request, which
    answers 429 in the API's error shape). The counters are the exact path's, so both count the same window.

    What this gives up: a client can exceed its limit by what the other processes admitted in the last
    ``flush_seconds`` before they flushed (at most processes x flush_seconds x its request rate, once per
    window), and totals are remembered only for clients at half their limit or more, so memory holds the
    few heavy clients, not every address of the window.
    """

    def __init__(self, *, scope: str, flush_seconds: float = 1.0) -> None:
        self.scope = scope
        self.flush_seconds = flush_seconds
        self._pending: dict[str, int] = {}
        self._totals: dict[str, int] = {}  # heavy clients' totals of the current window, as last flushed
        self._window = -1
        self._flush_at = 0.0
        self._ident = BaseThrottle()
        # A threaded worker's requests share the tally: no count lost between an update and a flush's swap.
        self._lock = threading.Lock()
        local_state_register(self)

    def admit(self, request: Any) -> bool:
        """Counts the request; False when the client may be at its limit (take the exact path)."""
        rate: str | None = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[assignment]
        if not rate:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        if window != self._window:
            self._totals.clear()
            self._window = window
        key = f"casapp:throttle:{self.scope}:{self._ident.get_ident(request)}:{window}"
        with self._lock:
            used = self._totals.get(key, 0) + self._pending.get(key, 0) + 1
            if used <= limit:
                self._pending[key] = self._pending.get(key, 0) + 1
        if used > limit:
            self.flush(period=period, limit=limit)  # the exact path then sees every request counted
            return False
        if time.monotonic() >= self._flush_at:
            self.flush(period=period, limit=limit)
        return True

    def flush(self, *, period: int, limit: int) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flush_at = time.monotonic() + self.flush_seconds
        if not pending:
            return
        for key, total in _add_counts(pending, period).items():
            if total * 2 >= limit and key.endswith(f":{self._window}"):
                self._totals[key] = total

    def forget(self) -> None:
        self._pending.clear()
        self._totals.clear()
        self._flush_at = 0.0
