"""The fake FCM server on loopback and a Firebase push backend pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from push import registry
from push.fake_fcm.control import FakeFcm
from push.transports import reset_transport


@pytest.fixture(scope="session")
def fake_fcm_server() -> Iterator[FakeFcm]:
    with FakeFcm.start(latency_ms=0) as server:
        yield server


@pytest.fixture
def fake_fcm(fake_fcm_server: FakeFcm) -> FakeFcm:
    fake_fcm_server.reset()
    fake_fcm_server.set_latency(0)
    return fake_fcm_server


@pytest.fixture
def firebase_backend(fake_fcm: FakeFcm, settings: Any, tmp_path: Any) -> Iterator[FakeFcm]:
    """The real firebase-admin SDK, talking HTTP to the fake server."""
    settings.PUSH_BACKEND = "firebase"
    settings.FIREBASE_CREDENTIALS_FILE = str(
        fake_fcm.write_service_account(tmp_path / "service-account.json")
    )
    settings.FCM_API_BASE_URL = fake_fcm.base_url
    settings.PUSH_RETRY_BASE_SECONDS = 0.05
    reset_transport()
    yield fake_fcm
    reset_transport()


@pytest.fixture
def report_category() -> registry.PersonalCategory:
    """What ``reports`` registers in its AppConfig.ready() (push itself registers nothing)."""
    registered = {c.key: c for c in registry.registered_categories()}
    assert "report_update" in registered, "the reports app registers its category when it is installed"
    return registered["report_update"]


@pytest.fixture
def waste_category() -> Iterator[registry.PersonalCategory]:
    category = registry.register_category(
        key="waste_reminder", name={"de": "Abfuhr-Erinnerungen"}, description={"de": "Am Vorabend."}
    )
    yield category
    registry.unregister_category(key="waste_reminder")
