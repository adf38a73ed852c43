"""The Mängelmelder: defect reports from the app, their categories, photos and public timeline."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.city import STADTTEIL_CHOICES
from casapp.outbox import OutboxMail


class Department(models.Model):
    """A city department that handles some categories; its members are the triage staff for them."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="report_departments", verbose_name=_("members")
    )
    shared_inbox = models.EmailField(
        _("shared inbox"),
        blank=True,
        help_text=_("Optional: a team address that gets an e-mail for every new report of the department."),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """Two levels: a group ("Straßen und Wege") and its leaves ("Schlagloch"). Reports use leaves."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("group"),
    )
    key = models.SlugField(_("key"), max_length=60, unique=True)
    name_de = models.CharField(_("name (German)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    name_tr = models.CharField(_("name (Turkish)"), max_length=120, blank=True)
    description_de = models.CharField(_("description (German)"), max_length=500, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=500, blank=True)
    description_tr = models.CharField(_("description (Turkish)"), max_length=500, blank=True)
    icon_key = models.SlugField(_("icon"), max_length=40, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="categories"
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)
    first_response_days = models.PositiveSmallIntegerField(
        _("first response within (working days)"),
        default=2,
        validators=[MaxValueValidator(60)],
        help_text=_(
            "A report is overdue when no status change or public reply has reached it by the end of this "
            "many working days after the day it came in (weekends and NRW public holidays do not count)."
        ),
    )
    # Any edit (deactivation included) moves it: Open311's changeset and the services' Last-Modified.
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name_de"]
        constraints = [
            # A leaf (with a parent) belongs to a department; a group has none.
            models.CheckConstraint(
                condition=Q(parent__isnull=True, department__isnull=True)
                | Q(parent__isnull=False, department__isnull=False),
                name="category_leaf_has_department",
            )
        ]

    def __str__(self) -> str:
        return self.name_de

    @property
    def is_leaf(self) -> bool:
        return self.parent_id is not None


class QuestionKind(models.TextChoices):
    TEXT = "text", _("text")
    NUMBER = "number", _("number")
    SINGLE_CHOICE = "single_choice", _("single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("multiple choice")


class CategoryQuestion(models.Model):
    """An extra question of a category, e.g. the number on a streetlight mast."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(_("key"), max_length=40)
    label_de = models.CharField(_("question (German)"), max_length=200)
    label_en = models.CharField(_("question (English)"), max_length=200, blank=True)
    label_tr = models.CharField(_("question (Turkish)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=QuestionKind.choices)
    required = models.BooleanField(_("required"), default=False)
    # For choices: [{"key": "...", "label_de": "...", "label_en": "...", "label_tr": "..."}]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "key"], name="question_key_per_category")]

    def __str__(self) -> str:
        return self.label_de


class District(models.Model):
    """A Stadtteil's polygon (GeoJSON, WGS84), imported with ``manage.py import_districts``."""

    name = models.CharField(_("Stadtteil"), max_length=40, choices=STADTTEIL_CHOICES, unique=True)
    geometry = models.JSONField(_("geometry"))
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Stadtteil boundary")
        verbose_name_plural = _("Stadtteil boundaries")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportStatus(models.TextChoices):
    RECEIVED = "eingegangen", _("received")
    IN_REVIEW = "in_pruefung", _("in review")
    IN_PROGRESS = "in_bearbeitung", _("in progress")
    DONE = "erledigt", _("done")
    REJECTED = "abgelehnt", _("rejected")
    DUPLICATE = "duplikat", _("duplicate")
    NOT_RESPONSIBLE = "nicht_zustaendig", _("not responsible")
    WITHDRAWN = "zurueckgezogen", _("withdrawn")


OPEN_STATUSES = (ReportStatus.RECEIVED, ReportStatus.IN_REVIEW, ReportStatus.IN_PROGRESS)
CLOSED_STATUSES = (
    ReportStatus.DONE,
    ReportStatus.REJECTED,
    ReportStatus.DUPLICATE,
    ReportStatus.NOT_RESPONSIBLE,
    ReportStatus.WITHDRAWN,
)


# What a stored description may hold: Open311 partners may send 4,000 characters (GeoReport v2); the
# app's own form allows 2,000 (reports.api.serializers).
MAX_DESCRIPTION = 4000


class Report(models.Model):
    """A citizen's report of a defect at a place. Contact data and the installation link are private."""

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="reports", verbose_name=_("category")
    )
    description = models.TextField(_("description"), max_length=MAX_DESCRIPTION, blank=True)
    latitude = models.FloatField(_("latitude"), validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(
        _("longitude"), validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    # A link to a photo a partner system (Open311) sent instead of an upload; stored as a link (a copy may
    # become a photo when its host is listed: reports.open311.media).
    media_url = models.URLField(_("media link"), max_length=500, blank=True)
    stadtteil = models.CharField(_("Stadtteil"), max_length=40, choices=STADTTEIL_CHOICES, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.RECEIVED
    )
    # Private: who reported (anonymous installation) and how to reach them, erased after retention.
    installation = models.ForeignKey(
        "push.Installation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    contact_consent = models.BooleanField(_("consent to be contacted"), default=False)
    # Triage
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    forwarded_to = models.CharField(_("responsible authority"), max_length=200, blank=True)
    hidden = models.BooleanField(_("hidden"), default=False)
    support_count = models.PositiveIntegerField(_("supporters"), default=0)
    created_at = models.DateTimeField(_("reported"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # When the report came into the department that has it now: filing, or re-routing. Digests select by it.
    arrived_at = models.DateTimeField(_("in the department since"), default=timezone.now, db_index=True)
    # When the first staff reaction is due (the category's target in working days), fixed at intake.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    contact_erased_at = models.DateTimeField(_("contact data erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="report_idempotency_per_installation",
            ),
        ]
        indexes = [
            models.Index(fields=["latitude", "longitude"]),
            models.Index(fields=["status", "category"]),
            models.Index(fields=["installation", "-created_at"]),
            # The city-hall screen (reports.screen_figures) reads what is current, not the history:
            # the open reports, recent closings and recent first responses.
            models.Index(
                fields=["category", "stadtteil"],
                condition=Q(hidden=False, status__in=OPEN_STATUSES),
                name="report_open_idx",
            ),
            # created_at in both: the medians (time to resolution, to first response) from the index alone.
            models.Index(
                fields=["closed_at", "created_at"],
                condition=Q(hidden=False, status=ReportStatus.DONE),
                name="report_resolved_idx",
            ),
            models.Index(
                fields=["first_response_at", "created_at"],
                condition=Q(hidden=False),
                name="report_first_response_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category}"


class OpenReportCount(models.Model):
    """How many visible open reports each category has in each Stadtteil, for the city-hall screen.

    Kept by triggers on PostgreSQL (migration ``0011_open_report_counts``), in the statement that changes a
    report, whatever writes it (the API, the admin, a bulk ``update()``, SQL): the screen reads a few
    hundred rows instead of counting every open report. The embedded SQLite default counts directly
    (``reports.stats``) and leaves this table empty. The triggers know the open statuses as written in
    that migration: a change of ``OPEN_STATUSES`` needs a migration that replaces them.
    """

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    stadtteil = models.CharField(max_length=40, blank=True)
    open_count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "stadtteil"], name="open_report_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.stadtteil}: {self.open_count}"


def photo_path(photo: ReportPhoto, filename: str) -> str:
    return f"reports/{photo.report_id}/{filename}"


def photo_public_id() -> str:
    # Random: the public URL must not reveal the report or the order of uploads to a guesser.
    return secrets.token_hex(8)


def photo_unknown_content_hash() -> str:
    # For a row stored without its hash (``reports.services`` always sets it): any value unique enough.
    return secrets.token_hex(8)


class ReportPhoto(models.Model):
    """A photo of a report as stored: the processed JPEG and its thumbnail (``reports.photos``).

    Public photos are served at a URL that does not expire (``reports.public_photos``):
    ``/media/reports/photos/<public_id>-<content_hash>.jpg``; removal by moderation ends it at once.
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    public_id = models.CharField(max_length=16, unique=True, default=photo_public_id, editable=False)
    # The first 16 hex digits of the stored JPEG's SHA-256: another picture gets another URL, so the URL
    # may be cached for as long as it is public.
    content_hash = models.CharField(max_length=16, default=photo_unknown_content_hash, editable=False)
    image = models.ImageField(upload_to=photo_path, width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to=photo_path)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    removed = models.BooleanField(_("removed"), default=False)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.position}"


class ReportEvent(models.Model):
    """One entry of a report's history: a status change, a reply, a note, an assignment, a merge."""

    class Kind(models.TextChoices):
        CREATED = "created", _("reported")
        STATUS = "status", _("status changed")
        REPLY = "reply", _("public reply")
        NOTE = "note", _("internal note")
        ASSIGNED = "assigned", _("assigned")
        MERGED = "merged", _("merged")
        SUPPORTED = "supported", _("supported")
        MODERATED = "moderated", _("moderated")
        REROUTED = "rerouted", _("forwarded to another category")
        # A citizen's comment that a partner system (Open311) passed on; their words, for staff only.
        PARTNER_COMMENT = "comment", _("comment via a partner system")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=20, choices=ReportStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ReportStatus.choices, blank=True)
    public_message = models.TextField(_("public message"), max_length=2000, blank=True)
    internal_note = models.TextField(_("internal note"), max_length=4000, blank=True)
    is_public = models.BooleanField(default=False)
    # What a kind needs beyond the fields above; for ``rerouted``: the categories, departments and the
    # answers given to the old category's questions (the report itself keeps only the new category's).
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moderation replaced the public message (the original is not kept, see docs/privacy.md).
    redacted_at = models.DateTimeField(_("redacted"), null=True, blank=True)
    redacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redacted by"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["report", "created_at"]),
            # Forwardings count as first responses (reports.stats): the recent ones, found without a scan.
            models.Index(
                fields=["created_at"],
                condition=Q(kind="rerouted", is_public=True),
                name="reportevent_public_reroute_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind}"


class ReportSupport(models.Model):
    """An installation's "me too" for an open report, once per installation."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="supports")
    installation = models.ForeignKey("push.Installation", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "installation"], name="support_once")]

    def __str__(self) -> str:
        return f"{self.report_id} +1"


class ReplyTemplate(models.Model):
    """A department's prepared public reply ("Textbaustein"), inserted into a report's reply and edited
    there. Its placeholders ({nummer}, {kategorie}) are filled in by ``reports.reply_templates``."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="reply_templates", verbose_name=_("department")
    )
    title = models.CharField(_("title"), max_length=80)
    text = models.TextField(_("text"), max_length=2000)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["department__name", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "title"], name="reply_template_title_per_department"
            )
        ]

    def __str__(self) -> str:
        return self.title


class AlertFrequency(models.TextChoices):
    IMMEDIATE = "immediate", _("an e-mail for every new report")
    HOURLY = "hourly", _("an hourly digest")
    DAILY = "daily", _("a daily digest (working days, 7:30)")
    NONE = "none", _("no e-mails")


class AlertLanguage(models.TextChoices):
    GERMAN = "de", _("German")
    ENGLISH = "en", _("English")


class AlertPreference(models.Model):
    """How a staff member hears of new reports of their departments; chosen by themself.

    Without a row the default applies (``AlertFrequency.DAILY``, German). ``digest_since`` is where the
    first digest after a change of frequency starts, so nothing mailed one way is mailed again the other.
    """

    DEFAULT_FREQUENCY = AlertFrequency.DAILY

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference"
    )
    frequency = models.CharField(
        _("new reports of my departments"),
        max_length=10,
        choices=AlertFrequency.choices,
        default=DEFAULT_FREQUENCY,
    )
    language = models.CharField(
        _("language of the e-mails"), max_length=2, choices=AlertLanguage.choices, default="de"
    )
    digest_since = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("my notifications")
        verbose_name_plural = _("my notifications")

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class IntakeAlert(OutboxMail):
    """One e-mail about one new report to one address (a staff member or a shared inbox).

    Written in the transaction that files (or re-routes) the report, sent by a worker: a lost task or a
    failing mail server leaves the row unsent, and the resend sweep picks it up. Unique per report and
    address, and marked sent under a row lock, so a retried or redelivered task never sends it twice.
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="intake_alerts")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField()
    language = models.CharField(max_length=2, choices=AlertLanguage.choices, default="de")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "email"], name="intake_alert_once")]
        indexes = [models.Index(fields=["sent_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.email}"


class AlertDigest(OutboxMail):
    """One digest of a staff member: the reports that came in from ``window_start`` (exclusive) to
    ``window_end`` (inclusive). The next digest starts where this one ends: no gaps, no duplicates."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10, choices=AlertFrequency.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    report_count = models.PositiveIntegerField(default=0)
    overdue_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "window_end"], name="alert_digest_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.window_start:%Y-%m-%d %H:%M} to {self.window_end:%H:%M}"
