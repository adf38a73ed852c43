"""A push worker process does not import the libraries only the web side uses.

Each of them costs a worker memory it never uses (shapely with numpy ~20 MB, Pillow with pillow-heif ~11 MB,
icalendar and holidays ~12 MB), so the modules that need them import them on first use. These tests start a
fresh interpreter, because this test process has imported all of them long ago.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in the child: what a Celery worker does before it takes its first task.
WORKER_START = """
import json, sys
import django
django.setup()
after_setup = sorted(sys.modules)
from casapp.celery import app
app.loader.import_default_modules()
print(json.dumps({"after_setup": after_setup, "after_worker_start": sorted(sys.modules)}))
"""

NOT_IN_A_WORKER = ("numpy", "shapely", "pillow_heif", "icalendar", "recurring_ical_events", "holidays")


def _modules_of_a_starting_worker() -> dict[str, list[str]]:
    result = subprocess.run(  # noqa: S603 - our own interpreter with a fixed script
        [sys.executable, "-c", WORKER_START],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "casapp.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modules: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def test_a_push_worker_does_not_import_geometry_imaging_or_calendar_libraries():
    modules = _modules_of_a_starting_worker()

    after_setup = set(modules["after_setup"])
    assert [name for name in (*NOT_IN_A_WORKER, "PIL") if name in after_setup] == []
    after_worker_start = set(modules["after_worker_start"])
    assert [name for name in NOT_IN_A_WORKER if name in after_worker_start] == []
    # Celery's Django fixup runs the system checks at worker start, and Django's check of an ImageField
    # imports PIL.Image (~2 MB); the parts of Pillow only our photo pipeline uses must still be absent.
    assert [name for name in ("PIL.ImageCms", "PIL.ImageOps") if name in after_worker_start] == []
