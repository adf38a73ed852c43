"""The one place we reach into firebase-admin: fail loudly if an SDK upgrade moves what we rely on."""

from __future__ import annotations

import firebase_admin
import pytest
from firebase_admin import credentials, messaging

from push.firebase import SDK_SERVICE_ATTRIBUTES, FirebaseTransport, configure_messaging_service
from push.transports import OutgoingMessage


@pytest.fixture
def sdk_app(fake_fcm):
    app = firebase_admin.initialize_app(
        credentials.Certificate(fake_fcm.service_account_info()), name="adapter-test"
    )
    yield app
    if app.name in firebase_admin._apps:
        firebase_admin.delete_app(app)


def test_the_messaging_service_still_has_the_attributes_the_adapter_sets(sdk_app):
    service = messaging._get_messaging_service(sdk_app)

    for name in SDK_SERVICE_ATTRIBUTES:
        assert hasattr(service, name), name
    assert service._fcm_url.startswith("https://fcm.googleapis.com/v1/projects/")


def test_the_adapter_points_the_sdk_at_the_configured_endpoint_without_sdk_retries(sdk_app, fake_fcm):
    configure_messaging_service(sdk_app, api_base_url=fake_fcm.base_url)
    fake_fcm.add_fault("unavailable", token="retry-me-000000000000")
    transport = FirebaseTransport(sdk_app)
    try:
        results = transport.send(
            [
                OutgoingMessage(
                    delivery_id=1, token="ok-0000000000000000", token_kind="fid", title="t", body="b"
                ),
                OutgoingMessage(
                    delivery_id=2, token="retry-me-000000000000", token_kind="fid", title="t", body="b"
                ),
            ]
        )
    finally:
        transport.close()

    assert results[0].accepted
    assert results[1].error is not None
    assert results[1].error.code == "unavailable"
    assert fake_fcm.counts() == {"ok-0000000000000000": 1}
    assert fake_fcm.totals()["rejected"] == 1  # one attempt: the engine, not the SDK, decides on retries
