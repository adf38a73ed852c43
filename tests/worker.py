"""A real Celery worker process for the service tier, pointed at the test database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parents[1]


def _test_database_url() -> str:
    db = connections["default"].settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, *, concurrency: int = 2, extra_env: dict[str, str] | None = None) -> None:
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = ROOT / ".pytest-media" / f"celery-worker-{os.getpid()}.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "casapp",
                "worker",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL to the whole process group: the worker gets no chance to acknowledge or clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_worker(**kwargs: object) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(**kwargs)  # type: ignore[arg-type]
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def push_and_mail_worker(*, fake_fcm: Any, tmp_path: Path, smtp_port: int, site_url: str) -> WorkerProcess:
    """A worker (not started) that pushes through firebase-admin to the fake FCM server and mails through
    the SMTP server on ``smtp_port``, with links to the workspace at ``site_url``: the browser stories."""
    return WorkerProcess(
        concurrency=2,
        extra_env={
            "PUSH_BACKEND": "firebase",
            "FIREBASE_CREDENTIALS_FILE": str(
                fake_fcm.write_service_account(tmp_path / "service-account.json")
            ),
            "FCM_API_BASE_URL": fake_fcm.base_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "WORKSPACE_BASE_URL": site_url,
        },
    )


def wait_for(predicate: object, *, timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False
