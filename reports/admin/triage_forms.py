"""The forms of the triage workspace: a report's workflow area and the bulk status change."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from casapp.errors import DomainError
from reports import services
from reports.admin.staff_fields import StaffChoiceField
from reports.models import MAX_DESCRIPTION, Category, Report, ReportPhoto, ReportStatus
from reports.reply_templates import reply_template_render, reply_templates_for_report
from reports.staff_selectors import report_assignees, reports_for_staff

FORM_FIELD_OF_ERROR = {
    "status": "new_status",
    "public_message": "message",
    "message": "message",
    "forwarded_to": "authority",
    "duplicate_of": "original",
    "note": "note",
    "assignee": "assignee",
    "redact_messages": "redact_event",
    "category": "move_to",
    "reason": "move_reason",
}
REDACTABLE_PREVIEW = 60


class PhotoChoiceField(forms.ModelMultipleChoiceField[ReportPhoto]):
    def label_from_instance(self, obj: ReportPhoto) -> str:
        return str(_("Photo %(number)d") % {"number": obj.position + 1})


class ReplyTemplateSelect(forms.Select):
    """A select of reply templates whose options carry their text, placeholders filled in for the report
    (``data-text``), for reports/admin/reply_templates.js to insert into the message."""

    texts: dict[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.texts = {}

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)
        text = self.texts.get(str(option["value"]))
        if text is not None:
            option["attrs"]["data-text"] = text
        return option


class CategoryChoiceField(forms.ModelChoiceField[Category]):
    """Every active leaf category, named with its group and department: the target may be anyone's."""

    def label_from_instance(self, obj: Category) -> str:
        department = obj.department.name if obj.department else ""
        group = obj.parent.name_de if obj.parent else ""
        return f"{group}: {obj.name_de} ({department})"


def forwarding_targets() -> Any:
    return (
        Category.objects.filter(parent__isnull=False, is_active=True)
        .select_related("parent", "department")
        .order_by("parent__position", "parent__name_de", "position", "name_de")
    )


