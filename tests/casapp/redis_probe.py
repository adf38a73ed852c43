"""Run only by tests/casapp/test_redis_test_database.py, as a test session of its own (the name keeps it
out of the normal collection): a task queued for a worker that never comes."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from casapp.tasks import worker_heartbeat


@pytest.mark.services
def test_a_task_is_queued_for_a_worker_that_never_comes() -> None:
    worker_heartbeat.delay()

    assert redis.Redis.from_url(settings.REDIS_URL).llen("celery") >= 1
