"""The staff workflow of outage alerts, campaigns and news.

draft → awaiting approval → scheduled → sending → sent / partly failed / failed; cancelled before sending.
Four-eyes: a second member of ``Kommunikation`` approves, never the author. An outage may go out alone
with the emergency permission; it is then flagged for review. Every step is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.city import STADTTEILE
from casapp.errors import Conflict, DomainError, Forbidden
from push.links import deep_link_validate
from push.models import (
    APPROVER_GROUP,
    AudienceKind,
    AuditEntry,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutageState,
    Priority,
    StaffDevice,
    Topic,
)
from push.selectors import notification_audience
from push.services import workflow_mail
from push.services.delivery import notification_start
from push.validation import validate_content, validate_data, validate_payload_size

EDITABLE_FIELDS = (
    "content",
    "deep_link",
    "image_url",
    "data",
    "audience_kind",
    "audience_stadtteile",
    "priority",
    "send_at",
    "expires_at",
)
STAFF_AUDIENCES = (AudienceKind.ALL, AudienceKind.TOPICS, AudienceKind.STADTTEILE)
EDITABLE_STATUSES = (NotificationStatus.DRAFT, NotificationStatus.AWAITING_APPROVAL)
CANCELLABLE_STATUSES = (*EDITABLE_STATUSES, NotificationStatus.SCHEDULED)
REASON_MAX_LENGTH = 500

__all__ = ["APPROVER_GROUP"]  # re-exported: the group's name lives with the models


def _audit(
    notification: Notification, actor: Any, action: str, changes: dict[str, Any] | None = None
) -> AuditEntry:
    return AuditEntry.objects.create(
        notification=notification, actor=actor, action=action, changes=changes or {}
    )


def _reason(reason: str | None, *, missing: Any) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise DomainError(missing, code="reason_required", field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise DomainError(
            _("At most %(n)d characters.") % {"n": REASON_MAX_LENGTH}, code="reason_too_long", field="reason"
        )
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _validate(notification: Notification, topics: list[Topic] | None) -> None:
    validate_content(notification.content)
    validate_data(notification.data)
    validate_payload_size(
        content=notification.content,
        data=notification.data,
        image_url=notification.image_url,
        deep_link=notification.deep_link,
    )
    if notification.kind == NotificationKind.PERSONAL:
        raise DomainError(
            _("Personal notifications are sent by the apps, not by staff."), code="invalid_kind"
        )
    if notification.audience_kind not in STAFF_AUDIENCES:
        raise DomainError(
            _("Choose everyone, topics or Stadtteile."), code="invalid_audience", field="audience_kind"
        )
    if notification.audience_kind == AudienceKind.TOPICS and not topics:
        raise DomainError(_("Choose at least one topic."), code="invalid_audience", field="audience_topics")
    if notification.audience_kind == AudienceKind.STADTTEILE:
        chosen = notification.audience_stadtteile
        if not chosen or not isinstance(chosen, list) or set(chosen) - set(STADTTEILE):
            raise DomainError(
                _("Choose known Stadtteile."), code="invalid_audience", field="audience_stadtteile"
            )
    now = timezone.now()
    if notification.send_at and notification.send_at < now - timedelta(minutes=1):
        raise DomainError(_("The send time lies in the past."), code="send_at_in_past", field="send_at")
    if notification.expires_at and notification.expires_at <= (notification.send_at or now):
        raise DomainError(
            _("It must expire after it is sent."), code="expires_before_send", field="expires_at"
        )
    if notification.thread_id and notification.kind != NotificationKind.OUTAGE:
        raise DomainError(_("Only outages have updates."), code="invalid_thread", field="thread")


@transaction.atomic
def notification_create(
    *,
    author: User,
    kind: str,
    content: dict[str, dict[str, str]],
    audience_kind: str = AudienceKind.ALL,
    audience_topics: list[Topic] | None = None,
    audience_stadtteile: list[str] | None = None,
    deep_link: str = "",
    image_url: str = "",
    data: dict[str, str] | None = None,
    priority: str | None = None,
    send_at: datetime | None = None,
    expires_at: datetime | None = None,
    thread: Notification | None = None,
    resolves: bool = False,
) -> Notification:
    """Creates a draft. An outage gets high priority unless told otherwise; an update of an outage
    (``thread``) replaces the previous alert on lock screens; ``resolves`` marks the resolution."""
    if thread is not None:
        if thread.kind != NotificationKind.OUTAGE or thread.thread_id is not None:
            raise DomainError(
                _("Updates belong to the first alert of an outage."), code="invalid_thread", field="thread"
            )
        if thread.outage_state == OutageState.RESOLVED:
            raise Conflict(_("This outage is already resolved."), code="outage_resolved")
    deep_link_validate(deep_link)
    notification = Notification(
        kind=kind,
        content=content,
        audience_kind=audience_kind,
        audience_stadtteile=audience_stadtteile or [],
        deep_link=deep_link,
        image_url=image_url,
        data=data or {},
        priority=priority or (Priority.HIGH if kind == NotificationKind.OUTAGE else Priority.NORMAL),
        send_at=send_at,
        expires_at=expires_at,
        thread=thread,
        created_by=author,
    )
    if kind == NotificationKind.OUTAGE:
        notification.outage_state = OutageState.RESOLVED if resolves else OutageState.ONGOING
    _validate(notification, audience_topics)
    notification.save()
    if audience_topics:
        notification.audience_topics.set(audience_topics)
    _audit(
        notification,
        author,
        "created",
        {k: [None, _jsonable(getattr(notification, k))] for k in EDITABLE_FIELDS},
    )
    return notification


@transaction.atomic
def notification_update(
    *, notification: Notification, actor: User, topics: list[Topic] | None = None, **changes: Any
) -> Notification:
    """Edits a draft or a notification awaiting approval; an approval request goes back to draft."""
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    if notification.status not in EDITABLE_STATUSES:
        raise Conflict(_("Only drafts can be changed."), code="not_editable")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))})
    if "deep_link" in changes and changes["deep_link"] != notification.deep_link:
        # Only a new link must come from the catalogue: one stored as free text before stays as it is.
        deep_link_validate(changes["deep_link"])
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        before = getattr(notification, name)
        if before != value:
            diff[name] = [_jsonable(before), _jsonable(value)]
            setattr(notification, name, value)
    current_topics = list(notification.audience_topics.all())
    if topics is not None and {t.pk for t in topics} != {t.pk for t in current_topics}:
        diff["audience_topics"] = [[t.key for t in current_topics], [t.key for t in topics]]
    _validate(notification, topics if topics is not None else current_topics)
    if notification.status == NotificationStatus.AWAITING_APPROVAL and diff:
        notification.status = NotificationStatus.DRAFT
        diff["status"] = [NotificationStatus.AWAITING_APPROVAL, NotificationStatus.DRAFT]
    notification.save()
    if topics is not None:
        notification.audience_topics.set(topics)
    if diff:
        _audit(notification, actor, "updated", diff)
    return notification


def _require_audience(notification: Notification) -> None:
    """Nothing is submitted, approved or sent that would reach no installation (the same count as the
    audience estimate shown in the workspace and the staff API)."""
    if notification_audience(notification).total == 0:
        raise DomainError(
            _(
                "This notification would reach no installation: none active in the last %(days)d days "
                "has subscribed to its topic (in the chosen Stadtteile). Choose another audience."
            )
            % {"days": settings.PUSH_STALE_AFTER_DAYS},
            code="empty_audience",
            field="audience_kind",
        )


def _transition(notification: Notification, *, allowed: tuple[str, ...], to: str) -> Notification:
    locked = Notification.objects.select_for_update().get(pk=notification.pk)
    if locked.status not in allowed:
        raise Conflict(
            _("Not possible while the notification is %(status)s.") % {"status": locked.get_status_display()},
            code="invalid_transition",
        )
    locked.status = to
    return locked


@transaction.atomic
def notification_request_approval(*, notification: Notification, actor: User) -> Notification:
    locked = _transition(
        notification, allowed=(NotificationStatus.DRAFT,), to=NotificationStatus.AWAITING_APPROVAL
    )
    _validate(locked, list(locked.audience_topics.all()))
    _require_audience(locked)
    locked.save(update_fields=["status", "updated_at"])
    entry = _audit(locked, actor, "approval_requested", {"status": [NotificationStatus.DRAFT, locked.status]})
    workflow_mail.mail_approval_requested(notification=locked, entry=entry)
    return locked


def can_approve(user: Any) -> bool:
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or user.groups.filter(name=APPROVER_GROUP).exists())
        and user.has_perm("push.approve_notification")
    )


def wrote_it(notification: Notification, user: Any) -> bool:
    """Whether ``user`` wrote or changed the text: then they are not the second pair of eyes."""
    if notification.created_by_id == user.pk:
        return True
    return AuditEntry.objects.filter(
        notification_id=notification.pk, actor_id=user.pk, action__in=["created", "updated"]
    ).exists()


def _second_pair_of_eyes(locked: Notification, user: User) -> None:
    if not can_approve(user):
        raise Forbidden(_("Only members of Kommunikation may approve."), code="not_an_approver")
    if wrote_it(locked, user):
        raise Forbidden(_("A second person must approve what you wrote."), code="four_eyes")


@transaction.atomic
def notification_approve(*, notification: Notification, approver: User) -> Notification:
    """Second pair of eyes: schedules the notification, or starts it when its time has come. The author
    is told by e-mail."""
    if not can_approve(approver):
        raise Forbidden(_("Only members of Kommunikation may approve."), code="not_an_approver")
    locked = _transition(
        notification, allowed=(NotificationStatus.AWAITING_APPROVAL,), to=NotificationStatus.SCHEDULED
    )
    _second_pair_of_eyes(locked, approver)
    _require_audience(locked)
    locked.approved_by, locked.approved_at = approver, timezone.now()
    locked.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    entry = _audit(
        locked, approver, "approved", {"status": [NotificationStatus.AWAITING_APPROVAL, locked.status]}
    )
    workflow_mail.mail_approved(notification=locked, entry=entry)
    if locked.send_at is None or locked.send_at <= timezone.now():
        _start(locked, approver)
    return locked


@transaction.atomic
def notification_reject(*, notification: Notification, reviewer: User, reason: str) -> Notification:
    """Second pair of eyes says no: the notification goes back to draft with the reason in the audit log,
    and the author is told by e-mail. The same people as for approving; a reason is required."""
    text = _reason(reason, missing=_("Say why you reject it: the author reads it."))
    if not can_approve(reviewer):
        raise Forbidden(_("Only members of Kommunikation may approve."), code="not_an_approver")
    locked = _transition(
        notification, allowed=(NotificationStatus.AWAITING_APPROVAL,), to=NotificationStatus.DRAFT
    )
    _second_pair_of_eyes(locked, reviewer)
    locked.save(update_fields=["status", "updated_at"])
    entry = _audit(
        locked,
        reviewer,
        "rejected",
        {"status": [NotificationStatus.AWAITING_APPROVAL, locked.status], "reason": text},
    )
    workflow_mail.mail_rejected(notification=locked, entry=entry, reason=text)
    return locked


@transaction.atomic
def notification_send_emergency(*, notification: Notification, actor: User, reason: str) -> Notification:
    """An outage alert sent alone, now, by someone holding the emergency permission, with a reason (the
    fast path for outages: "Senden ohne zweite Freigabe"); flagged for review, the reason is kept on the
    notification and in the audit log."""
    if notification.kind != NotificationKind.OUTAGE:
        raise DomainError(_("Only outage alerts can be sent without approval."), code="not_an_outage")
    if not actor.has_perm("push.send_emergency_outage"):
        raise Forbidden(_("You lack the emergency permission."), code="no_emergency_permission")
    locked = _transition(
        notification,
        allowed=(NotificationStatus.DRAFT, NotificationStatus.AWAITING_APPROVAL),
        to=NotificationStatus.SCHEDULED,
    )
    text = _reason(reason, missing=_("Say why it cannot wait for a second approval."))
    _validate(locked, list(locked.audience_topics.all()))
    before = Notification.objects.values_list("status", flat=True).get(pk=locked.pk)
    _require_audience(locked)
    locked.emergency, locked.needs_review, locked.send_at = True, True, None
    locked.emergency_reason = text
    locked.approved_by, locked.approved_at = actor, timezone.now()
    locked.save()
    _audit(locked, actor, "emergency_send", {"status": [before, locked.status], "reason": text})
    _start(locked, actor)
    return locked


def _start(notification: Notification, actor: Any) -> None:
    notification_start(notification=notification)  # also moves an outage's thread to its new state
    _audit(
        notification,
        actor,
        "sending_started",
        {"status": [NotificationStatus.SCHEDULED, NotificationStatus.SENDING]},
    )


@transaction.atomic
def notification_cancel(*, notification: Notification, actor: User) -> Notification:
    before = notification.status
    locked = _transition(notification, allowed=CANCELLABLE_STATUSES, to=NotificationStatus.CANCELLED)
    locked.save(update_fields=["status", "updated_at"])
    _audit(locked, actor, "cancelled", {"status": [before, locked.status]})
    return locked


@transaction.atomic
def notification_review(*, notification: Notification, reviewer: User) -> Notification:
    """Closes the review of an emergency send: by someone who neither sent it nor wrote it, once (the row
    is locked, so two colleagues reviewing at the same moment record one review)."""
    locked = Notification.objects.select_for_update(of=("self",)).get(pk=notification.pk)
    if not locked.needs_review:
        raise Conflict(_("Nothing to review."), code="no_review_pending")
    if not can_approve(reviewer) or locked.approved_by_id == reviewer.pk or wrote_it(locked, reviewer):
        raise Forbidden(_("Another member of Kommunikation must review."), code="four_eyes")
    locked.needs_review = False
    locked.save(update_fields=["needs_review", "updated_at"])
    _audit(locked, reviewer, "reviewed", {"needs_review": [True, False]})
    notification.needs_review = False
    return locked


TEST_TITLE_PREFIX = "[TEST] "


def _marked_as_test(content: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {
        language: {**text, "title": TEST_TITLE_PREFIX + text.get("title", "")}
        for language, text in content.items()
    }


@transaction.atomic
def notification_send_test(*, notification: Notification, actor: User) -> Notification:
    """Sends a copy titled "[TEST]" to the actor's paired test devices (at most ``MAX_TEST_DEVICES``),
    at any stage, without approval. The copy is its own notification: the original's figures never
    count it."""
    if not StaffDevice.objects.filter(user_id=actor.pk, paired_at__isnull=False).exists():
        raise DomainError(
            _('Pair your phone first: "Pair my phone" under test devices in the workspace.'),
            code="no_staff_device",
        )
    validate_content(notification.content)
    test = Notification.objects.create(
        kind=notification.kind,
        content=_marked_as_test(notification.content),
        deep_link=notification.deep_link,
        image_url=notification.image_url,
        data=notification.data,
        priority=notification.priority,
        audience_kind=AudienceKind.TEST,
        status=NotificationStatus.SCHEDULED,
        created_by=actor,
        test_of=notification,
    )
    _audit(notification, actor, "test_sent", {"test_notification": [None, test.pk]})
    notification_start(notification=test)
    return test


# What the workspace offers on a notification's page; the services above enforce the same rules again.
WORKFLOW_ACTIONS = (
    "request_approval",
    "approve",
    "reject",
    "cancel",
    "send_test",
    "send_emergency",
    "review",
)


def workflow_actions_allowed(*, notification: Notification, user: Any) -> set[str]:
    """The workflow steps ``user`` may take on ``notification`` now: submit a draft, approve or reject
    (another member of Kommunikation than whoever wrote it), cancel before sending, send a test to their
    own paired phones, send an outage without approval (with the permission), review such a send."""
    allowed: set[str] = set()
    if not (user.is_active and user.is_staff):
        return allowed
    status = notification.status
    may_change = user.has_perm("push.change_notification")
    if may_change and status == NotificationStatus.DRAFT:
        allowed.add("request_approval")
    if (
        status == NotificationStatus.AWAITING_APPROVAL
        and can_approve(user)
        and not wrote_it(notification, user)
    ):
        allowed |= {"approve", "reject"}
    if may_change and status in CANCELLABLE_STATUSES:
        allowed.add("cancel")
    if may_change and StaffDevice.objects.filter(user_id=user.pk, paired_at__isnull=False).exists():
        allowed.add("send_test")
    if (
        notification.kind == NotificationKind.OUTAGE
        and status in EDITABLE_STATUSES
        and user.has_perm("push.send_emergency_outage")
    ):
        allowed.add("send_emergency")
    if notification.needs_review and can_approve(user) and notification.approved_by_id != user.pk:
        allowed.add("review")
    return allowed
