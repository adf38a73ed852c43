"""The staff workspace of push: the communication team writes, approves and sends outage alerts, campaigns
and news here. Every write goes through the same services as the staff API; their refusals are shown as
form errors or messages, never as a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.city import STADTTEIL_CHOICES
from casapp.errors import DomainError
from push import (
    admin_audit,  # noqa: F401  (registers the audit log)
    services,
)
from push.admin_preview import FORM_LANGUAGES, ImageAndLinkFields, notification_preview_html, preview_view
from push.admin_workflow import NotificationWorkflowMixin
from push.models import (
    BROADCAST_KINDS,
    MAX_TEST_DEVICES,
    PAIRING_CODE_VALID_MINUTES,
    Installation,
    Notification,
    NotificationKind,
    OutageState,
    Priority,
    StaffDevice,
    Topic,
)
from push.selectors import notification_statistics, notifications_for_staff
from push.services.notifications import EDITABLE_STATUSES, STAFF_AUDIENCES


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin[Installation]):
    """Read-only: installations belong to the phones; staff look, they do not edit."""

    list_display = ["id", "platform", "app_version", "locale", "is_active", "last_seen_at", "created_at"]
    list_filter = ["platform", "is_active", "locale", "deactivation_reason"]
    search_fields = ["id"]
    exclude = ["secret_hash", "push_token"]
    show_full_result_count = False  # COUNT(*) over hundreds of thousands of rows on every page view

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


# --- Notifications


# Where a service's error field is shown in the form (the form edits the text per language).
FORM_FIELD_OF_ERROR = {
    "content": "title_de",
    "content.de": "title_de",
    "content.de.title": "title_de",
    "content.de.body": "body_de",
    "content.en": "title_en",
    "content.en.title": "title_en",
    "content.en.body": "body_en",
    "content.tr": "title_tr",
    "content.tr.title": "title_tr",
    "content.tr.body": "body_tr",
    "deep_link": "link_target",
    "image_url": "image_choice",
}


class NotificationForm(ImageAndLinkFields, forms.ModelForm[Notification]):
    """Edits a draft through ``notification_create``/``notification_update``.

    The service runs once the form is otherwise valid, inside the admin's transaction, so its rules are
    checked exactly as in the API and a refusal becomes an error on the field it concerns.
    """

    actor: User  # set per request by NotificationAdmin.get_form
    site_base: str  # "https://host" of the request: image URLs are absolute (phones load them)

    title_de = forms.CharField(label=_("title (German)"), required=False)
    body_de = forms.CharField(label=_("text (German)"), required=False, widget=forms.Textarea({"rows": 4}))
    title_en = forms.CharField(label=_("title (English)"), required=False)
    body_en = forms.CharField(label=_("text (English)"), required=False, widget=forms.Textarea({"rows": 4}))
    title_tr = forms.CharField(label=_("title (Turkish)"), required=False)
    body_tr = forms.CharField(label=_("text (Turkish)"), required=False, widget=forms.Textarea({"rows": 4}))
    audience_stadtteile = forms.MultipleChoiceField(
        label=_("Stadtteile"), choices=STADTTEIL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    resolves = forms.BooleanField(label=_("announces the end of the outage"), required=False)

    class Meta:
        model = Notification
        fields = [
            "kind",
            "data",
            "audience_kind",
            "audience_topics",
            "priority",
            "send_at",
            "expires_at",
            "thread",
        ]
        widgets = {"audience_topics": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saved: Notification | None = None
        content = self.instance.content or {}
        for language in FORM_LANGUAGES:
            text = content.get(language, {})
            self.initial.setdefault(f"title_{language}", text.get("title", ""))
            self.initial.setdefault(f"body_{language}", text.get("body", ""))
        self.initial.setdefault("audience_stadtteile", self.instance.audience_stadtteile or [])
        self.setup_image_and_link(self.instance)
        if "kind" in self.fields:
            self.fields["kind"].choices = [(k.value, k.label) for k in BROADCAST_KINDS]  # type: ignore[attr-defined]
        if "audience_kind" in self.fields:
            self.fields["audience_kind"].choices = [(a.value, a.label) for a in STAFF_AUDIENCES]  # type: ignore[attr-defined]
        if "priority" in self.fields:
            self.fields["priority"].required = False
            self.fields["priority"].choices = [("", _("by kind (outages high)")), *Priority.choices]  # type: ignore[attr-defined]
            if self.instance.pk is None:
                self.initial["priority"] = ""
        if "thread" in self.fields:
            self.fields["thread"].queryset = notifications_for_staff().filter(  # type: ignore[attr-defined]
                kind=NotificationKind.OUTAGE, thread__isnull=True, outage_state=OutageState.ONGOING
            )

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.errors and self.saved is None:
            self._save_through_service()

    def _content(self) -> dict[str, dict[str, str]]:
        data = self.cleaned_data
        content = {"de": {"title": data.get("title_de", ""), "body": data.get("body_de", "")}}
        for language in FORM_LANGUAGES[1:]:  # optional; a phone without its language's text shows German
            title, body = data.get(f"title_{language}", ""), data.get(f"body_{language}", "")
            if title or body:
                content[language] = {"title": title, "body": body}
        return content

    def _save_through_service(self) -> None:
        data = self.cleaned_data
        try:
            deep_link = self.chosen_deep_link(data, self.instance)
            image_url = self.chosen_image_url(data, self.instance, actor=self.actor, base=self.site_base)
        except DomainError as error:
            field = {"deep_link": "link_target"}.get(error.field or "", error.field)
            self.add_error(field if field in self.fields else None, str(error.detail))
            return
        changes: dict[str, Any] = {
            "content": self._content(),
            "deep_link": deep_link,
            "image_url": image_url,
            "data": data.get("data") or {},
            "audience_kind": data.get("audience_kind"),
            "audience_stadtteile": list(data.get("audience_stadtteile") or []),
            "send_at": data.get("send_at"),
            "expires_at": data.get("expires_at"),
        }
        topics = list(data.get("audience_topics") or [])
        try:
            if self.instance.pk is None:
                self.saved = services.notification_create(
                    author=self.actor,
                    kind=data["kind"],
                    audience_topics=topics,
                    priority=data.get("priority") or None,
                    thread=data.get("thread"),
                    resolves=bool(data.get("resolves")),
                    **changes,
                )
            else:
                self.saved = services.notification_update(
                    notification=self.instance,
                    actor=self.actor,
                    topics=topics,
                    priority=data.get("priority") or self.instance.priority,
                    **changes,
                )
        except DomainError as error:
            field = FORM_FIELD_OF_ERROR.get(error.field or "", error.field)
            self.add_error(field if field in self.fields else None, str(error.detail))
            return
        self.store_uploaded_image()


STATISTICS_ROWS = [
    ("targeted", _("targeted")),
    ("accepted", _("accepted by FCM")),
    ("inbox_only", _("inbox only (no push)")),
    ("pending", _("not sent yet")),
    ("cancelled", _("cancelled")),
    ("expired", _("not sent: expired")),
    ("failed", _("failed")),
    ("deactivated", _("push switched off (dead token)")),
    ("opened", _("opened")),
]
WORKFLOW_FIELDS = [
    "status",
    "created_by",
    "approved_by",
    "approved_at",
    "emergency",
    "needs_review",
    "started_at",
    "finished_at",
    "failure_reason",
]
Workflow = Callable[[Notification, User], Any]


@admin.register(Notification)
class NotificationAdmin(NotificationWorkflowMixin, admin.ModelAdmin[Notification]):
    """Outage alerts, campaigns and news: write a draft, ask a colleague to approve, send, review.

    The workflow's buttons and the readable audit log are on each notification's page (admin_workflow).
    """

    form = NotificationForm
    list_display = [
        "__str__",
        "kind",
        "status",
        "send_at",
        "created_by",
        "approved_by",
        "needs_review",
        "created_at",
    ]
    list_filter = [
        "status",
        "kind",
        "needs_review",
        ("send_at", admin.DateFieldListFilter),
        ("created_by", admin.RelatedOnlyFieldListFilter),
        ("approved_by", admin.RelatedOnlyFieldListFilter),
    ]
    date_hierarchy = "created_at"
    actions = [
        "request_approval",
        "approve",
        "send_test",
        "cancel",
        "review",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return notifications_for_staff()

    def get_fieldsets(self, request: HttpRequest, obj: Notification | None = None) -> Any:
        texts = ["kind", "title_de", "body_de", "title_en", "body_en", "title_tr", "body_tr"]
        editable = obj is None or self.has_change_permission(request, obj)
        media = (
            ["image_upload", "image_choice", "link_target", "link_id", "link_url", "data"]
            if editable
            else ["image_url", "deep_link", "data"]
        )
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": texts}),
            (_("Preview"), {"fields": ["preview"]}),
            (_("Image and link"), {"fields": media}),
            (
                _("Audience"),
                {"fields": ["audience_kind", "audience_topics", "audience_stadtteile", "audience"]},
            ),
            (_("Timing"), {"fields": ["priority", "send_at", "expires_at"]}),
            (_("Outage"), {"fields": ["thread", "resolves"] if obj is None else ["thread", "outage_state"]}),
        ]
        if obj is not None:
            fieldsets += [
                (_("Workflow"), {"fields": WORKFLOW_FIELDS}),
                (_("Statistics"), {"fields": ["statistics"]}),
            ]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Notification | None = None) -> Any:
        if obj is None:
            return ["preview", "audience"]
        return ["kind", "thread", "outage_state", *WORKFLOW_FIELDS, "statistics", "preview", "audience"]

    def get_form(
        self, request: Any, obj: Notification | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        site_base = request.build_absolute_uri("/").rstrip("/")
        return type(form.__name__, (form,), {"actor": request.user, "site_base": site_base})

    class Media:
        css = {"all": ["push/admin/notification_preview.css"]}
        js = ["push/admin/notification_preview.js"]

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(lambda request: preview_view(request, self)),
            name="push_notification_preview",
        )
        return [preview, *super().get_urls()]

    @admin.display(description=_("lock screens"))
    def preview(self, obj: Notification) -> SafeString:
        """The lock screens; the form's script updates them (and the audience) as the person types."""
        return format_html(
            '<div id="push-preview" data-url="{}" data-notification="{}">{}</div>',
            reverse("admin:push_notification_preview"),
            obj.pk or "",
            mark_safe(notification_preview_html(obj, part="preview")),  # noqa: S308  (our template)
        )

    @admin.display(description=_("reaches"))
    def audience(self, obj: Notification) -> SafeString:
        """The audience estimate: shown before submitting, and again to whoever approves."""
        return format_html(
            '<div id="push-audience">{}</div>',
            mark_safe(notification_preview_html(obj, part="audience")),  # noqa: S308  (our template)
        )

    def save_form(self, request: Any, form: Any, change: bool) -> Notification:
        saved: Notification = form.saved  # written by the service while the form was validated
        return saved

    def save_model(self, request: Any, obj: Notification, form: Any, change: bool) -> None:
        pass  # saved by the service

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        pass  # the service set the topics; the audit log is shown read-only, never as a formset

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        # Past drafts (approved, sent, cancelled) are shown read-only.
        editable = obj is None or obj.status in EDITABLE_STATUSES
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False  # cancel instead; the audit log must outlive every notification it describes

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("push.approve_notification")

    # Read-only views of the text, shown where the form fields are not (sent notifications).

    @admin.display(description=_("title (German)"))
    def title_de(self, obj: Notification) -> str:
        return str(obj.content.get("de", {}).get("title", ""))

    @admin.display(description=_("text (German)"))
    def body_de(self, obj: Notification) -> str:
        return str(obj.content.get("de", {}).get("body", ""))

    @admin.display(description=_("title (English)"))
    def title_en(self, obj: Notification) -> str:
        return str(obj.content.get("en", {}).get("title", ""))

    @admin.display(description=_("text (English)"))
    def body_en(self, obj: Notification) -> str:
        return str(obj.content.get("en", {}).get("body", ""))

    @admin.display(description=_("title (Turkish)"))
    def title_tr(self, obj: Notification) -> str:
        return str(obj.content.get("tr", {}).get("title", ""))

    @admin.display(description=_("text (Turkish)"))
    def body_tr(self, obj: Notification) -> str:
        return str(obj.content.get("tr", {}).get("body", ""))

    @admin.display(description=_("statistics"))
    def statistics(self, obj: Notification) -> SafeString:
        numbers = notification_statistics(obj)
        rows: list[tuple[StrOrPromise, Any]] = [(label, numbers[key]) for key, label in STATISTICS_ROWS]
        rows += [
            (_("failed: %(code)s") % {"code": code}, n) for code, n in numbers["failed_by_error"].items()
        ]
        rate = numbers["open_rate"]
        rows.append((_("open rate"), self.get_empty_value_display() if rate is None else f"{rate:.1%}"))
        if obj.emergency:
            rows.append(
                (
                    _("sent without a second approval"),
                    _("yes, reason: %(reason)s")
                    % {"reason": obj.emergency_reason or self.get_empty_value_display()},
                )
            )
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    # Workflow actions: each calls one service per selected notification and reports refusals.

    def _run(
        self, request: Any, queryset: QuerySet[Notification], workflow: Workflow, done: StrOrPromise
    ) -> None:
        succeeded = 0
        for notification in queryset:
            try:
                workflow(notification, request.user)
            except DomainError as error:
                self.message_user(request, f"{notification}: {error.detail}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, str(done) % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=_("Request approval"), permissions=["change"])
    def request_approval(self, request: Any, queryset: QuerySet[Notification]) -> None:
        self._run(
            request,
            queryset,
            lambda n, user: services.notification_request_approval(notification=n, actor=user),
            _("Approval requested for %(count)d notification(s)."),
        )

    @admin.action(description=_("Approve (and send when due)"), permissions=["approve"])
    def approve(self, request: Any, queryset: QuerySet[Notification]) -> None:
        self._run(
            request,
            queryset,
            lambda n, user: services.notification_approve(notification=n, approver=user),
            _("%(count)d notification(s) approved."),
        )

    @admin.action(description=_("Send a test to my test devices"), permissions=["change"])
    def send_test(self, request: Any, queryset: QuerySet[Notification]) -> None:
        self._run(
            request,
            queryset,
            lambda n, user: services.notification_send_test(notification=n, actor=user),
            _("Test sent for %(count)d notification(s)."),
        )

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel(self, request: Any, queryset: QuerySet[Notification]) -> None:
        self._run(
            request,
            queryset,
            lambda n, user: services.notification_cancel(notification=n, actor=user),
            _("%(count)d notification(s) cancelled."),
        )

    @admin.action(description=_("Mark emergency send as reviewed"), permissions=["approve"])
    def review(self, request: Any, queryset: QuerySet[Notification]) -> None:
        self._run(
            request,
            queryset,
            lambda n, user: services.notification_review(notification=n, reviewer=user),
            _("%(count)d emergency send(s) reviewed."),
        )


# --- Test devices and topics


@admin.register(StaffDevice)
class StaffDeviceAdmin(admin.ModelAdmin[StaffDevice]):
    """Test devices come only from pairing: a staff member shows a one-time code here ("Pair my phone")
    and the app on their phone sends it. Nobody adds or edits a row, so no arbitrary installation can
    become a test device; the owner and Administration unpair (delete), and both are audited."""

    list_display = ["__str__", "installation", "user", "paired_at"]
    list_select_related = ["installation", "user"]

    def _sees_everyone(self, request: Any) -> bool:
        user = request.user
        return bool(user.is_superuser or user.groups.filter(name="Administration").exists())

    def get_queryset(self, request: Any) -> QuerySet[StaffDevice]:
        queryset = super().get_queryset(request)
        return queryset if self._sees_everyone(request) else queryset.filter(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StaffDevice | None = None) -> bool:
        return False

    def delete_model(self, request: Any, obj: StaffDevice) -> None:
        services.staff_device_unpair(device=obj, actor=request.user)

    def delete_queryset(self, request: Any, queryset: QuerySet[StaffDevice]) -> None:
        for device in queryset:
            services.staff_device_unpair(device=device, actor=request.user)

    def get_urls(self) -> list[URLPattern]:
        pair = path("pair/", self.admin_site.admin_view(self.pair_view), name="push_staffdevice_pair")
        return [pair, *super().get_urls()]

    def pair_view(self, request: Any) -> HttpResponse:
        """Shows a new one-time code on POST (never on a mere page view) and how to use it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Pair my phone"),
            "valid_minutes": PAIRING_CODE_VALID_MINUTES,
            "max_devices": MAX_TEST_DEVICES,
        }
        if request.method == "POST":
            context["code"], context["expires_at"] = services.pairing_code_issue(user=request.user)
        return TemplateResponse(request, "admin/push/staffdevice/pair.html", context)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin[Topic]):
    """Names and descriptions are shown in the app; keys are what installations subscribe to."""

    list_display = ["key", "name_de", "name_en", "name_tr", "kind", "default_subscribed", "position"]

    def get_readonly_fields(self, request: HttpRequest, obj: Topic | None = None) -> Any:
        return ["key", "kind"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Topic | None = None) -> bool:
        return False


# Mitmach-Aktionen: participation and moderation of the photos citizens send (push.participation).
from push.participation import admin as participation_admin  # noqa: E402, F401
