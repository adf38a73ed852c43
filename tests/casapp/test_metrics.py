"""GET /metrics: who may scrape it, and each metric family after the real action it counts."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import pytest
from django.core.management.base import CommandError
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from casapp.celery import app as celery_app
from tests.conftest import assert_error_shape
from tests.push.test_fanout import installations, send_outage
from tests.reports.test_report_submit_api import URL as REPORTS_URL
from tests.reports.test_report_submit_api import report_fields, streetlight  # noqa: F401  (fixture)
from tests.waste_calendar.conftest import FIXTURES, run_command, town  # noqa: F401  (fixture)
from tests.waste_calendar.factories import CollectionFactory
from tests.waste_calendar.test_reminders import DAY, TOMORROW, berlin, phone, subscribe
from tests.worker import wait_for
from waste_calendar.tasks import send_due_reminders

TOKEN = "metrics-token-for-the-tests-0123456789abcdef"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def token_settings(settings: Any) -> Any:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    return settings


def scrape(client: APIClient | None = None) -> Samples:
    client = client or APIClient(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- Who may scrape


@pytest.mark.django_db
def test_without_a_token_or_networks_configured_the_endpoint_does_not_exist(settings, anon_client):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []

    assert_error_shape(anon_client.get("/metrics"), 404, "not_found")
    assert_error_shape(APIClient(HTTP_AUTHORIZATION="Bearer anything").get("/metrics"), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-of-the-same-kind-0123456789abcd",
        f"Token {TOKEN}",
        f"Bearer {TOKEN}x",
        "Bearer",
    ],
)
def test_without_the_right_bearer_token_it_is_403(token_settings, authorization):
    client = APIClient(HTTP_AUTHORIZATION=authorization) if authorization else APIClient()

    assert_error_shape(client.get("/metrics"), 403, "permission_denied")


@pytest.mark.django_db
def test_a_device_or_a_staff_member_is_no_scraper(token_settings, device_client, administration_client):
    assert_error_shape(device_client.get("/metrics"), 403, "permission_denied")
    assert_error_shape(administration_client.get("/metrics"), 403, "permission_denied")


@pytest.mark.django_db
def test_the_bearer_token_scrapes(token_settings):
    samples = scrape()

    assert value(samples, "casapp_metrics_collector_up", app="casapp") == 1


@pytest.mark.django_db
def test_an_internal_address_scrapes_without_a_token_but_not_through_the_proxy(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]

    scrape(APIClient(REMOTE_ADDR="10.1.2.3"))
    assert_error_shape(APIClient(REMOTE_ADDR="192.0.2.7").get("/metrics"), 403, "permission_denied")
    # The proxy is internal, and forwards the public internet: what came through it is not internal.
    proxied = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert_error_shape(proxied.get("/metrics"), 403, "permission_denied")


@pytest.mark.django_db
def test_only_get(token_settings):
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert_error_shape(client.post("/metrics"), 405, "method_not_allowed")


# --- Each family after the action it counts


@pytest.mark.django_db
def test_requests_by_route_method_and_status_with_their_duration(token_settings, anon_client):
    before = scrape()
    anon_client.get("/healthz")
    anon_client.get("/healthz")
    anon_client.get("/api/v1/waste/addresses/not-there-at-all")
    anon_client.get("/no/such/page")

    after = scrape()
    ok = {"route": "healthz", "method": "GET", "status": "200"}
    name = "casapp_http_request_duration_seconds"
    assert value(after, f"{name}_count", **ok) - value(before, f"{name}_count", **ok) == 2
    assert value(after, f"{name}_sum", **ok) > value(before, f"{name}_sum", **ok)
    assert value(after, f"{name}_bucket", **ok, le="+Inf") == value(after, f"{name}_count", **ok)
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, f"{name}_count", **unmatched) - value(before, f"{name}_count", **unmatched) >= 1
    # The route is the URL pattern, never the path a caller made up.
    assert not [labels for (_, labels) in after if ("route", "no/such/page") in labels]


@pytest.mark.django_db
def test_a_filed_report_counts_in_the_intake(token_settings, device_client, streetlight):  # noqa: F811
    before = scrape()

    response = device_client.post(REPORTS_URL, report_fields(), format="json")

    assert response.status_code == 201, response.content[:500]
    after = scrape()
    assert value(after, "casapp_reports_received_total") - value(before, "casapp_reports_received_total") == 1
    assert (
        value(after, "casapp_reports_received_last_hour")
        == value(before, "casapp_reports_received_last_hour") + 1
    )
    assert value(after, "casapp_metrics_collector_up", app="reports") == 1


@pytest.mark.django_db
def test_pushes_sent_and_failed_by_reason(
    token_settings, firebase_backend, django_capture_on_commit_callbacks
):
    installations(5)
    dead = installations(1, prefix="dead")[0]
    firebase_backend.add_fault("unregistered", token=dead.push_token)
    before = scrape()

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "partly_failed"
    after = scrape()
    assert value(after, "casapp_push_sent_total") - value(before, "casapp_push_sent_total") == 5
    failed = "casapp_push_failed_total"
    assert value(after, failed, reason="unregistered") - value(before, failed, reason="unregistered") == 1
    assert value(after, "casapp_push_backlog_deliveries") == 0


@pytest.mark.django_db
def test_an_fcm_quota_error_counts_a_backoff_and_shows_the_pause(
    token_settings, firebase_backend, django_capture_on_commit_callbacks
):
    installations(4)
    firebase_backend.add_fault("quota", times=1000, retry_after=90)
    before = scrape()

    notification = send_outage(django_capture_on_commit_callbacks)

    assert notification.status == "sending"
    after = scrape()
    backoffs = "casapp_push_quota_backoffs_total"
    assert value(after, backoffs) - value(before, backoffs) == 1
    assert value(after, "casapp_push_quota_pause_seconds") > 80
    assert value(after, "casapp_push_backlog_deliveries") == 4
    retried = [labels for (name, labels) in after if name == "casapp_push_retries_total"]
    assert sum(value(after, "casapp_push_retries_total", **dict(labels)) for labels in retried) >= 4


@pytest.mark.django_db
def test_import_runs_by_kind_and_result(token_settings):
    before = scrape()
    runs = "casapp_waste_import_runs_total"

    run_command("import_waste_csv", str(FIXTURES / "streets.csv"), str(FIXTURES / "dates.csv"))
    with pytest.raises(CommandError):
        run_command("import_waste_csv", str(FIXTURES / "streets_bad.csv"), str(FIXTURES / "dates_bad.csv"))

    after = scrape()
    assert (
        value(after, runs, kind="csv", result="succeeded")
        - value(before, runs, kind="csv", result="succeeded")
        == 1
    )
    assert (
        value(after, runs, kind="csv", result="failed") - value(before, runs, kind="csv", result="failed")
        == 1
    )


@pytest.mark.django_db
def test_a_failing_task_is_counted_by_name(token_settings):
    name = "waste_calendar.tasks.send_due_reminders"
    before = scrape()

    # As a worker runs it: the exception is recorded, not raised to the caller (eager mode would raise).
    result = send_due_reminders.apply(kwargs={"now": "half past six"}, throw=False)

    assert result.failed()

    after = scrape()
    failures = "casapp_celery_task_failures_total"
    assert value(after, failures, task=name) - value(before, failures, task=name) == 1


@pytest.mark.django_db
def test_the_default_queue_is_always_reported(token_settings, settings):
    samples = scrape()

    assert ("casapp_celery_queue_length", (("queue", "celery"),)) in samples
    if not settings.REDIS_URL:  # eager: tasks run at once, nothing waits
        assert value(samples, "casapp_celery_queue_length", queue="celery") == 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_queue_length_is_read_from_the_broker(token_settings):
    """No worker runs here: what is sent waits in Redis, and the scrape sees it."""
    before = value(scrape(), "casapp_celery_queue_length", queue="celery")

    for _ in range(3):
        celery_app.send_task("casapp.tasks.worker_heartbeat")

    assert value(scrape(), "casapp_celery_queue_length", queue="celery") == before + 3


@pytest.mark.django_db
def test_reminder_lag_after_the_due_time(
    token_settings,
    firebase_backend,
    django_capture_on_commit_callbacks,
    town,  # noqa: F811
):
    CollectionFactory(district=town.districts["restabfall"], date=TOMORROW)
    subscribe(phone(), town.bahnhof_12, ["restabfall"])
    lag = "casapp_waste_reminder_lag_seconds"

    # The worker was down at 18:00 and ran the evening slot at 18:07.
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_reminders.delay(now=berlin(DAY, 18, 7)).get() == 1

    # A later minutely run of the same slot is no first pass: the recorded lag stays.
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_reminders.delay(now=berlin(DAY, 18, 30)).get() == 0

    seconds = value(scrape(), lag, remind_at="evening_before")
    assert dt.timedelta(minutes=7) <= dt.timedelta(seconds=seconds) < dt.timedelta(minutes=9)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_task_failing_in_a_real_worker_is_counted(token_settings, celery_worker):
    """The worker is another process: the count reaches the scrape through Redis."""
    name = "waste_calendar.tasks.send_due_reminders"
    failures = "casapp_celery_task_failures_total"
    before = value(scrape(), failures, task=name)

    send_due_reminders.delay(now="half past six")

    assert wait_for(lambda: value(scrape(), failures, task=name) == before + 1, timeout=60), (
        celery_worker.log_path.read_text()[-2000:]
    )
