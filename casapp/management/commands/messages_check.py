"""Fails when a message catalogue is incomplete.

The catalogues are extracted again from the code (Django's ``makemessages``) in a copy of the project, so
a text added without its translation is found even before anyone ran ``make messages``; the working tree is
never changed. An entry counts as unfinished when its translation is empty or marked fuzzy. What each
language must translate (``casapp.languages``):

- German (``LANGUAGE_CODE``, what every other language falls back to): every text.
- English, the language the code is written in: every text must have its entry in the committed
  catalogue and none may be fuzzy; an empty translation is fine, it means the msgid.
- Any other language (Turkish): the citizen-facing texts (``CITIZEN_FACING``, ``CITIZEN_FACING_MESSAGES``);
  the staff side falls back to German.

It also fails when a compiled catalogue (``.mo``, what Django reads) differs from what its ``.po`` compiles
to: a translation that was written but not compiled would not be shown.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from casapp.languages import CITIZEN_FACING, CITIZEN_FACING_MESSAGES, STAFF_LANGUAGES

# What makemessages reads: the code and templates of our packages, their catalogues, and manage.py.
PACKAGES = ("casapp", "push", "reports", "waste_calendar")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "migrations", "static")


class Command(BaseCommand):
    help = "Checks that every catalogue translates what its language must (all, or the citizen-facing texts)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--language", action="append", help="Check only this language (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        languages = options["language"] or [code for code, _name in settings.LANGUAGES]
        base = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory(prefix="messages-check-") as folder:
            copy = Path(folder)
            shutil.copy2(base / "manage.py", copy / "manage.py")
            for package in PACKAGES:
                shutil.copytree(base / package, copy / package, ignore=IGNORED)
            committed = {
                catalogue: _msgids(catalogue.read_text(encoding="utf-8"))
                for catalogue in copy.glob("**/locale/*/LC_MESSAGES/django.po")
            }
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
                if (entries := _unfinished_in(catalogue, language, committed.get(catalogue)))
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


def _unfinished_in(catalogue: Path, language: str, committed: set[str] | None) -> list[str]:
    """What ``language``'s extracted ``catalogue`` lacks; ``committed``: the msgids it had before."""
    if language == "en":
        # The source language: an empty translation is the msgid, but a text must have its entry.
        # (A new text's entry may come out of the extraction fuzzy, guessed from a similar one: only the
        # committed entries count as fuzzy.)
        present = committed or set()
        missing = sorted(_msgids(catalogue.read_text(encoding="utf-8")) - present)
        fuzzy = [msgid for msgid in _unfinished(catalogue, ("--only-fuzzy",)) if msgid in present]
        return [*(f"{msgid} (no entry)" for msgid in missing), *fuzzy]
    if language in STAFF_LANGUAGES:
        return _unfinished(catalogue)
    citizen_facing = catalogue.with_name("citizen-facing.po")
    _select_citizen_facing(catalogue, citizen_facing)
    return _unfinished(citizen_facing)


def _select_citizen_facing(catalogue: Path, selected: Path) -> None:
    """Writes the entries of ``catalogue`` that citizens read to ``selected`` (by source file or msgid)."""
    command = ["msggrep", "--no-wrap", "-o", str(selected)]
    for pattern in CITIZEN_FACING:
        command += ["--location", pattern]
    command += ["--msgid", "--extended-regexp"]
    for msgid in CITIZEN_FACING_MESSAGES:
        command += ["--regexp", f"^{re.escape(msgid)}$"]
    subprocess.run([*command, str(catalogue)], capture_output=True, check=True)  # noqa: S603


def _unfinished(catalogue: Path, flags: tuple[str, ...] = ("--untranslated", "--only-fuzzy")) -> list[str]:
    """The msgids of ``catalogue`` without a finished translation (empty, or fuzzy), the header aside."""
    entries: list[str] = []
    if not catalogue.exists():  # msggrep writes no file when nothing matched
        return entries
    for flag in flags:
        listed = subprocess.run(  # noqa: S603
            ["msgattrib", flag, "--no-obsolete", "--no-wrap", str(catalogue)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries += sorted(_msgids(listed))
    return entries


# An entry's msgctxt and msgid, each a string possibly continued on the following lines (long texts wrap).
_ENTRY = re.compile(
    r'^(?:msgctxt (?P<context>".*"(?:\n".*")*)\n)?msgid (?P<msgid>".*"(?:\n".*")*)', re.MULTILINE
)


def _msgids(catalogue_text: str) -> set[str]:
    """The msgids (with their context, as "context|msgid") of a catalogue's text, the header aside."""
    found = set()
    for entry in _ENTRY.finditer(catalogue_text):
        msgid = "".join(re.findall(r'^"(.*)"$', entry["msgid"], re.MULTILINE))
        if msgid:
            context = "".join(re.findall(r'^"(.*)"$', entry["context"] or "", re.MULTILINE))
            found.add(f"{context}|{msgid}" if entry["context"] else msgid)
    return found


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
