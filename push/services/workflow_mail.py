"""E-mails of the four-eyes workflow: the colleagues who may approve hear that something waits for them;
the author hears of the approval, of a rejection (with its reason) and of the finished send (its figures).

Through the staff e-mail outbox (``casapp.outbox``), as the Mängelmelder's intake alerts: each step writes
its ``WorkflowMail`` rows in its own transaction and a worker sends them after commit; a refused e-mail is
retried with backoff and by the sweep, none is lost or sent twice. The e-mails are German and name times
in Berlin time; they carry the notification's text (public anyway once sent) and a link into the
workspace, nothing about citizens.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from casapp.outbox import Outbox, berlin_time, text_preview, workspace_link
from push.models import (
    APPROVER_GROUP,
    BROADCAST_KINDS,
    AuditEntry,
    Notification,
    NotificationStatus,
    WorkflowMail,
)

logger = logging.getLogger("push.workflow_mail")

MAIL_LANGUAGE = "de"  # the city's staff language
BODY_PREVIEW = 300


def person_name(user: Any) -> str:
    if user is None:
        return _("the system")
    return str(user.get_full_name() or user.get_username())


def _title(notification: Notification) -> str:
    return str(notification.content.get("de", {}).get("title", "")) or f"#{notification.pk}"


def _workspace_link(notification: Notification) -> str:
    return workspace_link(reverse("admin:push_notification_change", args=[notification.pk]))


def _text_lines(notification: Notification) -> list[str]:
    body = text_preview(str(notification.content.get("de", {}).get("body", "")), BODY_PREVIEW)
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
    from push.tasks import send_workflow_mails

    return WORKFLOW_MAILS.queue(rows.values(), task=send_workflow_mails, key=entry.pk)


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


def _workflow_message(mail: WorkflowMail) -> EmailMessage:
    return EmailMessage(subject=mail.subject, body=mail.body, to=[mail.email])


WORKFLOW_MAILS = Outbox(
    WorkflowMail, step="audit_entry_id", message=_workflow_message, what="workflow e-mail", logger=logger
)


def workflow_mails_send(*, audit_entry_id: int) -> int:
    """Sends the unsent e-mails of one workflow step, each at most once (``casapp.outbox``). Raises
    ``MailDeliveryFailed`` when the mail server refused one (after trying all)."""
    return WORKFLOW_MAILS.send(audit_entry_id)


def workflow_mails_resend_pending(*, now: dt.datetime | None = None) -> int:
    """The sweep: sends e-mails left unsent (mail server down longer than the task's retries, a task lost
    with its broker). Returns the number sent now."""
    return WORKFLOW_MAILS.resend_pending(now=now)
