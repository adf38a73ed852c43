"""App installations: the app's identity on one phone, and the address push messages go to."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casapp.models import Platform


class PushTokenKind(models.TextChoices):
    # firebase-admin 7.5+ addresses installations by FID and deprecates raw registration tokens.
    REGISTRATION_TOKEN = "registration_token", _("FCM registration token")
    INSTALLATION_ID = "fid", _("Firebase installation id")


class DeactivationReason(models.TextChoices):
    UNREGISTERED = "unregistered", _("token no longer registered")
    SENDER_MISMATCH = "sender_mismatch", _("token belongs to another sender")
    INVALID_TOKEN = "invalid_token", _("token rejected as invalid")
    STALE = "stale", _("not seen for a long time")


class Installation(models.Model):
    """One app installation. Anonymous: it knows a phone's language and push address, never a person.

    The secret the app authenticates with is stored only as its SHA-256 hash.
    """

    # Marks request.auth as an installation for the platform layer (casapp.api.permissions).
    is_installation = True

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    app_version = models.CharField(_("app version"), max_length=20)
    locale = models.CharField(_("language"), max_length=12, default="de")
    push_token = models.CharField(_("push token"), max_length=512, null=True, blank=True, unique=True)
    push_token_kind = models.CharField(
        _("push token kind"), max_length=20, choices=PushTokenKind.choices, blank=True
    )
    push_token_updated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("push active"), default=True)
    deactivation_reason = models.CharField(
        _("deactivation reason"), max_length=20, choices=DeactivationReason.choices, blank=True
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(_("last seen"), db_index=True)

    class Meta:
        verbose_name = _("app installation")
        verbose_name_plural = _("app installations")
        constraints = [
            models.CheckConstraint(
                condition=Q(push_token__isnull=True) | ~Q(push_token_kind=""),
                name="installation_token_has_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.app_version} ({str(self.id)[:8]})"
