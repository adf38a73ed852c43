"""Service tier: the cheapest scenarios of the fault matrix (``bench/faults.py``) in reduced size.

The matrix starts its own PostgreSQL cluster, Redis, gunicorn, Celery worker and beat and the fake FCM
server on loopback ports of its own, so stopping them disturbs nothing else; it runs as a subprocess and
reports its rows as JSON. The whole matrix with its figures: ``make bench-faults`` and
docs/operations.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_OUTCOMES = {
    "report 201",
    "config 200",
    "report 503 service_unavailable",
    "config 503 service_unavailable",
}


def run_matrix(tmp_path: Path, *scenarios: str) -> list[dict[str, Any]]:
    if shutil.which("redis-server") is None or not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("the fault matrix needs redis-server and PostgreSQL's initdb")
    result = tmp_path / "rows.json"
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.faults", "--small", "--json", str(result), *scenarios],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows: list[dict[str, Any]] = json.loads(result.read_text())
    return rows


def client_outcomes(row: dict[str, Any]) -> set[str]:
    """``"report 201: 40, config 503 service_unavailable: 3"`` → the outcomes without their counts."""
    return {part.rsplit(":", 1)[0] for part in row["clients"].split(", ")}


@pytest.mark.services
def test_redis_stopped_and_fcm_unavailable_lose_nothing_and_recover_by_themselves(tmp_path):
    redis_stopped, fcm_unavailable = run_matrix(tmp_path, "redis-stop-reports", "fcm-unavailable-fanout")

    # Redis away: reports are still filed (the database is what matters), the start-up call that needs
    # the cache answers 503 in the error shape; nobody waits long, and every 201 is in the database.
    assert client_outcomes(redis_stopped) <= CLIENT_OUTCOMES, redis_stopped
    assert "report 201" in client_outcomes(redis_stopped)
    assert redis_stopped["max_latency_s"] < 3
    assert redis_stopped["reports_lost"] == 0
    assert "cache" in redis_stopped["readiness_during"]
    assert redis_stopped["readiness_after"] == "200"
    assert redis_stopped["recovered"].startswith("yes"), redis_stopped

    # FCM answering 503 for longer than the attempts of a message last: paused, then everything sent.
    assert fcm_unavailable["recovered"].startswith("yes"), fcm_unavailable
    assert fcm_unavailable["lost"] == 0, fcm_unavailable
    assert fcm_unavailable["deactivated"] == 0
    assert fcm_unavailable["reports_lost"] == 0
