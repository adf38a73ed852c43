"""Platform data shared by every module: staff API tokens and what the app reads at start-up."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    WEB = "web", "Web"


def hash_secret(secret: str) -> str:
    """SHA-256 of a secret we issued.

    Our secrets carry 256 random bits, so a plain hash is as strong as a slow one, and it can be indexed.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


class StaffApiToken(models.Model):
    """A staff member's token for API calls from tools (the comms team's scripts, the city hall screen)."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is used for."))
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)

    def set_key(self, key: str) -> None:
        self.prefix = key[: self.PREFIX_LENGTH]
        self.key_hash = hash_secret(key)

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class AppConfiguration(models.Model):
    """The single row of switches and links the app reads at start (``GET /api/v1/app/config``)."""

    reports_enabled = models.BooleanField(_("Mängelmelder enabled"), default=True)
    waste_calendar_enabled = models.BooleanField(_("Abfallkalender enabled"), default=True)
    push_enabled = models.BooleanField(_("push enabled"), default=True)
    privacy_policy_url = models.URLField(
        _("privacy policy"), default="https://www.castrop-rauxel.de/datenschutz"
    )
    imprint_url = models.URLField(_("imprint"), default="https://www.castrop-rauxel.de/impressum")
    accessibility_url = models.URLField(
        _("accessibility statement"), default="https://www.castrop-rauxel.de/barrierefreiheit"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("app configuration")
        verbose_name_plural = _("app configuration")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="app_configuration_single_row")]

    def __str__(self) -> str:
        return str(_("app configuration"))


class PlatformRelease(models.Model):
    """Per platform: the oldest app version still served and the newest one in the stores."""

    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices, unique=True)
    min_supported_version = models.CharField(_("minimum supported version"), max_length=20)
    latest_version = models.CharField(_("latest version"), max_length=20)
    store_url = models.URLField(_("store link"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("platform release")
        verbose_name_plural = _("platform releases")
        ordering = ["platform"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} ≥ {self.min_supported_version}"


class MaintenanceBanner(models.Model):
    """A notice shown on top of the app for a time, e.g. while the citizens' office is closed by an outage."""

    class Severity(models.TextChoices):
        INFO = "info", _("information")
        WARNING = "warning", _("warning")
        OUTAGE = "outage", _("outage")

    title_de = models.CharField(_("title (German)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120, blank=True)
    text_de = models.TextField(_("text (German)"), max_length=1000)
    text_en = models.TextField(_("text (English)"), max_length=1000, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.INFO)
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("maintenance banner")
        verbose_name_plural = _("maintenance banners")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="banner_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]

    def __str__(self) -> str:
        return self.title_de


class StaffMember(User):
    """Staff accounts as Administration manages them (a proxy: the same rows as ``auth.User``).

    Its own permissions let Administration add and change staff without ``auth.change_user``, which would
    also reach superusers and arbitrary permissions.
    """

    class Meta:
        proxy = True
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")


class TemporaryPassword(models.Model):
    """A password Administration set for someone: valid until its owner replaces it with their own.

    It is temporary for as long as the account's password hash is still this one, so changing the password
    by any way ends it without a flag to keep in step.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    password_hash = models.CharField(max_length=256)
    issued_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id} ({self.issued_at:%Y-%m-%d %H:%M})"

    def is_current(self, user: AbstractBaseUser) -> bool:
        return bool(user.password) and user.password == self.password_hash


class StaffAuditEntry(models.Model):
    """Append-only: who changed which staff account how (roles, grants, deactivation, passwords, locks)."""

    class Action(models.TextChoices):
        CREATED = "created", _("account created")
        CHANGED = "changed", _("account changed")
        ROLES = "roles", _("roles changed")
        GRANTED = "granted", _("permission granted")
        REVOKED = "revoked", _("permission taken back")
        DEACTIVATED = "deactivated", _("account deactivated")
        REACTIVATED = "reactivated", _("account reactivated")
        PASSWORD_RESET = "password_reset", _("password reset")
        UNLOCKED = "unlocked", _("login lock lifted")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="staff_audit_entries",
        verbose_name=_("staff member"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("staff audit entry")
        verbose_name_plural = _("staff audit log")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"
