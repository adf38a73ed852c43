"""The Mängelmelder's part of ``/metrics`` (collected by ``casapp.metrics``): report intake, and how often
the city-hall screens' summary is computed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from casapp.metrics import event_counts
from reports.models import Report


def collect() -> Iterator[Metric]:
    yield CounterMetricFamily(
        "casapp_reports_received", "Reports filed (app and Open311).", Report.objects.count()
    )
    since = timezone.now() - timedelta(hours=1)
    yield GaugeMetricFamily(
        "casapp_reports_received_last_hour",
        "Reports filed in the last 60 minutes.",
        Report.objects.filter(created_at__gte=since).count(),
    )
    yield CounterMetricFamily(
        "casapp_reports_screen_builds",
        "Times the city-hall screens' summary was computed: at most once per window, filter and language, "
        "whatever the number of screens polling.",
        sum(event_counts("reports_screen_builds").values()),
    )
