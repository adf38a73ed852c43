"""The fan-out engine against the fake FCM server, through the real firebase-admin SDK."""

from __future__ import annotations

import bisect
import logging
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from push import services
from push.fanout.audience import expand_next_chunk
from push.fanout.claims import claim_batch
from push.fanout.pacing import QUOTA_PAUSE_KEY, quota_pause_remaining
from push.models import Delivery, Installation, Notification, Topic
from push.tasks import drain_notification
from tests.factories import InstallationFactory, StaffFactory

CONTENT = {
    "de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung im Rechenzentrum."},
    "en": {"title": "Citizens' office closed", "body": "Because of a data-centre failure."},
}


def installations(count: int, *, prefix: str = "tok", locale: str = "de") -> list[Installation]:
    outages = Topic.objects.get(key="stoerungen")
    created = []
    for index in range(count):
        installation = InstallationFactory(
            push_token=f"{prefix}-{index:05d}-abcdefghijklmnop",
            push_token_kind="registration_token",
            locale=locale,
        )
        installation.topics.add(outages)
        created.append(installation)
    return created


def send_outage(capture) -> Notification:
    author = StaffFactory(roles=["Kommunikation"])
    approver = StaffFactory(roles=["Kommunikation"])
    notification = services.notification_create(author=author, kind="outage", content=CONTENT)
    services.notification_request_approval(notification=notification, actor=author)
    with capture(execute=True):
        services.notification_approve(notification=notification, approver=approver)
    notification.refresh_from_db()
    return notification


def statuses(notification: Notification) -> dict[str, int]:
    rows = Delivery.objects.filter(notification=notification)
    return {s: rows.filter(status=s).count() for s in rows.values_list("status", flat=True).distinct()}


@pytest.mark.django_db
def test_every_installation_gets_the_message_once_in_its_language(
    firebase_backend, django_capture_on_commit_callbacks
):
    german = installations(12, prefix="de")
    english = installations(8, prefix="en", locale="en")
    french = installations(3, prefix="fr", locale="fr")

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "sent"
    assert statuses(notification) == {"accepted": 23}
    counts = firebase_backend.counts()
    assert counts == {i.push_token: 1 for i in german + english + french}
    message = firebase_backend.messages(english[0].push_token)[0]["message"]
    assert message["notification"]["title"] == "Citizens' office closed"
    assert firebase_backend.messages(french[0].push_token)[0]["message"]["notification"]["title"] == (
        "Bürgerbüro geschlossen"
    )
    assert message["android"]["priority"] == "high"
    assert message["android"]["collapse_key"] == f"outage-{notification.pk}"
    assert message["apns"]["headers"]["apns-collapse-id"] == f"outage-{notification.pk}"
    assert message["apns"]["payload"]["aps"]["thread-id"] == f"outage-{notification.pk}"
    assert message["data"]["notification_id"] == str(notification.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("unregistered", "unregistered"),
        ("sender_mismatch", "sender_mismatch"),
        ("invalid_token", "invalid_token"),
    ],
)
def test_a_dead_token_deactivates_only_its_installation(
    firebase_backend, django_capture_on_commit_callbacks, fault, reason
):
    alive = installations(10)
    dead = installations(1, prefix="dead")[0]
    firebase_backend.add_fault(fault, token=dead.push_token)

    notification = send_outage(django_capture_on_commit_callbacks)

    dead.refresh_from_db()
    assert (dead.is_active, dead.deactivation_reason) == (False, reason)
    assert Installation.objects.filter(pk__in=[i.pk for i in alive], is_active=True).count() == 10
    assert Delivery.objects.get(notification=notification, installation=dead).error_code == reason
    assert notification.status == "partly_failed"
    assert statuses(notification) == {"accepted": 10, "failed": 1}


@pytest.mark.django_db
def test_a_payload_error_fails_the_notification_and_deactivates_nobody(
    firebase_backend, django_capture_on_commit_callbacks
):
    targets = installations(5)
    firebase_backend.add_fault("invalid_payload", token=targets[2].push_token)

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "failed"
    assert notification.failure_reason == "invalid_payload"
    assert Installation.objects.filter(is_active=False).count() == 0


