"""The triage workspace: the queue of reports, a report's page with its workflow area, bulk actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.errors import DomainError
from reports import services
from reports.admin.report_display import report_age, report_place, report_summary, thumbnail_url
from reports.admin.triage_forms import ChangeStatusForm, ReportWorkflowForm
from reports.admin.triage_map import MapFilterForm, map_points, workspace_map_config
from reports.models import Report, ReportEvent
from reports.staff_selectors import (
    partner_submission,
    report_is_overdue,
    reports_by_photo,
    reports_for_staff,
    reports_in_inbox,
    reports_matching,
    reports_overdue,
    reports_with_list_thumbnail,
    reports_with_photo_flag,
)

INBOX_PARAMETER = "inbox"


class InboxFilter(admin.SimpleListFilter):
    """The saved filter "Mein Eingang": open reports of my departments; the queue's default order (newest
    first) applies, since the link to it carries no other sort."""

    title = _("inbox")
    parameter_name = INBOX_PARAMETER

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("mine", _("My inbox"))]

    def queryset(self, request: Any, queryset: QuerySet[Report]) -> QuerySet[Report]:
        if self.value() == "mine":
            return reports_in_inbox(queryset, user=request.user)
        return queryset


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


class OverdueFilter(admin.SimpleListFilter):
    """Open reports past their category's target time to first response (``reports_overdue``)."""

    title = _("first response")
    parameter_name = "overdue"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("yes", _("overdue"))]

    def queryset(self, request: Any, queryset: QuerySet[Report]) -> QuerySet[Report]:
        if self.value() == "yes":
            return reports_overdue(queryset)
        return queryset


