"""Push test support: the personal categories other apps register. The fake FCM server and the Firebase
backend pointed at it (``fake_fcm``, ``firebase_backend``) live in tests/conftest.py: the Mängelmelder's
tests use them too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from push import registry


@pytest.fixture
def report_category() -> registry.PersonalCategory:
    """What ``reports`` registers in its AppConfig.ready() (push itself registers nothing)."""
    registered = {c.key: c for c in registry.registered_categories()}
    assert "report_update" in registered, "the reports app registers its category when it is installed"
    return registered["report_update"]


@pytest.fixture
def waste_category() -> registry.PersonalCategory:
    """What ``waste_calendar`` registers in its AppConfig.ready()."""
    registered = {c.key: c for c in registry.registered_categories()}
    assert "waste_reminder" in registered, "the waste calendar registers its category when it is installed"
    return registered["waste_reminder"]


@pytest.fixture
def untranslated_category() -> Iterator[registry.PersonalCategory]:
    """A category an app named in German only."""
    category = registry.register_category(
        key="only_german", name={"de": "Nur Deutsch"}, description={"de": "Ohne Übersetzung."}
    )
    yield category
    registry.unregister_category(key="only_german")
