"""A campaign's call to take part (``Participation``) and what citizens sent (``Submission``)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from push.models import Installation, Notification

# What an installation may send to one campaign unless the campaign says otherwise, and the most it may say.
DEFAULT_MAX_SUBMISSIONS = 3
MAX_SUBMISSIONS_LIMIT = 20
TEXT_MAX_LENGTH = 280
# The long edges kept of a photo: large enough for the city's website and print, small enough for the app.
PHOTO_EDGE = 2048
THUMBNAIL_EDGE = 400


class Participation(models.Model):
    """A campaign notification that invites photos until ``closes_at``.

    Open while its notification is published (sending or sent) and ``closes_at`` lies ahead.
    """

    notification = models.OneToOneField(
        Notification,
        on_delete=models.CASCADE,
        related_name="participation",
        verbose_name=_("campaign"),
    )
    description_de = models.TextField(
        _("what to send (German)"),
        max_length=1000,
        help_text=_("Shown in the app above the upload, e.g. what to photograph."),
    )
    description_en = models.TextField(_("what to send (English)"), max_length=1000, blank=True)
    closes_at = models.DateTimeField(_("open until"))
    max_submissions = models.PositiveSmallIntegerField(
        _("photos per app installation"),
        default=DEFAULT_MAX_SUBMISSIONS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SUBMISSIONS_LIMIT)],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Mitmach-Aktion")
        verbose_name_plural = _("Mitmach-Aktionen")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_submissions__gte=1, max_submissions__lte=MAX_SUBMISSIONS_LIMIT),
                name="participation_max_submissions_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.notification)

    def is_open(self, *, now: datetime) -> bool:
        from push.selectors import PUBLISHED_STATUSES

        return self.notification.status in PUBLISHED_STATUSES and now < self.closes_at


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("awaiting moderation")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    REMOVED = "removed", _("removed after approval")


def submission_file_path(submission: Submission, filename: str) -> str:
    return f"campaigns/{submission.participation_id}/{filename}"


class Submission(models.Model):
    """One photo with its text, sent by an app installation with consent to publication.

    The photo is stored only while it may still be published: rejecting or removing it deletes the
    files (the row remains as the record of the decision); withdrawing consent deletes row and files.
    """

    participation = models.ForeignKey(
        Participation, on_delete=models.CASCADE, related_name="submissions", verbose_name=_("Mitmach-Aktion")
    )
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    photo = models.FileField(_("photo"), upload_to=submission_file_path, blank=True)
    thumbnail = models.FileField(upload_to=submission_file_path, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    text = models.CharField(_("text sent"), max_length=TEXT_MAX_LENGTH, blank=True)
    # What the gallery and the archive show: the text as moderation approved it (edited or left out).
    public_text = models.CharField(
        _("text published"),
        max_length=TEXT_MAX_LENGTH,
        blank=True,
        help_text=_("Shown in the gallery. Edit or empty it to publish the photo without (all of) its text."),
    )
    consented_at = models.DateTimeField(_("consent to publication given"))
    is_child = models.BooleanField(_("sent for a child"), default=False)
    parental_consent = models.BooleanField(_("a parent agrees"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)
    moderation_note = models.CharField(_("moderation note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("photo sent in")
        verbose_name_plural = _("photos sent in")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_child=False) | Q(parental_consent=True),
                name="submission_child_needs_parental_consent",
            ),
            models.CheckConstraint(
                condition=~Q(status=SubmissionStatus.APPROVED) | Q(published_at__isnull=False),
                name="submission_approved_is_published",
            ),
        ]
        indexes = [
            models.Index(fields=["participation", "status", "-published_at", "-id"]),
            models.Index(fields=["participation", "installation"]),
        ]

    def __str__(self) -> str:
        return f"{self.participation} #{self.pk}"
