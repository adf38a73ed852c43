"""Push's part of ``/metrics`` (collected by ``casapp.metrics``): what the fan-out engine did, counted by
the workers in the shared cache, and what is still waiting."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from casapp.metrics import counter_family, event_counts
from push.fanout.pacing import quota_pause_remaining
from push.models import Delivery, DeliveryStatus, NotificationStatus


def collect() -> Iterator[Metric]:
    yield CounterMetricFamily(
        "casapp_push_sent",
        "Push messages FCM accepted.",
        sum(event_counts("push_sent").values()),
    )
    yield counter_family(
        "casapp_push_failed",
        "Push messages given up, by reason (dead token, payload, credentials, retries exhausted, breaker).",
        "reason",
        event_counts("push_failed"),
    )
    yield counter_family(
        "casapp_push_retries",
        "Push messages rescheduled after a transient or quota error, by reason.",
        "reason",
        event_counts("push_retried"),
    )
    yield CounterMetricFamily(
        "casapp_push_quota_backoffs",
        "Batches FCM answered with its quota error: every worker paused sending.",
        sum(event_counts("push_quota_backoffs").values()),
    )
    yield GaugeMetricFamily(
        "casapp_push_quota_pause_seconds",
        "Seconds until sending resumes after an FCM quota error (0: not paused).",
        quota_pause_remaining(),
    )
    # Through the sending notifications (few) and the (notification, status) index: cheap on a big outbox.
    backlog = Delivery.objects.filter(
        notification__status=NotificationStatus.SENDING,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.CLAIMED],
    ).count()
    yield GaugeMetricFamily(
        "casapp_push_backlog_deliveries", "Deliveries of running sends not yet sent or given up.", backlog
    )
