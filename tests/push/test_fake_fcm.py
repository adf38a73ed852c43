"""The fake FCM server, driven by the real firebase-admin SDK over HTTP on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import firebase_admin
import httpx
import pytest
from firebase_admin import credentials, exceptions, messaging

from push.fake_fcm.control import FakeFcm, FakeFcmError

T = TypeVar("T")


@pytest.fixture(scope="module")
def fake_fcm_server() -> Iterator[FakeFcm]:
    with FakeFcm.start() as fcm:
        yield fcm


@pytest.fixture
def fcm(fake_fcm_server: FakeFcm) -> FakeFcm:
    fake_fcm_server.reset()
    fake_fcm_server.set_latency(0)
    fake_fcm_server.set_record_bodies(True)
    return fake_fcm_server


@pytest.fixture
def app(fcm: FakeFcm) -> Iterator[firebase_admin.App]:
    app = firebase_admin.initialize_app(
        credentials.Certificate(fcm.service_account_info()), name=f"fake-fcm-{uuid.uuid4().hex}"
    )
    service = messaging._get_messaging_service(app)
    # The SDK has no setting for its endpoints; these attributes are how we point it at the fake. If an
    # upgrade renames them, fail here instead of sending to the real FCM.
    assert service._fcm_url == f"https://fcm.googleapis.com/v1/projects/{fcm.project_id}/messages:send"
    assert service._fcm_topic_url == f"https://fcm.googleapis.com/v1/projects/{fcm.project_id}/registrations"
    service._fcm_url = fcm.messages_url
    service._fcm_topic_url = fcm.topics_url
    yield app
    firebase_admin.delete_app(app)


def run_async(app: firebase_admin.App, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run SDK coroutines in a fresh loop and close the SDK's httpx client before that loop ends.

    firebase-admin keeps one httpx client per app whose connections belong to the loop that opened them;
    `delete_app()` closes it with a new `asyncio.run()`, which fails once the original loop is closed.
    """

    async def run() -> T:
        try:
            return await coroutine
        finally:
            await messaging._get_messaging_service(app)._async_client.aclose()

    return asyncio.run(run())


def token_message(token: str) -> messaging.Message:
    with pytest.warns(DeprecationWarning, match="Message.token is deprecated"):
        return messaging.Message(token=token, data={"kind": "test"})


def test_send_each_delivers_and_records_every_message(fcm: FakeFcm, app: firebase_admin.App) -> None:
    messages = [
        messaging.Message(
            fid="fid-1", notification=messaging.Notification(title="Abfall", body="Morgen: Bio")
        ),
        messaging.Message(fid="fid-2", data={"report": "17"}),
        token_message("token-3"),
    ]

    batch = messaging.send_each(messages, app=app)

    assert batch.success_count == 3
    assert fcm.counts() == {"fid-1": 1, "fid-2": 1, "token-3": 1}
    recorded = {record["target"]: record for record in fcm.messages()}
    assert [recorded[t]["name"] for t in ("fid-1", "fid-2", "token-3")] == [
        response.message_id for response in batch.responses
    ]
    assert recorded["fid-1"]["target_type"] == "fid"
    assert recorded["fid-1"]["message"]["notification"] == {"title": "Abfall", "body": "Morgen: Bio"}
    assert recorded["token-3"]["target_type"] == "token"
    assert recorded["token-3"]["message"]["data"] == {"kind": "test"}
    totals = fcm.totals()
    assert totals["accepted"] == 3
    assert totals["duplicate_targets"] == 0
    # google-auth fetched its access token from the fake, not from Google.
    assert totals["token_requests"] >= 1


def test_dry_run_is_validated_but_not_counted_as_delivery(fcm: FakeFcm, app: firebase_admin.App) -> None:
    messaging.send(messaging.Message(fid="fid-1"), dry_run=True, app=app)

    assert fcm.counts() == {}
    assert fcm.totals()["validate_only"] == 1
    assert fcm.messages()[0]["validate_only"] is True


def test_duplicates_are_counted_per_target(fcm: FakeFcm, app: firebase_admin.App) -> None:
    messaging.send_each([messaging.Message(fid="fid-1"), messaging.Message(fid="fid-1")], app=app)

    assert fcm.counts() == {"fid-1": 2}
    assert fcm.totals()["duplicate_targets"] == 1


