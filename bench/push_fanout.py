"""Push fan-out benchmark: our engine against the fake FCM server's ceiling and against fcm-django 3.2.

    .venv/bin/python -m bench.push_fanout --installations 100000 --latency-ms 20

One run, one PostgreSQL server, one fake FCM server (``push.fake_fcm``), three cases side by side:

- **ceiling**: a raw client (HTTP/1.1, one coroutine per pooled connection) posts the FCM v1 body
  firebase-admin would send for our outage message to the fake, as fast as it answers, over the
  engine's wire layer (one ``aiohttp.ClientSession``; ``--ceiling-httpcore`` for httpx's default).
  Several pool sizes are probed first and the fastest sends the full count. If ``wrk`` is installed, the
  fake alone is also driven by it (a C client), which shows whether the server or the Python client is
  the limit.
- **ours**: real Celery workers (prefork) drain an outage alert to audience "all", started through the
  staff workflow (create, request approval, approve). Wall time runs from the approval until the
  notification is ``sent``; the fake must then have accepted exactly N messages. Every configuration
  of ``--configs`` (worker concurrency x ``PUSH_DRAIN_CONCURRENCY``) runs on fresh workers, after a
  small warm-up send, and the fastest is the one compared.
- **fcm-django 3.2**: ``FCMDevice.objects.all().send_message(Message(...))`` in its own virtualenv
  (``bench/.venv-fcm-django``, see ``bench/fcm_django_baseline``), on the same N tokens.

During each case the worker (or baseline) process tree's RSS is sampled from ``/proc`` and the CPU
time of every party (sender, fake server, PostgreSQL, Redis) is added up, so the report says who used
the two cores. Results go to ``bench/results/push_fanout-*.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench._common import (
    PG_SERVER,
    RESULTS_DIR,
    ROOT,
    Sampler,
    Usage,
    ensure_database,
    migrate,
    postgres_serving,
    process_alone,
    process_tree,
    processes_named,
    terminate_on_sigterm,
)

BENCH_DATABASE = "casapp_bench_push"
BASELINE_DATABASE = "casapp_bench_fcmdjango"
REDIS_URL = "redis://127.0.0.1:6379/3"
BASELINE_VENV = ROOT / "bench" / ".venv-fcm-django"
OUTAGE_TOPIC = "stoerungen"
WARMUP_TOPIC = "bench-warmup"
LOAD_CHUNK = 100_000
POLL_INTERVAL_SECONDS = 0.05
WORKER_STOP_SECONDS = 20.0
# Enough that wrk is bounded by the server, not by latency (400 / 20 ms = 20,000 requests/s).
WRK_CONNECTIONS = 400

# ~150 characters, like a real FCM registration token; unique up to 10^8 installations.
TOKEN_SQL = (
    "'bench' || lpad(i::text, 8, '0') || ':APA91b' "
    "|| md5('a' || i) || md5('b' || i) || md5('c' || i) || md5('d' || i)"
)
CONTENT = {
    "de": {
        "title": "Störung: Bürgerbüro heute geschlossen",
        "body": "Wegen eines Stromausfalls bleibt das Bürgerbüro heute geschlossen. Termine werden verlegt.",
    },
    "en": {
        "title": "Outage: citizens' office closed today",
        "body": "Due to a power cut the citizens' office stays closed today. Appointments will be moved.",
    },
}


# --- Results


@dataclass
class CaseResult:
    case: str
    messages: int
    wall_s: float
    peak_rss_mb: float | None
    usage: Usage | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.wall_s if self.wall_s else 0.0


@dataclass
class Report:
    started_at: str
    arguments: dict[str, Any]
    machine: dict[str, Any]
    ceiling: CaseResult | None = None
    server: CaseResult | None = None
    ours: list[CaseResult] = field(default_factory=list)
    baseline: CaseResult | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def best(self) -> CaseResult | None:
        finished = [r for r in self.ours if not r.details.get("timed_out")]
        return max(finished or self.ours, key=lambda r: r.rate, default=None)


def _fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def render_markdown(report: Report) -> str:
    best, baseline, ceiling = report.best, report.baseline, report.ceiling
    reference = baseline or ceiling
    reference_name = "fcm-django 3.2" if baseline else "ceiling"
    args = report.arguments
    lines = [
        f"### Push fan-out, {args['installations']:,} installations, "
        f"fake FCM latency {args['latency_ms']:g} ms",
        "",
        f"{report.started_at}, {report.machine['cores']} cores, load average (1, 5, 15 min) before the run "
        f"{report.machine['loadavg_before']}, after {report.machine.get('loadavg_after', '-')}; "
        f"firebase-admin {report.machine['firebase_admin']}, aiohttp {report.machine.get('aiohttp', '-')}.",
        "",
        f"| case | messages | wall s | messages/s | ratio (x {reference_name}) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows: list[tuple[str, CaseResult | None]] = [
        (
            f"fake server ceiling (raw client {ceiling.case})" if ceiling else "",
            ceiling,
        ),
        (f"ours ({best.case})" if best else "", best),
        ("fcm-django 3.2", baseline),
    ]
    for name, result in rows:
        if result is None:
            continue
        ratio = result.rate / reference.rate if reference and reference.rate else None
        rss = f"{result.peak_rss_mb:.0f}" if result.peak_rss_mb is not None else "-"
        lines.append(
            f"| {name} | {result.messages:,} | {result.wall_s:.2f} | {result.rate:,.0f} | "
            f"{_fmt_ratio(ratio)} | {rss} |"
        )
    if report.server:
        lines += [
            "",
            f"For reference, the fake server alone ({report.server.case}, a C client): "
            f"{report.server.rate:,.0f} messages/s.",
        ]
    checks = []
    if best and baseline:
        factor = best.rate / baseline.rate
        checks.append(f"- ours ≥ 5x fcm-django? **{'yes' if factor >= 5 else 'no'}** ({factor:.2f}x)")
    if best and ceiling:
        share = best.rate / ceiling.rate
        checks.append(f"- ours ≥ 50 % of the ceiling? **{'yes' if share >= 0.5 else 'no'}** ({share:.0%})")
    if checks:
        lines += ["", "Checks:", *checks]
    if report.ours:
        lines += [
            "",
            "Configurations of ours (worker concurrency x PUSH_DRAIN_CONCURRENCY; t = one process, threads "
            "pool); RSS is summed over the worker's process tree, PSS splits shared pages; CPU columns "
            "are the cores each kept busy on average during the case; rest = everything else on the machine "
            "(this script, other jobs):",
            "",
            "| config | wall s | messages/s | peak RSS MB (parent+children) | peak PSS MB | "
            "largest process RSS MB | workers | fake FCM | PostgreSQL | Redis | rest | machine busy |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for result in report.ours:
            cores = result.usage.cores if result.usage else {}
            busy = result.usage.machine_busy_cores if result.usage else None
            lines.append(
                f"| {result.case} | {result.wall_s:.2f} | {result.rate:,.0f} | "
                f"{result.peak_rss_mb or 0:.0f} | "
                f"{result.usage.peak_pss_mb.get('workers', 0) if result.usage else 0:.0f} | "
                f"{result.usage.peak_process_rss_mb.get('workers', 0) if result.usage else 0:.0f} | "
                f"{cores.get('workers', 0):.2f} | {cores.get('fake', 0):.2f} | "
                f"{cores.get('postgres', 0):.2f} | {cores.get('redis', 0):.2f} | "
                f"{(busy or 0) - sum(cores.values()):.2f} | {busy or 0:.2f} |"
            )
    others = [("ceiling", ceiling), ("wrk", report.server), ("fcm-django 3.2", baseline)]
    if any(result and result.usage for _, result in others):
        lines += ["", "CPU of the other cases (cores busy on average):", ""]
        for name, result in others:
            if result and result.usage:
                parts = ", ".join(f"{k} {v:.2f}" for k, v in result.usage.cores.items())
                lines.append(f"- {name}: {parts}; machine {result.usage.machine_busy_cores:.2f}")
    if report.errors:
        lines += ["", "Errors:", "", *[f"- {error}" for error in report.errors]]
    return "\n".join(lines) + "\n"


def save(report: Report, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at[:19].replace(":", "").replace("-", "")
    stem = f"push_fanout-{stamp}-{report.arguments['installations']}"
    (directory / f"{stem}.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    path = directory / f"{stem}.md"
    path.write_text(render_markdown(report))
    return path


# --- Environment and database


def service_env(
    *, database: str, credentials: Path, fcm_base_url: str, drain_concurrency: int
) -> dict[str, str]:
    """What a worker (and this process) needs: production settings aimed at the bench services."""
    return {
        "DJANGO_SETTINGS_MODULE": "casapp.settings",
        "DATABASE_URL": f"{PG_SERVER}/{database}",
        "REDIS_URL": REDIS_URL,
        "PUSH_BACKEND": "firebase",
        "FIREBASE_CREDENTIALS_FILE": str(credentials),
        "FCM_API_BASE_URL": fcm_base_url,
        "PUSH_DRAIN_CONCURRENCY": str(drain_concurrency),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


# SQL for the installation columns that matter to a send; every other column gets its model default.
INSTALLATION_SQL = {
    "id": "md5('bench-installation-' || i)::uuid",
    "secret_hash": "encode(sha256(('bench-secret-' || i)::bytea), 'hex')",
    "platform": "CASE WHEN mod(i, 3) = 0 THEN 'ios' ELSE 'android' END",
    "app_version": "'3.1.0'",
    "locale": "CASE WHEN mod(i, 10) = 0 THEN 'en' ELSE 'de' END",
    "push_token": TOKEN_SQL,
    "push_token_kind": "'registration_token'",
    "push_token_updated_at": "now()",
    "created_at": "now()",
    "updated_at": "now()",
    "last_seen_at": "now()",
}


def _installation_select() -> tuple[list[str], list[str], list[Any]]:
    """Columns, SELECT expressions over ``generate_series(...) AS i`` and their parameters."""
    from django.db import connection

    from push.models import Installation

    columns, expressions, params = [], [], []
    for model_field in Installation._meta.concrete_fields:
        columns.append(model_field.column)
        if model_field.name in INSTALLATION_SQL:
            expressions.append(INSTALLATION_SQL[model_field.name])
        elif model_field.null and not model_field.has_default():
            expressions.append("NULL")
        else:
            default = model_field.get_db_prep_save(model_field.get_default(), connection)
            if default is None:
                raise RuntimeError(f"bench: no value for Installation.{model_field.name}; add it above")
            expressions.append("%s")
            params.append(default)
    return columns, expressions, params


def load_installations(count: int, *, warmup: int) -> bool:
    """N active installations with a token, subscribed to Störungen; the first ``warmup`` also to the
    warm-up topic. Generated inside PostgreSQL in chunks (no round trip per row). Returns whether it
    (re)loaded; a database that already holds exactly N is reused."""
    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from push.models import Installation, NotificationKind, Topic

    outage_topic = Topic.objects.get(key=OUTAGE_TOPIC)
    warmup_topic, _ = Topic.objects.get_or_create(
        key=WARMUP_TOPIC, defaults={"kind": NotificationKind.NEWS, "name_de": "Benchmark warm-up"}
    )
    # A reused database may be older than PUSH_STALE_AFTER_DAYS: freshen, do not reload.
    now = timezone.now()
    Installation.objects.filter(
        Q(last_seen_at__lt=now - timezone.timedelta(hours=12)) | Q(is_stale=True)
    ).update(last_seen_at=now, is_stale=False)
    reachable = Installation.objects.filter(is_active=True, push_token__isnull=False)
    reload = not (
        Installation.objects.count() == count and reachable.filter(topics=outage_topic).count() == count
    )
    through = Installation.topics.through._meta
    table, through_table = Installation._meta.db_table, through.db_table
    installation_col = through.get_field("installation").column
    topic_col = through.get_field("topic").column
    columns, expressions, params = _installation_select()
    with connection.cursor() as cursor:
        if reload:
            cursor.execute(f"TRUNCATE {table} CASCADE")
            for first in range(1, count + 1, LOAD_CHUNK):
                last = min(count, first + LOAD_CHUNK - 1)
                cursor.execute(
                    f"""
                    WITH created AS (
                        INSERT INTO {table} ({", ".join(columns)})
                        SELECT {", ".join(expressions)} FROM generate_series(%s, %s) AS i
                        RETURNING id)
                    INSERT INTO {through_table} ({installation_col}, {topic_col})
                    SELECT id, %s FROM created
                    """,  # noqa: S608  (names come from the models' meta)
                    [*params, first, last, outage_topic.pk],
                )
                print(f"  loaded {last:,} / {count:,} installations", flush=True)
        cursor.execute(
            f"""
            INSERT INTO {through_table} ({installation_col}, {topic_col})
            SELECT id, %s FROM {table} ORDER BY id LIMIT %s
            ON CONFLICT DO NOTHING
            """,  # noqa: S608
            [warmup_topic.pk, warmup],
        )
        if reload:
            cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute(f"VACUUM ANALYZE {through_table}")
    return reload


def clear_notifications() -> None:
    """Each case starts from an empty outbox (deliveries, audit entries go with their notifications)."""
    from django.core.cache import cache
    from django.db import connection

    from casapp.celery import app
    from push.fanout.pacing import QUOTA_PAUSE_KEY
    from push.models import Notification

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Notification._meta.db_table} CASCADE")
    cache.delete(QUOTA_PAUSE_KEY)
    app.control.purge()


# --- Case: the ceiling


def _fcm_body_template(fcm_base_url: str) -> tuple[bytes, bytes]:
    """The body firebase-admin posts for one of our outage messages, split around its token."""
    from firebase_admin import messaging

    from push.firebase import build_message
    from push.transports import OutgoingMessage

    placeholder = "TOKEN-PLACEHOLDER"
    message = build_message(
        OutgoingMessage(
            delivery_id=1,
            token=placeholder,
            token_kind="registration_token",
            title=CONTENT["de"]["title"],
            body=CONTENT["de"]["body"],
            data={"notification_id": "1", "kind": "outage"},
            collapse_key="outage-1",
            high_priority=True,
            channel="outage",
        )
    )
    body = json.dumps({"message": messaging._MessagingService.encode_message(message)}).encode()
    prefix, _, suffix = body.partition(placeholder.encode())
    return prefix, suffix


def wire_layer(*, httpcore: bool) -> str:
    """What carries the raw client's requests: the engine's own (one ``aiohttp.ClientSession``) unless
    ``httpcore`` asks for httpx's default transport."""
    return "httpcore" if httpcore else "aiohttp"


