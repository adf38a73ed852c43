"""What the app needs at start: supported versions, switched-on modules, a maintenance banner, links.

Every installation reads this on every start, so the snapshot is cached; staff edits in the admin clear
the cache (``casapp.signals``) so a banner goes out at once, not after the cache expires.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from packaging.version import Version

from casapp.caching import CACHE_UNREACHABLE, LocalMemo, shared_value
from casapp.models import AppConfiguration, MaintenanceBanner, PlatformRelease

logger = logging.getLogger("casapp.appconfig")

CACHE_KEY = "app-config:v1"
# As long as the installation's app_version column.
MAX_APP_VERSION_LENGTH = 20


@dataclass(frozen=True)
class ConfigSnapshot:
    modules: dict[str, bool]
    links: dict[str, str]
    releases: dict[str, dict[str, str]]
    banners: tuple[dict[str, Any], ...]

    @cached_property
    def fingerprint(self) -> str:
        """Equal for equal contents, in every process (a copy from the cache is a new object)."""
        text = repr((self.modules, self.links, sorted(self.releases.items()), self.banners))
        return hashlib.sha256(text.encode()).hexdigest()


def parse_app_version(text: str) -> Version | None:
    """The version, or None when it is none: too long to be one (``packaging`` turns each part into an int,
    whose conversion is quadratic and refused above 4,300 digits) or not of PEP 440's form."""
    if len(text) > MAX_APP_VERSION_LENGTH:
        return None
    try:
        return Version(text)
    except ValueError:  # InvalidVersion is one
        return None


def _load_snapshot() -> ConfigSnapshot:
    config, _ = AppConfiguration.objects.get_or_create(pk=1)
    banners = tuple(
        {
            "title": {"de": b.title_de, "en": b.title_en or b.title_de},
            "text": {"de": b.text_de, "en": b.text_en or b.text_de},
            "severity": b.severity,
            "starts_at": b.starts_at,
            "ends_at": b.ends_at,
        }
        for b in MaintenanceBanner.objects.filter(ends_at__gt=timezone.now()).order_by("starts_at")
    )
    releases = {
        r.platform: {
            "min_supported_version": r.min_supported_version,
            "latest_version": r.latest_version,
            "store_url": r.store_url,
        }
        for r in PlatformRelease.objects.all()
    }
    return ConfigSnapshot(
        modules={
            "reports": config.reports_enabled,
            "waste_calendar": config.waste_calendar_enabled,
            "push": config.push_enabled,
        },
        links={
            "privacy_policy": config.privacy_policy_url,
            "imprint": config.imprint_url,
            "accessibility": config.accessibility_url,
        },
        releases=releases,
        banners=banners,
    )


# Each process keeps the snapshot a few seconds: every app start reads it, and even a Redis round trip
# costs more than answering. Staff edits reach every process within LOCAL_SECONDS.
LOCAL_SECONDS = 5.0
_snapshot_memo: LocalMemo[None, ConfigSnapshot] = LocalMemo("app-config snapshot", seconds=LOCAL_SECONDS)


def app_config_snapshot() -> ConfigSnapshot:
    """The configuration as staff left it: this process's copy, else the shared cache's, else the database's
    (also while the cache is away: every app start needs it, and the database has it)."""
    return _snapshot_memo.get_or_build(None, _shared_snapshot)


def _shared_snapshot() -> ConfigSnapshot:
    return shared_value(
        CACHE_KEY, _load_snapshot, seconds=settings.APP_CONFIG_CACHE_SECONDS, build_when_unreachable=True
    )


def app_config_invalidate() -> None:
    """Runs after a staff edit committed: a cache that is away must not fail the edit (a restarted Redis
    holds no snapshot, and a surviving one expires within APP_CONFIG_CACHE_SECONDS)."""
    _snapshot_memo.forget()
    try:
        cache.delete(CACHE_KEY)
    except CACHE_UNREACHABLE as error:
        logger.warning("app configuration not invalidated: cache unreachable (%s)", type(error).__name__)


def answer_valid_seconds(snapshot: ConfigSnapshot, now: datetime) -> float | None:
    """How long an answer made from ``snapshot`` at ``now`` stays right: until the next banner starts or
    ends (None: no banner ahead)."""
    ahead = [
        moment
        for banner in snapshot.banners
        for moment in (banner["starts_at"], banner["ends_at"])
        if moment > now
    ]
    return (min(ahead) - now).total_seconds() if ahead else None


def app_config_for(
    *, platform: str, version: Version, language: str, now: datetime | None = None
) -> dict[str, Any]:
    """The start-up configuration as one installation sees it.

    ``force_update`` is true when the app is older than the platform's minimum supported version; the app
    then shows only the store link. Banners are active between their start and end; the first active one
    (earliest start) is shown, with its text in ``language`` (German when no English text exists).
    """
    snapshot = app_config_snapshot()
    now = now or timezone.now()
    release = snapshot.releases.get(platform)
    force_update = update_available = False
    if release:
        minimum = parse_app_version(release["min_supported_version"])
        latest = parse_app_version(release["latest_version"])
        force_update = minimum is not None and version < minimum
        update_available = latest is not None and version < latest
    active = next((b for b in snapshot.banners if b["starts_at"] <= now < b["ends_at"]), None)
    language = language if language in {"de", "en"} else "de"
    return {
        "platform": platform,
        "version": str(version),
        "min_supported_version": release["min_supported_version"] if release else None,
        "latest_version": release["latest_version"] if release else None,
        "store_url": (release["store_url"] or None) if release else None,
        "force_update": force_update,
        "update_available": update_available,
        "modules": snapshot.modules,
        "maintenance": (
            {
                "title": active["title"][language],
                "text": active["text"][language],
                "severity": active["severity"],
                "starts_at": timezone.localtime(active["starts_at"]).isoformat(),
                "ends_at": timezone.localtime(active["ends_at"]).isoformat(),
            }
            if active
            else None
        ),
        "links": snapshot.links,
    }
