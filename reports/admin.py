"""The staff workspace of the Mängelmelder: the triage queue, a report's page and the catalogue.

Triage staff see the reports of their departments (``reports_for_staff``), Administration sees all. A
report's page shows the place on a map, the photos and the whole history; its workflow area changes the
status (the reporter's phone is told), replies, notes, assigns and moderates. Every such write goes
through ``reports.services``: the admin itself never saves a workflow field, and a service's refusal is
shown on the field it concerns. Departments, categories (with their questions) and Stadtteil boundaries
are maintained by Administration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.errors import DomainError
from reports import services
from reports.models import (
    Category,
    CategoryQuestion,
    Department,
    District,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)
from reports.selectors import (
    report_assignees,
    reports_by_photo,
    reports_for_staff,
    reports_matching,
    reports_with_photo_flag,
)

# --- Reports: the triage workspace


class AssignedFilter(admin.SimpleListFilter):
    title = _("assigned")
    parameter_name = "assigned"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("me", _("to me")), ("none", _("to nobody"))]

    def queryset(self, request: Any, queryset: QuerySet[Report]) -> QuerySet[Report]:
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "none":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class HasPhotoFilter(admin.SimpleListFilter):
    title = _("photo")
    parameter_name = "has_photo"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("yes", _("with photo")), ("no", _("without photo"))]

    def queryset(self, request: Any, queryset: QuerySet[Report]) -> QuerySet[Report]:
        if self.value() in ("yes", "no"):
            return reports_by_photo(queryset, has_photo=self.value() == "yes")
        return queryset


class DepartmentFilter(admin.RelatedOnlyFieldListFilter):
    """The departments of the reports one sees; reports always have one (their category is a leaf)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("department")

    @property
    def include_empty_choice(self) -> bool:
        return False


def staff_label(user: User) -> str:
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


class StaffChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return staff_label(obj)


# Where a service's error field is shown in the workflow form.
FORM_FIELD_OF_ERROR = {
    "status": "new_status",
    "public_message": "message",
    "message": "message",
    "forwarded_to": "authority",
    "duplicate_of": "original",
    "note": "note",
    "assignee": "assignee",
}


