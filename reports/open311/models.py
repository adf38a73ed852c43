"""Partner systems that file reports through Open311, and which report each of them filed."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casapp.models import hash_secret

RATE = re.compile(r"^[1-9][0-9]{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)$")


def validate_rate(value: str) -> None:
    if value and not RATE.match(value):
        raise ValidationError(
            _("Enter a rate as count/period, e.g. 1200/hour (periods: second, min, hour, day).")
        )


class PartnerApiKey(models.Model):
    """An ``api_key`` issued by the city's administration to one partner system (a back office, an
    aggregator, a third-party app). Only its hash is stored; revoking it stops new submissions while the
    reports it filed stay attributed to it."""

    PREFIX_LENGTH = 8

    name = models.CharField(_("partner"), max_length=100, help_text=_("Who uses the key, e.g. the system."))
    contact = models.CharField(
        _("contact"), max_length=200, blank=True, help_text=_("Who to ask at the partner about its use.")
    )
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    rate_limit = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=_(
            "Requests this partner may make with its key, e.g. 1200/hour; empty: the default "
            "(THROTTLE_OPEN311_KEY)."
        ),
    )

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]

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
        return self.revoked_at is None


class PartnerSubmission(models.Model):
    """A report filed through Open311: by which key, and the ``token`` the partner may look it up by."""

    report = models.OneToOneField(
        "reports.Report",
        on_delete=models.CASCADE,
        related_name="open311_submission",
        verbose_name=_("report"),
    )
    api_key = models.ForeignKey(
        PartnerApiKey, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("API key")
    )
    token = models.CharField(max_length=32, unique=True, editable=False)
    created_at = models.DateTimeField(_("filed"), auto_now_add=True)
    # What the sender added beyond the service definition (``attribute[...]`` keys it names itself, e.g.
    # FixMyStreet's ``fixmystreet_id``, ``report_url``): for staff, never public.
    sender_metadata = models.JSONField(_("sender's metadata"), default=dict, blank=True)
    # The sender's own id of the report, a column of its own so the triage search finds it by index.
    sender_reference = models.CharField(_("sender's reference"), max_length=100, blank=True, db_index=True)
    # Every media_url the partner sent (fetched only from listed hosts); the report's media_url is the first.
    media_urls = models.JSONField(_("media links"), default=list, blank=True)
    # What became of each link fetched from a host in OPEN311_MEDIA_FETCH_HOSTS (reports.open311.media):
    # [{"url": …, "outcome": "stored" | "refused" | "failed", "reason": …, "at": ISO 8601}], for staff.
    media_fetches = models.JSONField(_("media fetched"), default=list, blank=True)

    class Meta:
        verbose_name = _("report filed through Open311")
        verbose_name_plural = _("reports filed through Open311")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.report_id} ({self.api_key.name})"


class PartnerUpdate(models.Model):
    """A ``POST servicerequestupdates`` of a partner: a citizen's comment or "still broken" on a request
    the partner filed, recorded with the history event it made. The partner's own ``update_id`` makes a
    resent update answer the same ``update_id`` instead of being stored twice."""

    api_key = models.ForeignKey(
        PartnerApiKey, on_delete=models.PROTECT, related_name="updates", verbose_name=_("API key")
    )
    report = models.ForeignKey(
        "reports.Report", on_delete=models.CASCADE, related_name="open311_updates", verbose_name=_("report")
    )
    event = models.OneToOneField(
        "reports.ReportEvent",
        on_delete=models.CASCADE,
        related_name="open311_update",
        verbose_name=_("event"),
    )
    partner_update_id = models.CharField(_("partner's update id"), max_length=100, blank=True)
    reopened = models.BooleanField(_("reopened the report"), default=False)
    # Links the partner sent with the comment (never fetched), for staff.
    media_urls = models.JSONField(_("media links"), default=list, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("update received through Open311")
        verbose_name_plural = _("updates received through Open311")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "partner_update_id"],
                condition=~Q(partner_update_id=""),
                name="open311_update_once_per_partner_id",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.report_id} ({self.api_key.name})"