async def _raw_send(
    url: str,
    *,
    prefix: bytes,
    suffix: bytes,
    tokens: list[bytes],
    total: int,
    connections: int,
    auth: str,
    wire: str,
) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {auth}", "Content-Type": "application/json; UTF-8"}
    next_index = itertools.count()
    failures = 0
    if wire == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=60.0),
            headers=headers,
        ) as session:

            async def aiohttp_sender() -> None:
                nonlocal failures
                while (i := next(next_index)) < total:
                    body = prefix + tokens[i % len(tokens)] + suffix
                    async with session.post(url, data=body) as response:
                        await response.read()
                        failures += response.status != 200

            started = time.perf_counter()
            await asyncio.gather(*(aiohttp_sender() for _ in range(connections)))
            return time.perf_counter() - started, failures

    import httpx

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        http1=True, http2=False, limits=limits, timeout=httpx.Timeout(60.0), headers=headers
    ) as client:

        async def sender() -> None:
            nonlocal failures
            while (i := next(next_index)) < total:
                response = await client.post(url, content=prefix + tokens[i % len(tokens)] + suffix)
                failures += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(connections)))
        return time.perf_counter() - started, failures


def run_ceiling(
    fcm: Any, *, credentials: Path, messages: int, pools: list[int], probe: int, wire: str
) -> CaseResult:
    """The raw client's best: with several pool sizes, a short probe each, then the full run with the
    fastest (httpcore's pool gets slower per request as it holds more connections, so with it the
    largest pool is not the fastest)."""
    from firebase_admin import credentials as firebase_credentials

    from push.firebase import new_event_loop
    from push.models import Installation

    tokens = [
        t.encode()
        for t in Installation.objects.order_by("id").values_list("push_token", flat=True)[:messages]
    ]
    prefix, suffix = _fcm_body_template(fcm.base_url)
    access_token = firebase_credentials.Certificate(str(credentials)).get_access_token().access_token

    def send(total: int, connections: int) -> float:
        fcm.reset()
        # On the engine's event loop (uvloop where installed), as the engine's wire layer.
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            wall, failures = runner.run(
                _raw_send(
                    fcm.messages_url,
                    prefix=prefix,
                    suffix=suffix,
                    tokens=tokens,
                    total=total,
                    connections=connections,
                    auth=access_token,
                    wire=wire,
                )
            )
        accepted = fcm.totals()["accepted"]
        if failures or accepted != total:
            raise RuntimeError(f"ceiling: {failures} failed requests, fake accepted {accepted} of {total}")
        return wall

    sweep: dict[int, float] = {}
    if len(pools) > 1:
        for connections in pools:
            sweep[connections] = round(probe / send(probe, connections))
            print(f"  pool of {connections}: {sweep[connections]:,} messages/s", flush=True)
    best = max(sweep, key=lambda k: sweep[k]) if sweep else pools[0]
    groups = {"client": process_alone(os.getpid()), "fake": process_alone(fcm._process.pid)}
    with Sampler(groups) as sampler:
        wall = send(messages, best)
    usage = sampler.usage()
    return CaseResult(
        case=f"over {wire}, pool of {best}",
        messages=messages,
        wall_s=wall,
        peak_rss_mb=usage.peak_rss_mb["client"],
        usage=usage,
        details={
            "connections": best,
            "wire": wire,
            "sweep": sweep,
            "body_bytes": len(prefix + tokens[0] + suffix),
        },
    )


