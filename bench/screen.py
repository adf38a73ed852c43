"""City-hall screen benchmark: the page's data calls over a million reports, and 100 screens polling.

    .venv/bin/python -m bench.screen                          # both cases, 1,000,000 reports
    .venv/bin/python -m bench.screen --database h_screen --redis-url redis://127.0.0.1:6379/4

**Cold data calls**: the reports of ``bench.reports`` (N generated inside PostgreSQL, reused when the
database already holds exactly N) behind gunicorn; each call the page makes (``GET
/api/v1/reports/screen`` for the whole city, one Stadtteil, one category group, and the page
``/bildschirm/`` itself) is timed ``--cold-repeats`` times as the first request of a new 30-s window
finds it (no screen state or body in the cache; the medians as kept for their 10-minute period), then
with nothing cached at all (FLUSHDB of the benchmark's own Redis database: after a Redis restart, or the
window in which a filter's medians are due), then with the cache filled (200) and revalidated (304).
Target: every data call p50 < 100 ms cold.

**100 screens**: loopback clients that behave like ``screen.js``: each screen polls with If-None-Match,
at a random phase, again just after the server's next window (``max-age``) plus 0.5-2 s of spread; 80
show the whole city, 10 one Stadtteil, 10 one category group. Three runs of ``--poll-seconds`` each, CPU of
the gunicorn workers and of PostgreSQL's backends for the database read from ``/proc``:

1. normal app traffic alone (``--app-rate`` requests per second, paced, a mix of the app's public calls);
2. the same app traffic and the 100 screens;
3. the 100 screens alone.

The screens' cost is run 2 minus run 1 (and run 3 on its own), as a share of one core. Target: < 5 %.
The summary's computations are counted (``casapp_reports_screen_builds_total``, read from the cache):
at most one per 30-s window and filter, whatever the number of screens.

Results: printed tables, ``bench/results/screen-<timestamp>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import io
import json
import math
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench._common import (
    HOST,
    RESULTS_DIR,
    ROOT,
    Sampler,
    ensure_database,
    git_commit,
    gunicorn_running,
    machine_load,
    markdown_table,
    migrate,
    postgres_serving,
    process_tree,
    recording,
    server_environment,
    terminate_on_sigterm,
)

DATABASE = "casapp_bench_screen"
REDIS_URL = "redis://127.0.0.1:6379/7"
TARGET_COLD_P50_MS = 100.0
TARGET_CORE_SHARE = 0.05
SCREENS = 100
REFRESH_SECONDS = 30
SCREEN_PATH = "/api/v1/reports/screen"
# What each of the 100 screens shows: most the whole city, some one Stadtteil, some the roads.
SCREEN_FILTERS = (("", 80), ("?stadtteil=Ickern", 10), ("?category=strassen", 10))
MAX_AGE = re.compile(r"max-age=(\d+)")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else math.nan


class Connection:
    """One keep-alive connection, as a browser keeps one to the site (reopened when the server closes)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._conn: Any = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        import http.client

        sent = {"Accept": "application/json", "Accept-Language": "de", "X-Forwarded-For": "10.1.0.1"}
        sent.update(headers or {})
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                self._conn.request("GET", path, headers=sent)
                response = self._conn.getresponse()
                body = response.read()
                answer = {name.lower(): value for name, value in response.getheaders()}
                if answer.get("connection", "").lower() == "close":
                    self.close()
                return response.status, body, answer
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- Results


@dataclass
class ColdResult:
    name: str
    path: str
    bytes: int
    cold_p50_ms: float
    cold_p99_ms: float
    cached_p50_ms: float
    not_modified_p50_ms: float
    # CPU time per cold request: the gunicorn worker's and PostgreSQL's, whatever else runs on the machine.
    cold_gunicorn_cpu_ms: float = math.nan
    cold_postgres_cpu_ms: float = math.nan
    # Nothing cached at all, the medians included (after a Redis restart; per filter once per 10 minutes).
    all_cold_p50_ms: float = math.nan
    all_cold_p99_ms: float = math.nan
    all_cold_gunicorn_cpu_ms: float = math.nan
    all_cold_postgres_cpu_ms: float = math.nan


