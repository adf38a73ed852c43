"""Fault matrix of the service tier (``python -m bench.faults [scenario ...]``, ``make bench-faults``).

Everything runs on loopback in services this script starts and throws away: a PostgreSQL cluster
(``initdb`` in a temporary directory, its own port), a Redis server (its own port, no persistence: a stop
loses every queued task), gunicorn with the app, a real Celery worker and beat, and the fake FCM server.
Each scenario injects one fault while the app works and watches, bounded in time:

- clients: a small loop alternately files a Mängelmelder report (``POST /api/v1/reports/``) and fetches the
  app's start-up configuration, a timeout per request, all through every scenario; counted by status and
  error ``code``, with the slowest answer;
- readiness: ``GET /readyz`` once a second;
- push: an outage alert to every installation (fan-out) or a reminder evening of the Abfallkalender; the
  fake FCM server's record of what it accepted is compared with the installations targeted.

Then one row per scenario: what clients saw, readiness during and after, whether everything came back by
itself (and how long after the fault ended), messages lost (targeted, never accepted by the fake), sent
twice (extra copies), installations deactivated (every token is valid, so each is wrong) and reports
answered 201 that the database does not hold. The worker is restarted after a kill as a process supervisor
would; nothing else is touched by hand (beat's ``resume_stalled_sends`` does the recovering).
``--small`` runs reduced sizes for ``tests/casapp/test_fault_matrix.py``; figures and how to read them are
in docs/operations.md ("Fault matrix").
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench._common import HOST, RESULTS_DIR, ROOT, free_port, machine_load, markdown_table

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/usr/bin"))
DATABASE = "casapp_faults"
REPORT_INSTALLATIONS = 40
CLIENT_THREADS = 2
CLIENT_PAUSE_SECONDS = 0.1
CLIENT_TIMEOUT_SECONDS = 10.0
READY_INTERVAL_SECONDS = 1.0
FCM_LATENCY_MS = 30.0
# Longer than a batch can take (firebase.SEND_TIMEOUT_SECONDS), as in production: a lease that ran out
# while its batch was still in flight would send that batch twice.
CLAIM_LEASE_SECONDS = 65


@dataclass(frozen=True)
class Sizes:
    """How big and how long: the matrix, or ``--small`` for the service-tier tests."""

    installations: int = 20_000
    reminders: int = 3_000
    redis_down_s: float = 20.0
    postgres_down_s: float = 10.0
    fcm_fault_s: float = 60.0
    recovery_deadline_s: float = 240.0
    retry_base_s: float = 2.0  # PUSH_RETRY_BASE_SECONDS (the default)


FULL = Sizes()
# Retries come faster than in production, so that a 12 s outage outlasts every message's attempts.
SMALL = Sizes(
    installations=1_000,
    reminders=300,
    redis_down_s=5.0,
    postgres_down_s=3.0,
    fcm_fault_s=12.0,
    recovery_deadline_s=90.0,
    retry_base_s=0.25,
)
BERLIN = ZoneInfo("Europe/Berlin")
SECRET_KEY = "faults-only-secret-key-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- Throwaway services


def _as_postgres_user() -> list[str]:
    """initdb refuses root: run the cluster as the ``postgres`` system user when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Postgres:
    """A PostgreSQL cluster of its own in a temporary directory, on its own port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@{HOST}:{self.port}"

    def init(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            [
                *_as_postgres_user(),
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses={HOST} -c max_connections=100 "
            "-c fsync=off -c full_page_writes=off"
        )
        subprocess.run(
            [
                *_as_postgres_user(),
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.directory / "postgres.log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self, *, mode: str = "fast") -> None:
        subprocess.run(
            [*_as_postgres_user(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


class Redis:
    """``redis-server`` on its own port without persistence: a restart starts empty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise SystemExit("redis-server did not listen within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Supervised:
    """A process in its own group, restarted by ``restart()`` as a process supervisor would."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_path: Path) -> None:
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL to the whole group: no warm shutdown, no acknowledgement, nothing cleaned up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart_if_dead(self) -> bool:
        if self.alive():
            return False
        self.restarts += 1
        self.start()
        return True


# --- HTTP clients


def _request(
    port: int, method: str, path: str, *, body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT_SECONDS)
    try:
        sent = {"Accept": "application/json", "Accept-Language": "de", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _outcome(status: int, answer: bytes) -> str:
    """``201``, ``503 service_unavailable``: the status and, for errors, the error shape's code."""
    if status < 400:
        return str(status)
    try:
        code = json.loads(answer).get("code", "?")
    except (ValueError, AttributeError):
        code = "not-json"
    return f"{status} {code}"


class ReportClients:
    """A few phones filing reports and fetching the app configuration in a loop; every answer is counted,
    every 201's id kept."""

    def __init__(self, port: int, secrets: list[str], points: list[tuple[float, float]]) -> None:
        self.port, self.secrets, self.points = port, secrets, points
        self.outcomes: Counter[str] = Counter()
        self.max_latency = 0.0
        self.accepted_ids: list[int] = []
        self.last_failure = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENT_THREADS)]

    def __enter__(self) -> ReportClients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT_SECONDS + 5)

    def _run(self) -> None:
        rng = random.Random()
        filing = rng.random() < 0.5
        while not self._stop.is_set():
            filing = not filing  # a report, then the app's start-up call, and so on
            headers = {
                "Authorization": f"Device {rng.choice(self.secrets)}",
                "X-Forwarded-For": f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            }
            started = time.monotonic()
            report_id = None
            what = "report" if filing else "config"
            try:
                if filing:
                    status, answer = _request(
                        self.port, "POST", "/api/v1/reports/", body=self._report(rng), headers=headers
                    )
                    if status == 201:
                        report_id = int(json.loads(answer)["id"])
                else:
                    status, answer = _request(
                        self.port, "GET", "/api/v1/app/config?platform=android&version=3.1.0"
                    )
                outcome = f"{what} {_outcome(status, answer)}"
            except TimeoutError:
                outcome = f"{what} client timeout"
            except OSError as error:
                outcome = f"{what} connection error ({type(error).__name__})"
            latency = time.monotonic() - started
            with self._lock:
                self.outcomes[outcome] += 1
                self.max_latency = max(self.max_latency, latency)
                if report_id is not None:
                    self.accepted_ids.append(report_id)
                elif not outcome.split()[1].startswith("2"):
                    self.last_failure = time.monotonic()
            self._stop.wait(CLIENT_PAUSE_SECONDS)

    def _report(self, rng: random.Random) -> str:
        lat, lon = rng.choice(self.points)
        return json.dumps(
            {
                "category": "schlagloch",
                "latitude": lat,
                "longitude": lon,
                "description": "Schlagloch, Fehlertest.",
                "idempotency_key": uuid.uuid4().hex,
            }
        )


