"""``manage.py messages_check`` (``make check``): German translates every text, English has an entry for
each (empty is the msgid) and none fuzzy, Turkish translates the citizen-facing texts
(``casapp.languages``). Run on the tree, and on a copy with one catalogue entry broken per rule."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from casapp.management.commands.messages_check import PACKAGES

TURKISH_WASTE = Path("waste_calendar/locale/tr/LC_MESSAGES/django.po")
TURKISH = Path("casapp/locale/tr/LC_MESSAGES/django.po")
ENGLISH = Path("casapp/locale/en/LC_MESSAGES/django.po")


def check() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("messages_check", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def edit(catalogue: Path, old: str, new: str) -> None:
    text = catalogue.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    catalogue.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, settings: Any) -> Path:
    """A copy of the project's code and catalogues, which the command then checks."""
    base = Path(settings.BASE_DIR)
    shutil.copy2(base / "manage.py", tmp_path / "manage.py")
    for package in PACKAGES:
        shutil.copytree(base / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    settings.BASE_DIR = tmp_path
    return tmp_path


def test_the_catalogues_of_the_tree_are_complete():
    out, err = check()

    assert out.strip() == "Catalogues complete: de, en, tr."
    assert err == ""


def test_an_untranslated_or_fuzzy_citizen_text_in_turkish_fails_and_a_staff_text_does_not(project):
    # A reminder's headline (citizen-facing) untranslated, a status push fuzzy; staff texts stay empty.
    edit(project / TURKISH_WASTE, 'msgstr "Yarın: %(collections)s"', 'msgstr ""')
    edit(
        project / TURKISH,
        '\n#, python-format\nmsgid "Your report #%(id)s"',
        '\n#, fuzzy, python-format\nmsgid "Your report #%(id)s"',
    )
    err = io.StringIO()

    with pytest.raises(CommandError, match="Translate these"):
        call_command("messages_check", "--language", "tr", stdout=io.StringIO(), stderr=err)

    reported = err.getvalue()
    assert f"{TURKISH_WASTE}: 1 untranslated or fuzzy\n  Tomorrow: %(collections)s\n" in reported
    assert f"{TURKISH}: 1 untranslated or fuzzy\n  Your report #%(id)s\n" in reported
    assert "The token is shown only now" not in reported  # the staff workspace: German is fine


def test_a_text_without_an_english_entry_fails_and_an_empty_english_translation_does_not(project):
    english = project / ENGLISH
    assert 'msgid "Invalid input."\nmsgstr ""\n' in english.read_text(encoding="utf-8")
    edit(english, 'msgid "Invalid input."\nmsgstr ""\n', "")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("messages_check", "--language", "en", stdout=io.StringIO(), stderr=err)

    assert f"{ENGLISH}: 1 untranslated or fuzzy\n  Invalid input. (no entry)\n" in err.getvalue()


def test_an_untranslated_german_staff_text_fails(project):
    edit(
        project / "casapp/locale/de/LC_MESSAGES/django.po",
        'msgstr "Titel (Türkisch)"',
        'msgstr ""',
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("messages_check", "--language", "de", stdout=io.StringIO(), stderr=err)

    assert "  title (Turkish)\n" in err.getvalue()