# Expected exception per fault kind and SDK path. A reset surfaces differently: requests turns it into a
# ConnectionError (UnavailableError), httpx into a ReadError, which firebase-admin calls UnknownError.
FAULT_EXCEPTIONS: dict[str, tuple[type[exceptions.FirebaseError], type[exceptions.FirebaseError]]] = {
    "unregistered": (messaging.UnregisteredError, messaging.UnregisteredError),
    "sender_mismatch": (messaging.SenderIdMismatchError, messaging.SenderIdMismatchError),
    "invalid_token": (exceptions.InvalidArgumentError, exceptions.InvalidArgumentError),
    "invalid_payload": (exceptions.InvalidArgumentError, exceptions.InvalidArgumentError),
    "quota": (messaging.QuotaExceededError, messaging.QuotaExceededError),
    "unavailable": (exceptions.UnavailableError, exceptions.UnavailableError),
    "internal": (exceptions.InternalError, exceptions.InternalError),
    "third_party_auth": (messaging.ThirdPartyAuthError, messaging.ThirdPartyAuthError),
    "reset": (exceptions.UnavailableError, exceptions.UnknownError),
}


def test_each_fault_kind_maps_to_the_sdk_exception(fcm: FakeFcm, app: firebase_admin.App) -> None:
    # Always-on rules: the SDK retries 500/503 (and, synchronously, 429 with Retry-After) with backoff,
    # so a one-shot fault would be absorbed. Both SDK paths run at once to pay the ~7 s backoff once.
    for kind in FAULT_EXCEPTIONS:
        for path in ("sync", "async"):
            fcm.add_fault(
                kind, token=f"{path}-{kind}", retry_after=1 if kind in ("quota", "unavailable") else None
            )
    fcm.add_fault("slow", token="sync-slow", delay_ms=50)
    fcm.add_fault("slow", token="async-slow", delay_ms=50)
    kinds = [*FAULT_EXCEPTIONS, "slow"]

    async def send_both() -> tuple[messaging.BatchResponse, messaging.BatchResponse]:
        return await asyncio.gather(
            asyncio.to_thread(
                messaging.send_each, [messaging.Message(fid=f"sync-{k}") for k in kinds], app=app
            ),
            messaging.send_each_async([messaging.Message(fid=f"async-{k}") for k in kinds], app=app),
        )

    sync_batch, async_batch = run_async(app, send_both())

    for index, kind in enumerate(FAULT_EXCEPTIONS):
        sync_expected, async_expected = FAULT_EXCEPTIONS[kind]
        assert type(sync_batch.responses[index].exception) is sync_expected, kind
        assert type(async_batch.responses[index].exception) is async_expected, kind
    assert sync_batch.responses[-1].success
    assert async_batch.responses[-1].success
    assert fcm.counts() == {"sync-slow": 1, "async-slow": 1}

    quota_error = async_batch.responses[kinds.index("quota")].exception
    assert quota_error.http_response.headers["Retry-After"] == "1"
    invalid_token_error = async_batch.responses[kinds.index("invalid_token")].exception
    details = invalid_token_error.http_response.json()["error"]["details"]
    assert {"field": "message.fid", "description": "Invalid registration token"} in details[1][
        "fieldViolations"
    ]
    rejected_targets = {(record["target"], record["kind"]) for record in fcm.rejected()}
    assert rejected_targets == {
        (f"{path}-{kind}", kind) for kind in FAULT_EXCEPTIONS for path in ("sync", "async")
    }


def test_per_call_fault_hits_the_next_calls_whatever_their_target(
    fcm: FakeFcm, app: firebase_admin.App
) -> None:
    fcm.add_fault("sender_mismatch", times=2)

    for fid in ("fid-1", "fid-2"):
        with pytest.raises(messaging.SenderIdMismatchError):
            messaging.send(messaging.Message(fid=fid), app=app)
    messaging.send(messaging.Message(fid="fid-3"), app=app)

    assert fcm.counts() == {"fid-3": 1}
    assert fcm.faults() == []
    assert [record["target"] for record in fcm.rejected()] == ["fid-1", "fid-2"]


def test_token_fault_wins_over_per_call_fault_and_runs_out(fcm: FakeFcm, app: firebase_admin.App) -> None:
    fcm.add_fault("sender_mismatch")
    fcm.add_fault("unregistered", token="fid-1", times=1)

    with pytest.raises(messaging.UnregisteredError):
        messaging.send(messaging.Message(fid="fid-1"), app=app)
    with pytest.raises(messaging.SenderIdMismatchError):
        messaging.send(messaging.Message(fid="fid-1"), app=app)


def test_one_unavailable_answer_is_retried_by_the_sdk(fcm: FakeFcm, app: firebase_admin.App) -> None:
    fcm.add_fault("unavailable", times=1)

    messaging.send(messaging.Message(fid="fid-1"), app=app)

    assert fcm.counts() == {"fid-1": 1}
    assert [record["kind"] for record in fcm.rejected()] == ["unavailable"]