@dataclass
class PollRun:
    name: str
    wall_s: float
    gunicorn_cpu_s: float
    postgres_cpu_s: float
    machine_busy_cores: float
    app_requests: int = 0
    app_p50_ms: float = math.nan
    app_p99_ms: float = math.nan
    app_errors: int = 0
    screen_requests: int = 0
    screen_statuses: dict[str, int] = field(default_factory=dict)
    screen_p50_ms: float = math.nan
    screen_bytes: int = 0
    builds: int = 0
    windows: int = 0

    @property
    def server_cores(self) -> float:
        return (self.gunicorn_cpu_s + self.postgres_cpu_s) / self.wall_s


@dataclass
class BenchReport:
    started_at: str
    file_stem: str
    commit: str
    load_before: str
    arguments: dict[str, Any]
    reports_loaded: int = 0
    load_seconds: float | None = None
    cold: list[ColdResult] = field(default_factory=list)
    polls: list[PollRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load_after: str = ""


def render_markdown(report: BenchReport) -> str:
    lines = [
        f"# bench.screen, {report.started_at}",
        "",
        f"Commit {report.commit}; load average before {report.load_before}, after {report.load_after} "
        f"({os.cpu_count()} CPUs shared with other jobs).",
        "",
    ]
    if report.cold:
        lines += [
            f"## The page's calls over {report.reports_loaded:,} reports"
            + (f" (loaded in {report.load_seconds:.0f} s)" if report.load_seconds else " (reused)"),
            "",
            markdown_table(
                (
                    "call",
                    "bytes",
                    "cold p50 ms",
                    "cold p99 ms",
                    "cold CPU ms (gunicorn + PostgreSQL)",
                    "all cold p50 ms",
                    "all cold CPU ms",
                    "cached 200 p50 ms",
                    "304 p50 ms",
                ),
                [
                    (
                        f"`{result.path}`",
                        f"{result.bytes:,}",
                        f"{result.cold_p50_ms:.1f}",
                        f"{result.cold_p99_ms:.1f}",
                        f"{result.cold_gunicorn_cpu_ms + result.cold_postgres_cpu_ms:.0f} "
                        f"({result.cold_gunicorn_cpu_ms:.0f} + {result.cold_postgres_cpu_ms:.0f})",
                        f"{result.all_cold_p50_ms:.1f}",
                        f"{result.all_cold_gunicorn_cpu_ms + result.all_cold_postgres_cpu_ms:.0f} "
                        f"({result.all_cold_gunicorn_cpu_ms:.0f} + {result.all_cold_postgres_cpu_ms:.0f})",
                        f"{result.cached_p50_ms:.1f}",
                        f"{result.not_modified_p50_ms:.1f}",
                    )
                    for result in report.cold
                ],
            ),
        ]
        worst = max(result.cold_p50_ms for result in report.cold if result.path.startswith("/api/"))
        lines += [
            f"- every data call p50 < {TARGET_COLD_P50_MS:.0f} ms cold? "
            f"**{'yes' if worst < TARGET_COLD_P50_MS else 'no'}** (worst {worst:.1f} ms)",
            "",
        ]
    if report.polls:
        lines += [
            f"## {SCREENS} screens polling every {REFRESH_SECONDS} s",
            "",
            markdown_table(
                (
                    "run",
                    "seconds",
                    "app requests (p50 / p99 ms)",
                    "screen requests (200 / 304)",
                    "summary computed (windows)",
                    "gunicorn CPU s",
                    "PostgreSQL CPU s",
                    "server cores",
                    "machine busy cores",
                ),
                [
                    (
                        run.name,
                        f"{run.wall_s:.0f}",
                        f"{run.app_requests:,} ({run.app_p50_ms:.1f} / {run.app_p99_ms:.1f})"
                        if run.app_requests
                        else "-",
                        f"{run.screen_requests:,} ({run.screen_statuses.get('200', 0)} / "
                        f"{run.screen_statuses.get('304', 0)})"
                        if run.screen_requests
                        else "-",
                        f"{run.builds} ({run.windows})" if run.screen_requests else "-",
                        f"{run.gunicorn_cpu_s:.2f}",
                        f"{run.postgres_cpu_s:.2f}",
                        f"{run.server_cores:.4f}",
                        f"{run.machine_busy_cores:.2f}",
                    )
                    for run in report.polls
                ],
            ),
        ]
        by_name = {run.name: run for run in report.polls}
        app, both, alone = (by_name.get(name) for name in ("app traffic", "app traffic + screens", "screens"))
        if app and both:
            added = both.server_cores - app.server_cores
            lines += [
                f"- the screens on top of the app traffic: {added:+.2%} of one core "
                f"(< {TARGET_CORE_SHARE:.0%}? **{'yes' if added < TARGET_CORE_SHARE else 'no'}**)",
            ]
        if alone:
            below = alone.server_cores < TARGET_CORE_SHARE
            lines += [
                f"- the screens alone: {alone.server_cores:.2%} of one core "
                f"(< {TARGET_CORE_SHARE:.0%}? **{'yes' if below else 'no'}**)",
            ]
        for run in report.polls:
            if run.screen_requests:
                most = run.windows * len(SCREEN_FILTERS)
                lines.append(
                    f"- {run.name}: the summary computed {run.builds} times in {run.windows} windows of "
                    f"{REFRESH_SECONDS} s for {len(SCREEN_FILTERS)} filters (at most {most}): "
                    f"**{'yes' if run.builds <= most else 'no'}**"
                )
        lines.append("")
    if report.errors:
        lines += ["## Errors", "", *[f"- {error}" for error in report.errors], ""]
    return "\n".join(lines)


def save(report: BenchReport) -> Any:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{report.file_stem}.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    path = RESULTS_DIR / f"{report.file_stem}.md"
    path.write_text(render_markdown(report))
    return path


# --- Cold calls


def _flush_cache() -> None:
    from django.core.cache import cache

    cache.clear()  # FLUSHDB of the benchmark's own Redis database


def _forget_windows() -> None:
    """What a new 30-s window finds: no state or body of any screen, the medians of the current
    10-minute period as the window before left them (reports.screen.screen_medians)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    stale = [key for key in client.scan_iter(match="*reports:screen:v2:*") if b":medians:" not in key]
    if stale:
        client.delete(*stale)


def _timed_cold(
    connection: Connection, path: str, *, repeats: int, forget: Callable[[], None], groups: dict[str, Any]
) -> tuple[list[float], dict[str, float], int, str]:
    """``repeats`` requests of ``path``, each after ``forget``: latencies, CPU seconds, size, ETag."""
    cold, size, etag = [], 0, ""
    with Sampler(groups) as sampler:
        for _ in range(repeats):
            forget()
            started = time.perf_counter()
            status, body, headers = connection.get(path)
            cold.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            size, etag = len(body), headers.get("etag", "")
    return cold, sampler.usage().cpu_seconds, size, etag


def run_cold(port: int, *, repeats: int, server_pid: int, database: str) -> list[ColdResult]:
    results = []
    groups: dict[str, Callable[[Any], set[int]]] = {
        "gunicorn": process_tree(server_pid),
        "postgres": postgres_serving(database, background=False),
    }
    connection = Connection(port)
    calls = [
        ("whole city", SCREEN_PATH),
        ("one Stadtteil", f"{SCREEN_PATH}?stadtteil=Ickern"),
        ("one category group", f"{SCREEN_PATH}?category=strassen"),
        ("the page", "/bildschirm/"),
    ]
    for name, path in calls:
        cached, not_modified = [], []
        all_cold, all_cpu, _size, _etag = _timed_cold(
            connection, path, repeats=repeats, forget=_flush_cache, groups=groups
        )
        cold, cpu, size, etag = _timed_cold(
            connection, path, repeats=repeats, forget=_forget_windows, groups=groups
        )
        for _ in range(repeats):
            started = time.perf_counter()
            connection.get(path)
            cached.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            status, _body, _headers = connection.get(path, {"If-None-Match": etag})
            not_modified.append((time.perf_counter() - started) * 1000)
            if etag and status != 304:
                raise RuntimeError(f"GET {path} with its ETag answered {status}, not 304")
        result = ColdResult(
            name=name,
            path=path,
            bytes=size,
            cold_p50_ms=_percentile(cold, 0.5),
            cold_p99_ms=_percentile(cold, 0.99),
            cached_p50_ms=_percentile(cached, 0.5),
            not_modified_p50_ms=_percentile(not_modified, 0.5) if etag else math.nan,
            cold_gunicorn_cpu_ms=1000 * cpu["gunicorn"] / repeats,
            cold_postgres_cpu_ms=1000 * cpu["postgres"] / repeats,
            all_cold_p50_ms=_percentile(all_cold, 0.5),
            all_cold_p99_ms=_percentile(all_cold, 0.99),
            all_cold_gunicorn_cpu_ms=1000 * all_cpu["gunicorn"] / repeats,
            all_cold_postgres_cpu_ms=1000 * all_cpu["postgres"] / repeats,
        )
        print(
            f"  {name}: {size:,} bytes, cold p50 {result.cold_p50_ms:.1f} ms (p99 {result.cold_p99_ms:.1f}, "
            f"CPU {result.cold_gunicorn_cpu_ms:.0f} + {result.cold_postgres_cpu_ms:.0f} ms), "
            f"all cold p50 {result.all_cold_p50_ms:.1f} ms (CPU {result.all_cold_gunicorn_cpu_ms:.0f} + "
            f"{result.all_cold_postgres_cpu_ms:.0f} ms), "
            f"cached {result.cached_p50_ms:.1f} ms, 304 {result.not_modified_p50_ms:.1f} ms",
            flush=True,
        )
        results.append(result)
    connection.close()
    return results


# --- Polling


def app_paths() -> list[str]:
    """The app's public calls a phone makes, in a plausible mix (the config on every start)."""
    from bench.reports import boxes
    from reports.models import Report

    report = Report.objects.filter(hidden=False).order_by("-id").values_list("id", flat=True).first()
    return [
        "/api/v1/app/config?platform=ios&version=1.4.0",
        "/api/v1/app/config?platform=android&version=1.4.0",
        "/api/v1/notices/",
        "/api/v1/reports/categories",
        "/api/v1/waste/types/",
        "/api/v1/waste/streets/?q=Bahnhof",
        f"/api/v1/reports/?{boxes()[0].query}",
        f"/api/v1/reports/{report}",
    ]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, milliseconds: float, size: int) -> None:
        with self.lock:
            self.latencies.append(milliseconds)
            self.statuses[str(status)] += 1
            self.bytes += size
            if status >= 400:
                self.errors += 1


