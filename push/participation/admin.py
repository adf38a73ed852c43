"""The communication team's side of Mitmach-Aktionen: open one for a campaign, moderate what citizens
sent (approve, reject, remove later) with thumbnails, and download the approved photos as a ZIP.

Moderation goes through ``push.participation.services`` as every other write; the admin only shows.
Nobody adds or deletes a photo here: they come from the app, and only their senders erase them.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.errors import DomainError
from push.models import Notification, NotificationKind
from push.participation import archive, services
from push.participation.models import Participation, Submission, SubmissionStatus
from push.participation.services import Decision

# An archive up to this size is built in memory, a larger one in a temporary file.
_ARCHIVE_IN_MEMORY_BYTES = 32 * 1024 * 1024


def _image(name: str, *, edge: int, link: str | None = None) -> SafeString:
    """The picture at most ``edge`` px, linked to ``link`` when given (not inside the list's own link)."""
    if not name:
        return format_html("<span>{}</span>", _("deleted"))
    image = format_html(
        '<img src="{}" alt="" style="max-width:{}px;max-height:{}px">', default_storage.url(name), edge, edge
    )
    if link is None:
        return image
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', link, image)


class ParticipationForm(forms.ModelForm[Participation]):
    class Meta:
        model = Participation
        fields = ["notification", "description_de", "description_en", "closes_at", "max_submissions"]
        widgets = {
            "description_de": forms.Textarea({"rows": 3}),
            "description_en": forms.Textarea({"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "notification" in self.fields:
            # Campaigns only (no test sends) that have no participation yet.
            self.fields["notification"].queryset = Notification.objects.filter(  # type: ignore[attr-defined]
                kind=NotificationKind.CAMPAIGN, test_of__isnull=True, participation__isnull=True
            ).order_by("-created_at")

    def clean_closes_at(self) -> Any:
        closes_at = self.cleaned_data["closes_at"]
        if closes_at is not None and self.instance.pk is None and closes_at <= timezone.now():
            raise forms.ValidationError(_("The end lies in the past."))
        return closes_at


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin[Participation]):
    """A campaign notification that invites photos; its photos are moderated under "Photos sent in"."""

    form = ParticipationForm
    list_display = ["__str__", "closes_at", "open_now", "pending_count", "approved_count", "archive_link"]
    list_select_related = ["notification"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Participation]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending=Count("submissions", filter=Q(submissions__status=SubmissionStatus.PENDING)),
                approved=Count("submissions", filter=Q(submissions__status=SubmissionStatus.APPROVED)),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Participation | None = None) -> Any:
        return ["notification", "moderation_links"] if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Participation | None = None) -> Any:
        fields = ["notification", "description_de", "description_en", "closes_at", "max_submissions"]
        return [*fields, "moderation_links"] if obj is not None else fields

    def has_delete_permission(self, request: HttpRequest, obj: Participation | None = None) -> bool:
        return False  # close it (set the end) instead: deleting would erase consented photos unasked

    def save_model(self, request: Any, obj: Participation, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("open now"), boolean=True)
    def open_now(self, obj: Participation) -> bool:
        return obj.is_open(now=timezone.now())

    @admin.display(description=_("awaiting moderation"))
    def pending_count(self, obj: Participation) -> SafeString:
        waiting = reverse("admin:push_submission_changelist")
        return format_html(
            '<a href="{}?participation__id__exact={}&status__exact=pending">{}</a>',
            waiting,
            obj.pk,
            int(getattr(obj, "pending", 0)),
        )

    @admin.display(description=_("approved"))
    def approved_count(self, obj: Participation) -> int:
        return int(getattr(obj, "approved", 0))

    @admin.display(description=_("ZIP"))
    def archive_link(self, obj: Participation) -> SafeString:
        url = reverse("admin:push_participation_archive", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download approved photos"))

    @admin.display(description=_("photos"))
    def moderation_links(self, obj: Participation) -> SafeString:
        moderate = reverse("admin:push_submission_changelist") + f"?participation__id__exact={obj.pk}"
        return format_html(
            '<a href="{}&status__exact=pending">{}</a> · <a href="{}">{}</a>',
            moderate,
            _("Moderate photos awaiting moderation"),
            reverse("admin:push_participation_archive", args=[obj.pk]),
            _("Download approved photos (ZIP with manifest)"),
        )

    def get_urls(self) -> list[URLPattern]:
        archive_url = path(
            "<int:participation_id>/archive/",
            self.admin_site.admin_view(self.archive_view),
            name="push_participation_archive",
        )
        return [archive_url, *super().get_urls()]

    def archive_view(self, request: HttpRequest, participation_id: int) -> HttpResponseBase:
        """The approved photos and their manifest as one ZIP, made now from what is approved now."""
        if not request.user.has_perm("push.view_submission"):
            raise PermissionDenied
        participation = self.get_object(request, str(participation_id))
        if participation is None:
            raise Http404
        target = tempfile.SpooledTemporaryFile(max_size=_ARCHIVE_IN_MEMORY_BYTES)  # noqa: SIM115 - the response closes it
        archive.archive_write(participation=participation, target=target)
        target.seek(0)
        return FileResponse(
            target,
            as_attachment=True,
            filename=archive.archive_file_name(participation),
            content_type="application/zip",
        )


# Buttons of a submission's own page: the POST key, its label, and the status it applies to.
_DECISION_BUTTONS: list[tuple[str, str, StrOrPromise, SubmissionStatus]] = [
    ("_approve", Decision.APPROVE, _("Approve"), SubmissionStatus.PENDING),
    ("_reject", Decision.REJECT, _("Reject"), SubmissionStatus.PENDING),
    ("_remove", Decision.REMOVE, _("Remove from the gallery"), SubmissionStatus.APPROVED),
]


class SubmissionForm(forms.ModelForm[Submission]):
    """Edits the published text and the note; a decision button on the page moderates."""

    class Meta:
        model = Submission
        fields = ["public_text", "moderation_note"]
        widgets = {"public_text": forms.Textarea({"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.status == SubmissionStatus.PENDING:
            # What would be published: the sent text, for the moderator to keep, shorten or empty.
            self.initial["public_text"] = self.instance.text

    def decision(self) -> str | None:
        for key, decision, _label, _status in _DECISION_BUTTONS:
            if key in self.data:
                return decision
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        decision = self.decision()
        allowed = {d for _key, d, _label, status in _DECISION_BUTTONS if status == self.instance.status}
        if decision is not None and decision not in allowed:
            raise forms.ValidationError(_("This decision does not fit the photo's status."))
        return cleaned


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin[Submission]):
    """Photos sent in, for moderation: approve (with or without the text), reject, remove later."""

    form = SubmissionForm
    list_display = ["preview", "participation", "status", "text", "is_child", "created_at", "moderated_by"]
    list_display_links = ["preview", "text"]
    list_filter = ["status", "participation", "is_child"]
    list_select_related = ["participation__notification", "moderated_by"]
    search_fields = ["text", "public_text"]
    date_hierarchy = "created_at"
    actions = ["approve", "approve_without_text", "reject", "remove"]
    show_full_result_count = False
    readonly_fields = [
        "large_preview",
        "participation",
        "status",
        "text",
        "consented_at",
        "is_child",
        "parental_consent",
        "created_at",
        "published_at",
        "moderated_by",
        "moderated_at",
    ]
    fieldsets = [
        (None, {"fields": ["large_preview", "participation", "status", "text", "created_at"]}),
        (_("Consent"), {"fields": ["consented_at", "is_child", "parental_consent"]}),
        (
            _("Moderation"),
            {"fields": ["public_text", "moderation_note", "published_at", "moderated_by", "moderated_at"]},
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Submission | None = None) -> bool:
        return False  # reject or remove; erasing is the sender's (withdrawal of consent)

    @admin.display(description=_("photo"))
    def preview(self, obj: Submission) -> SafeString:
        return _image(obj.thumbnail.name if obj.thumbnail else "", edge=120)

    @admin.display(description=_("photo"))
    def large_preview(self, obj: Submission) -> SafeString:
        if not obj.thumbnail:
            return _image("", edge=400)
        # The thumbnail, opening the full photo.
        return _image(obj.thumbnail.name, edge=400, link=default_storage.url(obj.photo.name))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        submission = self.get_object(request, object_id)
        buttons = []
        if submission is not None and self.has_change_permission(request, submission):
            buttons = [
                (key, label) for key, _d, label, status in _DECISION_BUTTONS if status == submission.status
            ]
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "moderation_buttons": buttons}
        )

    def save_model(self, request: Any, obj: Submission, form: Any, change: bool) -> None:
        decision = form.decision()
        if decision is None:
            obj.save(update_fields=["public_text", "moderation_note"])
            return
        try:
            services.submission_moderate(
                submission=obj,
                actor=request.user,
                decision=decision,
                public_text=form.cleaned_data.get("public_text", ""),
                note=form.cleaned_data.get("moderation_note", ""),
            )
        except DomainError as error:  # a colleague decided in the meantime
            self.message_user(request, str(error.detail), messages.ERROR)

    # List actions: each calls the service per selected photo and reports refusals.

    def _moderate(
        self,
        request: Any,
        queryset: QuerySet[Submission],
        decision: str,
        done: StrOrPromise,
        public_text: str | None = None,
    ) -> None:
        succeeded = 0
        for submission in queryset:
            try:
                services.submission_moderate(
                    submission=submission, actor=request.user, decision=decision, public_text=public_text
                )
            except DomainError as error:
                self.message_user(request, f"#{submission.pk}: {error.detail}", messages.WARNING)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, str(done) % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=_("Approve with their text"), permissions=["change"])
    def approve(self, request: Any, queryset: QuerySet[Submission]) -> None:
        self._moderate(request, queryset, Decision.APPROVE, _("%(count)d photo(s) approved."))

    @admin.action(description=_("Approve without their text"), permissions=["change"])
    def approve_without_text(self, request: Any, queryset: QuerySet[Submission]) -> None:
        self._moderate(request, queryset, Decision.APPROVE, _("%(count)d photo(s) approved."), public_text="")

    @admin.action(description=_("Reject (deletes the photo)"), permissions=["change"])
    def reject(self, request: Any, queryset: QuerySet[Submission]) -> None:
        self._moderate(request, queryset, Decision.REJECT, _("%(count)d photo(s) rejected and deleted."))

    @admin.action(description=_("Remove from the gallery (deletes the photo)"), permissions=["change"])
    def remove(self, request: Any, queryset: QuerySet[Submission]) -> None:
        self._moderate(request, queryset, Decision.REMOVE, _("%(count)d photo(s) removed and deleted."))
