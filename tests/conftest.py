"""Named actors: an anonymous caller, two app installations, and one staff member per role; the fake FCM
server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from push.fake_fcm.control import FakeFcm
from push.models import Installation
from push.transports import reset_transport
from tests.factories import InstallationFactory, StaffFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _eager_tasks_unless_service_test(request: Any) -> Iterator[None]:
    """Tasks run in the test's own process, except where a test drives a real worker."""
    from casapp.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = "services" not in request.keywords
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Throttle counters and cached snapshots must not leak from one test into the next.

    With Redis only our own key prefix is deleted: the same Redis database carries the Celery queue.
    """
    _clear_cache()
    yield
    _clear_cache()


def _clear_cache() -> None:
    from casapp.appconfig import app_config_invalidate
    from casapp.caching import local_memos_forget

    app_config_invalidate()
    local_memos_forget()  # every per-process memo and local rate-limit tally
    if settings.REDIS_URL:
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        keys = list(client.scan_iter(match="casapp:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


def device_client_for(installation: Installation) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {installation.secret}")  # type: ignore[attr-defined]
    return client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def device(db: Any) -> Installation:
    return InstallationFactory(
        push_token="token-of-the-first-device-0001", push_token_kind="registration_token"
    )


@pytest.fixture
def other_device(db: Any) -> Installation:
    return InstallationFactory(platform="ios", locale="en")


@pytest.fixture
def device_client(device: Installation) -> APIClient:
    return device_client_for(device)


@pytest.fixture
def other_device_client(other_device: Installation) -> APIClient:
    return device_client_for(other_device)


def _staff_client(*roles: str) -> APIClient:
    user = StaffFactory(roles=list(roles))
    client = APIClient()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def triage_client(db: Any) -> APIClient:
    return _staff_client("Triage")


@pytest.fixture
def comms_client(db: Any) -> APIClient:
    return _staff_client("Kommunikation")


@pytest.fixture
def comms_colleague_client(db: Any) -> APIClient:
    return _staff_client("Kommunikation")


@pytest.fixture
def administration_client(db: Any) -> APIClient:
    return _staff_client("Administration")


# --- The fake FCM server on loopback and a Firebase push backend pointed at it (push and reports tests)


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


def set_rates(settings: Any, **rates: str) -> None:
    """Sets throttle rates for one test, e.g. ``set_rates(settings, anon="2/min")``.

    Limits count in fixed windows: a test that started a few seconds before a window ends would see its
    counter reset half-way and flake. It starts at the beginning of a fresh window instead.
    """
    from casapp.api.throttling import parse_rate

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }
    period = min(parse_rate(rate)[1] for rate in rates.values())
    left = period - time.time() % period
    if left < 10:
        time.sleep(left + 0.05)


def assert_error_shape(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Every error of the API: JSON with a stable code, a human detail and the request id."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    if code is not None:
        assert body["code"] == code, body
    return body


def _redis_test_database() -> Any:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    if int(client.connection_pool.connection_kwargs.get("db", 0)) == 0:
        raise pytest.UsageError(
            "REDIS_URL points at Redis database 0, and a test session empties its Redis database: give the "
            "tests one of their own, e.g. redis://127.0.0.1:6379/15 (make test-services does)."
        )
    return client


def pytest_sessionstart(session: Any) -> None:
    """The service tier's Redis database belongs to the test session: emptied when it starts and when it
    ends, so no queued task, cache key or quota pause outlives a run. Only that database (FLUSHDB)."""
    if settings.REDIS_URL:
        _redis_test_database().flushdb()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if settings.REDIS_URL:
        _redis_test_database().flushdb()
    _check_error_codes(session)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Transactional tests start from the migrated data; service-tier tests (PostgreSQL, Redis, a real
    worker) run only under `make test-services`."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker is not None
            and marker.kwargs.get("transaction")
            and "serialized_rollback" not in marker.kwargs
        ):
            # A transactional test ends with a flush, which also removes what data migrations created (the
            # staff roles, waste types, topics): the next one would depend on test order.
            item.add_marker(pytest.mark.django_db(**marker.kwargs, serialized_rollback=True), append=False)
    if settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="service tier: run with `make test-services` (PostgreSQL + Redis)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def celery_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """A real Celery worker process on the test database; tests using it need transaction=True."""
    from tests.worker import running_worker

    with running_worker() as worker:
        yield worker


# --- Every error code the suite sees must be documented for its operation (tests/error_codes.py)

_UNDOCUMENTED = pytest.StashKey[list[str]]()


@pytest.fixture(autouse=True)
def _record_error_codes(settings: Any) -> None:
    settings.MIDDLEWARE = ["tests.error_codes.RecordErrorCodes", *settings.MIDDLEWARE]


def _check_error_codes(session: pytest.Session) -> None:
    from tests import error_codes

    if not error_codes.seen:
        return
    problems = error_codes.undocumented(error_codes.published_schema())
    session.config.stash[_UNDOCUMENTED] = problems
    if problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    problems = config.stash.get(_UNDOCUMENTED, [])
    if problems:
        terminalreporter.section("error codes the schema does not document", red=True)
        terminalreporter.line(
            "Declare them in the operation's OperationDocs.errors (<app>/api/schema_docs.py), or stop "
            "answering them:"
        )
        for problem in problems:
            terminalreporter.line(f"  {problem}")