class ReadinessProbe:
    """``GET /readyz`` once a second, as the orchestrator does; keeps (time, verdict) pairs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.samples: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadinessProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=CLIENT_TIMEOUT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, answer = _request(self.port, "GET", "/readyz")
                verdict = str(status)
                checks = json.loads(answer).get("checks", {})
                # "503 database", or "200 degraded cache+broker": ready, with a part failing.
                if failing := "+".join(k for k, v in checks.items() if v != "ok"):
                    verdict = f"{status} {failing}" if status != 200 else f"200 degraded {failing}"
            except (OSError, ValueError) as error:
                verdict = f"no answer ({type(error).__name__})"
            self.samples.append((time.monotonic(), verdict))
            self._stop.wait(READY_INTERVAL_SECONDS)

    def last_failure(self) -> float:
        return max((t for t, verdict in self.samples if verdict != "200"), default=0.0)

    def summary(self) -> tuple[str, str]:
        """During: the verdicts in order, each but 200 with how long it lasted (until the next verdict
        was first seen) — "200 → 503 broker 21 s → 200"; after: the last verdict."""
        runs: list[tuple[str, float]] = []
        for moment, verdict in self.samples:
            if not runs or runs[-1][0] != verdict:
                runs.append((verdict, moment))
        parts = []
        for index, (verdict, start) in enumerate(runs):
            end = runs[index + 1][1] if index + 1 < len(runs) else self.samples[-1][0]
            parts.append(verdict if verdict == "200" else f"{verdict} {end - start:.0f} s")
        return " → ".join(parts) or "-", self.samples[-1][1] if self.samples else "-"


# --- The scenario row


@dataclass
class Row:
    scenario: str
    clients: str = "-"
    max_latency_s: float = 0.0
    readiness_during: str = "-"
    readiness_after: str = "-"
    recovered: str = "-"
    lost: int | str = "-"
    sent_twice: int | str = "-"
    deactivated: int | str = "-"
    reports_lost: int | str = "-"
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[object]:
        return [
            self.scenario,
            self.clients,
            f"{self.max_latency_s:.1f} s",
            self.readiness_during,
            self.readiness_after,
            self.recovered,
            self.lost,
            self.sent_twice,
            self.deactivated,
            self.reports_lost,
        ]


HEADER = [
    "scenario",
    "client statuses seen",
    "max client latency",
    "readiness during",
    "readiness after",
    "recovered without a person",
    "lost",
    "sent twice",
    "wrongly deactivated",
    "reports 201 lost",
]


# --- The harness


class Matrix:
    def __init__(self, scratch: Path, stack: contextlib.ExitStack, sizes: Sizes = FULL) -> None:
        self.sizes = sizes
        self.scratch = scratch
        self.stack = stack
        self.postgres = Postgres(scratch / "pg")
        self.redis = Redis(scratch)
        self.fcm: Any = None
        self.port = free_port()
        self.gunicorn: Supervised | None = None
        self.worker: Supervised | None = None
        self.beat: Supervised | None = None
        self.secrets: list[str] = []
        self.points: list[tuple[float, float]] = []
        self.fanout_tokens: set[str] = set()
        self.reminder_tokens: set[str] = set()
        self.reminder_day: dt.date | None = None

    # -- start-up

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"{self.postgres.url}/{DATABASE}",
            "REDIS_URL": self.redis.url,
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_NUM_PROXIES": "1",
            "DJANGO_MEDIA_ROOT": str(self.scratch / "media"),
            "PUSH_BACKEND": "firebase",
            "FIREBASE_CREDENTIALS_FILE": str(self.scratch / "service-account.json"),
            "FCM_API_BASE_URL": self.fcm.base_url,
            "PUSH_CLAIM_LEASE_SECONDS": str(CLAIM_LEASE_SECONDS),
            "PUSH_RETRY_BASE_SECONDS": str(self.sizes.retry_base_s),
            "PUSH_DRAIN_CONCURRENCY": "2",
        }

    def start(self) -> None:
        from push.fake_fcm.control import FakeFcm

        (self.scratch / "pg").mkdir()
        self.postgres.init()
        self.postgres.start()
        self.stack.callback(self.postgres.stop, mode="immediate")
        self.redis.start()
        self.stack.callback(self.redis.stop)
        self.fcm = FakeFcm.start(latency_ms=FCM_LATENCY_MS, record_bodies=False)
        self.stack.callback(self.fcm.stop)
        self.fcm.write_service_account(self.scratch / "service-account.json")
        env = self.env()
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", HOST, "-p", str(self.postgres.port), "-U", "postgres", DATABASE],
            check=True,
        )
        for command in (["migrate", "--no-input", "--verbosity", "0"], ["load_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=600,
            )
        os.environ.update({k: v for k, v in env.items() if k not in os.environ or os.environ[k] != v})
        import django

        django.setup()
        self.load_data()
        logs = self.scratch / "logs"
        logs.mkdir()
        python = sys.executable
        self.gunicorn = Supervised(
            "gunicorn",
            [
                python,
                "-m",
                "gunicorn",
                "casapp.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"{HOST}:{self.port}",
                "--log-level",
                "warning",
                "--timeout",
                "30",
            ],
            env=env,
            log_path=logs / "gunicorn.log",
        )
        self.worker = Supervised(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "casapp",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            log_path=logs / "worker.log",
        )
        self.beat = Supervised(
            "beat",
            [
                python,
                "-m",
                "celery",
                "-A",
                "casapp",
                "beat",
                "--loglevel=WARNING",
                "--schedule",
                str(self.scratch / "celerybeat-schedule"),
            ],
            env=env,
            log_path=logs / "beat.log",
        )
        for process in (self.gunicorn, self.worker, self.beat):
            process.start()
            self.stack.callback(process.stop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if _request(self.port, "GET", "/readyz")[0] == 200:
                    return
            time.sleep(0.5)
        raise SystemExit("gunicorn did not become ready within 60 s")

    def load_data(self) -> None:
        """Installations for the fan-out, reminder subscriptions for a few thousand of them, and the
        phones that file reports."""
        from django.utils import timezone

        from bench import push_fanout
        from push.models import Installation
        from push.services.installations import installation_register
        from reports import geo
        from waste_calendar.models import Collection, ReminderSubscription, ReminderTime, WasteType
        from waste_calendar.reminder_night import collected_types_by_location

        started = time.monotonic()
        push_fanout.load_installations(self.sizes.installations, warmup=0)
        self.fanout_tokens = set(
            Installation.objects.filter(push_token__startswith="bench").values_list("push_token", flat=True)
        )
        # Beat's own minutely reminder task runs on the real clock all along: with no collection in the
        # next days it sends nothing, and every message the fake receives belongs to the scenario.
        today = timezone.localdate()
        Collection.objects.filter(date__lte=today + dt.timedelta(days=3)).delete()
        # The reminder evening: the day with the most locations collected, one subscription each.
        days = [today + dt.timedelta(days=n) for n in range(4, 18)]
        day, locations = max(
            ((day, collected_types_by_location(day)) for day in days), key=lambda pair: len(pair[1])
        )
        self.reminder_day = day
        location_ids = sorted(locations)
        all_types = list(WasteType.objects.values_list("key", flat=True))
        chosen = list(
            Installation.objects.filter(push_token__startswith="bench")
            .order_by("pk")
            .values_list("pk", "push_token")[: self.sizes.reminders]
        )
        ReminderSubscription.objects.bulk_create(
            [
                ReminderSubscription(
                    installation_id=pk,
                    location_id=location_ids[index % len(location_ids)],
                    waste_types=all_types,
                    remind_at=ReminderTime.EVENING_BEFORE,
                )
                for index, (pk, _token) in enumerate(chosen)
            ]
        )
        self.reminder_tokens = {token for _pk, token in chosen}
        for _ in range(REPORT_INSTALLATIONS):
            _installation, secret = installation_register(
                platform="android", app_version="3.1.0", locale="de"
            )
            self.secrets.append(secret)
        rng = random.Random(12)
        min_lon, min_lat, max_lon, max_lat = geo.city_geometry().bounds
        while len(self.points) < 50:
            lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
            if geo.point_in_city(latitude=lat, longitude=lon):
                self.points.append((round(lat, 6), round(lon, 6)))
        log(
            f"data: {len(self.fanout_tokens):,} installations, {len(chosen):,} reminders for {day}, "
            f"{len(location_ids)} locations ({time.monotonic() - started:.0f} s)"
        )

    # -- between scenarios

    def db(self, read: Callable[[], Any], default: Any = None) -> Any:
        """A read from this process that survives the database being away (answers ``default``)."""
        from django.db import connection
        from django.db.utils import DatabaseError, InterfaceError

        try:
            return read()
        except (DatabaseError, InterfaceError):
            with contextlib.suppress(Exception):
                connection.close()
            return default

    def reset(self) -> None:
        """A clean slate: no notifications or reminder claims, every installation active, no fault rule,
        every process up."""
        from django.db import connection

        from push.models import Installation, Notification
        from waste_calendar.models import ReminderRun, ReminderSend

        connection.close()
        with connection.cursor() as cursor:
            tables = [Notification._meta.db_table, ReminderSend._meta.db_table, ReminderRun._meta.db_table]
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        Installation.objects.filter(is_active=False).update(is_active=True, deactivation_reason="")
        self.fcm.clear_faults()
        self.fcm.reset()
        for process in (self.gunicorn, self.worker, self.beat):
            assert process is not None
            if process.restart_if_dead():
                log(f"  {process.name} was not running: restarted")
        # Drain tasks of an earlier scenario still queued in the broker find no notification and end.

    def start_fanout(self) -> int:
        from bench.push_fanout import CONTENT, staff_pair
        from push.models import AudienceKind, NotificationKind
        from push.services import notification_approve, notification_create, notification_request_approval

        author, approver = staff_pair()
        draft = notification_create(
            author=author, kind=NotificationKind.OUTAGE, content=CONTENT, audience_kind=AudienceKind.ALL
        )
        draft = notification_request_approval(notification=draft, actor=author)
        notification_approve(notification=draft, approver=approver)
        return int(draft.pk)

    def reminder_now(self, elapsed: float) -> datetime:
        assert self.reminder_day is not None
        eve = self.reminder_day - dt.timedelta(days=1)
        return datetime(eve.year, eve.month, eve.day, 18, 0, tzinfo=BERLIN) + dt.timedelta(seconds=elapsed)

    def accepted(self) -> int:
        return int(self.fcm.totals()["accepted"])

    def sends_finished(self) -> bool:
        from push.models import Notification, NotificationStatus

        return bool(
            self.db(
                lambda: (
                    Notification.objects.exists()
                    and not Notification.objects.filter(
                        status__in=[NotificationStatus.SENDING, NotificationStatus.SCHEDULED]
                    ).exists()
                ),
                default=False,
            )
        )

    # -- one scenario

    def run(self, name: str) -> Row:
        scenario = SCENARIOS[name]
        log(f"{name}: {scenario.title}")
        self.reset()
        row = Row(scenario=scenario.title)
        expected = (
            self.fanout_tokens
            if scenario.push == "fanout"
            else self.reminder_tokens
            if scenario.push == "reminders"
            else set()
        )
        with (
            ReportClients(self.port, self.secrets, self.points) as clients,
            ReadinessProbe(self.port) as readiness,
        ):
            time.sleep(3)
            push_started = time.monotonic()
            beat_clock = [0.0]
            if scenario.push == "fanout":
                self.start_fanout()
            elif scenario.push == "reminders":
                self.enqueue_reminders(0.0)
            if expected:
                self.wait_for(lambda: self.accepted() >= len(expected) * scenario.at_share, timeout=120)
            else:
                time.sleep(5)
            log(f"  fault at {self.accepted():,} accepted")
            fault_ended = scenario.inject(self, row)
            log(f"  fault over at {self.accepted():,} accepted")

            def recovered() -> bool:
                if scenario.push == "reminders" and time.monotonic() - push_started > beat_clock[0] + 60:
                    # Beat's minutely reminder task, on the simulated evening's clock.
                    beat_clock[0] += 60
                    with contextlib.suppress(Exception):
                        self.enqueue_reminders(beat_clock[0])
                for process in (self.worker, self.beat, self.gunicorn):
                    assert process is not None
                    if process.restart_if_dead():
                        row.notes.append(f"{process.name} exited by itself and was restarted")
                ready_again = bool(readiness.samples) and readiness.samples[-1][1] == "200"
                clients_again = time.monotonic() - clients.last_failure > 3
                push_done = not expected or (
                    len(set(self.fcm.counts()) & expected) == len(expected) and self.sends_finished()
                )
                return ready_again and clients_again and push_done

            done = self.wait_for(recovered, timeout=self.sizes.recovery_deadline_s, interval=1.0)
            time.sleep(3)
        back_at = max(clients.last_failure, readiness.last_failure(), fault_ended)
        if expected and done:
            back_at = max(back_at, self.push_finished_at(push_started))
        row.recovered = (
            f"yes, {max(0.0, back_at - fault_ended):.0f} s after the fault"
            if done
            else f"no (not within {self.sizes.recovery_deadline_s:.0f} s)"
        )
        row.clients = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(clients.outcomes.items()))
        row.max_latency_s = clients.max_latency
        row.readiness_during, row.readiness_after = readiness.summary()
        self.count(row, clients.accepted_ids, expected)
        log(f"  {row.recovered}; lost {row.lost}, twice {row.sent_twice}, deactivated {row.deactivated}")
        return row

    def enqueue_reminders(self, elapsed: float) -> None:
        from waste_calendar.tasks import send_due_reminders

        send_due_reminders.apply_async(kwargs={"now": self.reminder_now(elapsed).isoformat()})

    def push_finished_at(self, push_started: float) -> float:
        """When the last send closed, on this process's monotonic clock."""
        from django.db.models import Max
        from django.utils import timezone

        from push.models import Notification

        finished = self.db(lambda: Notification.objects.aggregate(last=Max("finished_at"))["last"])
        if finished is None:
            return push_started
        return time.monotonic() - (timezone.now() - finished).total_seconds()

    def count(self, row: Row, accepted_ids: list[int], expected: set[str]) -> None:
        from django.db import connection

        from push.models import Delivery, Installation
        from reports.models import Report

        connection.close()
        stored = Report.objects.filter(pk__in=accepted_ids).count()
        row.reports_lost = len(accepted_ids) - stored
        row.deactivated = Installation.objects.filter(is_active=False).count()
        if not expected:
            return
        counts = self.fcm.counts()
        row.lost = len(expected - set(counts))
        row.sent_twice = sum(n - 1 for token, n in counts.items() if token in expected and n > 1)
        outcomes = Counter(Delivery.objects.values_list("status", flat=True))
        row.notes.append("deliveries " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))

    @staticmethod
    def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if predicate():
                    return True
            time.sleep(interval)
        return False