def app_traffic(port: int, *, rate: float, until: float, tally: Tally, stop: threading.Event) -> None:
    """Paced: ``rate`` requests per second at fixed intervals, whatever the latency (4 connections)."""
    paths = app_paths()
    local = threading.local()

    def send(index: int) -> None:
        if not hasattr(local, "connection"):
            local.connection = Connection(port)
        path = paths[index % len(paths)]
        started = time.perf_counter()
        try:
            status, body, _ = local.connection.get(path, {"X-Forwarded-For": f"10.2.{index % 200}.1"})
        except OSError:
            status, body = 599, b""
        tally.add(status, (time.perf_counter() - started) * 1000, len(body))

    with ThreadPoolExecutor(4, thread_name_prefix="app") as pool:
        index, start = 0, time.monotonic()
        while not stop.is_set():
            due = start + index / rate
            if due >= until:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(send, index)
            index += 1


def screen_delay(*, refresh: float, window: float, max_age: float | None, rng: random.Random) -> float:
    """screen.js's nextPoll: just after the server's next window, about every ``refresh`` seconds."""
    if not max_age or refresh < max_age:
        return refresh
    return max_age + window * math.floor((refresh - max_age) / window) + 0.5 + rng.random() * 1.5


def screens(port: int, *, until: float, tally: Tally, stop: threading.Event, seed: int = 15) -> None:
    """``SCREENS`` screens, each at a random phase of the refresh, on a scheduler and 8 connections."""
    rng = random.Random(seed)
    filters = [query for query, count in SCREEN_FILTERS for _ in range(count)]
    etags: list[str] = [""] * SCREENS
    due = [(time.monotonic() + rng.random() * REFRESH_SECONDS, index) for index in range(SCREENS)]
    heapq.heapify(due)
    local = threading.local()
    schedule = threading.Lock()

    def poll(index: int) -> None:
        if not hasattr(local, "connection"):
            local.connection = Connection(port)
        headers = {"X-Forwarded-For": "10.3.0.1"}  # one city hall, one address
        if etags[index]:
            headers["If-None-Match"] = etags[index]
        started = time.perf_counter()
        max_age: float | None = None
        try:
            status, body, answer = local.connection.get(SCREEN_PATH + filters[index], headers)
            if status == 200:
                etags[index] = answer.get("etag", "")
            if match := MAX_AGE.search(answer.get("cache-control", "")):
                max_age = float(match.group(1))
        except OSError:
            status, body = 599, b""
        tally.add(status, (time.perf_counter() - started) * 1000, len(body))
        delay = screen_delay(refresh=REFRESH_SECONDS, window=REFRESH_SECONDS, max_age=max_age, rng=rng)
        with schedule:
            heapq.heappush(due, (time.monotonic() + delay, index))

    with ThreadPoolExecutor(8, thread_name_prefix="screen") as pool:
        while not stop.is_set():
            with schedule:
                when, index = due[0] if due else (time.monotonic() + 0.05, -1)
                if index >= 0 and when <= time.monotonic():
                    heapq.heappop(due)
                else:
                    index = -1
            if index >= 0:
                if when >= until:
                    break
                pool.submit(poll, index)
            else:
                time.sleep(min(0.05, max(0.0, when - time.monotonic())))


