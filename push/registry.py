"""Categories of personal notifications, registered by the apps that send them.

push knows none of them: ``reports`` registers "report_update", ``waste_calendar`` its reminders, each
from its ``AppConfig.ready()``::

    register_category(
        key="report_update",
        name={"de": "Meine Meldungen", "en": "My reports"},
        description={"de": "Wenn sich der Stand Ihrer Meldung ändert.", "en": "When your report changes."},
    )

The catalogue shows them to the app, and an installation mutes them by key (``CategoryOptOut``). The
registry lives in process memory: every process imports the same apps, so every process knows the same
categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType

from django.core.exceptions import ImproperlyConfigured

# CategoryOptOut.category and Notification.category hold at most 40 characters.
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class PersonalCategory:
    """A kind of personal notification an installation can mute, named in German and other languages."""

    key: str
    name: MappingProxyType[str, str]
    description: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def name_in(self, language: str) -> str:
        return self.name.get(language) or self.name["de"]

    def description_in(self, language: str) -> str:
        return self.description.get(language) or self.description.get("de", "")


_categories: dict[str, PersonalCategory] = {}


def register_category(
    *, key: str, name: dict[str, str], description: dict[str, str] | None = None
) -> PersonalCategory:
    """Makes ``key`` a category installations can see and mute.

    Registering the same definition again is harmless (``ready()`` may run more than once); the same
    key with another definition is a programming error, as two apps would share one opt-out.
    """
    if not _KEY.match(key):
        raise ImproperlyConfigured(f"category key {key!r}: lower-case letters, digits, _; at most 40")
    if not name.get("de"):
        raise ImproperlyConfigured(f"category {key!r} needs a German name")
    category = PersonalCategory(
        key=key, name=MappingProxyType(dict(name)), description=MappingProxyType(dict(description or {}))
    )
    existing = _categories.get(key)
    if existing is not None and existing != category:
        raise ImproperlyConfigured(f"category {key!r} is already registered with another definition")
    _categories[key] = category
    return category


def unregister_category(*, key: str) -> None:
    """Forgets a category (tests; an app that is switched off). Stored opt-outs stay and do no harm."""
    _categories.pop(key, None)


def registered_categories() -> list[PersonalCategory]:
    """All categories in the order they were registered."""
    return list(_categories.values())


def category_is_registered(key: str) -> bool:
    return key in _categories