def run_wrk(fcm: Any, *, connections: int, seconds: int) -> CaseResult | None:
    """The fake server alone, driven by wrk (a C client): shows whether the server or the client is the
    limit of the ceiling. Skipped where wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    prefix, suffix = _fcm_body_template(fcm.base_url)
    body = (prefix + b"bench-wrk-token" + suffix).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            'wrk.headers["Authorization"] = "Bearer bench-wrk"\n'
            'wrk.headers["Content-Type"] = "application/json; UTF-8"\n'
            f"wrk.body = {json.dumps(body)}\n"
        )
    fcm.reset()
    try:
        groups = {"client": lambda _: set(), "fake": process_alone(fcm._process.pid)}
        with Sampler(groups) as sampler:
            run = subprocess.run(
                [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, fcm.messages_url],
                capture_output=True,
                text=True,
                timeout=seconds + 30,
                check=True,
            )
        usage = sampler.usage()
    finally:
        Path(script.name).unlink()
    totals = fcm.totals()
    if totals["rejected"] or "Non-2xx" in run.stdout:
        raise RuntimeError(f"wrk: the fake rejected requests: {totals}")
    return CaseResult(
        case=f"wrk, {connections} connections",
        messages=totals["accepted"],
        wall_s=float(seconds),
        peak_rss_mb=None,
        usage=usage,
        details={"wrk": run.stdout.strip().splitlines()[-2:]},
    )


# --- Case: ours


def config_name(pool: str, worker_concurrency: int, drain_concurrency: int) -> str:
    return f"{'t' if pool == 'threads' else ''}{worker_concurrency}x{drain_concurrency}"


class CeleryWorkers:
    """``celery worker`` (prefork or threads pool) in its own process group, like tests/worker.py."""

    def __init__(
        self, *, pool: str = "prefork", concurrency: int, env: dict[str, str], log_path: Path
    ) -> None:
        self.pool = pool
        self.concurrency = concurrency
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CeleryWorkers:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "casapp",
                    "worker",
                    f"--pool={self.pool}",
                    f"--concurrency={self.concurrency}",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {self.process.returncode}; see {self.log_path}")


def staff_pair() -> tuple[Any, Any]:
    """An author and a second member of Kommunikation who approves (four eyes)."""
    from django.contrib.auth.models import Group, Permission, User

    group = Group.objects.get(name="Kommunikation")
    approve = Permission.objects.get(content_type__app_label="push", codename="approve_notification")
    users = []
    for username in ("bench-author", "bench-approver"):
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.groups.add(group)
        user.user_permissions.add(approve)
        users.append(User.objects.get(pk=user.pk))  # fresh permission cache
    return users[0], users[1]


class SendTimeout(TimeoutError):
    def __init__(self, message: str, *, accepted: int, seconds: float) -> None:
        super().__init__(message)
        self.accepted = accepted
        self.seconds = seconds


def send_and_wait(
    *,
    fcm: Any,
    workers: CeleryWorkers,
    expected: int,
    timeout: float,
    topics: list[Any] | None = None,
) -> tuple[float, int]:
    """Creates, requests approval and approves an outage alert; returns the seconds from the approval
    until its status was ``sent`` (its ``finished_at``), and the notification's id."""
    from django.utils import timezone

    from push.models import AudienceKind, Notification, NotificationKind, NotificationStatus
    from push.services import notification_approve, notification_create, notification_request_approval

    author, approver = staff_pair()
    draft = notification_create(
        author=author,
        kind=NotificationKind.NEWS if topics else NotificationKind.OUTAGE,
        content=CONTENT,
        audience_kind=AudienceKind.TOPICS if topics else AudienceKind.ALL,
        audience_topics=topics,
    )
    draft = notification_request_approval(notification=draft, actor=author)
    started = timezone.now()
    notification_approve(notification=draft, approver=approver)
    deadline = time.monotonic() + timeout
    finished = {
        NotificationStatus.SENT,
        NotificationStatus.PARTLY_FAILED,
        NotificationStatus.FAILED,
        NotificationStatus.EXPIRED,
    }
    while True:
        status, finished_at = Notification.objects.values_list("status", "finished_at").get(pk=draft.pk)
        if status in finished:
            break
        workers.check_alive()
        if time.monotonic() > deadline:
            raise SendTimeout(
                f"notification {draft.pk} still {status} after {timeout:.0f} s",
                accepted=fcm.totals()["accepted"],
                seconds=(timezone.now() - started).total_seconds(),
            )
        time.sleep(POLL_INTERVAL_SECONDS)
    if status != NotificationStatus.SENT:
        raise RuntimeError(f"notification {draft.pk} ended {status}")
    totals = fcm.totals()
    if totals["accepted"] != expected or totals["duplicate_targets"]:
        raise RuntimeError(f"fake FCM accepted {totals['accepted']} of {expected}: {totals}")
    return (finished_at - started).total_seconds(), draft.pk


