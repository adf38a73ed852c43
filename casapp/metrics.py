"""Prometheus metrics at ``/metrics``: how the service is doing, for the city's monitoring.

Each number is read where it is true for every process, so a scrape of any one web process tells the
whole story:

- HTTP requests (route, method, status, latency) are counted in the web process with prometheus-client.
  Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` makes every worker write its counts to files there, and the
  scrape sums them (``casapp/gunicorn.py`` removes a dead worker's live gauges).
- Events in the Celery workers (task failures, pushes sent or failed, quota backoffs) are counters in the
  shared cache (Redis in production), added to with :func:`event_count`; workers need no endpoint.
- State (queue depth, import runs, reminder lag, report intake) is read from Redis and the database when
  scraped, by each app's ``<app>.metrics.collect()``: casapp names no app, the apps contribute their part.

A failing source (the database during an outage) costs only its own metrics: the rest is still answered
and ``casapp_metrics_collector_up`` says which part is missing.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger("casapp.metrics")

HTTP_REQUESTS = Histogram(
    "casapp_http_request_duration_seconds",
    "Requests answered, by route (the URL pattern, not the path), method and status, with their duration.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

EVENT_PREFIX = "metrics:event"
GAUGE_PREFIX = "metrics:gauge"


def http_request_observe(request: HttpRequest, *, status: int, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None and match.route else "unmatched"
    HTTP_REQUESTS.labels(route=route, method=request.method or "", status=str(status)).observe(seconds)


# --- Counters and gauges shared through the cache, written by any process


def event_count(name: str, amount: int = 1, *, label: str = "") -> None:
    """Adds ``amount`` to the shared counter ``name`` (one label value per counter). Never raises: a
    metric must not break the work it counts."""
    if amount <= 0:
        return
    key = f"{EVENT_PREFIX}:{name}:{label}"
    try:
        cache.add(key, 0, timeout=None)
        cache.incr(key, amount)
        index = f"{EVENT_PREFIX}:{name}"
        labels: list[str] = cache.get(index) or []
        if label not in labels:
            cache.set(index, [*labels, label], timeout=None)
    except Exception:
        logger.warning("metric %s not counted", name, exc_info=True)


def event_counts(name: str) -> dict[str, int]:
    """Every label value of the shared counter ``name`` with its count."""
    labels: list[str] = cache.get(f"{EVENT_PREFIX}:{name}") or []
    values = cache.get_many([f"{EVENT_PREFIX}:{name}:{label}" for label in labels])
    return {label: int(values.get(f"{EVENT_PREFIX}:{name}:{label}", 0)) for label in labels}


def gauge_set(name: str, value: float, *, label: str = "") -> None:
    """The last value of a shared gauge (e.g. the lag of the last reminder run). Never raises."""
    try:
        cache.set(f"{GAUGE_PREFIX}:{name}:{label}", value, timeout=None)
    except Exception:
        logger.warning("metric %s not set", name, exc_info=True)


def gauge_get(name: str, *, label: str = "") -> float | None:
    value = cache.get(f"{GAUGE_PREFIX}:{name}:{label}")
    return float(value) if value is not None else None


def counter_family(name: str, documentation: str, label: str, counts: dict[str, int]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


# --- The platform's own part: Celery


def task_failure_count(sender: Any = None, **_: Any) -> None:
    """Celery's ``task_failure`` signal, in whichever process ran the task."""
    event_count("task_failures", label=getattr(sender, "name", None) or "unknown")


def _celery_queues() -> list[str]:
    from casapp.celery import app

    names = {app.conf.task_default_queue}
    names.update(queue.name for queue in app.conf.task_queues or ())
    return sorted(names)


def _queue_lengths() -> dict[str, int]:
    if not settings.REDIS_URL:
        return dict.fromkeys(_celery_queues(), 0)  # eager: tasks run at once, nothing waits
    from casapp.celery import app

    with app.connection_for_read() as connection:
        client = connection.default_channel.client  # type: ignore[attr-defined]  # kombu Redis channel
        lengths = {}
        for queue in _celery_queues():
            # Kombu keeps a queue's higher priorities in lists of their own: "<queue>\x06\x16<priority>".
            keys = [queue, *(f"{queue}\x06\x16{priority}" for priority in (3, 6, 9))]
            lengths[queue] = sum(int(client.llen(key)) for key in keys)
        return lengths


def collect() -> Iterator[Metric]:
    from casapp.tasks import HEARTBEAT_KEY

    queues = GaugeMetricFamily(
        "casapp_celery_queue_length", "Tasks waiting in the broker for a worker.", labels=["queue"]
    )
    for queue, length in _queue_lengths().items():
        queues.add_metric([queue], length)
    yield queues
    yield counter_family(
        "casapp_celery_task_failures",
        "Tasks that ended with an exception, by task name.",
        "task",
        event_counts("task_failures"),
    )
    heartbeat = cache.get(HEARTBEAT_KEY)
    if heartbeat:
        from datetime import datetime

        age = (timezone.now() - datetime.fromisoformat(heartbeat)).total_seconds()
        yield GaugeMetricFamily(
            "casapp_worker_heartbeat_age_seconds", "Seconds since a worker last ran the heartbeat.", age
        )


# --- The scrape


def app_collectors() -> list[tuple[str, Callable[[], Iterable[Metric]]]]:
    """``collect`` of every project app that has a ``metrics`` module (third-party apps are not asked)."""
    found = []
    base = Path(settings.BASE_DIR).resolve()
    for app_config in apps.get_app_configs():
        if not Path(app_config.path).resolve().is_relative_to(base):
            continue
        try:
            module = importlib.import_module(f"{app_config.name}.metrics")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.metrics":
                raise
            continue
        if callable(collect := getattr(module, "collect", None)):
            found.append((app_config.label, collect))
    return found


class _AppMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "casapp_metrics_collector_up",
            "1 when the app's metrics could be read at this scrape, 0 when its source failed.",
            labels=["app"],
        )
        for label, collect in app_collectors():
            try:
                families = list(collect())
            except Exception:
                logger.warning("metrics of %s could not be read", label, exc_info=True)
                up.add_metric([label], 0)
                continue
            up.add_metric([label], 1)
            yield from families
        yield up


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_AppMetrics())
    return generate_latest(registry)


# --- Who may scrape


def _token_matches(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(settings.METRICS_TOKEN)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())
    )


def _address_allowed(request: HttpRequest) -> bool:
    # A request that came through the reverse proxy carries X-Forwarded-For and the proxy's own address:
    # the public internet must not inherit the proxy's place on the list.
    if "HTTP_X_FORWARDED_FOR" in request.META or not settings.METRICS_ALLOWED_NETWORKS:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Not public: 404 while neither a token nor internal networks are configured, 403 to anyone else."""
    # Here, not at the top: push.fanout.results imports this module, and DRF's settings import push's
    # authentication.
    from casapp.api.errors import error_response

    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        return error_response(status=404, code="not_found")
    if not (_token_matches(request) or _address_allowed(request)):
        return error_response(status=403, code="permission_denied")
    if request.method not in ("GET", "HEAD"):
        return error_response(status=405, code="method_not_allowed")
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
