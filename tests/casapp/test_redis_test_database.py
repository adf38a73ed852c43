"""The service tier's Redis database: a test session leaves nothing in it and never touches database 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
PROBE = "tests/casapp/redis_probe.py"


def _pytest(redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", PROBE],
        check=False,
        cwd=REPO,
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.services
def test_a_test_session_leaves_no_queued_task_in_its_redis_database() -> None:
    run = _pytest(settings.REDIS_URL)

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout, run.stdout[-2000:]
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.llen("celery") == 0
    assert client.dbsize() == 0


@pytest.mark.services
def test_a_test_session_refuses_redis_database_0() -> None:
    """Database 0 is where a developer's own Redis data lives; the suite empties its database."""
    database_0 = settings.REDIS_URL.rsplit("/", 1)[0] + "/0"
    size_before = redis.Redis.from_url(database_0).dbsize()

    run = _pytest(database_0)

    assert run.returncode != 0
    assert "REDIS_URL points at Redis database 0" in run.stdout + run.stderr
    assert "passed" not in run.stdout
    # Nothing was emptied: the refusal comes before the session starts.
    assert redis.Redis.from_url(database_0).dbsize() >= size_before