def _builds() -> int:
    from casapp.metrics import event_counts

    return sum(event_counts("reports_screen_builds").values())


def run_poll(
    name: str, *, port: int, server_pid: int, database: str, seconds: int, app_rate: float, with_screens: bool
) -> PollRun:
    app_tally, screen_tally = Tally(), Tally()
    stop = threading.Event()
    groups: dict[str, Callable[[Any], set[int]]] = {
        "gunicorn": process_tree(server_pid),
        "postgres": postgres_serving(database, background=False),
    }
    builds_before = _builds()
    first_window = int(time.time()) // REFRESH_SECONDS
    threads = []
    with Sampler(groups) as sampler:
        until = time.monotonic() + seconds
        if app_rate:
            threads.append(
                threading.Thread(
                    target=app_traffic,
                    kwargs={"port": port, "rate": app_rate, "until": until, "tally": app_tally, "stop": stop},
                )
            )
        if with_screens:
            threads.append(
                threading.Thread(
                    target=screens, kwargs={"port": port, "until": until, "tally": screen_tally, "stop": stop}
                )
            )
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            stop.set()
    usage = sampler.usage()
    run = PollRun(
        name=name,
        wall_s=usage.wall_s,
        gunicorn_cpu_s=usage.cpu_seconds["gunicorn"],
        postgres_cpu_s=usage.cpu_seconds["postgres"],
        machine_busy_cores=usage.machine_busy_cores,
        app_requests=len(app_tally.latencies),
        app_p50_ms=_percentile(app_tally.latencies, 0.5),
        app_p99_ms=_percentile(app_tally.latencies, 0.99),
        app_errors=app_tally.errors,
        screen_requests=len(screen_tally.latencies),
        screen_statuses=dict(screen_tally.statuses),
        screen_p50_ms=_percentile(screen_tally.latencies, 0.5),
        screen_bytes=screen_tally.bytes,
        builds=_builds() - builds_before,
        windows=int(time.time()) // REFRESH_SECONDS - first_window + 1,
    )
    print(
        f"  {name}: server {run.server_cores:.2%} of a core; app {run.app_requests} requests "
        f"({run.app_errors} errors), screens {run.screen_requests} {run.screen_statuses}, "
        f"summary computed {run.builds} times in {run.windows} windows",
        flush=True,
    )
    if app_tally.errors or screen_tally.errors:
        raise RuntimeError(f"{name}: errors {app_tally.statuses} {screen_tally.statuses}")
    return run