# --- The faults


def kill_worker(matrix: Matrix, row: Row) -> float:
    assert matrix.worker is not None
    matrix.worker.kill()
    time.sleep(2)  # the supervisor notices and starts a new one
    matrix.worker.start()
    row.notes.append("worker SIGKILLed, restarted 2 s later (supervisor)")
    return time.monotonic()


def stop_redis(matrix: Matrix, row: Row) -> float:
    matrix.redis.stop()
    time.sleep(matrix.sizes.redis_down_s)
    matrix.redis.start()
    return time.monotonic()


def restart_postgres(matrix: Matrix, row: Row) -> float:
    matrix.postgres.stop(mode="immediate")  # a crash: recovery replays the WAL on start
    time.sleep(matrix.sizes.postgres_down_s)
    matrix.postgres.start()
    return time.monotonic()


def fcm_fault(*phases: tuple[str, dict[str, Any]]) -> Callable[[Matrix, Row], float]:
    """The fake FCM answers each fault in turn, sharing ``fcm_fault_s`` between them."""

    def inject(matrix: Matrix, row: Row) -> float:
        for kind, options in phases:
            matrix.fcm.clear_faults()
            matrix.fcm.add_fault(kind, **options)
            seconds = matrix.sizes.fcm_fault_s / len(phases)
            log(f"  fake FCM answers {kind} for {seconds:.0f} s")
            time.sleep(seconds)
        matrix.fcm.clear_faults()
        return time.monotonic()

    return inject


