"""The one place we reach into firebase-admin: fail loudly if an SDK upgrade moves what we rely on, and
prove the lean send path answers as the SDK's own ``send_each_async`` would."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import firebase_admin
import httpx
import pytest
from firebase_admin import _http_client, credentials, exceptions, messaging

from push.fake_fcm.control import FakeFcm
from push.firebase import SDK_SERVICE_ATTRIBUTES, FirebaseTransport, configure_messaging_service
from push.transports import ErrorClass, OutgoingMessage, SendResult


@pytest.fixture
def sdk_app(fake_fcm: FakeFcm) -> Iterator[firebase_admin.App]:
    app = firebase_admin.initialize_app(
        credentials.Certificate(fake_fcm.service_account_info()), name="adapter-test"
    )
    yield app
    if app.name in firebase_admin._apps:
        firebase_admin.delete_app(app)


@pytest.fixture
def transport(sdk_app: firebase_admin.App, fake_fcm: FakeFcm) -> Iterator[FirebaseTransport]:
    configure_messaging_service(sdk_app, api_base_url=fake_fcm.base_url)
    sender = FirebaseTransport(sdk_app)
    yield sender
    sender.close()


def message(token: str, *, delivery_id: int = 1, title: str = "t", kind: str = "fid") -> OutgoingMessage:
    return OutgoingMessage(delivery_id=delivery_id, token=token, token_kind=kind, title=title, body="b")


def send_one(transport: FirebaseTransport, token: str) -> SendResult:
    return transport.send([message(token)])[0]


def test_the_sdk_still_has_the_internals_the_adapter_uses(sdk_app):
    service = messaging._get_messaging_service(sdk_app)

    for name in SDK_SERVICE_ATTRIBUTES:
        assert hasattr(service, name), name
    assert service._fcm_url.startswith("https://fcm.googleapis.com/v1/projects/")
    assert isinstance(_http_client.METRICS_HEADERS, dict)
    encoded = messaging._MessagingService.encode_message(messaging.Message(fid="f-1", data={"k": "v"}))
    assert encoded == {"fid": "f-1", "data": {"k": "v"}}
    # The mapper send_each_async applies to a failed httpx response still returns FCM's exception types.
    request = httpx.Request("POST", service._fcm_url)
    body = {
        "error": {
            "status": "NOT_FOUND",
            "message": "gone",
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}
            ],
        }
    }
    response = httpx.Response(404, json=body, request=request)
    error = httpx.HTTPStatusError("404", request=request, response=response)
    assert type(service._handle_fcm_httpx_error(error)) is messaging.UnregisteredError
    connect = httpx.ConnectError("refused", request=request)
    assert type(service._handle_fcm_httpx_error(connect)) is exceptions.UnavailableError


def test_the_adapter_points_the_sdk_at_the_configured_endpoint_without_retries(transport, fake_fcm):
    fake_fcm.add_fault("unavailable", token="retry-me-000000000000")

    batch = [message("ok-0000000000000000"), message("retry-me-000000000000", delivery_id=2)]

    results = transport.send(batch)

    assert results[0].accepted
    assert str(results[0].message_id).startswith("projects/")
    assert results[1].error is not None
    assert results[1].error.code == "unavailable"
    assert fake_fcm.counts() == {"ok-0000000000000000": 1}
    assert fake_fcm.totals()["rejected"] == 1  # one attempt: the engine, not the SDK, decides on retries


# What each FCM answer of the fake becomes: the classification of the exception firebase-admin raises
# for it (test_fake_fcm.py asserts the exceptions on the SDK's own send paths).
EXPECTED = {
    "unregistered": ("unregistered", ErrorClass.TOKEN, None),
    "sender_mismatch": ("sender_mismatch", ErrorClass.TOKEN, None),
    "invalid_token": ("invalid_token", ErrorClass.TOKEN, None),
    "invalid_payload": ("invalid_payload", ErrorClass.PAYLOAD, None),
    "quota": ("quota_exceeded", ErrorClass.QUOTA, 90.0),
    "unavailable": ("unavailable", ErrorClass.TRANSIENT, None),
    "internal": ("internal", ErrorClass.TRANSIENT, None),
    "third_party_auth": ("third_party_auth", ErrorClass.CREDENTIALS, None),
    "reset": ("unknownerror", ErrorClass.TRANSIENT, None),  # httpx's ReadError: the SDK's UnknownError
}


def test_every_fcm_error_answer_is_classified_as_the_sdks_exception_for_it(transport, fake_fcm):
    for kind in EXPECTED:
        fake_fcm.add_fault(kind, token=f"{kind}-target", retry_after=90 if kind == "quota" else None)
    batch = [message(f"{kind}-target", delivery_id=i) for i, kind in enumerate(EXPECTED)]

    results = transport.send([*batch, message("fine-target", delivery_id=99)])

    for kind, result in zip(EXPECTED, results, strict=False):
        assert result.error is not None, kind
        assert (result.error.code, result.error.error_class, result.error.retry_after) == EXPECTED[kind]
    assert results[-1].accepted
    assert fake_fcm.counts() == {"fine-target": 1}


def test_a_payload_the_sdk_refuses_fails_locally_without_a_request(transport, fake_fcm):
    bad = OutgoingMessage(delivery_id=1, token="t-1", token_kind="fid", title="t", body="b", ttl_seconds=-1)

    result = transport.send([bad, message("t-2", delivery_id=2)])

    assert result[0].error is not None
    assert (result[0].error.code, result[0].error.error_class) == ("invalid_payload", ErrorClass.PAYLOAD)
    assert result[1].accepted
    assert fake_fcm.totals()["requests"] == 1


def test_each_message_gets_its_own_target_and_text(transport, fake_fcm):
    fake_fcm.set_record_bodies(True)
    batch = [
        message("a-1", delivery_id=1, title="Hallo"),
        message("a-2", delivery_id=2, title="Hallo"),
        message("b-1", delivery_id=3, title="Hello", kind="registration_token"),
    ]

    assert all(r.accepted for r in transport.send(batch))

    sent = {m["target"]: m for m in fake_fcm.messages()}
    assert set(sent) == {"a-1", "a-2", "b-1"}
    assert sent["a-1"]["message"]["fid"] == "a-1"
    assert sent["a-2"]["message"]["fid"] == "a-2"
    assert sent["b-1"]["message"]["token"] == "b-1"
    assert sent["a-2"]["message"]["notification"]["title"] == "Hallo"
    assert sent["b-1"]["message"]["notification"]["title"] == "Hello"


def test_the_access_token_is_fetched_once_not_per_message(transport, fake_fcm):
    for round_ in range(3):
        results = transport.send([message(f"r{round_}-{i}", delivery_id=i) for i in range(20)])
        assert all(r.accepted for r in results)

    assert fake_fcm.totals()["token_requests"] == 1
    assert sum(fake_fcm.counts().values()) == 60


def test_the_access_token_is_refreshed_before_it_expires(transport, fake_fcm, sdk_app):
    assert send_one(transport, "first").accepted
    credential = messaging._get_messaging_service(sdk_app)._credential
    # Two minutes left: inside google-auth's refresh margin, so the next batch gets a new token first.
    credential.expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
        minutes=2
    )

    assert send_one(transport, "second").accepted

    assert fake_fcm.totals()["token_requests"] == 2
    assert fake_fcm.totals()["rejected"] == 0


def test_a_refused_access_token_is_refreshed_and_the_message_resent(transport, fake_fcm):
    assert send_one(transport, "before").accepted
    fake_fcm.add_fault("access_token_expired", times=1)

    assert send_one(transport, "after").accepted

    assert fake_fcm.totals()["token_requests"] == 2
    assert fake_fcm.counts() == {"before": 1, "after": 1}


def test_a_third_party_auth_error_is_not_mistaken_for_our_expired_token(transport, fake_fcm):
    fake_fcm.add_fault("third_party_auth", token="apns-broken")

    result = send_one(transport, "apns-broken")

    assert result.error is not None
    assert result.error.code == "third_party_auth"
    assert fake_fcm.totals()["token_requests"] == 1
    assert fake_fcm.totals()["rejected"] == 1


def test_credentials_refused_for_good_stop_after_two_refreshes(transport, fake_fcm):
    fake_fcm.add_fault("access_token_expired")

    result = send_one(transport, "never")

    assert result.error is not None
    assert (result.error.code, result.error.error_class) == ("credentials", ErrorClass.CREDENTIALS)
    assert fake_fcm.totals()["token_requests"] == 3  # the first token and two refreshes, as the SDK
    assert fake_fcm.totals()["rejected"] == 3