# --- Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.screen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in the database")
    parser.add_argument("--database", default=DATABASE, help=f"PostgreSQL database (default {DATABASE})")
    parser.add_argument(
        "--redis-url", default=REDIS_URL, help=f"its own Redis database (default {REDIS_URL})"
    )
    parser.add_argument("--cold-repeats", type=int, default=30, help="cold requests per call")
    parser.add_argument("--poll-seconds", type=int, default=90, help="seconds of each polling run")
    parser.add_argument("--app-rate", type=float, default=20.0, help="app requests per second (paced)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn workers")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-poll", action="store_true")
    return parser.parse_args(argv)


@contextlib.contextmanager
def _setup(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    env = server_environment(database=args.database, redis_url=args.redis_url)
    print(f"database {args.database}: create if missing, migrate", flush=True)
    ensure_database(args.database)
    migrate(env, database=args.database)
    os.environ.update(env)
    import django

    django.setup()
    from reports.demo import load_demo

    load_demo(stdout=io.StringIO())
    yield env


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    report = BenchReport(
        started_at=f"{started:%Y-%m-%d %H:%M} UTC",
        file_stem=f"screen-{started:%Y%m%dT%H%M%S}",
        commit=git_commit(),
        load_before=machine_load(),
        arguments=vars(args),
    )
    sys.path.insert(0, str(ROOT))
    with terminate_on_sigterm(), _setup(args) as env:
        from bench.reports import load_reports

        with recording(report, save=save, render=render_markdown):
            print(f"reports: {args.reports:,} generated, reused when the count matches", flush=True)
            report.load_seconds = load_reports(args.reports)
            report.reports_loaded = args.reports
            with gunicorn_running(env=env, workers=args.workers) as (server, port):
                if not args.skip_cold:
                    print("the page's calls, cold and cached", flush=True)
                    report.cold = run_cold(
                        port, repeats=args.cold_repeats, server_pid=server.pid, database=args.database
                    )
                if not args.skip_poll:
                    print(f"{SCREENS} screens, {args.poll_seconds} s per run", flush=True)
                    shape = {"port": port, "server_pid": server.pid, "database": args.database}
                    for name, rate, with_screens in (
                        ("app traffic", args.app_rate, False),
                        ("app traffic + screens", args.app_rate, True),
                        ("screens", 0.0, True),
                    ):
                        report.polls.append(
                            run_poll(
                                name,
                                **shape,
                                seconds=args.poll_seconds,
                                app_rate=rate,
                                with_screens=with_screens,
                            )
                        )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
