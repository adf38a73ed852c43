"""How fast the drains may send: the global rate limit, the sending pause of an FCM outage or quota,
and the backoff of a message's retries.

Waiting never parks a worker: quota and transient errors set ``not_before`` on the rows and the drain
task is rescheduled with a countdown.
"""

from __future__ import annotations

import logging
import random
import time

import redis
from django.conf import settings
from django.core.cache import cache

from push.transports import ErrorClass, SendResult

# One logger for the whole engine, the name operators filter on (docs/operations.md).
logger = logging.getLogger("push.fanout")

# Every drain waits while this is set: FCM's quota is used up, or FCM is unavailable.
QUOTA_PAUSE_KEY = "push:quota-paused-until"
# Batches in a row that found FCM unavailable: the pause doubles with each, up to OUTAGE_PAUSE_CAP_SECONDS.
OUTAGE_STREAK_KEY = "push:fcm-unavailable-streak"
OUTAGE_PAUSE_CAP_SECONDS = 60.0
# Redis restarting: what the cache raises then.
CACHE_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
RETRY_CAP_SECONDS = 600.0

# The global rate limit counts messages per tick of 1/10 s. A window of one second overlaps at most 11
# ticks, 12 when a message reaches FCM up to a tick after its grant; each tick grants 1/12 of the
# per-second rate, so no second (any second, not only whole ones) holds more than the rate.
RATE_TICKS_PER_SECOND = 10
RATE_KEY = "push:rate:"


def rate_budget() -> tuple[int, int]:
    """(ticks per second, messages granted per tick) for ``PUSH_RATE_LIMIT_PER_MINUTE``.

    Below 12 a second the ticks get longer (fewer per second) so each still grants one message; below
    3 a second one message per tick can make 3 in a second.
    """
    per_second = max(1, settings.PUSH_RATE_LIMIT_PER_MINUTE // 60)
    ticks = min(RATE_TICKS_PER_SECOND, max(1, per_second - 2))
    return ticks, max(1, per_second // (ticks + 2))


def rate_grant(wanted: int) -> int:
    """Waits until the budget shared through the cache by every worker grants messages; how many
    (1 to ``wanted``). Waits at most a tick at a time, so an expiry is noticed between grants."""
    ticks, budget = rate_budget()
    while True:
        tick = int(time.time() * ticks)
        key = f"{RATE_KEY}{ticks}:{tick}"
        asked = min(wanted, budget)
        cache.add(key, 0, timeout=5)
        try:
            used = cache.incr(key, asked)
        except ValueError:  # expired between add and incr
            continue
        granted = min(asked, budget - (used - asked))
        if granted > 0:
            return granted
        time.sleep(max(0.0, (tick + 1) / ticks - time.time()))


def quota_pause_remaining() -> float:
    until = cache.get(QUOTA_PAUSE_KEY)
    return max(0.0, float(until) - time.time()) if until else 0.0


def pause_sending(seconds: float) -> None:
    """Called while recording a sent batch: a cache that is away must not lose the batch's results (it
    would be sent twice); the rows' own ``not_before`` still holds them back."""
    until = time.time() + seconds
    try:
        current = cache.get(QUOTA_PAUSE_KEY)
        if current is None or float(current) < until:
            cache.set(QUOTA_PAUSE_KEY, until, timeout=int(seconds) + 5)
    except CACHE_UNREACHABLE as error:
        logger.warning("sending pause not shared: cache unreachable (%s)", type(error).__name__)


def fcm_unavailable(batch_size: int, results: list[SendResult]) -> bool:
    """Most of a batch failed transiently: that is FCM (or the way to it), not these messages."""
    if batch_size < settings.PUSH_CIRCUIT_BREAKER_MIN_BATCH:
        return False
    transient = sum(1 for r in results if r.error and r.error.error_class == ErrorClass.TRANSIENT)
    return transient / batch_size > settings.PUSH_CIRCUIT_BREAKER_RATIO


def outage_pause() -> float:
    """The pause after one more batch that found FCM unavailable: doubling, with jitter, capped."""
    try:
        cache.add(OUTAGE_STREAK_KEY, 0, timeout=int(RETRY_CAP_SECONDS))
        streak = int(cache.incr(OUTAGE_STREAK_KEY))
    except ValueError:  # expired between add and incr
        streak = 1
    except CACHE_UNREACHABLE:
        streak = 1
    ceiling = min(OUTAGE_PAUSE_CAP_SECONDS, settings.PUSH_RETRY_BASE_SECONDS * 2 ** (streak - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not cryptography)


def backoff(attempts: int) -> float:
    """Exponential backoff with full jitter, so retries of many workers do not arrive together."""
    ceiling = min(RETRY_CAP_SECONDS, settings.PUSH_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not cryptography)