@pytest.mark.django_db
def test_the_circuit_breaker_stops_a_send_rejected_the_same_way_for_every_token(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_BATCH_SIZE = 25
    installations(60)
    firebase_backend.add_fault("unregistered")  # a wrong project: FCM knows none of our tokens

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "failed"
    assert notification.failure_reason == "circuit breaker: unregistered"
    assert Installation.objects.filter(is_active=False).count() == 0
    assert firebase_backend.totals()["rejected"] == 25  # one batch, then stop
    assert statuses(notification) == {"failed": 25, "cancelled": 35}


@pytest.mark.django_db
def test_quota_exceeded_backs_off_at_least_a_minute_without_blocking(
    firebase_backend, django_capture_on_commit_callbacks
):
    installations(6)
    firebase_backend.add_fault("quota", times=1000, retry_after=90)
    started = time.monotonic()

    notification = send_outage(django_capture_on_commit_callbacks)

    assert time.monotonic() - started < 10  # the SDK's sleep-on-429 did not park us for 90 s
    assert notification.status == "sending"
    pending = Delivery.objects.filter(notification=notification, status="pending")
    assert pending.count() == 6
    assert min(d.not_before for d in pending) >= timezone.now() + timedelta(seconds=80)
    assert quota_pause_remaining() > 80
    assert firebase_backend.totals()["rejected"] == 6  # one call each, no SDK retries

    # The quota recovers: once the pause is over the periodic task finishes the send.
    firebase_backend.clear_faults()
    cache.delete(QUOTA_PAUSE_KEY)
    pending.update(not_before=timezone.now() - timedelta(seconds=1))
    drain_notification.delay(notification.pk)
    notification.refresh_from_db()
    assert notification.status == "sent"


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["unavailable", "internal", "reset"])
def test_transient_errors_are_retried_with_backoff(
    firebase_backend, django_capture_on_commit_callbacks, fault
):
    targets = installations(4)
    firebase_backend.add_fault(fault, token=targets[0].push_token, times=2)

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "sent"
    retried = Delivery.objects.get(notification=notification, installation=targets[0])
    assert retried.attempts == 3
    assert firebase_backend.counts()[targets[0].push_token] == 1
    assert Installation.objects.filter(is_active=False).count() == 0


@pytest.mark.django_db
def test_transient_errors_give_up_after_the_attempt_limit(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_MAX_ATTEMPTS = 2
    targets = installations(3)
    firebase_backend.add_fault("unavailable", token=targets[0].push_token)

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "partly_failed"
    failed = Delivery.objects.get(notification=notification, installation=targets[0])
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", "unavailable", 2)
    targets[0].refresh_from_db()
    assert targets[0].is_active


@pytest.mark.django_db
def test_third_party_auth_stops_and_alerts_and_deactivates_nobody(
    firebase_backend, django_capture_on_commit_callbacks, caplog
):
    targets = installations(5)
    firebase_backend.add_fault("third_party_auth", token=targets[1].push_token)

    with caplog.at_level(logging.CRITICAL, logger="push.fanout"):
        notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "failed"
    assert notification.failure_reason == "third_party_auth"
    assert Installation.objects.filter(is_active=False).count() == 0
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)


@pytest.mark.django_db
def test_installations_without_push_or_opted_out_are_not_sent_to(
    firebase_backend, django_capture_on_commit_callbacks
):
    subscribed = installations(3)
    InstallationFactory(push_token=None)  # push switched off
    InstallationFactory(push_token="not-subscribed-0000000000", push_token_kind="fid")  # no outage topic
    stale = installations(1, prefix="stale")[0]
    Installation.objects.filter(pk=stale.pk).update(last_seen_at=timezone.now() - timedelta(days=31))

    notification = send_outage(django_capture_on_commit_callbacks)

    assert set(firebase_backend.counts()) == {i.push_token for i in subscribed}
    assert statuses(notification) == {"accepted": 3}


