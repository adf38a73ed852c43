"""The app's deep-link catalogue: every screen a push message or notice may open, defined in one place.

A deep link is ``casapp://<path>`` with the target's parameters filled in (``casapp://reports/17``), or
an https address the app opens in the browser. push knows neither reports nor the waste calendar: each
app registers its targets from its ``AppConfig.ready()``, as it registers its notification categories
(``push.registry``)::

    register_link(
        key="report",
        template="casapp://reports/{id}",
        name={"de": "Meldung", "en": "Report"},
        parameters=[LinkParameter("id", {"de": "Nummer der Meldung", "en": "Report number"})],
        exists=lambda id: Report.objects.filter(pk=id, ...).exists(),
    )

The catalogue is served to the app (``GET /api/v1/push/catalogue``, ``links``), documented in
docs/push.md, and the only source of links staff can choose: the staff services refuse any other
(``invalid_deep_link``). Links stored before the catalogue existed stay as they are and are still sent;
``link_parse`` reads them as ``None`` (no known target) instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from casapp.errors import DomainError

SCHEME = "casapp"
# The key of the one target that is not a screen of the app: an https address, opened in the browser.
WEB = "web"
MAX_LINK_LENGTH = 500  # Notification.deep_link
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# Parameters are numbers (ids) or slugs: nothing a link could smuggle a path or a query through.
PARAMETER_PATTERNS = {"integer": r"[1-9][0-9]{0,17}", "slug": r"[a-z0-9][a-z0-9-]{0,59}"}
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class LinkParameter:
    name: str
    description: Mapping[str, str] = field(default_factory=dict)  # by language
    type: str = "integer"  # a key of PARAMETER_PATTERNS


@dataclass(frozen=True)
class LinkTarget:
    """One screen of the app a link opens, with the parameters its template names."""

    key: str
    template: str
    name: MappingProxyType[str, str]
    description: MappingProxyType[str, str]
    parameters: tuple[LinkParameter, ...]
    # Whether the thing the parameters name exists and may be linked to (a published notice, a public
    # report); None: any well-formed parameters do. Not part of the definition's identity.
    exists: Callable[..., bool] | None = field(default=None, compare=False)
    # Recent things to link to, offered in the workspace: (parameter value, label), newest first.
    suggestions: Callable[[], list[tuple[str, str]]] | None = field(default=None, compare=False)

    def name_in(self, language: str) -> str:
        return self.name.get(language) or self.name["de"]

    def description_in(self, language: str) -> str:
        return self.description.get(language) or self.description.get("de", "")

    def link(self, **parameters: Any) -> str:
        return self.template.format(**{k: str(v) for k, v in parameters.items()})

    def match(self, value: str) -> dict[str, str] | None:
        types = {p.name: p.type for p in self.parameters}
        pattern = ""
        position = 0
        for placeholder in _PLACEHOLDER.finditer(self.template):
            pattern += re.escape(self.template[position : placeholder.start()])
            name = placeholder.group(1)
            pattern += f"(?P<{name}>{PARAMETER_PATTERNS[types[name]]})"
            position = placeholder.end()
        pattern += re.escape(self.template[position:])
        found = re.fullmatch(pattern, value)
        return dict(found.groupdict()) if found else None


@dataclass(frozen=True)
class ParsedLink:
    """What a stored link points at: a catalogue target and its parameters, or ``web`` and its url."""

    target: str
    parameters: dict[str, str]


_targets: dict[str, LinkTarget] = {}


def register_link(
    *,
    key: str,
    template: str,
    name: dict[str, str],
    description: dict[str, str] | None = None,
    parameters: list[LinkParameter] | None = None,
    exists: Callable[..., bool] | None = None,
    suggestions: Callable[[], list[tuple[str, str]]] | None = None,
) -> LinkTarget:
    """Adds a screen of the app to the catalogue. Registering the same definition again is harmless;
    another definition under a key already taken, or a template that does not start with ``casapp://``
    or names a parameter it does not declare, is a programming error."""
    if not _KEY.match(key) or key == WEB:
        raise ImproperlyConfigured(
            f"link key {key!r}: lower-case letters, digits, _; at most 40; not {WEB!r}"
        )
    if not template.startswith(f"{SCHEME}://"):
        raise ImproperlyConfigured(f"link {key!r}: the template must start with {SCHEME}://")
    if not name.get("de"):
        raise ImproperlyConfigured(f"link {key!r} needs a German name")
    declared = tuple(parameters or [])
    named = _PLACEHOLDER.findall(template)
    if sorted(named) != sorted(p.name for p in declared) or any(
        p.type not in PARAMETER_PATTERNS for p in declared
    ):
        raise ImproperlyConfigured(f"link {key!r}: the template's placeholders and parameters differ")
    target = LinkTarget(
        key=key,
        template=template,
        name=MappingProxyType(dict(name)),
        description=MappingProxyType(dict(description or {})),
        parameters=declared,
        exists=exists,
        suggestions=suggestions,
    )
    existing = _targets.get(key)
    if existing is not None and existing != target:
        raise ImproperlyConfigured(f"link {key!r} is already registered with another definition")
    _targets[key] = target
    return target


def unregister_link(*, key: str) -> None:
    """Forgets a target (tests; an app that is switched off). Stored links to it are still sent."""
    _targets.pop(key, None)


def registered_links() -> list[LinkTarget]:
    """Every target in the order registered."""
    return list(_targets.values())


def link_target(key: str) -> LinkTarget | None:
    return _targets.get(key)


def link_parse(value: str) -> ParsedLink | None:
    """The target a stored link points at, or ``None`` for a link no target matches (one written as
    free text before the catalogue existed, or to a target no longer registered). Never raises."""
    if not value:
        return None
    if value.startswith("https://"):
        return ParsedLink(WEB, {"url": value}) if _web_address_problem(value) is None else None
    for target in _targets.values():
        parameters = target.match(value)
        if parameters is not None:
            return ParsedLink(target.key, parameters)
    return None


def _web_address_problem(value: str) -> str | None:
    if len(value) > MAX_LINK_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in value):
        return "form"
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "form"
    if parts.scheme != "https":
        return "scheme"
    if parts.username is not None or parts.password is not None or port not in (None, 443):
        return "form"
    if not _HOST.match(host) or host in ("localhost",) or host.endswith((".local", ".internal")):
        return "host"
    return None


def deep_link_validate(value: str) -> str:
    """A link staff chose: ``""`` (none), a catalogue link whose target exists, or a public https
    address. Anything else raises ``DomainError`` ``invalid_deep_link`` on ``deep_link``."""
    if not value:
        return ""
    if value.startswith("https://"):
        if _web_address_problem(value) is not None:
            raise DomainError(
                _("Web links must be a public https address (no user name, port or local host)."),
                code="invalid_deep_link",
                field="deep_link",
            )
        return value
    parsed = link_parse(value)
    if parsed is None:
        raise DomainError(
            _("Choose a link from the app's catalogue or an https address."),
            code="invalid_deep_link",
            field="deep_link",
        )
    target = _targets[parsed.target]
    if target.exists is not None and not target.exists(**parsed.parameters):
        raise DomainError(
            _("%(target)s %(parameters)s does not exist or cannot be linked to.")
            % {
                "target": target.name_in((get_language() or "de")[:2]),
                "parameters": ", ".join(parsed.parameters.values()),
            },
            code="invalid_deep_link",
            field="deep_link",
        )
    return value