class DepartmentFilter(admin.RelatedOnlyFieldListFilter):
    """The departments of the reports one sees; reports always have one (their category is a leaf)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("department")

    @property
    def include_empty_choice(self) -> bool:
        return False


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
    "first_response_due_at",
    "closed_at",
]
LOCATION_FIELDS = ["location_map", "latitude", "longitude", "media_links"]
# A report a partner system filed through Open311: who, its own id and what else it sent (staff only).
PARTNER_FIELDS = ["partner_system", "sender_reference", "sender_metadata"]
REPORTER_FIELDS = [
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_consent",
    "has_installation",
    "contact_erased_at",
]
TRIAGE_FIELDS = ["assigned_to", "hidden", "forwarded_to", "duplicate_of_link", "duplicates_list"]
STATUS_FORM_FIELDS = ["new_status", "authority", "original", "reply_template", "message", "note"]
FORWARD_FORM_FIELDS = ["move_to", "move_reason"]
ASSIGNMENT_FORM_FIELDS = [
    "assignee",
    "hide",
    "remove_photos",
    "redacted_description",
    "redact_event",
    "redacted_message",
]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    """The triage queue and a report's page."""

    form = ReportWorkflowForm
    change_list_template = "admin/reports/report/change_list.html"
    list_display = [
        "number",
        "thumbnail",
        "category",
        "summary",
        "place",
        "stadtteil",
        "age",
        "status",
        "assignee",
        "support_count",
        "last_change",
        "overdue",
    ]
    list_display_links = ["number", "category", "summary"]
    list_filter = [
        InboxFilter,
        "status",
        ("category__department", DepartmentFilter),
        ("category", admin.RelatedOnlyFieldListFilter),
        "stadtteil",
        AssignedFilter,
        "hidden",
        HasPhotoFilter,
        OverdueFilter,
    ]
    list_select_related = ["category", "assigned_to"]
    search_fields = ["description", "address"]
    search_help_text = _(
        "Report number (e.g. 123 or #123), words from the description or the address, or a partner "
        "system's id of the report."
    )
    date_hierarchy = "created_at"
    readonly_fields = [
        *REPORT_FIELDS,
        *LOCATION_FIELDS,
        "photo_thumbnails",
        *REPORTER_FIELDS,
        *PARTNER_FIELDS,
        *TRIAGE_FIELDS,
        "history",
    ]
    actions = ["assign_to_me", "change_status", "hide", "unhide"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return reports_with_list_thumbnail(reports_with_photo_flag(reports_for_staff(request.user)))

    def get_urls(self) -> list[URLPattern]:
        return [
            path("map/", self.admin_site.admin_view(self.map_view), name="reports_report_map"),
            path("map/data/", self.admin_site.admin_view(self.map_data_view), name="reports_report_map_data"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(
            request, {**(extra_context or {}), "inbox_query": f"?{INBOX_PARAMETER}=mine"}
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), "map_config": workspace_map_config()}
        response = super().change_view(request, object_id, form_url, context)
        # The report's map (change_form.html): its tiles come from the tile server.
        response._csp_update = settings.MAP_CSP_SOURCES  # type: ignore[attr-defined]  # read by django-csp
        return response

    def map_view(self, request: HttpRequest) -> TemplateResponse:
        """The overview map of the open reports; its points come from ``map_data_view``."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = TemplateResponse(
            request,
            "admin/reports/report/map.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Map of open reports"),
                "opts": self.model._meta,
                "filter_form": MapFilterForm(request.GET or None, user=request.user),
                "map_config": workspace_map_config(),
                "data_url": reverse("admin:reports_report_map_data"),
            },
        )
        response._csp_update = settings.MAP_CSP_SOURCES  # type: ignore[attr-defined]  # read by django-csp
        return response

    def map_data_view(self, request: HttpRequest) -> JsonResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return map_points(request)

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
        ]
        if obj is not None and partner_submission(obj) is not None:
            fieldsets.append((_("Partner system (Open311, private)"), {"fields": PARTNER_FIELDS}))
        fieldsets += [
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
                (_("Forward to another department"), {"fields": FORWARD_FORM_FIELDS}),
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

    def response_change(self, request: HttpRequest, obj: Report) -> Any:
        if reports_for_staff(request.user).filter(pk=obj.pk).exists():
            return super().response_change(request, obj)
        # Forwarded out of the user's departments: its page would now be "not found".
        obj.refresh_from_db()  # the service moved it; this instance still has the old category
        self.message_user(
            request,
            _("Report #%(number)d was forwarded to %(department)s.")
            % {
                "number": obj.pk,
                "department": obj.category.department.name if obj.category.department else "",
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:reports_report_changelist"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports are filed in the app

    # Columns and read-only views

    @admin.display(description=_("No."), ordering="id")
    def number(self, report: Report) -> int:
        return report.pk

    @admin.display(description=_("photo"))
    def thumbnail(self, report: Report) -> SafeString | str:
        stored_name = getattr(report, "list_thumbnail", None)
        if not stored_name:
            return mark_safe('<span class="report-list-no-photo"></span>')  # not the admin's "-"
        return format_html(
            '<img class="report-list-thumbnail" src="{}" alt="{}" loading="lazy" width="48" height="36">',
            thumbnail_url(stored_name),
            _("Photo of report %(number)d") % {"number": report.pk},
        )

    @admin.display(description=_("description"))
    def summary(self, report: Report) -> str:
        return report_summary(report)

    @admin.display(description=_("address"), ordering="address")
    def place(self, report: Report) -> str:
        return report_place(report)

    @admin.display(description=_("age"), ordering="-created_at")
    def age(self, report: Report) -> SafeString:
        return format_html(
            '<span title="{}">{}</span>',
            date_format(timezone.localtime(report.created_at), "SHORT_DATETIME_FORMAT"),
            report_age(report, now=timezone.now()),
        )

    @admin.display(description=_("last change"), ordering="updated_at")
    def last_change(self, report: Report) -> str:
        return date_format(timezone.localtime(report.updated_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("assigned to"), ordering="assigned_to__last_name")
    def assignee(self, report: Report) -> str:
        if report.assigned_to is None:
            return self.get_empty_value_display()
        return report.assigned_to.get_full_name() or report.assigned_to.get_username()

    @admin.display(description=_("overdue"), ordering="first_response_due_at")
    def overdue(self, report: Report) -> SafeString | str:
        if not report_is_overdue(report):
            return ""
        return format_html('<span class="report-overdue">⚠ {}</span>', _("overdue"))

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

    @admin.display(description=_("media links"))
    def media_links(self, report: Report) -> SafeString | str:
        submission = partner_submission(report)
        links = submission.media_urls if submission is not None else []
        links = links or ([report.media_url] if report.media_url else [])
        if not links:
            return self.get_empty_value_display()
        # Links the sender gave, opened by staff in their own browser; fetched by the server only from
        # hosts the operator listed (reports.open311.media), with what became of it.
        fetches = (
            {entry["url"]: entry for entry in submission.media_fetches} if submission is not None else {}
        )
        outcomes = {
            "stored": _("fetched, now a photo"),
            "refused": _("not fetched: %(reason)s"),
            "failed": _("fetch failed for now: %(reason)s"),
        }

        def fetched(link: str) -> str:
            entry = fetches.get(link)
            if entry is None:
                return ""
            return " (" + str(outcomes[entry["outcome"]]) % {"reason": entry.get("reason", "")} + ")"

        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}" target="_blank" rel="noopener noreferrer">{}</a>{}</li>',
                ((link, link, fetched(link)) for link in links),
            ),
        )

    @admin.display(description=_("partner system"))
    def partner_system(self, report: Report) -> str:
        submission = partner_submission(report)
        return submission.api_key.name if submission is not None else self.get_empty_value_display()

    @admin.display(description=_("sender's reference"))
    def sender_reference(self, report: Report) -> str:
        submission = partner_submission(report)
        return (submission.sender_reference if submission else "") or self.get_empty_value_display()

    @admin.display(description=_("sender's metadata"))
    def sender_metadata(self, report: Report) -> SafeString | str:
        submission = partner_submission(report)
        if submission is None or not submission.sender_metadata:
            return self.get_empty_value_display()
        rows = (
            (key, ", ".join(value) if isinstance(value, list) else value)
            for key, value in submission.sender_metadata.items()
        )
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))

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
        events = report.events.select_related("actor", "redacted_by").order_by("created_at", "id")
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
        if event.kind == ReportEvent.Kind.REROUTED:
            what = self._rerouted(what, event.details)
        if event.actor is not None:
            who: Any = event.actor.get_full_name() or event.actor.get_username()
        elif event.kind in (
            ReportEvent.Kind.CREATED,
            ReportEvent.Kind.STATUS,
            ReportEvent.Kind.REPLY,
            ReportEvent.Kind.PARTNER_COMMENT,
        ):
            who = _("reporter")
        else:
            who = self.get_empty_value_display()
        return (
            "report-history-public" if event.is_public else "report-history-internal",
            date_format(timezone.localtime(event.created_at), "SHORT_DATETIME_FORMAT"),
            what,
            who,
            self._public_message(event),
            event.internal_note,
        )

    def _rerouted(self, what: Any, details: dict[str, Any]) -> SafeString:
        """ "Forwarded: Schlagloch (Tiefbau) → Graffiti (Ordnung)", with the answers the old category had."""
        old, new = details.get("from_category", {}), details.get("to_category", {})
        answers = details.get("answers") or {}
        return format_html(
            "{}: {} ({}) → {} ({}){}",
            what,
            old.get("name", ""),
            details.get("from_department", ""),
            new.get("name", ""),
            details.get("to_department", ""),
            format_html(
                "<br><small>{} {}</small>",
                _("Answers to the old category's questions:"),
                "; ".join(f"{key}: {value}" for key, value in answers.items()),
            )
            if answers
            else "",
        )

    def _public_message(self, event: ReportEvent) -> Any:
        if not event.is_public:
            return ""
        if event.redacted_at is None:
            return event.public_message
        by = event.redacted_by.get_username() if event.redacted_by else self.get_empty_value_display()
        return format_html(
            '{}<br><em class="report-history-redacted">{}</em>',
            event.public_message,
            _("redacted by %(who)s, %(when)s")
            % {
                "who": by,
                "when": date_format(timezone.localtime(event.redacted_at), "SHORT_DATETIME_FORMAT"),
            },
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
