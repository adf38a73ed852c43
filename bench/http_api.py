"""HTTP benchmark of the API: gunicorn on PostgreSQL and Redis, loaded by wrk over loopback.

``python -m bench.http_api`` (``make bench``) prepares the ``casapp_bench`` database, starts gunicorn with
``bench.settings`` in a process group of its own, waits for ``/healthz``, runs each case with wrk (a short
warm-up, then the measured run), prints a Markdown table and saves it under ``bench/results/``. Gunicorn's
whole process group is stopped at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
WRK_SCRIPT = BENCH_DIR / "wrk_case.lua"

HOST = "127.0.0.1"
DATABASE_NAME = "casapp_bench"
POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
# Database 2: never the database `make test-services` uses (0).
REDIS_URL = "redis://127.0.0.1:6379/2"
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


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


def server_environment(*, database_url: str = DATABASE_URL, redis_url: str = REDIS_URL) -> dict[str, str]:
    """The process environment for ``migrate`` and gunicorn: production settings, local services.

    Other benchmarks (``bench.waste``) pass their own database and Redis database.
    """
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        # As behind the city's proxy: wrk_case.lua sends a different X-Forwarded-For per request.
        "DJANGO_NUM_PROXIES": "1",
        "PUSH_BACKEND": "console",
    }


def database_ensure(name: str = DATABASE_NAME) -> None:
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def database_migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"manage.py migrate failed with exit code {done.returncode}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn_start(*, env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    # No --access-logfile: gunicorn then writes no access log, which would cost a write per request.
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "casapp.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
    ]
    # A session of its own: Ctrl-C reaches only us, and one killpg() stops the master and its workers.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


def http_request(*, port: int, case: Case, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Accept": "application/json", "Accept-Language": "de", "X-Forwarded-For": "10.0.0.1"}
        headers.update(dict(case.headers))
        if case.body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(case.method, case.path, body=case.body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_ready(*, server: subprocess.Popen[bytes], port: int) -> None:
    healthz = Case(name="healthz", method="GET", path="/healthz")
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {server.returncode} before it was ready")
        try:
            status, _ = http_request(port=port, case=healthz, timeout=1.0)
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /healthz within {READY_TIMEOUT_SECONDS:.0f} s")


def preflight(*, port: int, case: Case) -> None:
    """One request before the load, so a broken case fails loudly instead of measuring error pages."""
    status, body = http_request(port=port, case=case)
    if status != case.expect_status if case.expect_status else not 200 <= status < 300:
        raise SystemExit(f"{case.name}: {case.method} {case.path} answered {status}: {body[:300]!r}")


def wrk_run(*, load: LoadShape, case: Case, seconds: int) -> dict[str, int]:
    env = {
        **os.environ,
        "BENCH_METHOD": case.method,
        "BENCH_PATH": case.path,
        "BENCH_BODY": case.body or "",
        "BENCH_PATHS": "\n".join(case.paths),
        "BENCH_HEADERS": "\n".join(f"{name}: {value}" for name, value in case.headers),
        "BENCH_EXPECT_STATUS": str(case.expect_status or ""),
    }
    command = [
        "wrk",
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={WRK_SCRIPT}",
        f"http://{HOST}:{load.port}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            summary: dict[str, int] = json.loads(line.removeprefix("BENCH_RESULT "))
            return summary
    sys.stderr.write(done.stdout + done.stderr)
    raise SystemExit(f"{case.name}: wrk printed no BENCH_RESULT line (exit code {done.returncode})")


def case_result(case: Case, summary: dict[str, int]) -> CaseResult:
    errors = sum(summary[key] for key in ("connect", "read", "write", "timeout", "non_2xx"))
    return CaseResult(
        case=case,
        requests_per_second=summary["requests"] / (summary["duration_us"] / 1_000_000),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=errors,
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
    env = server_environment()
    database_ensure()
    database_migrate(env)

    port = free_port()
    print(
        f"gunicorn: {workers} workers on {HOST}:{port}; wrk: {args.threads} threads, "
        f"{args.connections} connections, {args.duration} s per case"
    )
    server = gunicorn_start(env=env, port=port, workers=workers)
    results: list[CaseResult] = []
    try:
        wait_until_ready(server=server, port=port)
        load = LoadShape(port=port, connections=args.connections, threads=args.threads)
        for case in CASES:
            preflight(port=port, case=case)
            if args.warmup > 0:
                # Fills each worker's caches and database connection; its figures are dropped.
                wrk_run(load=load, case=case, seconds=args.warmup)
            summary = wrk_run(load=load, case=case, seconds=args.duration)
            results.append(case_result(case, summary))
            print(f"  {case.name}: {results[-1].requests_per_second:,.0f} requests/s")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        gunicorn_stop(server)

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