@dataclass(frozen=True)
class Scenario:
    title: str
    push: str  # fanout, reminders or "" (reports only)
    inject: Callable[[Matrix, Row], float]
    at_share: float = 0.25  # the fault comes when this share of the messages was accepted


SCENARIOS = {
    "worker-kill-fanout": Scenario("worker SIGKILL mid fan-out", "fanout", kill_worker),
    "worker-kill-reminders": Scenario("worker SIGKILL mid reminder evening", "reminders", kill_worker),
    "redis-stop-fanout": Scenario("Redis stopped mid fan-out", "fanout", stop_redis),
    "redis-stop-reports": Scenario("Redis stopped during report submissions", "", stop_redis),
    "postgres-restart-fanout": Scenario("PostgreSQL crash-restart mid fan-out", "fanout", restart_postgres),
    "postgres-restart-reports": Scenario(
        "PostgreSQL crash-restart during report submissions", "", restart_postgres
    ),
    "fcm-unavailable-fanout": Scenario(
        "fake FCM answers 503 mid fan-out", "fanout", fcm_fault(("unavailable", {})), 0.1
    ),
    "fcm-quota-timeouts-fanout": Scenario(
        "fake FCM answers 429, then times out, mid fan-out",
        "fanout",
        # Answered after the transport's request timeout (30 s): the sender gives up first.
        fcm_fault(("quota", {}), ("slow", {"delay_ms": 35_000})),
        0.1,
    ),
}

