"""Renders docs/grafana/casapp-dashboard.png: the panels of docs/grafana/casapp-dashboard.json drawn from
real scrapes of /metrics during a simulated outage morning, compressed into a few minutes.

    python -m bench.dashboard

Not Grafana (not installable here) and not production data: the app runs in this process on a throwaway
SQLite database (embedded mode: eager tasks, so the Celery queue stays empty), with push going through the
real firebase-admin SDK to the fake FCM server on loopback. Each step stands for one minute of the morning;
after each, /metrics is scraped through the app's own URL and middleware with the Bearer token, and each
panel is computed from consecutive scrapes the way its PromQL expression would (rates per step).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from push.fake_fcm.control import FakeFcm

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "grafana" / "casapp-dashboard.json"
OUTPUT = ROOT / "docs" / "grafana" / "casapp-dashboard.png"
TOKEN = "dashboard-render-token-0123456789abcdefghij"
STEPS = 14
INSTALLATIONS = 400

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _setup(fcm: FakeFcm, workdir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "casapp.settings",
            "DJANGO_DEBUG": "true",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "REDIS_URL": "",
            "DJANGO_MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_LOG_LEVEL": "ERROR",
            "PUSH_BACKEND": "firebase",
            "FIREBASE_CREDENTIALS_FILE": str(fcm.write_service_account(workdir / "sa.json")),
            "FCM_API_BASE_URL": fcm.base_url,
            "PUSH_RETRY_BASE_SECONDS": "0.2",
            "METRICS_TOKEN": TOKEN,
            "THROTTLE_ANON": "100000/min",
            "THROTTLE_DEVICE": "100000/min",
            "THROTTLE_REPORT_DAY": "1000/day",
            "THROTTLE_REPORT_IP": "100000/min",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("load_demo", stdout=quiet)


def _scrape(client: Any) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.status_code
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _morning(fcm: FakeFcm) -> list[Samples]:  # noqa: PLR0912
    """Minute by minute: quiet, the data centre fails, the outage alert fans out into FCM's quota, the
    reports come in, a feed import fails, things calm down."""
    from django.core.cache import cache
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.test import Client
    from django.utils import timezone

    from casapp.tasks import worker_heartbeat
    from push import services
    from push.fanout.pacing import QUOTA_PAUSE_KEY
    from push.models import Delivery, Topic
    from push.tasks import drain_notification, resume_stalled_sends
    from reports.models import Category
    from waste_calendar.tasks import send_due_reminders

    outages = Topic.objects.get(key="stoerungen")
    from push.services import installation_register

    for index in range(INSTALLATIONS):
        installation, _secret = installation_register(
            platform="android", app_version="1.4.0", locale="de", push_token=f"phone-{index:05d}-abcdefghijkl"
        )
        installation.topics.add(outages)
    # Dead tokens of phones whose app was removed.
    for index in range(0, INSTALLATIONS, 25):
        fcm.add_fault("unregistered", token=f"phone-{index:05d}-abcdefghijkl")
    category = Category.objects.filter(is_active=True, questions__isnull=True, children__isnull=True).first()
    assert category is not None
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.filter(groups__name="Kommunikation")[:1].get()
    approver = get_user_model().objects.create_user("approver", password="x" * 20, is_staff=True)
    approver.groups.add(*staff.groups.all())

    client = Client()
    reporter = Client(HTTP_X_FORWARDED_FOR="198.51.100.7")
    _installation, secret = installation_register(
        platform="ios", app_version="1.4.0", locale="de", push_token="reporter-token-0001"
    )
    device = {"HTTP_AUTHORIZATION": f"Device {secret}"}
    scrapes = [_scrape(client)]
    for step in range(STEPS):
        calls = 40 if step < 3 else 160 if step < 9 else 70  # the app is opened once the alert arrives
        for index in range(calls):
            client.get("/api/v1/app/config", {"platform": "android", "version": "1.4.0"})
            if index % 4 == 0:
                client.get("/api/v1/notices/")
            if index % 10 == 0:
                client.get("/api/v1/waste/addresses", {"q": "Bahnhof"})
        if step == 1:
            # 06:09: the morning reminders went out nine minutes late (the worker restarted).
            day = time.strftime("%Y-%m-%d")
            send_due_reminders.delay(now=f"{day}T06:09:00+01:00")
        if step == 3:
            fcm.add_fault("quota", times=150, retry_after=1)
            notification = services.notification_create(
                author=staff,
                kind="outage",
                content={"de": {"title": "Störung im Rechenzentrum", "body": "Bürgerbüro geschlossen."}},
            )
            services.notification_request_approval(notification=notification, actor=staff)
            services.notification_approve(notification=notification, approver=approver)
        worker_heartbeat.delay()  # beat's minutely heartbeat
        if step == 8:
            # Compressed time: FCM's quota pause (at least a minute) is over and the retries are due.
            cache.delete(QUOTA_PAUSE_KEY)
            Delivery.objects.filter(status="pending").update(not_before=timezone.now())
            drain_notification.delay(notification.pk)  # the drain rescheduled for after the pause
        if step >= 4:
            resume_stalled_sends.delay()  # beat, every minute
        if 4 <= step <= 10:
            for _ in range((3, 9, 14, 11, 7, 4, 2)[step - 4]):
                reporter.post(
                    "/api/v1/reports/",
                    {
                        "category": category.key,
                        "latitude": 51.5509,
                        "longitude": 7.3126,
                        "description": "Ampel ausgefallen",
                    },
                    content_type="application/json",
                    **device,
                )
        if step == 6:
            # A CSV delivery from the waste company that is refused (the test suite's bad tables).
            bad = ROOT / "tests" / "waste_calendar" / "fixtures"
            with open(os.devnull, "w") as quiet, contextlib.suppress(CommandError):
                call_command(
                    "import_waste_csv",
                    str(bad / "streets_bad.csv"),
                    str(bad / "dates_bad.csv"),
                    "--no-progress",
                    stdout=quiet,
                )
            # A task that fails on a worker: the beat task run with a broken argument.
            send_due_reminders.apply(kwargs={"now": "kaputt"}, throw=False)
        scrapes.append(_scrape(client))
    return scrapes


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _series_by(
    scrapes: list[Samples], name: str, by: tuple[str, ...], *, delta: bool
) -> dict[str, list[float]]:
    keys = sorted(
        {tuple(dict(labels).get(k, "") for k in by) for s in scrapes for (n, labels) in s if n == name}
    )
    result: dict[str, list[float]] = {}
    for key in keys:
        totals = [
            sum(
                v
                for (n, labels), v in s.items()
                if n == name and tuple(dict(labels).get(k, "") for k in by) == key
            )
            for s in scrapes
        ]
        values = [b - a for a, b in itertools.pairwise(totals)] if delta else totals[1:]
        result[" ".join(key) or name] = values
    return result


def _latency_p95(scrapes: list[Samples]) -> dict[str, list[float]]:
    name = "casapp_http_request_duration_seconds_bucket"
    routes = sorted({dict(labels)["route"] for s in scrapes for (n, labels) in s if n == name})
    result = {}
    for route in routes:
        values = []
        for before, after in itertools.pairwise(scrapes):
            buckets: dict[float, float] = defaultdict(float)
            for (n, labels), v in after.items():
                if n == name and dict(labels)["route"] == route:
                    le = float(dict(labels)["le"])
                    buckets[le] += v - before.get((n, labels), 0.0)
            total = buckets.get(float("inf"), 0.0)
            p95 = next((le for le in sorted(buckets) if total and buckets[le] >= 0.95 * total), float("nan"))
            values.append(p95 if p95 != float("inf") else float("nan"))
        if any(not math.isnan(v) for v in values):
            result[route] = values
    return result


def _server_errors(scrapes: list[Samples]) -> list[float]:
    name = "casapp_http_request_duration_seconds_count"
    totals = [
        sum(v for (n, labels), v in s.items() if n == name and dict(labels)["status"][0] == "5")
        for s in scrapes
    ]
    return [(b - a) / 60 for a, b in itertools.pairwise(totals)]


def _top(series: dict[str, list[float]], count: int = 6) -> dict[str, list[float]]:
    return dict(
        sorted(series.items(), key=lambda item: -sum(abs(v) for v in item[1] if not math.isnan(v)))[:count]
    )


def _panels(scrapes: list[Samples]) -> dict[str, dict[str, list[float]]]:
    sent = _series_by(scrapes, "casapp_push_sent_total", (), delta=True)
    failed = _series_by(scrapes, "casapp_push_failed_total", (), delta=True)
    return {
        "Requests per second by route and status": _top(
            {
                k: [v / 60 for v in vs]
                for k, vs in _series_by(
                    scrapes, "casapp_http_request_duration_seconds_count", ("route", "status"), delta=True
                ).items()
                if not k.startswith("metrics")
            }
        ),
        "Request latency p95 by route": _top(_latency_p95(scrapes), 4),
        "5xx answers per second": {"5xx": _server_errors(scrapes)},
        "Celery queue depth": _series_by(scrapes, "casapp_celery_queue_length", ("queue",), delta=False),
        "Task failures per minute by task": _series_by(
            scrapes, "casapp_celery_task_failures_total", ("task",), delta=True
        ),
        "Worker heartbeat age": _series_by(scrapes, "casapp_worker_heartbeat_age_seconds", (), delta=False),
        "Pushes sent and failed per minute": {
            "sent": sent.get("casapp_push_sent_total", []),
            "failed": failed.get("casapp_push_failed_total", []),
        },
        "Push failures and retries per minute by reason": {
            **{
                f"failed {k}": v
                for k, v in _series_by(scrapes, "casapp_push_failed_total", ("reason",), delta=True).items()
            },
            **{
                f"retried {k}": v
                for k, v in _series_by(scrapes, "casapp_push_retries_total", ("reason",), delta=True).items()
            },
        },
        "FCM quota: backoffs and pause": {
            "backoffs": _series_by(scrapes, "casapp_push_quota_backoffs_total", (), delta=True).get(
                "casapp_push_quota_backoffs_total", []
            ),
            "pause seconds": _series_by(scrapes, "casapp_push_quota_pause_seconds", (), delta=False).get(
                "casapp_push_quota_pause_seconds", []
            ),
        },
        "Push backlog (deliveries of running sends)": _series_by(
            scrapes, "casapp_push_backlog_deliveries", (), delta=False
        ),
        "Reports received in the last hour": _series_by(
            scrapes, "casapp_reports_received_last_hour", (), delta=False
        ),
        "Import runs by result (per hour)": _series_by(
            scrapes, "casapp_waste_import_runs_total", ("kind", "result"), delta=True
        ),
        "Reminder lag after the due time": _series_by(
            scrapes, "casapp_waste_reminder_lag_seconds", ("remind_at",), delta=False
        ),
        "Metrics sources up": _series_by(scrapes, "casapp_metrics_collector_up", ("app",), delta=False),
    }


def _render(panels: dict[str, dict[str, list[float]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = [panel["title"] for panel in dashboard["panels"]]
    missing = set(titles) - set(panels)
    assert not missing, f"no rendering for the dashboard panels {missing}"
    columns = 3
    rows = (len(titles) + columns - 1) // columns
    plt.style.use("dark_background")
    figure, axes = plt.subplots(rows, columns, figsize=(18, 3.1 * rows))
    minutes = list(range(1, STEPS + 1))
    for ax, panel in zip(axes.flat, dashboard["panels"], strict=False):
        ax.set_facecolor("#181b1f")
        ax.set_title(panel["title"], fontsize=10, loc="left")
        unit = panel["fieldConfig"]["defaults"]["unit"]
        for label, values in panels[panel["title"]].items():
            if values:
                ax.plot(minutes[: len(values)], values, label=label[:40], linewidth=1.6)
        ax.set_ylabel({"reqps": "req/s", "s": "seconds", "short": ""}[unit], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xticks(minutes[::3], [f"07:{m:02d}" for m in minutes[::3]])
        ax.grid(alpha=0.2)
        if ax.lines:
            ax.legend(fontsize=6, loc="upper left", framealpha=0.3)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, alpha=0.6)
    for ax in list(axes.flat)[len(titles) :]:
        ax.axis("off")
    figure.suptitle(
        "CAS-App backend: simulated outage morning (one step = one minute), drawn from real /metrics scrapes "
        "by bench/dashboard.py, not a Grafana screenshot",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(OUTPUT, dpi=80)
    print(f"wrote {OUTPUT}")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    with FakeFcm.start(latency_ms=2) as fcm, tempfile.TemporaryDirectory() as workdir:
        _setup(fcm, Path(workdir))
        scrapes = _morning(fcm)
    _render(_panels(scrapes))


if __name__ == "__main__":
    main()