def test_send_each_async_over_the_sdks_http2_client(fcm: FakeFcm, app: firebase_admin.App) -> None:
    # HttpxAsyncClient asks for HTTP/2, which over plain http falls back to HTTP/1.1.
    batch = run_async(
        app, messaging.send_each_async([messaging.Message(fid=f"fid-{i}") for i in range(3)], app=app)
    )

    assert batch.success_count == 3
    assert fcm.counts() == {"fid-0": 1, "fid-1": 1, "fid-2": 1}


def test_latency_and_slow_delay_the_answer(fcm: FakeFcm, app: firebase_admin.App) -> None:
    messaging.send(messaging.Message(fid="warm-up"), app=app)  # the OAuth token fetch is not timed
    fcm.set_latency(100)
    fcm.add_fault("slow", token="fid-slow", delay_ms=200)

    started = time.monotonic()
    messaging.send(messaging.Message(fid="fid-1"), app=app)
    with_latency = time.monotonic() - started
    started = time.monotonic()
    messaging.send(messaging.Message(fid="fid-slow"), app=app)
    slow = time.monotonic() - started

    assert 0.1 <= with_latency < 0.3
    assert 0.3 <= slow < 0.6


def test_topic_subscriptions_are_recorded(fcm: FakeFcm, app: firebase_admin.App) -> None:
    subscribed = messaging.subscribe_to_topic(["token-a", "token-b"], "abfall-bezirk-3", app=app)
    unsubscribed = messaging.unsubscribe_from_topic("token-a", "/topics/abfall-bezirk-3", app=app)

    assert subscribed.success_count == 2
    assert unsubscribed.success_count == 1
    assert fcm.topics() == {"abfall-bezirk-3": ["token-b"]}
    operations = [(op["operation"], op["token"], op["topic"]) for op in fcm.topic_operations()]
    # The SDK sends one request per token from a thread pool, so the two subscriptions come in any order.
    assert sorted(operations[:2]) == [
        ("subscribe", "token-a", "abfall-bezirk-3"),
        ("subscribe", "token-b", "abfall-bezirk-3"),
    ]
    assert operations[2:] == [("unsubscribe", "token-a", "abfall-bezirk-3")]


def test_topic_fault_for_one_token_is_reported_per_token(fcm: FakeFcm, app: firebase_admin.App) -> None:
    fcm.add_fault("unregistered", token="token-dead", scope="topics")

    response = messaging.subscribe_to_topic(["token-live", "token-dead"], "news", app=app)

    assert response.success_count == 1
    assert [(error.index, error.reason) for error in response.errors] == [(1, "UNREGISTERED")]
    assert fcm.topics() == {"news": ["token-live"]}


def test_legacy_iid_batch_endpoints(fcm: FakeFcm) -> None:
    # The SDK's *_legacy functions use a class-level IID_URL, so these are exercised over plain HTTP.
    fcm.add_fault("invalid_token", token="token-bad", scope="topics")

    added = post_json(
        fcm, "/iid/v1:batchAdd", {"to": "/topics/news", "registration_tokens": ["t1", "token-bad"]}
    )
    removed = post_json(fcm, "/iid/v1:batchRemove", {"to": "/topics/news", "registration_tokens": ["t1"]})

    assert added == {"results": [{}, {"error": "INVALID_ARGUMENT"}]}
    assert removed == {"results": [{}]}
    assert fcm.topics() == {}


def test_requests_without_an_access_token_are_refused(fcm: FakeFcm) -> None:
    response = httpx.post(fcm.messages_url, json={"message": {"fid": "fid-1"}})

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert fcm.totals()["rejected_by_kind"] == {"missing_auth": 1}


def test_without_bodies_only_counters_are_kept(fcm: FakeFcm, app: firebase_admin.App) -> None:
    fcm.set_record_bodies(False)

    messaging.send_each([messaging.Message(fid="fid-1"), messaging.Message(topic="news")], app=app)

    assert fcm.messages() == []
    assert fcm.counts() == {"fid-1": 1, "/topics/news": 1}
    assert fcm.totals()["accepted"] == 2


def test_control_api_refuses_a_malformed_rule(fcm: FakeFcm) -> None:
    with pytest.raises(FakeFcmError, match="kind must be one of"):
        fcm.add_fault("meteor_strike")
    with pytest.raises(FakeFcmError, match="times must be a positive integer"):
        fcm.add_fault("internal", times=0)


def test_server_runs_without_django() -> None:
    code = (
        "import sys, push.fake_fcm.server, push.fake_fcm.control, push.fake_fcm.__main__; "
        "assert not any(m == 'django' or m.startswith(('django.', 'casapp')) for m in sys.modules), "
        "sorted(m for m in sys.modules if 'django' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)  # noqa: S603


def post_json(fcm: FakeFcm, path: str, payload: object) -> Any:
    response = httpx.post(fcm.base_url + path, json=payload, headers={"Authorization": "Bearer fake-token"})
    response.raise_for_status()
    return response.json()