class PhotoChoiceField(forms.ModelMultipleChoiceField[ReportPhoto]):
    def label_from_instance(self, obj: ReportPhoto) -> str:
        return str(_("Photo %(number)d") % {"number": obj.position + 1})


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
    message = forms.CharField(
        label=_("Message to the reporter"),
        max_length=2000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
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
        if "assignee" in self.fields:
            # The current assignee stays selectable even if no longer eligible, so saving the page for
            # something else does not silently unassign the report.
            eligible = report_assignees(report=report).values("pk")
            self.fields["assignee"].queryset = User.objects.filter(  # type: ignore[attr-defined]
                Q(pk__in=eligible) | Q(pk=report.assigned_to_id)
            ).order_by("last_name", "first_name", "username")
            self.initial.setdefault("assignee", report.assigned_to_id)
        if "hide" in self.fields:
            self.initial.setdefault("hide", report.hidden)
        if "remove_photos" in self.fields:
            self.fields["remove_photos"].queryset = ReportPhoto.objects.filter(  # type: ignore[attr-defined]
                report=report, removed=False
            )

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
        except DomainError as error:
            report.refresh_from_db()  # the services changed the instance; the savepoint undid it
            field = FORM_FIELD_OF_ERROR.get(error.field or "")
            self.add_error(field if field in self.fields else None, str(error.detail))


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


Workflow = Callable[[Report, User], Any]

REPORT_FIELDS = [
    "category",
    "status",
    "description",
    "answers_display",
    "address",
    "stadtteil",
    "support_count",
    "created_at",
    "updated_at",
    "first_response_at",
    "closed_at",
]
LOCATION_FIELDS = ["location_map", "latitude", "longitude"]
REPORTER_FIELDS = [
    "contact_email",
    "contact_phone",
    "contact_consent",
    "has_installation",
    "contact_erased_at",
]
TRIAGE_FIELDS = ["assigned_to", "hidden", "forwarded_to", "duplicate_of_link", "duplicates_list"]
STATUS_FORM_FIELDS = ["new_status", "authority", "original", "message", "note"]
ASSIGNMENT_FORM_FIELDS = ["assignee", "hide", "remove_photos"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    """The triage queue and a report's page."""

    form = ReportWorkflowForm
    list_display = [
        "id",
        "category",
        "status",
        "stadtteil",
        "created_at",
        "support_count",
        "assigned_to",
        "has_photo",
    ]
    list_display_links = ["id", "category"]
    list_filter = [
        "status",
        ("category__department", DepartmentFilter),
        ("category", admin.RelatedOnlyFieldListFilter),
        "stadtteil",
        AssignedFilter,
        "hidden",
        HasPhotoFilter,
    ]
    list_select_related = ["category", "assigned_to"]
    search_fields = ["description", "address"]
    search_help_text = _("Report number (e.g. 123 or #123), or words from the description or the address.")
    date_hierarchy = "created_at"
    readonly_fields = [
        *REPORT_FIELDS,
        *LOCATION_FIELDS,
        "photo_thumbnails",
        *REPORTER_FIELDS,
        *TRIAGE_FIELDS,
        "history",
    ]
    actions = ["assign_to_me", "change_status", "hide", "unhide"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return reports_with_photo_flag(reports_for_staff(request.user))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Report], search_term: str
    ) -> tuple[QuerySet[Report], bool]:
        return reports_matching(queryset, search_term), False

    def get_fieldsets(self, request: HttpRequest, obj: Report | None = None) -> Any:
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": REPORT_FIELDS}),
            (_("Location"), {"fields": LOCATION_FIELDS}),
            (_("Photos"), {"fields": ["photo_thumbnails"]}),
            (_("Reporter (private)"), {"fields": REPORTER_FIELDS}),
            (_("Triage"), {"fields": TRIAGE_FIELDS}),
        ]
        if obj is not None and self.has_change_permission(request, obj):
            fieldsets += [
                (
                    _("Change status, reply, note"),
                    {
                        "fields": STATUS_FORM_FIELDS,
                        "description": _(
                            "A status change or a reply is pushed to the reporter's phone at once."
                        ),
                    },
                ),
                (_("Assignment and moderation"), {"fields": ASSIGNMENT_FORM_FIELDS}),
            ]
        fieldsets.append((_("Timeline"), {"fields": ["history"]}))
        return fieldsets

    def get_form(self, request: Any, obj: Report | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_form(self, request: Any, form: Any, change: bool) -> Report:
        report: Report = form.instance  # changed by the services while the form was validated
        return report

    def save_model(self, request: Any, obj: Report, form: Any, change: bool) -> None:
        pass  # workflow fields are written by the services only

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        pass

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports are filed in the app

    # Columns and read-only views

    @admin.display(description=_("photo"), boolean=True, ordering="has_photo")
    def has_photo(self, report: Report) -> bool:
        return bool(getattr(report, "has_photo", False))

    @admin.display(description=_("answers"))
    def answers_display(self, report: Report) -> SafeString | str:
        if not report.answers:
            return self.get_empty_value_display()
        labels = dict(report.category.questions.values_list("key", "label_de"))
        rows = [
            (labels.get(key, key), ", ".join(map(str, value)) if isinstance(value, list) else value)
            for key, value in report.answers.items()
        ]
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))

    @admin.display(description=_("map"))
    def location_map(self, report: Report) -> SafeString:
        # The map is drawn by reports/admin/report_map.js (Leaflet, see the change form template).
        return format_html(
            '<div id="report-map" class="report-map" data-latitude="{}" data-longitude="{}"></div>'
            '<p><a href="https://www.openstreetmap.org/?mlat={}&amp;mlon={}#map=18/{}/{}" target="_blank" '
            'rel="noopener noreferrer">{}</a></p>',
            report.latitude,
            report.longitude,
            report.latitude,
            report.longitude,
            report.latitude,
            report.longitude,
            _("Open in OpenStreetMap"),
        )

    @admin.display(description=_("photos"))
    def photo_thumbnails(self, report: Report) -> SafeString | str:
        photos = list(report.photos.all())
        if not photos:
            return self.get_empty_value_display()
        return format_html(
            '<div class="report-photos">{}</div>',
            format_html_join(
                "",
                '<figure class="{}"><a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
                'loading="lazy"></a><figcaption>{}</figcaption></figure>',
                (
                    (
                        "report-photo report-photo-removed" if photo.removed else "report-photo",
                        photo.image.url,
                        photo.thumbnail.url,
                        _("Photo %(number)d") % {"number": photo.position + 1},
                        _("Photo %(number)d, removed from public view") % {"number": photo.position + 1}
                        if photo.removed
                        else _("Photo %(number)d") % {"number": photo.position + 1},
                    )
                    for photo in photos
                ),
            ),
        )

    @admin.display(description=_("reporter's phone linked"), boolean=True)
    def has_installation(self, report: Report) -> bool:
        return report.installation_id is not None

    @admin.display(description=_("duplicate of"))
    def duplicate_of_link(self, report: Report) -> SafeString | str:
        if report.duplicate_of_id is None:
            return self.get_empty_value_display()
        return self._report_link(report.duplicate_of_id)

    @admin.display(description=_("merged into this report"))
    def duplicates_list(self, report: Report) -> SafeString | str:
        ids = list(report.duplicates.order_by("id").values_list("id", flat=True))
        if not ids:
            return self.get_empty_value_display()
        return format_html_join(", ", "{}", ((self._report_link(pk),) for pk in ids))

    def _report_link(self, report_id: int) -> SafeString:
        url = reverse("admin:reports_report_change", args=[report_id])
        return format_html('<a href="{}">#{}</a>', url, report_id)

    @admin.display(description=_("timeline"))
    def history(self, report: Report) -> SafeString:
        events = report.events.select_related("actor").order_by("created_at", "id")
        rows = [self._history_row(event) for event in events]
        return format_html(
            '<table class="report-history"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("when"),
            _("what"),
            _("who"),
            _("public message"),
            _("internal note"),
            format_html_join(
                "",
                '<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                rows,
            ),
        )

    def _history_row(self, event: ReportEvent) -> tuple[Any, ...]:
        what: Any = event.get_kind_display()
        if event.kind == ReportEvent.Kind.STATUS:
            what = format_html(
                "{}: {} → {}", what, event.get_from_status_display(), event.get_to_status_display()
            )
        if event.actor is not None:
            who: Any = event.actor.get_full_name() or event.actor.get_username()
        elif event.kind in (ReportEvent.Kind.CREATED, ReportEvent.Kind.STATUS, ReportEvent.Kind.REPLY):
            who = _("reporter")
        else:
            who = self.get_empty_value_display()
        return (
            "report-history-public" if event.is_public else "report-history-internal",
            date_format(timezone.localtime(event.created_at), "SHORT_DATETIME_FORMAT"),
            what,
            who,
            event.public_message if event.is_public else "",
            event.internal_note,
        )

    # Bulk actions: one service call per selected report, refusals reported per report.

    def _run(self, request: Any, queryset: QuerySet[Report], workflow: Workflow, done: StrOrPromise) -> None:
        succeeded = 0
        for report in queryset:
            try:
                workflow(report, request.user)
            except DomainError as error:
                self.message_user(request, f"#{report.pk}: {error.detail}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, str(done) % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: Any, queryset: QuerySet[Report]) -> None:
        self._run(
            request,
            queryset,
            lambda report, user: services.report_assign(report=report, actor=user, assignee=user),
            _("%(count)d report(s) assigned to you."),
        )

    @admin.action(description=_("Hide from the public"), permissions=["change"])
    def hide(self, request: Any, queryset: QuerySet[Report]) -> None:
        self._run(
            request,
            queryset,
            lambda report, user: services.report_moderate(report=report, actor=user, hide=True),
            _("%(count)d report(s) hidden."),
        )

    @admin.action(description=_("Show to the public again"), permissions=["change"])
    def unhide(self, request: Any, queryset: QuerySet[Report]) -> None:
        self._run(
            request,
            queryset,
            lambda report, user: services.report_moderate(report=report, actor=user, hide=False),
            _("%(count)d report(s) shown again."),
        )

    @admin.action(description=_("Change status (with a message to the reporters)…"), permissions=["change"])
    def change_status(self, request: Any, queryset: QuerySet[Report]) -> TemplateResponse | None:
        form = ChangeStatusForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            change = form.cleaned_data
            self._run(
                request,
                queryset,
                lambda report, user: services.report_transition(
                    report=report,
                    actor=user,
                    status=change["status"],
                    public_message=change["public_message"],
                    internal_note=change["internal_note"],
                    forwarded_to=change["forwarded_to"],
                ),
                _("Status changed for %(count)d report(s); the reporters are being told."),
            )
            return None
        return TemplateResponse(
            request,
            "admin/reports/report/change_status.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Change status"),
                "opts": self.model._meta,
                "form": form,
                "reports": queryset,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "media": self.media + form.media,
            },
        )


