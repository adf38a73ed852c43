"""Two processes, as in production under the embedded default: a running server that caches its answers in
its own memory, and an import on the command line. The server serves the imported dates within
``LOCAL_SECONDS`` (the data generation lives in the database both see), not after its cache expires."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from waste_calendar.lookup import LOCAL_SECONDS
from waste_calendar.models import location_public_id

ROOT = Path(__file__).resolve().parents[2]


def write_tables(directory: Path, dates: list[dt.date]) -> list[str]:
    directory.mkdir()
    (directory / "streets.csv").write_text(
        "strasse;plz;stadtteil;hausnummern;paritaet;fraktion;tour\nLindenallee;44575;;;;papier;P01\n",
        encoding="utf-8",
    )
    (directory / "dates.csv").write_text(
        "fraktion;tour;datum\n" + "".join(f"papier;P01;{d.isoformat()}\n" for d in dates), encoding="utf-8"
    )
    return [str(directory / "streets.csv"), str(directory / "dates.csv")]


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    """The embedded default on a database file of its own: SQLite, local-memory cache, eager tasks."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'two-processes.sqlite3'}",
        "REDIS_URL": "",
        "PUSH_BACKEND": "console",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
    )


@pytest.fixture
def server(embedded_env: dict[str, str]) -> Iterator[str]:
    manage(embedded_env, "migrate", "--noinput")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
        cwd=ROOT,
        env=embedded_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/api/v1/waste/types/", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_command_line_import_is_served_at_once(
    server: str, embedded_env: dict[str, str], tmp_path: Path
) -> None:
    today = timezone.localdate()
    regular = [today + dt.timedelta(days=3 + 7 * n) for n in range(20)]
    manage(embedded_env, "import_waste_csv", *write_tables(tmp_path / "first", regular), "--no-progress")
    public_id = location_public_id(street_name="Lindenallee", postcode="44575", house_number_key="")
    until = today + dt.timedelta(days=60)
    url = f"{server}/api/v1/waste/locations/{public_id}/collections?from={today}&to={until}"

    def served() -> list[str]:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return [c["date"] for c in json.load(response)["collections"]]

    assert served() == [d.isoformat() for d in regular if d <= until]
    assert served() == served()  # from the server's cache now

    moved = regular[1] + dt.timedelta(days=1)
    manage(
        embedded_env,
        "import_waste_csv",
        *write_tables(tmp_path / "second", [moved if d == regular[1] else d for d in regular]),
        "--no-progress",
    )
    imported_at = time.monotonic()
    while moved.isoformat() not in served() and time.monotonic() - imported_at < LOCAL_SECONDS + 10:
        time.sleep(0.2)

    assert moved.isoformat() in served()
    assert time.monotonic() - imported_at < LOCAL_SECONDS + 2
