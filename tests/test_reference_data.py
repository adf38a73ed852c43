"""The reference data the app and its tests need is in the repository, unchanged and with its licence note,
so a fresh clone runs every test without the project's ``shared/`` folder beside it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Each copy, the SHA-256 of the reference file it was copied from, and the attribution its licence asks for.
BKG = "dl-de/by-2-0"
COPIES = {
    "reports/data/castrop-rauxel-boundary.geojson": (
        "b9eb18ada5675a2bb28f86c7ab21455b034f5270b311a18d781647303e149644",
        BKG,
    ),
    "tests/reports/data/castrop-rauxel-and-neighbours.geojson": (
        "49c36b3650e29b4faf7662f127b8cc51285415c9b9f7415956c482e021682fbb",
        BKG,
    ),
    "waste_calendar/data/castrop-rauxel-streets.tsv": (
        "35a47a4e4e8afc65d12c5540b4cd285b7b0ac85abbe4576240a5295a3118ef63",
        "S1\u2013S27",
    ),
    "waste_calendar/data/euv-sample-collections.json": (
        "9596273d7cea5d367f7b71f0ba177fdbad2ac72e1214f12615580e3dfd5a69c5",
        "MIT licence",
    ),
}

# A path into a shared/ folder outside the repository: ``"shared" / "data"`` or ``../shared``.
READS_SHARED = re.compile(r"""["']shared["']\s*/|\.\./shared/""")


@pytest.mark.parametrize("relative", sorted(COPIES))
def test_each_copy_is_the_reference_file_unchanged(relative: str) -> None:
    digest, _attribution = COPIES[relative]
    assert hashlib.sha256((REPO / relative).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("relative", sorted(COPIES))
def test_each_copy_has_its_licence_note_beside_it(relative: str) -> None:
    _digest, attribution = COPIES[relative]
    note = ((REPO / relative).parent / "README.md").read_text(encoding="utf-8")
    assert Path(relative).name in note
    assert attribution in note


def test_no_code_or_test_reads_a_shared_folder_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "Makefile", ".ci/*"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    readers = [
        name
        for name in tracked
        if name != "tests/test_reference_data.py"
        and READS_SHARED.search((REPO / name).read_text(encoding="utf-8"))
    ]
    assert readers == []


def test_a_fresh_clone_without_shared_runs_the_data_tests_without_skipping(tmp_path: Path) -> None:
    """The tracked files alone, in a folder with nothing beside it: the tests that read the reference data
    pass, none skips."""
    clone = tmp_path / "clone" / "backend"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():  # a file deleted but not yet committed is not in the clone either
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    assert not (clone.parent / "shared").exists()
    assert not (clone.parent.parent / "shared").exists()

    env = {**os.environ, "DATABASE_URL": "", "REDIS_URL": "", "PUSH_BACKEND": "console"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/reports/test_geo.py",
            "tests/waste_calendar/test_plan_waste_year.py::test_planned_dates_match_the_euv_sample_with_its_holiday_shifts",
            "-k",
            "neighbour or euv_sample",
        ],
        check=False,
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, summary
    assert "skipped" not in run.stdout, summary
    assert re.search(r"\b(9|[1-9]\d+) passed\b", run.stdout), summary
