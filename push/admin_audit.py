"""The audit log as people read it: who did what when (Berlin time), and what changed, before → after.

One rendering for the log's own page, the table on a notification's page and the CSV export: German labels
for the steps and the fields, the values as the workspace shows them (status names, times, topic names),
never the stored JSON or its English codes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.spreadsheets import spreadsheet_safe
from push.models import AudienceKind, AuditEntry, Notification, NotificationKind, NotificationStatus, Priority
from push.validation import is_decimal_number

BERLIN = ZoneInfo("Europe/Berlin")
EMPTY = "–"  # noqa: RUF001  (the typographic dash of an empty value)

ACTIONS: dict[str, StrOrPromise] = {
    "created": _("draft written"),
    "updated": _("changed"),
    "approval_requested": _("submitted for approval"),
    "approved": _("approved"),
    "rejected": _("rejected"),
    "cancelled": _("cancelled"),
    "emergency_send": _("sent without a second approval (outage fast path)"),
    "sending_started": _("sending started"),
    "sending_finished": _("sending finished"),
    "expired": _("expired before everyone was reached"),
    "test_sent": _("test sent to own devices"),
    "reviewed": _("fast-path send reviewed"),
    "device_paired": _("test device paired"),
    "device_unpaired": _("test device unpaired"),
}

# Fields that are not a model field of Notification, or named otherwise here.
FIELD_LABELS: dict[str, StrOrPromise] = {
    "status": _("status"),
    "reason": _("reason"),
    "audience_topics": _("topics"),
    "audience_stadtteile": _("Stadtteile"),
    "test_notification": _("test send"),
    "installation": _("app installation"),
    "user": _("staff member"),
    "needs_review": _("needs review"),
    "targeted": _("targeted"),
    "accepted": _("accepted by FCM"),
    "inbox_only": _("inbox only (no push)"),
    "failed": _("failed"),
    "deactivated": _("push switched off (dead token)"),
    "expired": _("not sent: expired"),
    "cancelled": _("cancelled"),
}
CHOICES: dict[str, Any] = {
    "status": NotificationStatus,
    "audience_kind": AudienceKind,
    "priority": Priority,
    "kind": NotificationKind,
}
TIMES = ("send_at", "expires_at")


def field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    try:
        field = Notification._meta.get_field(name)
    except FieldDoesNotExist:  # a key of an older entry: shown as it is
        return name
    return str(getattr(field, "verbose_name", name))


def berlin(value: datetime) -> str:
    return f"{timezone.localtime(value, BERLIN):%d.%m.%Y %H:%M:%S}"


def _empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _readable_content(content: dict[str, Any]) -> str:
    texts = [
        f"{language.upper()}: {text.get('title', '')} / {text.get('body', '')}"
        for language, text in content.items()
        if isinstance(text, dict)
    ]
    return " | ".join(texts) or EMPTY


def _readable_user(value: int) -> str:
    from django.contrib.auth.models import User

    user = User.objects.filter(pk=value).first()
    return str(user.get_full_name() or user.get_username()) if user else f"#{value}"


def readable_value(name: str, value: Any) -> str:
    """A stored value as the workspace shows it."""
    if _empty(value):
        return EMPTY
    if name in CHOICES and isinstance(value, str):
        try:
            return str(CHOICES[name](value).label)
        except ValueError:
            return value
    if name in TIMES and isinstance(value, str):
        try:
            return berlin(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name == "content" and isinstance(value, dict):
        return _readable_content(value)
    if name == "test_notification":
        return f"#{value}"
    if name == "user" and isinstance(value, int):
        return _readable_user(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or EMPTY
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


# The order in which an entry's keys are shown (PostgreSQL's jsonb keeps no order); others follow.
KEY_ORDER = (
    "status",
    "reason",
    "targeted",
    "accepted",
    "inbox_only",
    "failed",
    "deactivated",
    "expired",
    "cancelled",
)


def _ordered(changes: dict[str, Any]) -> list[tuple[str, Any]]:
    def rank(name: str) -> int:
        return KEY_ORDER.index(name) if name in KEY_ORDER else len(KEY_ORDER)

    return sorted(changes.items(), key=lambda item: rank(item[0]))


def readable_changes(entry: AuditEntry) -> list[tuple[str, str, str | None]]:
    """(field, before, after) for a change; (field, value, None) for a plain fact (a reason, a figure).
    Fields empty before and after (a new draft's unused fields) are left out."""
    rows: list[tuple[str, str, str | None]] = []
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    for name, value in _ordered(changes):
        if isinstance(value, list) and len(value) == 2:  # a change: [before, after]
            before, after = value
            if _empty(before) and _empty(after):
                continue
            rows.append((field_label(name), readable_value(name, before), readable_value(name, after)))
        else:
            rows.append((field_label(name), readable_value(name, value), None))
    return rows


def action_label(entry: AuditEntry) -> str:
    return str(ACTIONS.get(entry.action, entry.action))


def actor_name(entry: AuditEntry) -> str:
    if entry.actor is None:
        return gettext("system")
    return str(entry.actor.get_full_name() or entry.actor.get_username())


def changes_html(entry: AuditEntry) -> SafeString:
    items = [
        format_html("<strong>{}</strong>: {} → {}", label, before, after)
        if after is not None
        else format_html("<strong>{}</strong>: {}", label, before)
        for label, before, after in readable_changes(entry)
    ]
    if not items:
        return format_html("{}", EMPTY)
    return format_html(
        '<ul class="audit-changes">{}</ul>', format_html_join("", "<li>{}</li>", ((item,) for item in items))
    )


def changes_text(entry: AuditEntry) -> str:
    return "; ".join(
        f"{label}: {before} → {after}" if after is not None else f"{label}: {before}"
        for label, before, after in readable_changes(entry)
    )


def audit_csv(entries: Iterable[AuditEntry]) -> HttpResponse:
    """The entries as a CSV file for a spreadsheet: UTF-8 with BOM and ``;`` as Excel expects in German."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="protokoll-benachrichtigungen.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    headings = [gettext("time (Berlin)"), gettext("notification"), gettext("who"), gettext("what")]
    writer.writerow([capfirst(heading) for heading in [*headings, gettext("changes")]])
    for entry in entries:
        notification = entry.notification
        cells = [
            f"#{notification.pk} {notification}" if notification is not None else "",
            actor_name(entry),  # a staff member's name, as they entered it
            action_label(entry),
            changes_text(entry),
        ]
        writer.writerow([berlin(entry.at), *(spreadsheet_safe(str(cell)) for cell in cells)])
    return response


class AuditActionFilter(admin.SimpleListFilter):
    title = _("step")
    parameter_name = "action"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return list(ACTIONS.items())

    def queryset(self, request: Any, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        return queryset.filter(action=value) if value else queryset


class AuditNotificationFilter(admin.SimpleListFilter):
    """Any notification by its number (the link on a notification's page); the newest ones to choose."""

    title = _("notification")
    parameter_name = "notification"
    CHOICES = 15

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        recent = Notification.objects.filter(audit_entries__isnull=False).distinct().order_by("-pk")
        choices = [(str(n.pk), f"#{n.pk} {n}") for n in recent[: self.CHOICES]]
        value = self.value()
        if value and is_decimal_number(value) and value not in dict(choices):
            chosen = Notification.objects.filter(pk=int(value)).first()
            if chosen is not None:
                choices.insert(0, (value, f"#{chosen.pk} {chosen}"))
        return choices

    def queryset(self, request: Any, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(notification_id=int(value)) if is_decimal_number(value) else queryset.none()


class AuditPersonFilter(admin.SimpleListFilter):
    title = _("staff member")
    parameter_name = "person"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        from django.contrib.auth.models import User

        people = User.objects.filter(pk__in=AuditEntry.objects.values("actor_id")).order_by(
            "last_name", "first_name", "username"
        )
        return [(str(user.pk), str(user.get_full_name() or user.get_username())) for user in people]

    def queryset(self, request: Any, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(actor_id=int(value)) if is_decimal_number(value) else queryset.none()


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """The audit log: append-only, so nobody adds, changes or deletes an entry here (nor in the database)."""

    list_display = ["when", "notification_link", "who", "what", "what_changed"]
    list_filter = [AuditNotificationFilter, AuditPersonFilter, AuditActionFilter]
    list_select_related = ["notification", "actor"]
    date_hierarchy = "at"
    list_per_page = 50
    ordering = ["-at", "-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        export = path("export/", self.admin_site.admin_view(self.export_view), name="push_auditentry_export")
        return [export, *super().get_urls()]

    def export_view(self, request: Any) -> HttpResponse:
        """The entries the list shows with the same filters, all of them (not one page), as CSV."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        entries = changelist.get_queryset(request).order_by("at", "id")
        return audit_csv(entries.iterator(chunk_size=1000))

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        query = request.GET.urlencode()
        export_url = reverse("admin:push_auditentry_export") + (f"?{query}" if query else "")
        return super().changelist_view(request, {**(extra_context or {}), "export_url": export_url})

    @admin.display(description=_("when (Berlin)"), ordering="at")
    def when(self, entry: AuditEntry) -> str:
        return berlin(entry.at)

    @admin.display(description=_("notification"), ordering="notification")
    def notification_link(self, entry: AuditEntry) -> SafeString | str:
        if entry.notification is None:
            return EMPTY
        url = reverse("admin:push_notification_change", args=[entry.notification_id])
        return format_html('<a href="{}">#{} {}</a>', url, entry.notification_id, entry.notification)

    @admin.display(description=_("who"))
    def who(self, entry: AuditEntry) -> str:
        return actor_name(entry)

    @admin.display(description=_("what"))
    def what(self, entry: AuditEntry) -> str:
        return action_label(entry)

    @admin.display(description=_("what changed (before → after)"))
    def what_changed(self, entry: AuditEntry) -> SafeString:
        return changes_html(entry)
