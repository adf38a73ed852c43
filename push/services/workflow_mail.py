"""E-mails of the four-eyes workflow: the colleagues who may approve hear that something waits for them;
the author hears of the approval, of a rejection (with its reason) and of the finished send (its figures).

As the Mängelmelder's intake alerts: each step writes its ``WorkflowMail`` rows in its own transaction and a
worker sends them after commit through Django's mail framework. A refused e-mail keeps its row unsent with
the error; the task retries with backoff and a periodic sweep sends what is left, each row marked sent under
a row lock, so none is lost or sent twice. The e-mails are German and name times in Berlin time; they carry
the notification's text (public anyway once sent) and a link into the workspace, nothing about citizens.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from push.models import (
    APPROVER_GROUP,
    BROADCAST_KINDS,
    AuditEntry,
    Notification,
    NotificationStatus,
    WorkflowMail,
)

logger = logging.getLogger("push.workflow_mail")

BERLIN = ZoneInfo("Europe/Berlin")
MAIL_LANGUAGE = "de"  # the city's staff language
BODY_PREVIEW = 300
RESEND_AFTER = dt.timedelta(minutes=10)
RESEND_GIVE_UP = dt.timedelta(days=2)
DELIVERY_ERRORS: tuple[type[Exception], ...] = (smtplib.SMTPException, OSError)


class WorkflowMailFailed(Exception):
    """At least one e-mail could not be handed to the mail server; its row stays unsent."""


def berlin_time(value: dt.datetime) -> str:
    return f"{timezone.localtime(value, BERLIN):%d.%m.%Y %H:%M}"


def person_name(user: Any) -> str:
    if user is None:
        return _("the system")
    return str(user.get_full_name() or user.get_username())


def _title(notification: Notification) -> str:
    return str(notification.content.get("de", {}).get("title", "")) or f"#{notification.pk}"


def _workspace_link(notification: Notification) -> str:
    path = reverse("admin:push_notification_change", args=[notification.pk])
    return f"{settings.WORKSPACE_BASE_URL.rstrip('/')}{path}"


def _text_lines(notification: Notification) -> list[str]:
    body = " ".join(str(notification.content.get("de", {}).get("body", "")).split())
    if len(body) > BODY_PREVIEW:
        body = body[: BODY_PREVIEW - 1].rstrip() + "…"
    when = (
        _("at %(time)s (Berlin time)") % {"time": berlin_time(notification.send_at)}
        if notification.send_at
        else _("as soon as it is approved")
    )
    return [
        _("Kind: %(kind)s") % {"kind": notification.get_kind_display()},
        _("Title: %(title)s") % {"title": _title(notification)},
        _("Text: %(body)s") % {"body": body},
        _("Audience: %(audience)s") % {"audience": notification.get_audience_kind_display()},
        _("Sending: %(when)s") % {"when": when},
    ]


def _queue(entry: AuditEntry, recipients: Iterable[User], subject: str, lines: list[str]) -> int:
    """Records one e-mail per address (an address that already got this step is skipped) and sends them
    after commit. Returns the number recorded."""
    body = "\n".join(lines)
    rows: dict[str, WorkflowMail] = {}
    for user in recipients:
        email = (user.email or "").strip().lower()
        if user.is_active and email:
            rows.setdefault(
                email,
                WorkflowMail(audit_entry=entry, recipient=user, email=email, subject=subject, body=body),
            )
    WorkflowMail.objects.bulk_create(rows.values(), ignore_conflicts=True)
    if rows:
        from push.tasks import send_workflow_mails

        # robust: whatever happens to the queueing, the step is done and the rows wait for the sweep.
        transaction.on_commit(lambda: send_workflow_mails.delay(entry.pk), robust=True)
    return len(rows)


def approvers_to_tell(notification: Notification, *, besides: Iterable[Any] = ()) -> list[User]:
    """Every active member of Kommunikation who may approve ``notification``: not its author, nor whoever
    else is named in ``besides`` (the one who submitted it)."""
    excluded = {notification.created_by_id, *(getattr(user, "pk", None) for user in besides)}
    members = (
        User.objects.filter(is_active=True, is_staff=True, groups__name=APPROVER_GROUP)
        .exclude(pk__in=[pk for pk in excluded if pk is not None])
        .distinct()
        .order_by("pk")
    )
    return [member for member in members if member.has_perm("push.approve_notification")]


def mail_approval_requested(*, notification: Notification, entry: AuditEntry) -> int:
    with translation.override(MAIL_LANGUAGE):
        subject = _("Waiting for your approval: “%(title)s”") % {"title": _title(notification)}
        lines = [
            _("%(person)s asks for a second pair of eyes on this notification (submitted %(time)s):")
            % {"person": person_name(entry.actor), "time": berlin_time(entry.at)},
            "",
            *_text_lines(notification),
            "",
            _("Approve or reject it here: %(link)s") % {"link": _workspace_link(notification)},
            "",
            _("You get this e-mail as a member of Kommunikation who may approve notifications."),
        ]
    return _queue(entry, approvers_to_tell(notification, besides=[entry.actor]), subject, lines)


def _author_of(notification: Notification, entry: AuditEntry) -> list[User]:
    author = notification.created_by
    if author is None or author.pk == entry.actor_id:
        return []  # nobody to tell, or the author did it themself (fast path)
    return [author]


def mail_approved(*, notification: Notification, entry: AuditEntry) -> int:
    with translation.override(MAIL_LANGUAGE):
        subject = _("Approved: “%(title)s”") % {"title": _title(notification)}
        when = (
            _("It will be sent at %(time)s (Berlin time).") % {"time": berlin_time(notification.send_at)}
            if notification.send_at and notification.send_at > entry.at
            else _("It is being sent now; you will get the figures when the send is finished.")
        )
        lines = [
            _("%(person)s approved your notification at %(time)s.")
            % {"person": person_name(entry.actor), "time": berlin_time(entry.at)},
            when,
            "",
            *_text_lines(notification),
            "",
            _("In the workspace: %(link)s") % {"link": _workspace_link(notification)},
        ]
    return _queue(entry, _author_of(notification, entry), subject, lines)


def mail_rejected(*, notification: Notification, entry: AuditEntry, reason: str) -> int:
    with translation.override(MAIL_LANGUAGE):
        subject = _("Rejected: “%(title)s”") % {"title": _title(notification)}
        lines = [
            _("%(person)s rejected your notification at %(time)s.")
            % {"person": person_name(entry.actor), "time": berlin_time(entry.at)},
            _("Reason: %(reason)s") % {"reason": reason},
            "",
            _("It is a draft again: change it and submit it once more, or cancel it."),
            "",
            *_text_lines(notification),
            "",
            _("In the workspace: %(link)s") % {"link": _workspace_link(notification)},
        ]
    return _queue(entry, _author_of(notification, entry), subject, lines)


# What the author's e-mail about a finished send lists, in this order (keys of notification_statistics).
FIGURES = (
    ("targeted", gettext_noop("Installations targeted: %(n)d")),
    ("accepted", gettext_noop("Accepted by FCM: %(n)d")),
    ("inbox_only", gettext_noop("Inbox only (push switched off): %(n)d")),
    ("failed", gettext_noop("Failed: %(n)d")),
    ("deactivated", gettext_noop("Of these, push switched off (dead token): %(n)d")),
    ("expired", gettext_noop("Not sent, expired: %(n)d")),
    ("cancelled", gettext_noop("Not sent, cancelled: %(n)d")),
)


def notification_send_finished(*, notification: Notification, status: str) -> AuditEntry | None:
    """Records the end of a broadcast's send in its audit log with its figures and tells the author.

    Call it in the transaction that moved the notification out of ``sending``, once. Personal
    notifications and test sends (no audit log of their own) are left alone."""
    from push.selectors import notification_statistics

    if notification.kind not in BROADCAST_KINDS or notification.test_of_id is not None:
        return None
    figures = notification_statistics(notification)
    changes: dict[str, Any] = {"status": [NotificationStatus.SENDING, status]}
    changes.update({key: figures[key] for key, _text in FIGURES})
    entry = AuditEntry.objects.create(
        notification=notification, actor=None, action="sending_finished", changes=changes
    )
    author = notification.created_by
    if author is None:
        return entry
    with translation.override(MAIL_LANGUAGE):
        subject = _("Sent (%(status)s): “%(title)s”, %(accepted)d of %(targeted)d installations") % {
            "status": NotificationStatus(status).label,
            "title": _title(notification),
            "accepted": figures["accepted"],
            "targeted": figures["targeted"],
        }
        lines = [
            _("The send of your notification finished at %(time)s: %(status)s.")
            % {"time": berlin_time(entry.at), "status": NotificationStatus(status).label},
            "",
            *[_(text) % {"n": figures[key]} for key, text in FIGURES],
        ]
        if notification.emergency:
            lines += [
                "",
                _("Sent without a second approval (outage fast path), reason: %(reason)s")
                % {"reason": notification.emergency_reason or "-"},
            ]
        if notification.failure_reason:
            lines += ["", _("Stopped because: %(reason)s") % {"reason": notification.failure_reason}]
        lines += [
            "",
            _("Statistics and audit log: %(link)s") % {"link": _workspace_link(notification)},
        ]
    _queue(entry, [author], subject, lines)
    return entry


# --- Sending


def workflow_mails_send(*, audit_entry_id: int) -> int:
    """Sends the unsent e-mails of one workflow step, each under a row lock and marked sent in the same
    transaction. Raises ``WorkflowMailFailed`` when the mail server refused one (after trying all)."""
    sent = 0
    failure: Exception | None = None
    pending = WorkflowMail.objects.filter(audit_entry_id=audit_entry_id, sent_at__isnull=True)
    for mail_id in pending.order_by("pk").values_list("pk", flat=True):
        try:
            with transaction.atomic():
                mail = (
                    WorkflowMail.objects.select_for_update(skip_locked=True)
                    .filter(pk=mail_id, sent_at__isnull=True)
                    .first()
                )
                if mail is None:
                    continue  # sent meanwhile, or another worker is sending it right now
                EmailMessage(subject=mail.subject, body=mail.body, to=[mail.email]).send()
                mail.sent_at = timezone.now()
                mail.attempts += 1
                mail.save(update_fields=["sent_at", "attempts"])
                sent += 1
        except DELIVERY_ERRORS as error:
            text = f"{type(error).__name__}: {error}"[:500]
            WorkflowMail.objects.filter(pk=mail_id).update(attempts=F("attempts") + 1, last_error=text)
            logger.warning("workflow e-mail %s not delivered: %s", mail_id, text)
            failure = error
    if failure is not None:
        raise WorkflowMailFailed(f"{type(failure).__name__}: {failure}"[:500]) from failure
    return sent


def workflow_mails_resend_pending(*, now: dt.datetime | None = None) -> int:
    """The sweep: sends e-mails left unsent (mail server down longer than the task's retries, a task lost
    with its broker). Returns the number sent now."""
    now = now or timezone.now()
    entries = (
        WorkflowMail.objects.filter(
            sent_at__isnull=True, created_at__lte=now - RESEND_AFTER, created_at__gt=now - RESEND_GIVE_UP
        )
        .values_list("audit_entry_id", flat=True)
        .distinct()
    )
    sent = 0
    for entry_id in list(entries):
        try:
            sent += workflow_mails_send(audit_entry_id=entry_id)
        except WorkflowMailFailed:
            continue  # recorded on the rows; the next sweep tries again
    return sent