# --- Main


def render(
    rows: list[Row], *, sizes: Sizes, started: str, load_before: str, load_after: str, argv: list[str]
) -> str:
    command = "python -m bench.faults" + (" " + " ".join(argv) if argv else "")
    lines = [
        f"{started}, `{command}`, {os.cpu_count()} cores, load average (1, 5, 15 min) before {load_before}, "
        f"after {load_after}. {sizes.installations:,} installations for the fan-out, {sizes.reminders:,} "
        f"reminders; Redis down {sizes.redis_down_s:.0f} s, PostgreSQL down {sizes.postgres_down_s:.0f} s "
        f"(stopped `-m immediate`, a crash), fake FCM faults {sizes.fcm_fault_s:.0f} s in all; "
        f"{CLIENT_THREADS} client threads alternately filing a report and fetching the app configuration "
        f"({CLIENT_TIMEOUT_SECONDS:.0f} s timeout per request); fake FCM latency {FCM_LATENCY_MS:.0f} ms.",
        "",
        markdown_table(HEADER, [row.cells() for row in rows], numeric_from=6).rstrip(),
        "",
        "Notes:",
        "",
    ]
    lines += [f"- {row.scenario}: {'; '.join(row.notes) or '-'}" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="scenario", help=f"default all: {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--small", action="store_true", help="reduced sizes and faults (service-tier tests)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    chosen = args.scenarios or list(SCENARIOS)
    for name in chosen:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name}; one of {', '.join(SCENARIOS)}")
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    sizes = SMALL if args.small else FULL
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = machine_load()
    rows: list[Row] = []

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="casapp-faults-")))
        os.chmod(scratch, 0o755)  # noqa: S103 (the cluster runs as another user and must reach it)
        matrix = Matrix(scratch, stack, sizes)
        log(f"starting PostgreSQL, Redis, fake FCM, gunicorn, worker, beat in {scratch}")
        matrix.start()
        for name in chosen:
            rows.append(matrix.run(name))
        keep = RESULTS_DIR / "faults-logs"
        with contextlib.suppress(OSError):
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(scratch / "logs", keep)
    text = render(
        rows,
        sizes=sizes,
        started=started,
        load_before=load_before,
        load_after=machine_load(),
        argv=argv or [],
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"faults-{started[:19].replace(':', '')}.md"
    path.write_text(text)
    print()
    print(text)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
