"""HTTP benchmark of the API: gunicorn on PostgreSQL and Redis, loaded by wrk over loopback.

``python -m bench.http_api`` (``make bench``) prepares the ``casapp_bench`` database, starts gunicorn with
``bench.settings`` in a process group of its own, waits for ``/healthz``, runs each case with wrk (a short
warm-up, then the measured run), prints a Markdown table and saves it under ``bench/results/``. Gunicorn's
whole process group is stopped at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

from bench._common import (
    RESULTS_DIR,
    ROOT,
    WrkSummary,
    ensure_database,
    gunicorn_running,
    http_request,
    migrate,
    server_environment,
    wrk_run,
)

# BENCH_DATABASE / BENCH_REDIS_URL: a database and Redis database of one's own, when several checkouts
# benchmark on the same machine.
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "casapp_bench")
# Database 2: never the database `make test-services` uses (0).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: str | None = None
    # Optional: more paths picked at random per request, request headers, and the one status that counts
    # as success (default: any 2xx). Used by bench.waste (many locations, If-None-Match → 304).
    paths: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int | None = None


@dataclass(frozen=True)
class LoadShape:
    port: int
    connections: int
    threads: int


@dataclass(frozen=True)
class CaseResult:
    case: Case
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


BARE = Case(name="bare DRF GET (reference)", method="GET", path="/bench/bare")
CASES: tuple[Case, ...] = (
    BARE,
    Case(name="GET app/config", method="GET", path="/api/v1/app/config?platform=ios&version=1.4.0"),
    Case(
        name="POST devices/",
        method="POST",
        path="/api/v1/devices/",
        body=json.dumps({"platform": "android", "app_version": "1.4.0"}),
    ),
)


def preflight(*, port: int, case: Case) -> None:
    """One request before the load, so a broken case fails loudly instead of measuring error pages."""
    status, body = http_request(
        port=port, method=case.method, path=case.path, body=case.body, headers=dict(case.headers)
    )
    expected = status == case.expect_status if case.expect_status else 200 <= status < 300
    if not expected:
        raise SystemExit(f"{case.name}: {case.method} {case.path} answered {status}: {body[:300]!r}")


def case_result(case: Case, summary: WrkSummary) -> CaseResult:
    return CaseResult(
        case=case,
        requests_per_second=summary.requests_per_second,
        p50_ms=summary.p50_ms,
        p99_ms=summary.p99_ms,
        errors=summary.errors,
    )


def markdown_table(results: list[CaseResult]) -> str:
    bare = next(r for r in results if r.case is BARE)
    lines = [
        "| case | requests/s | p50 ms | p99 ms | errors | ratio to bare |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.requests_per_second / bare.requests_per_second if bare.requests_per_second else 0.0
        lines.append(
            f"| {r.case.name} | {r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.errors} | {ratio:.2f} |"
        )
    return "\n".join(lines) + "\n"


def run_case(load: LoadShape, case: Case, *, seconds: int) -> WrkSummary:
    return wrk_run(
        port=load.port,
        method=case.method,
        path=case.path,
        body=case.body,
        connections=load.connections,
        threads=load.threads,
        seconds=seconds,
        name=case.name,
        paths=case.paths,
        headers=case.headers,
        expect_status=case.expect_status,
    )


def raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http_api", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per case (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each case")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    # A plain `kill` of the runner must stop gunicorn too: turn SIGTERM into the Ctrl-C path.
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)

    started = datetime.now(UTC)
    workers = 2 * (os.cpu_count() or 1)
    env = server_environment(database=DATABASE_NAME, redis_url=REDIS_URL)
    ensure_database(DATABASE_NAME)
    migrate(env, database=DATABASE_NAME)

    print(
        f"gunicorn: {workers} workers; wrk: {args.threads} threads, "
        f"{args.connections} connections, {args.duration} s per case"
    )
    results: list[CaseResult] = []
    try:
        with gunicorn_running(env=env, workers=workers) as (_server, port):
            load = LoadShape(port=port, connections=args.connections, threads=args.threads)
            for case in CASES:
                preflight(port=port, case=case)
                if args.warmup > 0:
                    # Fills each worker's caches and database connection; its figures are dropped.
                    run_case(load, case, seconds=args.warmup)
                summary = run_case(load, case, seconds=args.duration)
                results.append(case_result(case, summary))
                print(f"  {case.name}: {results[-1].requests_per_second:,.0f} requests/s")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

    table = markdown_table(results)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"http_api-{started:%Y%m%d-%H%M%S}.md"
    header = (
        f"# bench.http_api, {started:%Y-%m-%d %H:%M} UTC\n\n"
        f"{os.cpu_count()} CPUs, gunicorn {workers} sync workers, wrk {args.threads} threads / "
        f"{args.connections} connections / {args.duration} s per case, PostgreSQL + Redis on loopback.\n\n"
    )
    path.write_text(header + table)
    print()
    print(table)
    print(f"saved to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
