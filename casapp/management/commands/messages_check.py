"""Fails when a message catalogue is incomplete: every text of the code needs a finished translation.

The catalogues are extracted again from the code (Django's ``makemessages``) in a copy of the project, so
a text added without its translation is found even before anyone ran ``make messages``; the working tree is
never changed. An entry counts as missing when its translation is empty or marked fuzzy. English is the
language the code is written in and is not checked.

It also fails when a compiled catalogue (``.mo``, what Django reads) differs from what its ``.po`` compiles
to: a translation that was written but not compiled would not be shown.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# What makemessages reads: the code and templates of our packages, their catalogues, and manage.py.
PACKAGES = ("casapp", "push", "reports", "waste_calendar")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "migrations", "static")


class Command(BaseCommand):
    help = "Checks that every catalogue (but English) translates every text of the code, none fuzzy."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--language", action="append", help="Check only this language (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        languages = options["language"] or [code for code, _name in settings.LANGUAGES if code != "en"]
        base = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory(prefix="messages-check-") as folder:
            copy = Path(folder)
            shutil.copy2(base / "manage.py", copy / "manage.py")
            for package in PACKAGES:
                shutil.copytree(base / package, copy / package, ignore=IGNORED)
            command = [sys.executable, "manage.py", "makemessages", "--no-obsolete", "--verbosity", "0"]
            for language in languages:
                command += ["-l", language]
            extracted = subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)  # noqa: S603
            if extracted.returncode != 0:
                raise CommandError(f"makemessages failed:\n{extracted.stderr}")
            missing = {
                str(catalogue.relative_to(copy)): entries
                for language in languages
                for catalogue in sorted(copy.glob(f"**/locale/{language}/LC_MESSAGES/django.po"))
                if (entries := _unfinished(catalogue))
            }
        stale = [
            str(catalogue.relative_to(base)) for catalogue in _catalogues(base) if not _compiled(catalogue)
        ]
        for catalogue_name in stale:
            self.stderr.write(f"{catalogue_name}: its .mo is not what it compiles to (run compilemessages)")
        if missing:
            for catalogue, entries in missing.items():
                self.stderr.write(f"{catalogue}: {len(entries)} untranslated or fuzzy")
                for entry in entries:
                    self.stderr.write(f"  {entry}")
            raise CommandError("Translate these (make messages, then edit the .po files).")
        if stale:
            raise CommandError("Compile the catalogues: make messages (or manage.py compilemessages).")
        self.stdout.write(f"Catalogues complete: {', '.join(languages)}.")


def _unfinished(catalogue: Path) -> list[str]:
    """The msgids of ``catalogue`` without a finished translation (empty, or fuzzy), the header aside."""
    entries = []
    for flag in ("--untranslated", "--only-fuzzy"):
        listed = subprocess.run(  # noqa: S603
            ["msgattrib", flag, "--no-obsolete", "--no-wrap", str(catalogue)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries += [
            line.removeprefix("msgid ").strip('"')
            for line in listed.splitlines()
            if line.startswith("msgid ") and line != 'msgid ""'
        ]
    return entries


def _catalogues(base: Path) -> list[Path]:
    return sorted(
        path for package in PACKAGES for path in (base / package).glob("**/locale/*/LC_MESSAGES/django.po")
    )


def _compiled(catalogue: Path) -> bool:
    """Whether the committed .mo is byte for byte what msgfmt (as compilemessages runs it) makes of it."""
    compiled = catalogue.with_suffix(".mo")
    if not compiled.exists():
        return False
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "django.mo"
        subprocess.run(  # noqa: S603
            ["msgfmt", "--check-format", "-o", str(fresh), str(catalogue)],  # noqa: S607
            check=True,
            capture_output=True,
        )
        return fresh.read_bytes() == compiled.read_bytes()
