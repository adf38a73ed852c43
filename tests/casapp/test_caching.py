"""``casapp.caching.shared_value``: computed once for every process sharing the cache.

Its users (statistics, exports, the app configuration) are tested through their endpoints; the lock that
lets one caller compute while the others wait is tested here, with threads on the real cache (Redis in the
service tier), since no endpoint uses it yet.
"""

from __future__ import annotations

import threading
import time
import uuid

from django.core.cache import cache

from casapp.caching import shared_value


def test_callers_of_one_key_wait_for_the_one_computing_and_get_its_value():
    key = f"casapp:test-shared:{uuid.uuid4().hex}"
    computed: list[int] = []
    answers: list[int] = []

    def slow_figures() -> int:
        computed.append(1)
        time.sleep(0.4)
        return 42

    def ask() -> None:
        answers.append(shared_value(key, slow_figures, seconds=30, lock_seconds=5, wait_seconds=3))

    callers = [threading.Thread(target=ask) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=10)

    assert answers == [42, 42, 42, 42]
    assert len(computed) == 1
    assert cache.get(key) == 42
    assert cache.get(f"{key}:lock") is None


def test_a_failed_computation_lets_a_waiting_caller_compute():
    key = f"casapp:test-shared:{uuid.uuid4().hex}"
    started = threading.Event()
    failures: list[Exception] = []

    def failing() -> int:
        started.set()
        time.sleep(0.2)
        raise RuntimeError("database away")

    def first() -> None:
        try:
            shared_value(key, failing, seconds=30, lock_seconds=5, wait_seconds=3)
        except RuntimeError as error:
            failures.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(timeout=5)
    answer = shared_value(key, lambda: 7, seconds=30, lock_seconds=5, wait_seconds=3)
    thread.join(timeout=5)

    assert answer == 7
    assert len(failures) == 1
