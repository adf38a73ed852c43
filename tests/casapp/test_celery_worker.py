from __future__ import annotations

import pytest
from django.core.cache import cache

from casapp.tasks import HEARTBEAT_KEY, worker_heartbeat
from tests.worker import wait_for


@pytest.mark.django_db
def test_heartbeat_runs_eagerly_outside_worker_tests():
    """Tests not marked ``services`` run tasks in their own process, with or without Redis (the cache is
    then Redis), so both tiers run this test."""
    worker_heartbeat.delay()

    assert cache.get(HEARTBEAT_KEY)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_from_the_redis_broker(celery_worker, client):
    cache.delete(HEARTBEAT_KEY)

    worker_heartbeat.delay()

    assert wait_for(lambda: cache.get(HEARTBEAT_KEY), timeout=60), celery_worker.log_path.read_text()[-2000:]
    ready = client.get("/readyz").json()
    assert ready["checks"]["broker"] == "ok"
    assert ready["worker_heartbeat_age_s"] < 60
