"""App installations: the app's identity on one phone, and the address push messages go to."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casapp.city import STADTTEIL_CHOICES
from casapp.models import Platform
from casapp.outbox import OutboxMail


class PushTokenKind(models.TextChoices):
    # firebase-admin 7.5+ addresses installations by FID and deprecates raw registration tokens.
    REGISTRATION_TOKEN = "registration_token", _("FCM registration token")
    INSTALLATION_ID = "fid", _("Firebase installation id")


class DeactivationReason(models.TextChoices):
    UNREGISTERED = "unregistered", _("token no longer registered")
    SENDER_MISMATCH = "sender_mismatch", _("token belongs to another sender")
    INVALID_TOKEN = "invalid_token", _("token rejected as invalid")


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
    # Unseen for PUSH_STALE_AFTER_DAYS: broadcasts skip it; personal notifications (reminders it asked
    # for) still go. Cleared as soon as the app is used again.
    is_stale = models.BooleanField(_("stale"), default=False)
    stadtteil = models.CharField(_("Stadtteil"), max_length=40, choices=STADTTEIL_CHOICES, blank=True)
    topics = models.ManyToManyField(  # type: ignore[var-annotated]
        "Topic", related_name="installations", blank=True, verbose_name=_("topics")
    )

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


class NotificationKind(models.TextChoices):
    OUTAGE = "outage", _("outage")
    CAMPAIGN = "campaign", _("campaign")
    NEWS = "news", _("news")
    PERSONAL = "personal", _("personal")


BROADCAST_KINDS = (NotificationKind.OUTAGE, NotificationKind.CAMPAIGN, NotificationKind.NEWS)
# The staff group that writes and approves broadcasts (four-eyes: never one's own).
APPROVER_GROUP = "Kommunikation"


class Topic(models.Model):
    """What an installation opted into. Each broadcast kind has its topic (outages: ``stoerungen``)."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=NotificationKind.choices, blank=True)
    name_de = models.CharField(_("name (German)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    name_tr = models.CharField(_("name (Turkish)"), max_length=80, blank=True)
    description_de = models.CharField(_("description (German)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    description_tr = models.CharField(_("description (Turkish)"), max_length=300, blank=True)
    default_subscribed = models.BooleanField(_("subscribed by default"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.name_de


class CategoryOptOut(models.Model):
    """An installation's "no thanks" for one category of personal notifications (e.g. waste reminders)."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="opt_outs")
    category = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["installation", "category"], name="opt_out_once")]

    def __str__(self) -> str:
        return self.category


class NotificationStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    AWAITING_APPROVAL = "awaiting_approval", _("awaiting approval")
    SCHEDULED = "scheduled", _("scheduled")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    PARTLY_FAILED = "partly_failed", _("partly failed")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")
    # Its expiry passed before every installation was reached: the rest were not sent (stale news).
    EXPIRED = "expired", _("expired")


class AudienceKind(models.TextChoices):
    ALL = "all", _("everyone subscribed to the kind's topic")
    TOPICS = "topics", _("subscribers of chosen topics")
    STADTTEILE = "stadtteile", _("installations in chosen Stadtteile")
    INSTALLATIONS = "installations", _("chosen installations")
    TEST = "test", _("the author's test installations")


class Priority(models.TextChoices):
    HIGH = "high", _("high")
    NORMAL = "normal", _("normal")


class OutageState(models.TextChoices):
    ONGOING = "ongoing", _("ongoing")
    RESOLVED = "resolved", _("resolved")


class Notification(models.Model):
    """One message to many installations: an outage alert, a campaign, news, or personal notifications.

    ``content`` maps a language to ``{"title", "body"}``; German is required and the fallback. Personal
    notifications may carry per-installation content on their deliveries instead.
    """

    kind = models.CharField(_("kind"), max_length=10, choices=NotificationKind.choices)
    category = models.CharField(_("category"), max_length=40, blank=True)
    content = models.JSONField(_("content"), default=dict)
    deep_link = models.CharField(_("deep link"), max_length=500, blank=True)
    image_url = models.URLField(_("image URL"), max_length=500, blank=True)
    data = models.JSONField(_("data payload"), default=dict, blank=True)
    audience_kind = models.CharField(_("audience"), max_length=15, choices=AudienceKind.choices)
    audience_topics = models.ManyToManyField(Topic, blank=True, related_name="+", verbose_name=_("topics"))
    audience_stadtteile = models.JSONField(_("Stadtteile"), default=list, blank=True)
    priority = models.CharField(
        _("priority"), max_length=6, choices=Priority.choices, default=Priority.NORMAL
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.DRAFT
    )
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    # Outage threads: updates and the resolution point at the first alert and replace it on lock screens.
    thread = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="updates",
        verbose_name=_("outage"),
    )
    outage_state = models.CharField(_("outage state"), max_length=10, choices=OutageState.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    emergency = models.BooleanField(_("sent without approval (emergency)"), default=False)
    # Why the fast path was taken (required with it): shown in the audit log and the statistics.
    emergency_reason = models.CharField(_("reason for sending without approval"), max_length=500, blank=True)
    needs_review = models.BooleanField(_("needs review"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(_("sending started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("sending finished"), null=True, blank=True)
    # Audience expansion progress: the last installation id written as a delivery (crash-safe resume).
    expansion_cursor = models.UUIDField(null=True, blank=True, editable=False)
    expanded = models.BooleanField(default=False, editable=False)
    # A test send is a copy of the notification sent to its author's test devices only.
    test_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="test_sends", editable=False
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        permissions = [
            ("approve_notification", _("Can approve notifications of others")),
            ("send_emergency_outage", _("Can send an outage alert without approval")),
        ]
        indexes = [
            models.Index(fields=["status", "send_at"]),
            models.Index(fields=["kind", "status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return str(self.content.get("de", {}).get("title", f"#{self.pk}"))

    @property
    def thread_root_id(self) -> int | None:
        return self.thread_id or (self.pk if self.kind == NotificationKind.OUTAGE else None)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    CLAIMED = "claimed", _("being sent")
    ACCEPTED = "accepted", _("accepted by FCM")
    FAILED = "failed", _("failed")
    INBOX_ONLY = "inbox_only", _("inbox only (no push)")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")  # not sent: the notification's expiry passed first


class Delivery(models.Model):
    """The outbox: one row per (notification, installation), the unit of exactly-once sending.

    A worker claims pending rows with a lease; rows whose lease ran out (worker killed) are claimed again,
    so a crash duplicates at most the batch in flight and loses nothing.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    content = models.JSONField(null=True, blank=True)  # per-installation text of personal notifications
    data = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=30, blank=True)
    fcm_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "installation"], name="delivery_once_per_installation"
            )
        ]
        indexes = [
            models.Index(fields=["notification", "status", "id"]),
            models.Index(fields=["installation", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.installation_id}: {self.status}"


class AuditEntry(models.Model):
    """Append-only: who did what to which notification, with the changed fields before and after.

    Entries without a notification record the pairing and unpairing of test devices. On PostgreSQL a
    trigger refuses every UPDATE and DELETE (migrations 0003 and 0007); a notification with entries can
    therefore not be deleted either (``PROTECT``): it is cancelled, and its log outlives it.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=30)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


# Test sends go to at most this many phones per staff member: a test is not a way around approval.
MAX_TEST_DEVICES = 5
PAIRING_CODE_VALID_MINUTES = 10


class StaffDevice(models.Model):
    """A staff member's own phone, for test sends before a notification goes to everyone.

    Created only by pairing (the app sends a one-time code the workspace showed its owner). Rows from
    before pairing existed have no ``paired_at`` and receive no test sends until paired again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_test_devices"
    )
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(_("label"), max_length=80, blank=True)
    paired_at = models.DateTimeField(_("paired"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("test device")
        verbose_name_plural = _("test devices")
        constraints = [models.UniqueConstraint(fields=["user", "installation"], name="staff_device_once")]

    def __str__(self) -> str:
        return self.label or str(self.installation_id)


class PairingCode(models.Model):
    """A one-time code that pairs the phone whose app sends it as its owner's test device.

    Only the SHA-256 hash is stored; the code is shown once in the workspace.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pairing code")
        verbose_name_plural = _("pairing codes")

    def __str__(self) -> str:
        return f"{self.user_id} {self.expires_at:%Y-%m-%d %H:%M}"


class WorkflowMail(OutboxMail):
    """An e-mail about a step of the four-eyes workflow, recorded in the step's transaction and sent by
    a worker after commit: to the colleagues who may approve, or to the author (approved, rejected, the
    send finished). Sent at most once (marked under a row lock); an unsent row keeps its last error and
    is retried by the sweep."""

    audit_entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        verbose_name = _("workflow e-mail")
        verbose_name_plural = _("workflow e-mails")
        constraints = [models.UniqueConstraint(fields=["audit_entry", "email"], name="workflow_mail_once")]
        indexes = [models.Index(fields=["sent_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.email}: {self.subject}"


def _push_image_path(instance: PushImage, filename: str) -> str:
    return f"push/images/{instance.pk}.jpg"


class PushImage(models.Model):
    """A picture uploaded in the workspace for push messages, kept to be chosen again.

    Stored through the storage backend (local files, or S3 with django-storages) as a JPEG that FCM
    accepts (≤ ``PUSH_IMAGE_MAX_BYTES``, metadata stripped), and served by us at a URL that names its
    id and never changes or expires (``push.public_urls``), whatever the backend signs.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to=_push_image_path, editable=False)
    name = models.CharField(_("name"), max_length=120)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    size_bytes = models.PositiveIntegerField(editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("push image")
        verbose_name_plural = _("push images")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.width} x {self.height})"


# Mitmach-Aktionen (campaigns people take part in with photos) are declared in a module of their own and
# registered with the app here, where Django looks for models.
from push.participation import models as participation_models  # noqa: E402, F401
