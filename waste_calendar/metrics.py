"""The Abfallkalender's part of ``/metrics`` (collected by ``casapp.metrics``): imports and reminders."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from casapp.metrics import gauge_get
from waste_calendar.models import ImportRun
from waste_calendar.reminder_night import SLOTS


def collect() -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "casapp_waste_import_runs",
        "Imports and planner runs, by kind (ics, csv, plan, manual) and result "
        "(succeeded, unchanged, failed).",
        labels=["kind", "result"],
    )
    for row in ImportRun.objects.values("kind", "status").annotate(n=Count("id")).order_by("kind", "status"):
        runs.add_metric([row["kind"], row["status"]], row["n"])
    yield runs

    lag = GaugeMetricFamily(
        "casapp_waste_reminder_lag_seconds",
        "Seconds from a reminder slot's due time (18:00, 06:00 Europe/Berlin) until the slot's first pass "
        "had "
        "handed every reminder to push; set when that pass ends (a worker that is down shows in "
        "casapp_worker_heartbeat_age_seconds).",
        labels=["remind_at"],
    )
    for slot in SLOTS:
        if (seconds := gauge_get("waste_reminder_lag", label=slot.remind_at)) is not None:
            lag.add_metric([slot.remind_at], seconds)
    yield lag
