"""What the benchmarks in ``bench/`` share: databases, gunicorn, wrk, ``/proc`` sampling, result files.

Each benchmark (``bench.http_api``, ``bench.push_fanout``, ``bench.reports``) is a script of its own; the
machinery they have in common lives here once, so a fix to how gunicorn is stopped or how PostgreSQL's
CPU time is attributed reaches all of them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
WRK_SCRIPT = BENCH_DIR / "wrk_case.lua"
HOST = "127.0.0.1"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
SECRET_KEY = "bench-only-secret-key-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2

READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
SAMPLE_INTERVAL_SECONDS = 0.25
POSTGRES_BACKGROUND = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
)
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


# --- Databases


def ensure_database(name: str, *, recreate: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(env: dict[str, str], *, database: str) -> None:
    """Migrates the bench database; one whose history no longer matches the migrations (they were
    rewritten since it was made) is dropped and made anew: it holds nothing but generated data."""
    command = [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"]
    environment = {**os.environ, **env}
    if subprocess.run(command, cwd=ROOT, env=environment, timeout=600, check=False).returncode == 0:
        return
    print(f"  migrate failed on {database}: recreating it", flush=True)
    ensure_database(database, recreate=True)
    subprocess.run(command, cwd=ROOT, env=environment, timeout=600, check=True)


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every server and worker the runner started is stopped."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- gunicorn


def server_environment(*, database: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The process environment for ``migrate`` and gunicorn: ``bench.settings`` (production settings with
    throttle limits out of reach) aimed at the local services."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"{PG_SERVER}/{database}",
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        # As behind the city's proxy: wrk_case.lua sends a different X-Forwarded-For per request.
        "DJANGO_NUM_PROXIES": "1",
        "PUSH_BACKEND": "console",
        **extra,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn_start(
    *, env: dict[str, str], port: int, workers: int, timeout: int = 30
) -> subprocess.Popen[bytes]:
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
        "--timeout",
        str(timeout),
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


def http_request(
    *,
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        sent = {"Accept": "application/json", "Accept-Language": "de", "X-Forwarded-For": "10.0.0.1"}
        if isinstance(body, str):
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_ready(*, server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {server.returncode} before it was ready")
        try:
            status, _ = http_request(port=port, method="GET", path="/healthz", timeout=1.0)
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /healthz within {READY_TIMEOUT_SECONDS:.0f} s")


@contextlib.contextmanager
def gunicorn_running(
    *, env: dict[str, str], workers: int, timeout: int = 30
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn on a free port, answering ``/healthz``; its whole process group is stopped on exit."""
    port = free_port()
    server = gunicorn_start(env=env, port=port, workers=workers, timeout=timeout)
    try:
        wait_until_ready(server=server, port=port)
        yield server, port
    finally:
        gunicorn_stop(server)


# --- wrk


@dataclass(frozen=True)
class WrkSummary:
    """One wrk run through ``wrk_case.lua``; ``errors`` adds socket errors and responses outside 2xx."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def wrk_run(
    *,
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    connections: int,
    threads: int,
    seconds: int,
    name: str = "",
    paths: Sequence[str] = (),
    headers: Sequence[tuple[str, str]] = (),
    expect_status: int | None = None,
) -> WrkSummary:
    """``paths``: picked at random per request instead of ``path``; ``expect_status``: the one status that
    counts as success (e.g. 304) instead of any 2xx."""
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_PATH": path,
        "BENCH_BODY": body or "",
        "BENCH_PATHS": "\n".join(paths),
        "BENCH_HEADERS": "\n".join(f"{key}: {value}" for key, value in headers),
        "BENCH_EXPECT_STATUS": str(expect_status or ""),
    }
    command = [
        "wrk",
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={WRK_SCRIPT}",
        f"http://{HOST}:{port}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            summary: dict[str, int] = json.loads(line.removeprefix("BENCH_RESULT "))
            return WrkSummary(
                requests=summary["requests"],
                duration_s=summary["duration_us"] / 1_000_000,
                p50_ms=summary["p50_us"] / 1000,
                p99_ms=summary["p99_us"] / 1000,
                errors=sum(summary[key] for key in ("connect", "read", "write", "timeout", "non_2xx")),
            )
    sys.stderr.write(done.stdout + done.stderr)
    raise SystemExit(f"{name or path}: wrk printed no BENCH_RESULT line (exit code {done.returncode})")


# --- Results


class RecordedReport(Protocol):
    errors: list[str]
    load_after: str


@contextlib.contextmanager
def recording(
    report: RecordedReport, *, save: Callable[[Any], Path], render: Callable[[Any], str]
) -> Iterator[None]:
    """Runs a benchmark's cases: a failure (``RuntimeError``, ``SystemExit``) or an interrupt ends them and
    is recorded in ``report``, which is saved and printed whatever happened."""
    try:
        yield
    except (RuntimeError, SystemExit) as error:
        report.errors.append(str(error))
        print(f"failed: {error}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        report.errors.append("interrupted")
    finally:
        report.load_after = machine_load()
        path = save(report)
        print()
        print(render(report))
        print(f"saved {path.relative_to(ROOT)} (and .json)")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, numeric_from: int = 1) -> str:
    """A Markdown table; columns from ``numeric_from`` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def machine_load() -> str:
    """``uptime``'s load averages: other jobs share the cores, and the figures mean little without it."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT, check=False).returncode != 0
    return done.stdout.strip() + ("+changes" if dirty else "") if done.returncode == 0 else "unknown"


# --- Processes: RSS and CPU from /proc


@dataclass(frozen=True)
class ProcStat:
    ppid: int
    comm: str
    cpu_ticks: int
    rss: int


def read_processes() -> dict[int, ProcStat]:
    processes: dict[int, ProcStat] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:  # gone between listdir and read
            continue
        head, _, tail = raw.rpartition(b")")
        fields = tail.split()
        processes[int(name)] = ProcStat(
            ppid=int(fields[1]),
            comm=head.partition(b"(")[2].decode(errors="replace"),
            cpu_ticks=int(fields[11]) + int(fields[12]),
            rss=int(fields[21]) * PAGE_SIZE,
        )
    return processes


def proportional_set_size(pid: int) -> int:
    """PSS in bytes: RSS with each shared page split among the processes sharing it. Prefork children
    share most of their parent's pages, so a sum of RSS counts those pages once per child."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def process_tree(root: int) -> Callable[[dict[int, ProcStat]], set[int]]:
    """Selects ``root`` and all its descendants (a Celery parent and its prefork children)."""

    def select(processes: dict[int, ProcStat]) -> set[int]:
        children: dict[int, list[int]] = defaultdict(list)
        for pid, stat in processes.items():
            children[stat.ppid].append(pid)
        found, todo = set(), [root] if root in processes else []
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children[pid])
        return found

    return select