def delivery_summary(notification_id: int) -> dict[str, int]:
    from django.db.models import Count

    from push.models import Delivery

    rows = Delivery.objects.filter(notification_id=notification_id).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def run_ours(
    fcm: Any,
    *,
    count: int,
    pool: str = "prefork",
    worker_concurrency: int,
    drain_concurrency: int,
    env: dict[str, str],
    warmup: int,
    timeout: float,
    log_dir: Path,
) -> CaseResult:
    from django.test import override_settings

    from push.models import Topic

    case = config_name(pool, worker_concurrency, drain_concurrency)
    clear_notifications()
    fcm.reset()
    worker_env = {**env, "PUSH_DRAIN_CONCURRENCY": str(drain_concurrency)}
    log_path = log_dir / f"celery-{case}.log"
    # The drains are enqueued by the approving process, so its setting must match the workers'.
    with (
        override_settings(PUSH_DRAIN_CONCURRENCY=drain_concurrency),
        CeleryWorkers(
            pool=pool, concurrency=worker_concurrency, env=worker_env, log_path=log_path
        ) as workers,
    ):
        # Warm-up: every child connects, builds its transport and fetches an OAuth token, as a
        # long-running production worker already has.
        send_and_wait(
            fcm=fcm,
            workers=workers,
            expected=warmup,
            timeout=120,
            topics=[Topic.objects.get(key=WARMUP_TOPIC)],
        )
        fcm.reset()
        groups = {
            "workers": process_tree(workers.pid),
            "fake": process_alone(fcm._process.pid),
            "postgres": postgres_serving(BENCH_DATABASE),
            "redis": processes_named("redis-server"),
        }
        with Sampler(groups, pss=("workers",)) as sampler:
            try:
                wall, notification_id = send_and_wait(
                    fcm=fcm, workers=workers, expected=count, timeout=timeout
                )
            except SendTimeout as timed_out:
                # What it managed until the deadline still says how fast and how big it was.
                usage = sampler.usage()
                return CaseResult(
                    case=f"{case} (timed out)",
                    messages=timed_out.accepted,
                    wall_s=timed_out.seconds,
                    peak_rss_mb=usage.peak_rss_mb["workers"],
                    usage=usage,
                    details={
                        "pool": pool,
                        "worker_concurrency": worker_concurrency,
                        "drain_concurrency": drain_concurrency,
                        "timed_out": True,
                        "of": count,
                    },
                )
        usage = sampler.usage()
    deliveries = delivery_summary(notification_id)
    if deliveries != {"accepted": count}:
        raise RuntimeError(f"{case}: deliveries {deliveries}, expected {count} accepted")
    return CaseResult(
        case=case,
        messages=count,
        wall_s=wall,
        peak_rss_mb=usage.peak_rss_mb["workers"],
        usage=usage,
        details={
            "pool": pool,
            "worker_concurrency": worker_concurrency,
            "drain_concurrency": drain_concurrency,
            "deliveries": deliveries,
        },
    )