# --- Catalogue: departments, categories, Stadtteil boundaries (Administration)


class StaffMemberField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return staff_label(obj)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    """A department's members are the Triage staff who see and handle its categories' reports."""

    list_display = ["name", "key", "member_count", "category_count"]
    search_fields = ["name", "key"]
    filter_horizontal = ["members"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("members", distinct=True),
                category_total=Count("categories", distinct=True),
            )
        )

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "members":
            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by(
                "last_name", "first_name", "username"
            )
            kwargs["form_class"] = StaffMemberField
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, department: Department) -> int:
        return int(getattr(department, "member_total", 0))

    @admin.display(description=_("categories"), ordering="category_total")
    def category_count(self, department: Department) -> int:
        return int(getattr(department, "category_total", 0))


class CategoryQuestionInline(admin.StackedInline[CategoryQuestion, Category]):
    model = CategoryQuestion
    extra = 0
    fields = [("key", "kind", "required", "position"), "label_de", "label_en", "choices"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    """Two levels: groups (no department) and their leaves, which reports use and a department handles."""

    list_display = ["name_de", "key", "parent", "department", "is_active", "position"]
    list_filter = ["is_active", "department", ("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent", "department"]
    search_fields = ["name_de", "name_en", "key"]
    inlines = [CategoryQuestionInline]
    fieldsets = [
        (None, {"fields": ["parent", "key", "department", "is_active", "position", "icon_key"]}),
        (_("Texts"), {"fields": ["name_de", "name_en", "description_de", "description_en"]}),
    ]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "parent":
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)  # two levels only
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Category | None = None) -> list[str]:
        # Keys are what the app sends and stores in answers; changing one breaks them.
        return ["key"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False  # reports keep their category; deactivate instead


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin[District]):
    """Imported with ``manage.py import_districts``; shown here to check what a report's Stadtteil is
    based on."""

    list_display = ["name", "imported_at"]
    readonly_fields = ["name", "geometry", "imported_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