def process_alone(pid: int) -> Callable[[dict[int, ProcStat]], set[int]]:
    return lambda processes: {pid} if pid in processes else set()


def processes_named(comm: str) -> Callable[[dict[int, ProcStat]], set[int]]:
    return lambda processes: {pid for pid, stat in processes.items() if stat.comm == comm}


def postgres_serving(database: str, *, background: bool = True) -> Callable[[dict[int, ProcStat]], set[int]]:
    """PostgreSQL's backends for ``database`` and (unless ``background`` is False) its background
    processes (WAL writer, checkpointer, autovacuum), not the backends of other databases: tests may run
    beside the benchmark. The background processes serve every database, so with a test suite running
    beside a small case they mostly count its work."""

    def select(processes: dict[int, ProcStat]) -> set[int]:
        found = set()
        for pid, stat in processes.items():
            if stat.comm != "postgres":
                continue
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f" {database} " in f"{title} " or (
                background and title.rstrip().endswith(POSTGRES_BACKGROUND)
            ):
                found.add(pid)
        return found

    return select


def _busy_cpu_ticks() -> int:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


@dataclass
class Usage:
    """What a case cost: peak RSS of each process group (MB) and the cores each kept busy on average."""

    wall_s: float
    peak_rss_mb: dict[str, float]
    peak_pss_mb: dict[str, float]
    # The largest single process of each group (a prefork worker's children each count on their own).
    peak_process_rss_mb: dict[str, float]
    cores: dict[str, float]
    machine_busy_cores: float
    cpu_seconds: dict[str, float]


class Sampler:
    """Samples process groups from a background thread while a case runs."""

    def __init__(
        self, groups: dict[str, Callable[[dict[int, ProcStat]], set[int]]], *, pss: tuple[str, ...] = ()
    ) -> None:
        self.groups = groups
        self.pss_groups = pss
        self.peak_rss: dict[str, int] = dict.fromkeys(groups, 0)
        self.peak_process_rss: dict[str, int] = dict.fromkeys(groups, 0)
        self.peak_pss: dict[str, int] = dict.fromkeys(pss, 0)
        self.first_ticks: dict[tuple[str, int], int] = {}
        self.last_ticks: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = 0.0
        self._busy_start = 0

    def __enter__(self) -> Sampler:
        self._started = time.perf_counter()
        self._busy_start = _busy_cpu_ticks()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_SECONDS):
            self._sample()

    def _sample(self) -> None:
        processes = read_processes()
        for name, select in self.groups.items():
            pids = select(processes)
            self.peak_rss[name] = max(self.peak_rss[name], sum(processes[p].rss for p in pids))
            self.peak_process_rss[name] = max(
                self.peak_process_rss[name], max((processes[p].rss for p in pids), default=0)
            )
            if name in self.peak_pss:
                pss = sum(proportional_set_size(p) for p in pids)
                self.peak_pss[name] = max(self.peak_pss[name], pss)
            for pid in pids:
                self.first_ticks.setdefault((name, pid), processes[pid].cpu_ticks)
                self.last_ticks[(name, pid)] = processes[pid].cpu_ticks

    def usage(self) -> Usage:
        """Call after the case ended (takes a last sample, so short cases are measured too)."""
        self._sample()
        wall = time.perf_counter() - self._started
        ticks: dict[str, int] = dict.fromkeys(self.groups, 0)
        for (name, pid), last in self.last_ticks.items():
            ticks[name] += last - self.first_ticks[(name, pid)]
        busy = (_busy_cpu_ticks() - self._busy_start) / CLOCK_TICKS
        return Usage(
            wall_s=wall,
            peak_rss_mb={k: round(v / MB, 1) for k, v in self.peak_rss.items()},
            peak_pss_mb={k: round(v / MB, 1) for k, v in self.peak_pss.items()},
            peak_process_rss_mb={k: round(v / MB, 1) for k, v in self.peak_process_rss.items()},
            cores={k: round(v / CLOCK_TICKS / wall, 2) for k, v in ticks.items()},
            machine_busy_cores=round(busy / wall, 2),
            cpu_seconds={k: v / CLOCK_TICKS for k, v in ticks.items()},
        )