# --- Case: fcm-django 3.2


def run_baseline(fcm: Any, *, count: int, credentials: Path, timeout: float) -> CaseResult:
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"{python} is missing: python3 -m venv {BASELINE_VENV} && {python} -m pip install "
            "'fcm-django==3.2.*' 'Django==5.2.*' 'firebase-admin==<ours>' 'psycopg[binary]'"
        )
    ensure_database(BASELINE_DATABASE)
    fcm.reset()
    command = [
        str(python),
        "-m",
        "bench.fcm_django_baseline",
        "--installations",
        str(count),
        "--database",
        BASELINE_DATABASE,
        "--source-database-url",
        f"{PG_SERVER}/{BENCH_DATABASE}",
        "--credentials",
        str(credentials),
        "--fcm-base-url",
        fcm.base_url,
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VIRTUAL_ENV"))}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    result: dict[str, Any] | None = None
    sampler: Sampler | None = None
    usage: Usage | None = None
    # The loader's own stop is its deadline; the kill below is the backstop for a hung child.
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        for line in process.stdout:
            print(f"  [fcm-django] {line.rstrip()}", flush=True)
            if line.startswith("SENDING"):
                groups = {
                    "fcm-django": process_tree(process.pid),
                    "fake": process_alone(fcm._process.pid),
                    "postgres": postgres_serving(BASELINE_DATABASE),
                }
                sampler = Sampler(groups, pss=("fcm-django",)).__enter__()
            elif line.startswith("RESULT "):
                result = json.loads(line.removeprefix("RESULT "))
                if sampler is not None:
                    usage = sampler.usage()
                    sampler.__exit__()
        process.wait(timeout=30)
    finally:
        killer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        if sampler is not None:
            sampler.__exit__()
    if process.returncode != 0 or result is None or usage is None:
        raise RuntimeError(f"fcm-django baseline failed (exit {process.returncode})")
    totals = fcm.totals()
    # One extra message: the warm-up send to a token outside the N (it fetched the OAuth token).
    if totals["accepted"] != count + 1 or totals["duplicate_targets"] or result["success"] != count:
        raise RuntimeError(f"fcm-django: fake accepted {totals['accepted']} of {count} + 1, result {result}")
    return CaseResult(
        case="fcm-django 3.2",
        messages=count,
        wall_s=result["wall_s"],
        peak_rss_mb=usage.peak_rss_mb["fcm-django"],
        usage=usage,
        details=result,
    )


# --- Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    def configs(value: str) -> list[tuple[str, int, int]]:
        """``2x4``: prefork, 2 children, PUSH_DRAIN_CONCURRENCY 4; ``t4x4``: one process, 4 threads."""
        parsed = []
        for part in (p.strip().lower() for p in value.split(",") if p.strip()):
            pool = "threads" if part.startswith("t") else "prefork"
            a, b = part.lstrip("t").split("x")
            parsed.append((pool, int(a), int(b)))
        return parsed

    parser = argparse.ArgumentParser(prog="python -m bench.push_fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--installations", type=int, default=100_000, help="N (default 100,000)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="fake FCM answer delay (default 20)")
    parser.add_argument("--ceiling-messages", type=int, default=50_000, help="raw client's messages")
    parser.add_argument(
        "--ceiling-pools",
        type=lambda v: [int(n) for n in v.split(",") if n],
        default=[25, 50, 100, 200],
        help="raw client's pool sizes to probe; the fastest sends --ceiling-messages",
    )
    parser.add_argument("--ceiling-probe", type=int, default=3000, help="messages per probed pool size")
    parser.add_argument(
        "--ceiling-httpcore",
        action="store_true",
        help="raw client on httpx's default transport (httpcore) instead of the engine's (aiohttp)",
    )
    parser.add_argument("--wrk-seconds", type=int, default=10, help="wrk run on the fake alone; 0 skips it")
    parser.add_argument(
        "--configs",
        type=configs,
        default=configs("2x4,3x6,t8x8"),
        help="worker concurrency x PUSH_DRAIN_CONCURRENCY, comma-separated; a leading t runs one "
        "process with the threads pool (default 2x4,3x6,t8x8)",
    )
    parser.add_argument("--warmup", type=int, default=2000, help="installations of the warm-up send")
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true", help="no fcm-django case")
    parser.add_argument("--case-timeout", type=float, default=900.0, help="seconds per case (default 900)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def _machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "cores": os.cpu_count(),
        "loadavg_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "aiohttp": version("aiohttp"),
        "python": platform.python_version(),
        "firebase_admin": version("firebase-admin"),
        "httpx": version("httpx"),
        "django": version("django"),
        "celery": version("celery"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(
        started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        arguments={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "configs"}
        | {"configs": [config_name(*c) for c in args.configs]},
        machine=_machine(),
    )
    sys.path.insert(0, str(ROOT))
    from push.fake_fcm.control import FakeFcm

    with terminate_on_sigterm(), contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="push-fanout-")))
        args.results_dir.mkdir(parents=True, exist_ok=True)
        print(f"database {BENCH_DATABASE}: create if missing, migrate", flush=True)
        ensure_database(BENCH_DATABASE)
        fcm = FakeFcm.start(latency_ms=args.latency_ms, record_bodies=False)
        stack.callback(fcm.stop)
        credentials = fcm.write_service_account(scratch / "service-account.json")
        env = service_env(
            database=BENCH_DATABASE, credentials=credentials, fcm_base_url=fcm.base_url, drain_concurrency=4
        )
        migrate(env, database=BENCH_DATABASE)
        os.environ.update(env)
        import django

        django.setup()
        started = time.perf_counter()
        reloaded = load_installations(args.installations, warmup=args.warmup)
        print(
            f"installations: {'loaded' if reloaded else 'reused'} {args.installations:,} "
            f"({time.perf_counter() - started:.1f} s); fake FCM at {fcm.base_url}",
            flush=True,
        )
        try:
            if not args.skip_ceiling:
                print(f"ceiling: {args.ceiling_messages:,} messages, raw client", flush=True)
                report.ceiling = run_ceiling(
                    fcm,
                    credentials=credentials,
                    messages=args.ceiling_messages,
                    pools=args.ceiling_pools,
                    probe=args.ceiling_probe,
                    wire=wire_layer(httpcore=args.ceiling_httpcore),
                )
                print(f"  {report.ceiling.case}: {report.ceiling.rate:,.0f} messages/s", flush=True)
                if args.wrk_seconds:
                    report.server = run_wrk(fcm, connections=WRK_CONNECTIONS, seconds=args.wrk_seconds)
                    if report.server:
                        print(f"  fake alone ({report.server.case}): {report.server.rate:,.0f}/s", flush=True)
            for pool, worker_concurrency, drain_concurrency in args.configs:
                print(
                    f"ours: worker --pool={pool} --concurrency={worker_concurrency}, "
                    f"PUSH_DRAIN_CONCURRENCY={drain_concurrency}",
                    flush=True,
                )
                try:
                    result = run_ours(
                        fcm,
                        count=args.installations,
                        pool=pool,
                        worker_concurrency=worker_concurrency,
                        drain_concurrency=drain_concurrency,
                        env=env,
                        warmup=args.warmup,
                        timeout=args.case_timeout,
                        log_dir=args.results_dir,
                    )
                except (RuntimeError, TimeoutError) as error:
                    report.errors.append(
                        f"ours {config_name(pool, worker_concurrency, drain_concurrency)}: {error}"
                    )
                    print(f"  failed: {error}", flush=True)
                    continue
                report.ours.append(result)
                if result.details.get("timed_out"):
                    report.errors.append(
                        f"ours {result.case}: {result.messages:,} of {args.installations:,} accepted "
                        f"within --case-timeout {args.case_timeout:.0f} s"
                    )
                print(
                    f"  {result.wall_s:.2f} s, {result.rate:,.0f} messages/s, "
                    f"peak RSS {result.peak_rss_mb:.0f} MB",
                    flush=True,
                )
            if not args.skip_baseline:
                print("fcm-django 3.2: FCMDevice.objects.all().send_message(...)", flush=True)
                try:
                    report.baseline = run_baseline(
                        fcm, count=args.installations, credentials=credentials, timeout=args.case_timeout
                    )
                    print(f"  {report.baseline.rate:,.0f} messages/s", flush=True)
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    report.errors.append(f"fcm-django: {error}")
                    print(f"  failed: {error}", flush=True)
        finally:
            with contextlib.suppress(Exception):  # the report matters more than a tidy database
                clear_notifications()
            report.machine["loadavg_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
            path = save(report, args.results_dir)
            print()
            print(render_markdown(report))
            print(f"saved {path} (and .json)")
    return 1 if report.errors or not report.ours else 0


if __name__ == "__main__":
    sys.exit(main())
