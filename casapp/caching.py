"""The two caching patterns the apps share, written once.

- ``LocalMemo``: values kept in this process, each under a key and the *fingerprint* of what it was made
  from (a data generation, a snapshot, the rows it read). A value is served while the caller's current
  fingerprint equals the one it was stored with and, if the memo has ``seconds``, until it is that old.
  Least recently used keys are dropped beyond ``entries``. A memo is per process: nothing is shared, so
  each process needs its own way of noticing a change (a fingerprint read cheaply, or a short age).
- ``shared_value``: a value computed once and kept in the shared cache (Redis in production) for every
  process, optionally by one process at a time (a lock in the cache, the others wait for its result),
  optionally still computed when the cache is away.

Every memo registers itself, so ``local_memos_forget`` empties all of them (tests, and a process that
changed data it cannot name the memos of).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar, cast

import redis
from django.core.cache import cache

logger = logging.getLogger("casapp.caching")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Redis away (restarting): a value that can be computed is better than an error.
CACHE_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)

_MISSING = object()


class LocalMemo(Generic[K, V]):
    """Per-process values by key, each valid for one fingerprint (and at most ``seconds`` old)."""

    def __init__(self, name: str, *, entries: int = 1, seconds: float | None = None) -> None:
        self.name = name
        self.entries = entries
        self.seconds = seconds
        # key -> (fingerprint, value, valid until on the monotonic clock)
        self._held: OrderedDict[K, tuple[Hashable, V, float]] = OrderedDict()
        # Threaded workers share the memo; the lock keeps the LRU order consistent, never held while building.
        self._lock = threading.Lock()
        _memos.add(self)

    def get(self, key: K, fingerprint: Hashable = None) -> V | None:
        """The value held for ``key`` if it was made for ``fingerprint`` and has not expired, else None."""
        found = self._held.get(key)
        if found is None or found[0] != fingerprint or found[2] <= time.monotonic():
            return None
        if self.entries > 1:
            with self._lock:
                if key in self._held:
                    self._held.move_to_end(key)
        return found[1]

    def put(self, key: K, value: V, fingerprint: Hashable = None, *, seconds: float | None = None) -> V:
        """Holds ``value`` for ``fingerprint``; ``seconds`` (at most the memo's own) shortens its life."""
        limits = [s for s in (self.seconds, seconds) if s is not None]
        until = time.monotonic() + min(limits) if limits else float("inf")
        with self._lock:
            self._held[key] = (fingerprint, value, until)
            self._held.move_to_end(key)
            while len(self._held) > self.entries:
                self._held.popitem(last=False)
        return value

    def get_or_build(self, key: K, build: Callable[[], V], fingerprint: Hashable = None) -> V:
        """The held value, else ``build()``'s, held. Two threads may both build; the later one is kept."""
        found = self.get(key, fingerprint)
        if found is not None:
            return found
        return self.put(key, build(), fingerprint)

    def forget(self, key: K | None = None) -> None:
        """Drops ``key``, or everything."""
        with self._lock:
            if key is None:
                self._held.clear()
            else:
                self._held.pop(key, None)

    def __len__(self) -> int:
        return len(self._held)

    def __repr__(self) -> str:
        return f"<LocalMemo {self.name}: {len(self._held)} of {self.entries}>"


class _Forgets(Protocol):
    def forget(self) -> None: ...


# Every memo, and other per-process state that must be emptied with them (``local_state_register``).
_memos: weakref.WeakSet[_Forgets] = weakref.WeakSet()


def local_state_register(state: _Forgets) -> None:
    """``local_memos_forget`` empties ``state`` too (a local rate-limit tally, say)."""
    _memos.add(state)


def local_memos_forget() -> None:
    """Empties every memo of this process."""
    for memo in list(_memos):
        memo.forget()


def shared_value(
    key: str,
    build: Callable[[], V],
    *,
    seconds: float,
    lock_seconds: float | None = None,
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.05,
    build_when_unreachable: bool = False,
) -> V:
    """The value under ``key`` in the shared cache, else ``build()``'s, stored for ``seconds``.

    ``build`` must not return None (None is "not cached"). With ``lock_seconds``, one process computes
    (it holds ``<key>:lock`` for at most that long) while the others wait up to ``wait_seconds`` for its
    result; when the wait runs out or the computing process failed, the waiting one computes itself rather
    than answering nothing. With ``build_when_unreachable`` a cache that is away costs a computation, not an
    error (logged as a warning).
    """
    try:
        found = cache.get(key, _MISSING)
        if found is not _MISSING and found is not None:
            return cast("V", found)
        if lock_seconds is None:
            return _build_and_store(key, build, seconds, build_when_unreachable)
        lock = f"{key}:lock"
        if cache.add(lock, 1, lock_seconds):
            try:
                return _build_and_store(key, build, seconds, build_when_unreachable)
            finally:
                cache.delete(lock)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            time.sleep(poll_seconds)
            found = cache.get(key, _MISSING)
            if found is not _MISSING and found is not None:
                return cast("V", found)
            if not cache.get(lock):
                break  # the computation failed: no result is coming
        return _build_and_store(key, build, seconds, build_when_unreachable)
    except CACHE_UNREACHABLE as error:
        if not build_when_unreachable:
            raise
        logger.warning("%s computed without the cache: unreachable (%s)", key, type(error).__name__)
        return build()


def _build_and_store(key: str, build: Callable[[], V], seconds: float, tolerate: bool) -> V:
    value = build()
    try:
        cache.set(key, value, seconds)
    except CACHE_UNREACHABLE as error:
        if not tolerate:
            raise
        logger.warning("%s not stored: cache unreachable (%s)", key, type(error).__name__)
    return value