class ReportWorkflowForm(forms.ModelForm[Report]):
    """The workflow area of a report's page. No model field is edited directly: once the form is
    otherwise valid, each part that was filled in calls its service, all in one savepoint, so a refusal
    of any of them leaves the report as it was and is shown on its field.

    A status change carries the message and the note; without one, the message is a public reply and
    the note an internal note of their own.
    """

    actor: User  # set per request by ReportAdmin.get_form

    new_status = forms.ChoiceField(label=_("New status"), required=False)
    authority = forms.CharField(
        label=_("Responsible authority"),
        max_length=200,
        required=False,
        help_text=_("Required for “not responsible”: who the reporter should turn to."),
    )
    original = forms.IntegerField(
        label=_("Original report (number)"),
        min_value=1,
        required=False,
        help_text=_("Required for “duplicate”: its reporter and supporters move to the original."),
    )
    # Only a helper of the page: choosing a template fills the message in the browser. Not read on save.
    reply_template = forms.CharField(
        label=_("Reply template"),
        required=False,
        widget=ReplyTemplateSelect,
        help_text=_("Inserts the template into the message below, where it can still be edited."),
    )
    message = forms.CharField(
        label=_("Message to the reporter"),
        max_length=2000,
        required=False,
        widget=forms.Textarea({"rows": 5, "cols": 80}),
        help_text=_(
            "Public: shown in the app and pushed to the reporter's phone. Required to reject. "
            "Without a status change it is sent as a reply."
        ),
    )
    note = forms.CharField(
        label=_("Internal note"),
        max_length=4000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text=_("For staff only; never shown to the reporter or the public."),
    )
    move_to = CategoryChoiceField(
        label=_("Forward to category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("— unchanged —"),
        help_text=_(
            "For a report in the wrong category: it moves to that category's department, which is told; "
            "your department no longer sees it. The reporter sees only “forwarded to …”."
        ),
    )
    move_reason = forms.CharField(
        label=_("Reason for forwarding"),
        max_length=2000,
        required=False,
        widget=forms.Textarea({"rows": 2}),
        help_text=_("Internal, for the receiving department. Required to forward."),
    )
    assignee = StaffChoiceField(
        label=_("Assigned to"), queryset=User.objects.none(), required=False, empty_label=_("nobody")
    )
    hide = forms.BooleanField(
        label=_("Hidden from the public"),
        required=False,
        help_text=_("For abusive or personal content; the reporter still sees the report."),
    )
    remove_photos = PhotoChoiceField(
        label=_("Remove photos from public view"),
        queryset=ReportPhoto.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    redacted_description = forms.CharField(
        label=_("Description (redact)"),
        max_length=MAX_DESCRIPTION,
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text=_("Edit to remove personal or abusive content; the original is not kept."),
    )
    redact_event = forms.ChoiceField(
        label=_("Public message to redact"),
        required=False,
        help_text=_("A message of the timeline that the reporter and the public see."),
    )
    redacted_message = forms.CharField(
        label=_("Replacement text"),
        max_length=2000,
        required=False,
        widget=forms.Textarea({"rows": 2}),
        help_text=_(
            "Replaces the chosen message; may be empty. The original is not kept; who redacted it and "
            "when is recorded. A push already sent cannot be taken back."
        ),
    )

    class Meta:
        model = Report
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.applied = False
        report = self.instance
        if "new_status" in self.fields:
            allowed = services.ALLOWED_TRANSITIONS.get(report.status, ())
            self.fields["new_status"].choices = [  # type: ignore[attr-defined]
                ("", _("— unchanged —")),
                *((status, ReportStatus(status).label) for status in allowed),
            ]
        if "reply_template" in self.fields:
            templates = list(reply_templates_for_report(report=report))
            widget = self.fields["reply_template"].widget
            widget.choices = [
                ("", _("— insert a template —") if templates else _("— no templates for this department —")),
                *((str(template.pk), template.title) for template in templates),
            ]
            widget.texts = {
                str(template.pk): reply_template_render(text=template.text, report=report)
                for template in templates
            }
        if "assignee" in self.fields:
            # The current assignee stays selectable even if no longer eligible, so saving the page for
            # something else does not silently unassign the report.
            eligible = report_assignees(report=report).values("pk")
            self.fields["assignee"].queryset = User.objects.filter(  # type: ignore[attr-defined]
                Q(pk__in=eligible) | Q(pk=report.assigned_to_id)
            ).order_by("last_name", "first_name", "username")
            self.initial.setdefault("assignee", report.assigned_to_id)
        if "move_to" in self.fields:
            self.fields["move_to"].queryset = forwarding_targets().exclude(  # type: ignore[attr-defined]
                pk=report.category_id
            )
        if "hide" in self.fields:
            self.initial.setdefault("hide", report.hidden)
        if "remove_photos" in self.fields:
            self.fields["remove_photos"].queryset = ReportPhoto.objects.filter(  # type: ignore[attr-defined]
                report=report, removed=False
            )
        if "redacted_description" in self.fields:
            self.initial.setdefault("redacted_description", report.description)
        if "redact_event" in self.fields:
            redactable = (
                report.events.filter(is_public=True).exclude(public_message="").order_by("created_at", "id")
            )
            self.fields["redact_event"].choices = [  # type: ignore[attr-defined]
                ("", _("— none —")),
                *(
                    (
                        str(event.pk),
                        f"{date_format(timezone.localtime(event.created_at), 'SHORT_DATETIME_FORMAT')}: "
                        f"{Truncator(event.public_message).chars(REDACTABLE_PREVIEW)}",
                    )
                    for event in redactable
                ),
            ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("redacted_message") and not data.get("redact_event"):
            self.add_error("redact_event", _("Choose the message to replace."))
        return data

    def _description_redaction(self) -> str | None:
        """The new description, if the page posted one that differs (browsers send CRLF line ends).
        A post without the field (another client, an older page) leaves the description alone."""
        if "redacted_description" not in self.data:
            return None
        text = self.cleaned_data.get("redacted_description", "").replace("\r\n", "\n").strip()
        return text if text != self.instance.description else None

    def clean_original(self) -> Report | None:
        number = self.cleaned_data.get("original")
        if number is None:
            return None
        original = reports_for_staff(self.actor).filter(pk=number).first()
        if original is None:
            raise forms.ValidationError(_("There is no report with this number in your departments."))
        return original

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.errors and not self.applied:
            self.applied = True
            self._apply_through_services()

    def _apply_through_services(self) -> None:
        data = self.cleaned_data
        report = self.instance
        try:
            with transaction.atomic():
                if "assignee" in self.changed_data:
                    services.report_assign(report=report, actor=self.actor, assignee=data["assignee"])
                moderation: dict[str, Any] = {}
                if "hide" in self.changed_data:
                    moderation["hide"] = data["hide"]
                if data.get("remove_photos"):
                    moderation["remove_photo_ids"] = [photo.pk for photo in data["remove_photos"]]
                if (description := self._description_redaction()) is not None:
                    moderation["description"] = description
                if data.get("redact_event"):
                    moderation["event_messages"] = {
                        int(data["redact_event"]): data.get("redacted_message", "")
                    }
                if moderation:
                    services.report_moderate(report=report, actor=self.actor, **moderation)
                if data.get("new_status"):
                    services.report_transition(
                        report=report,
                        actor=self.actor,
                        status=data["new_status"],
                        public_message=data.get("message", ""),
                        internal_note=data.get("note", ""),
                        duplicate_of=data.get("original"),
                        forwarded_to=data.get("authority", ""),
                    )
                else:
                    if data.get("message"):
                        services.report_reply(report=report, actor=self.actor, message=data["message"])
                    if data.get("note"):
                        services.report_note(report=report, actor=self.actor, note=data["note"])
                self._forward(data)  # last: afterwards the actor may no longer see the report
        except DomainError as error:
            report.refresh_from_db()  # the services changed the instance; the savepoint undid it
            field = FORM_FIELD_OF_ERROR.get(error.field or "")
            self.add_error(field if field in self.fields else None, str(error.detail))

    def _forward(self, data: dict[str, Any]) -> None:
        if not (data.get("move_to") or data.get("move_reason")):
            return
        if data.get("move_to") is None:
            raise DomainError(_("Choose the category to forward to."), field="category")
        services.report_reroute(
            report=self.instance,
            actor=self.actor,
            category=data["move_to"],
            reason=data.get("move_reason", ""),
        )


# Statuses the bulk action offers: each needs at most a message and an authority. A duplicate needs its
# own original, so those are merged one by one on their pages.
BULK_STATUSES = [
    ReportStatus.IN_REVIEW,
    ReportStatus.IN_PROGRESS,
    ReportStatus.DONE,
    ReportStatus.REJECTED,
    ReportStatus.NOT_RESPONSIBLE,
]


class ChangeStatusForm(forms.Form):
    """The intermediate page of the bulk action: one status change and message for every selected report."""

    status = forms.ChoiceField(
        label=_("New status"),
        choices=[(status.value, status.label) for status in BULK_STATUSES],
    )
    public_message = forms.CharField(
        label=_("Message to the reporters"),
        max_length=2000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text=_("Public: shown in the app and pushed to each reporter's phone. Required to reject."),
    )
    forwarded_to = forms.CharField(
        label=_("Responsible authority"),
        max_length=200,
        required=False,
        help_text=_("Required for “not responsible”."),
    )
    internal_note = forms.CharField(
        label=_("Internal note"), max_length=4000, required=False, widget=forms.Textarea({"rows": 2})
    )
