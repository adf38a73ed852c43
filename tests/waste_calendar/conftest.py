"""Helpers of the Abfallkalender tests: fixture files, running the import commands, writing small feeds."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path

import pytest
from django.core.management import call_command

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_command(name: str, *args: str) -> str:
    """Runs a management command; returns what it printed (stdout). Raises CommandError as the CLI would."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(name, *args, "--no-progress", stdout=stdout, stderr=stderr)
    return stdout.getvalue()


def ics_feed(events: Iterable[tuple[dt.date, str]]) -> str:
    """A minimal EUV-style feed: one all-day event per (date, summary)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Feed//DE"]
    for day, summary in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{day:%Y%m%d}-{summary.replace(' ', '-')}@test",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def write_manifest(directory: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """rows: (street, postcode, Stadtteil, house number, ics)."""
    manifest = directory / "manifest.csv"
    manifest.write_text(
        "strasse;plz;stadtteil;hausnummer;ics\n" + "".join(";".join(row) + "\n" for row in rows),
        encoding="utf-8",
    )
    return manifest


@pytest.fixture
def mapping() -> Path:
    return FIXTURES / "mapping.json"
