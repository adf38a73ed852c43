"""Service tier: a real Celery worker killed with SIGKILL in the middle of a fan-out."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from push import services
from push.models import Delivery, Installation, Notification, Topic
from push.tasks import resume_stalled_sends
from tests.factories import StaffFactory
from tests.worker import WorkerProcess, wait_for

INSTALLATIONS = 2000
BATCH = 500


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_fan_out_loses_nothing_and_duplicates_at_most_one_batch(fake_fcm, tmp_path):
    outages = Topic.objects.get(key="stoerungen")
    Installation.objects.bulk_create(
        [
            Installation(
                secret_hash=f"{index:064x}",
                platform="android",
                app_version="1.4.0",
                push_token=f"kill-{index:05d}-abcdefghijklmnop",
                push_token_kind="registration_token",
                last_seen_at=timezone.now(),
            )
            for index in range(INSTALLATIONS)
        ]
    )
    subscription = Installation.topics.through
    subscription.objects.bulk_create(
        [
            subscription(installation_id=pk, topic_id=outages.pk)
            for pk in Installation.objects.values_list("pk", flat=True)
        ]
    )
    fake_fcm.set_latency(40)  # ~ a real round trip, so the kill lands mid-batch (reset by the fixture)
    worker_env = {
        "PUSH_BACKEND": "firebase",
        "FIREBASE_CREDENTIALS_FILE": str(fake_fcm.write_service_account(tmp_path / "sa.json")),
        "FCM_API_BASE_URL": fake_fcm.base_url,
        "PUSH_CLAIM_LEASE_SECONDS": "3",
        "PUSH_DRAIN_CONCURRENCY": "1",
        "PUSH_BATCH_SIZE": str(BATCH),
    }
    author, approver = StaffFactory(roles=["Kommunikation"]), StaffFactory(roles=["Kommunikation"])
    first = WorkerProcess(concurrency=1, extra_env=worker_env)
    first.start()
    try:
        with transaction.atomic():
            notification = services.notification_create(
                author=author,
                kind="outage",
                content={"de": {"title": "Störung", "body": "Bürgerbüro geschlossen"}},
            )
            services.notification_request_approval(notification=notification, actor=author)
            services.notification_approve(notification=notification, approver=approver)
        assert wait_for(lambda: fake_fcm.totals()["accepted"] >= 600, timeout=90), first.log_path.read_text()[
            -3000:
        ]
    finally:
        first.kill()
    accepted_before_restart = fake_fcm.totals()["accepted"]
    assert accepted_before_restart < INSTALLATIONS, "the send finished before the kill; slow the fake down"

    second = WorkerProcess(concurrency=1, extra_env=worker_env)
    second.start()
    try:
        # Beat's job, played by the test: resume once the dead worker's drain mark has expired.
        def resumed_and_sent() -> bool:
            resume_stalled_sends.delay()
            return Notification.objects.get(pk=notification.pk).status == "sent"

        assert wait_for(resumed_and_sent, timeout=120, interval=2), second.log_path.read_text()[-3000:]
    finally:
        second.stop()

    counts = fake_fcm.counts()
    assert len(counts) == INSTALLATIONS  # everyone received it
    assert max(counts.values()) <= 2  # nobody more than twice
    duplicates = sum(count - 1 for count in counts.values())
    assert duplicates <= BATCH  # at most the batch in flight
    assert Delivery.objects.filter(notification=notification, status="accepted").count() == INSTALLATIONS
