"""The four-eyes workflow on a notification's own page in the workspace.

Buttons "Zur Freigabe vorlegen", "Freigeben", "Ablehnen" (with a reason), "Abbrechen", "Test an meine
Geräte", and for outages "Senden ohne zweite Freigabe" (with a reason) and the review of such a send. The
page shows only what the signed-in person may do now (``workflow_actions_allowed``); each button posts to
its own URL, whose view calls one service, and the service checks the person and the state again, so a
forged or stale page changes nothing it should not. The panel sits above the form
(``admin/push/notification/workflow_panel.html``), apart from the fields of the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.errors import DomainError
from push import services
from push.admin_audit import action_label, actor_name, berlin, readable_changes
from push.models import AuditEntry, Notification, NotificationKind, StaffDevice
from push.selectors import notifications_for_staff
from push.services.notifications import WORKFLOW_ACTIONS

Step = Callable[[Notification, User, str], Any]

# action: (service call, message on success)
STEPS: dict[str, tuple[Step, StrOrPromise]] = {
    "request_approval": (
        lambda n, user, reason: services.notification_request_approval(notification=n, actor=user),
        _("Submitted for approval. The colleagues in Kommunikation who may approve it are told by e-mail."),
    ),
    "approve": (
        lambda n, user, reason: services.notification_approve(notification=n, approver=user),
        _("Approved. The author is told by e-mail."),
    ),
    "reject": (
        lambda n, user, reason: services.notification_reject(notification=n, reviewer=user, reason=reason),
        _("Rejected: it is a draft again. The author is told by e-mail, with your reason."),
    ),
    "cancel": (
        lambda n, user, reason: services.notification_cancel(notification=n, actor=user),
        _("Cancelled: it will not be sent."),
    ),
    "send_test": (
        lambda n, user, reason: services.notification_send_test(notification=n, actor=user),
        _("Test sent to your paired phones, titled “[TEST]”."),
    ),
    "send_emergency": (
        lambda n, user, reason: services.notification_send_emergency(
            notification=n, actor=user, reason=reason
        ),
        _("Sent without a second approval. A colleague must review it."),
    ),
    "review": (
        lambda n, user, reason: services.notification_review(notification=n, reviewer=user),
        _("Marked as reviewed."),
    ),
}
# Steps whose service checks the person itself; the others need the right to change notifications.
CHECKED_BY_SERVICE = {"approve", "reject", "send_emergency", "review"}
assert set(STEPS) == set(WORKFLOW_ACTIONS)  # noqa: S101  (a step without a button, or the reverse)


class NotificationWorkflowMixin:
    """For ``NotificationAdmin``: the workflow panel on the change page and the URLs its buttons post to."""

    admin_site: Any

    def get_urls(self) -> list[URLPattern]:
        step = path(
            "<int:object_id>/workflow/<str:action>/",
            self.admin_site.admin_view(self.workflow_view),
            name="push_notification_workflow",
        )
        return [step, *super().get_urls()]  # type: ignore[misc]

    def workflow_view(self, request: Any, object_id: int, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in STEPS:
            raise Http404
        notification = notifications_for_staff().filter(pk=object_id).first()
        if notification is None:
            raise Http404
        if not self.has_view_permission(request, notification):  # type: ignore[attr-defined]
            raise PermissionDenied
        if action not in CHECKED_BY_SERVICE and not request.user.has_perm("push.change_notification"):
            raise PermissionDenied
        call, done = STEPS[action]
        try:
            call(notification, request.user, request.POST.get("reason", ""))
        except DomainError as error:
            messages.error(request, str(error.detail))
        else:
            messages.success(request, str(done))
        return HttpResponseRedirect(reverse("admin:push_notification_change", args=[notification.pk]))

    def change_view(
        self, request: Any, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> Any:
        notification = notifications_for_staff(with_audit_log=True).filter(pk=object_id).first()
        extra: dict[str, Any] = dict(extra_context or {})
        if notification is not None:
            extra["workflow"] = workflow_panel(notification, request.user)
        return super().change_view(request, object_id, form_url, extra)  # type: ignore[misc]


def workflow_panel(notification: Notification, user: Any) -> dict[str, Any]:
    """What the panel shows: the allowed steps, the state in words and the readable log (the figures are
    the form's "statistics" field)."""
    allowed = services.workflow_actions_allowed(notification=notification, user=user)
    entries: list[AuditEntry] = list(notification.audit_entries.all())
    submitted = next((e for e in reversed(entries) if e.action == "approval_requested"), None)
    wrote = services.notifications.wrote_it(notification, user)
    return {
        "allowed": allowed,
        "urls": {
            action: reverse("admin:push_notification_workflow", args=[notification.pk, action])
            for action in allowed
        },
        "is_outage": notification.kind == NotificationKind.OUTAGE,
        "status": notification.get_status_display(),
        "status_code": notification.status,
        "author": actor_name(AuditEntry(actor=notification.created_by)),
        "submitted": submitted and {"by": actor_name(submitted), "at": berlin(submitted.at)},
        "own_text_waiting": notification.status == "awaiting_approval" and wrote,
        "paired": StaffDevice.objects.filter(user_id=user.pk, paired_at__isnull=False).exists(),
        "pair_url": reverse("admin:push_staffdevice_pair"),
        "emergency": notification.emergency,
        "emergency_reason": notification.emergency_reason,
        "log": [
            {
                "at": berlin(entry.at),
                "who": actor_name(entry),
                "what": action_label(entry),
                "changes": readable_changes(entry),
            }
            for entry in entries
        ],
        "log_url": reverse("admin:push_auditentry_changelist") + f"?notification={notification.pk}",
        "csv_url": reverse("admin:push_auditentry_export") + f"?notification={notification.pk}",
    }