@pytest.mark.django_db
def test_expansion_writes_each_audience_member_once_in_chunks_and_a_repeated_chunk_adds_nothing(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    audience = installations(5)
    InstallationFactory(push_token="not-subscribed-0000000000", push_token_kind="fid")
    settings.PUSH_DRAIN_CONCURRENCY = 0  # we expand by hand
    notification = send_outage(django_capture_on_commit_callbacks)

    written = [expand_next_chunk(notification, chunk=2) for _ in range(3)]
    # A worker killed after writing a chunk but before its cursor was stored writes it again.
    Notification.objects.filter(pk=notification.pk).update(expansion_cursor=None, expanded=False)
    notification.refresh_from_db()
    rewritten = expand_next_chunk(notification, chunk=5)

    assert written == [2, 2, 1]
    assert rewritten == 5
    rows = Delivery.objects.filter(notification=notification)
    assert sorted(rows.values_list("installation_id", flat=True)) == sorted(i.pk for i in audience)
    assert set(rows.values_list("status", "attempts", "error_code")) == {("pending", 0, "")}


@pytest.mark.django_db
def test_a_delivery_claimed_by_a_dead_worker_is_sent_again_after_its_lease(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    targets = installations(3)
    settings.PUSH_DRAIN_CONCURRENCY = 0  # nobody drains: we play the worker that dies
    notification = send_outage(django_capture_on_commit_callbacks)
    assert notification.status == "sending"
    expand_next_chunk(notification)
    claimed = claim_batch(notification, size=2, now=timezone.now())
    assert len(claimed) == 2
    # The worker dies here. Its lease runs out; the rows are claimed and sent again.
    Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )

    drain_notification.delay(notification.pk)

    notification.refresh_from_db()
    assert notification.status == "sent"
    assert firebase_backend.counts() == {t.push_token: 1 for t in targets}


@pytest.mark.django_db
def test_whoever_changed_the_text_cannot_approve_it(firebase_backend, django_capture_on_commit_callbacks):
    from casapp.errors import Forbidden

    installations(1)
    author, editor, third = (StaffFactory(roles=["Kommunikation"]) for _ in range(3))
    notification = services.notification_create(author=author, kind="outage", content=CONTENT)
    services.notification_update(
        notification=notification,
        actor=editor,
        content={"de": {"title": "Bürgerbüro zu", "body": "Heute geschlossen."}},
    )
    services.notification_request_approval(notification=notification, actor=editor)

    with pytest.raises(Forbidden) as refused:
        services.notification_approve(notification=notification, approver=editor)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_approve(notification=notification, approver=third)

    assert refused.value.code == "four_eyes"
    notification.refresh_from_db()
    assert notification.status == "sent"


@pytest.mark.django_db
def test_an_expired_notification_is_never_sent_and_ends_expired(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    installations(4)
    settings.PUSH_DRAIN_CONCURRENCY = 0  # started, but no drain ran before it expired
    notification = send_outage(django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=notification.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    drain_notification.delay(notification.pk)

    notification.refresh_from_db()
    assert firebase_backend.counts() == {}
    assert firebase_backend.totals()["requests"] == 0
    assert notification.status == "expired"
    assert notification.finished_at is not None
    # Its audience was never written: nobody was targeted, nobody waits.
    assert statuses(notification) == {}
    expired, finished = list(notification.audit_entries.values_list("action", "actor", "changes"))[-2:]
    assert expired == ("expired", None, {"status": ["sending", "expired"]})
    assert finished[:2] == ("sending_finished", None)  # with the figures, for the author's e-mail
    assert (finished[2]["status"], finished[2]["targeted"]) == (["sending", "expired"], 0)


@pytest.mark.django_db
def test_expiry_reached_mid_fan_out_stops_the_remaining_deliveries(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_BATCH_SIZE = 5
    targets = installations(20)
    settings.PUSH_DRAIN_CONCURRENCY = 0
    notification = send_outage(django_capture_on_commit_callbacks)
    # The first batch takes longer than the notification has left.
    Notification.objects.filter(pk=notification.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
    firebase_backend.add_fault("slow", delay_ms=1500, times=1)

    drain_notification.delay(notification.pk)

    notification.refresh_from_db()
    assert notification.status == "expired"
    assert statuses(notification) == {"accepted": 5, "expired": 15}
    accepted = Delivery.objects.filter(notification=notification, status="accepted")
    reached = {i.push_token for i in Installation.objects.filter(deliveries__in=accepted)}
    assert firebase_backend.counts() == dict.fromkeys(reached, 1)
    assert reached < {t.push_token for t in targets}


@pytest.mark.django_db
def test_the_rate_limit_holds_in_every_sliding_second_at_the_fake_fcm_server(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    rate = 120  # messages a second
    settings.PUSH_RATE_LIMIT_PER_MINUTE = rate * 60
    targets = installations(300)
    started = time.monotonic()

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "sent"
    assert firebase_backend.counts() == {t.push_token: 1 for t in targets}
    arrivals = sorted(m["received_at"] for m in firebase_backend.messages())
    # Every window [t, t + 1 s) that starts at an arrival: the busiest windows start at one.
    busiest = max(bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))
    assert busiest <= rate
    # Not slower than needed: the limiter lets through at least 5/6 of the rate (ticks of 1/10 s, a
    # budget of rate/12 each, see push.fanout.pacing).
    assert time.monotonic() - started < len(targets) / (rate * 5 / 6) + 2


@pytest.mark.django_db
def test_expiry_reached_while_the_rate_limit_paces_a_batch_stops_it_mid_batch(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_RATE_LIMIT_PER_MINUTE = 60 * 60  # 5 messages per tick of 1/10 s: 100 take 2 s
    installations(100)
    settings.PUSH_DRAIN_CONCURRENCY = 0
    notification = send_outage(django_capture_on_commit_callbacks)
    expires_at = timezone.now() + timedelta(seconds=1)
    Notification.objects.filter(pk=notification.pk).update(expires_at=expires_at)

    drain_notification.delay(notification.pk)

    notification.refresh_from_db()
    assert notification.status == "expired"
    counts = statuses(notification)
    assert set(counts) == {"accepted", "expired"}
    # Stopped within the batch: some were sent, at most the second's budget (50) and a slice (5).
    assert 0 < counts["accepted"] <= 55
    assert counts["accepted"] + counts["expired"] == 100
    assert sum(firebase_backend.counts().values()) == counts["accepted"]
    # Nothing arrived after the expiry (but for the slice in flight, which arrives within milliseconds).
    assert max(m["received_at"] for m in firebase_backend.messages()) < expires_at.timestamp() + 0.1


@pytest.mark.django_db
def test_an_fcm_outage_pauses_the_send_and_fails_no_message(
    firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_MAX_ATTEMPTS = 2  # the outage outlasts two attempts of every message
    settings.PUSH_RETRY_BASE_SECONDS = 1.0
    targets = installations(settings.PUSH_CIRCUIT_BREAKER_MIN_BATCH + 5)
    firebase_backend.add_fault("unavailable")  # every call, until cleared

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "sending"
    rows = Delivery.objects.filter(notification=notification)
    assert statuses(notification) == {"pending": len(targets)}
    assert set(rows.values_list("attempts", flat=True)) == {0}  # an outage costs no message an attempt
    assert firebase_backend.totals()["rejected"] > 2 * len(targets)  # tried past the limit, failed none
    assert quota_pause_remaining() > 0  # every drain waits, not only this send's

    # FCM is back: once the pause is over the periodic task finishes the send.
    firebase_backend.clear_faults()
    cache.delete(QUOTA_PAUSE_KEY)
    rows.update(not_before=timezone.now() - timedelta(seconds=1))
    drain_notification.delay(notification.pk)
    notification.refresh_from_db()
    assert notification.status == "sent"
    assert set(firebase_backend.counts().values()) == {1}
    assert Installation.objects.filter(is_active=False).count() == 0
