"""The staff workspace of the Abfallkalender: waste types, streets and locations, districts with their
planning rules, collection dates (filtered by type, district, status and date) and the import history.

Streets, locations and dates come from the imports and the planner; the admin corrects them. A street's
search forms are computed here from its name (``waste_calendar.normalise``), as the importers do. Cancelling
collections goes through ``collections_cancel`` so the reminder side hears of it like of a re-import.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from waste_calendar.models import (
    Collection,
    CollectionChange,
    CollectionStatus,
    District,
    ImportRun,
    ImportStatus,
    Location,
    LocationDistrict,
    PlanRule,
    Street,
    WasteType,
)
from waste_calendar.normalise import street_compact_form, street_search_form
from waste_calendar.services import (
    ImportNotHeld,
    collections_cancel,
    import_held_confirm,
    import_held_discard,
)

STAFF_CANCEL_REASON = "Abfuhr entfällt"


@admin.register(WasteType)
class WasteTypeAdmin(admin.ModelAdmin[WasteType]):
    list_display = ["key", "name_de", "name_en", "name_tr", "swatch", "icon_key", "position", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["key", "name_de", "name_en", "name_tr"]

    @admin.display(description=_("colour"))
    def swatch(self, waste_type: WasteType) -> SafeString:
        return format_html(
            '<span style="display:inline-block;width:1.2em;height:1.2em;border-radius:3px;'
            'background:{};vertical-align:middle"></span> {}',
            waste_type.colour,
            waste_type.colour,
        )


class LocationInline(admin.TabularInline[Location, Street]):
    model = Location
    fields = ["house_number", "parity", "public_id"]
    readonly_fields = ["house_number", "parity", "public_id"]
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin[Street]):
    list_display = ["name", "postcode", "stadtteil", "needs_house_number", "location_count"]
    list_filter = ["stadtteil", "needs_house_number"]
    search_fields = ["name", "name_search", "name_compact", "postcode"]
    readonly_fields = ["name_search", "name_compact", "updated_at"]
    inlines = [LocationInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Street]:
        return super().get_queryset(request).annotate(location_count=Count("locations"))

    @admin.display(description=_("locations"), ordering="location_count")
    def location_count(self, street: Any) -> int:
        return int(street.location_count)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Street], search_term: str
    ) -> tuple[QuerySet[Street], bool]:
        # "Bahnhofstr", "Poeppinghauser" find what the app's autocomplete finds.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        compact = street_compact_form(search_term)
        if compact:
            found |= queryset.filter(name_compact__contains=compact)
        return found, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Street, form: Any, change: bool) -> None:
        obj.name_search = street_search_form(obj.name)
        obj.name_compact = street_compact_form(obj.name)
        super().save_model(request, obj, form, change)


class LocationDistrictInline(admin.TabularInline[LocationDistrict, Location]):
    model = LocationDistrict
    fields = ["waste_type", "district", "valid_from", "valid_until"]
    autocomplete_fields = ["district"]
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin[Location]):
    list_display = ["__str__", "house_number", "parity", "public_id", "updated_at"]
    list_filter = ["parity", "street__stadtteil"]
    search_fields = ["street__name", "street__name_search", "public_id", "house_number"]
    list_select_related = ["street"]
    fields = ["street", "house_number", "parity", "public_id", "created_at", "updated_at"]
    readonly_fields = ["street", "house_number", "parity", "public_id", "created_at", "updated_at"]
    inlines = [LocationDistrictInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Locations come from the imports: their public id is derived from the address.
        return False


class PlanRuleInline(admin.TabularInline[PlanRule, District]):
    model = PlanRule
    fields = ["weekday", "interval_weeks", "anchor_date", "valid_from", "valid_until"]
    extra = 0


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin[District]):
    list_display = ["code", "name", "waste_type", "source", "location_count"]
    list_filter = ["waste_type", "source"]
    search_fields = ["code", "name"]
    list_select_related = ["waste_type"]
    inlines = [PlanRuleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[District]:
        return super().get_queryset(request).annotate(location_count=Count("assignments"))

    @admin.display(description=_("assigned locations"), ordering="location_count")
    def location_count(self, district: Any) -> int:
        return int(district.location_count)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    list_display = ["date", "waste_type", "district", "status", "original_date", "reason", "updated_at"]
    list_filter = ["status", "district__waste_type", ("date", admin.DateFieldListFilter), "district__source"]
    date_hierarchy = "date"
    search_fields = ["district__code", "district__name", "reason"]
    list_select_related = ["district__waste_type"]
    autocomplete_fields = ["district"]
    readonly_fields = ["import_run", "updated_at"]
    actions = ["cancel_collections"]

    @admin.display(description=_("waste type"), ordering="district__waste_type__position")
    def waste_type(self, collection: Collection) -> str:
        return collection.district.waste_type.name_de

    @admin.action(description=_("Cancel the selected collections"), permissions=["change"])
    def cancel_collections(self, request: HttpRequest, queryset: QuerySet[Collection]) -> None:
        run = collections_cancel(
            collections=queryset.exclude(status=CollectionStatus.CANCELLED),
            # Shown in the app like a holiday's name: data, in German.
            reason=STAFF_CANCEL_REASON,
            source=f"admin: {request.user}",
        )
        self.message_user(
            request,
            _("%(count)d collection(s) cancelled; subscribers will be told.")
            % {"count": run.summary.get("cancelled", 0)},
            messages.SUCCESS,
        )


def review_reason_label(reason: dict[str, Any]) -> str:
    """A held run's reason in the staff member's language."""
    if reason["reason"] == "type_removed":
        return gettext("%(type)s: no future collection would remain (all %(future)d cancelled).") % {
            "type": reason["type_name"],
            "future": reason["future"],
        }
    return gettext(
        "%(type)s, district %(district)s: %(changed)d of %(future)d future collections cancelled or moved."
    ) % {
        "type": reason["type_name"],
        "district": reason["district"],
        "changed": reason["changed"],
        "future": reason["future"],
    }


IMPORT_RUN_FIELDS = (
    "kind",
    "status",
    "source",
    "checksum",
    "started_at",
    "finished_at",
    "summary_text",
    "review_text",
    "reviewed_by",
    "reviewed_at",
    "problems",
)


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin[ImportRun]):
    """The import history; a held import ("to be reviewed") is confirmed or discarded on its page."""

    list_display = ["started_at", "kind", "status", "source", "summary_text"]
    list_filter = ["status", "kind"]
    search_fields = ["source", "problems"]
    date_hierarchy = "started_at"
    fields = IMPORT_RUN_FIELDS
    readonly_fields = IMPORT_RUN_FIELDS
    change_form_template = "admin/waste_calendar/importrun/change_form.html"

    @admin.display(description=_("summary"))
    def summary_text(self, run: ImportRun) -> str:
        return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in sorted(run.summary.items()))

    @admin.display(description=_("review"))
    def review_text(self, run: ImportRun) -> SafeString | str:
        """Why the run was held and what it would change, per district: the Administration's decision aid."""
        if not run.review:
            return "-"
        reasons = format_html_join(
            "", "<li>{}</li>", ((review_reason_label(reason),) for reason in run.review.get("reasons", []))
        )
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td class="numeric">{}</td><td class="numeric">{}</td>'
            '<td class="numeric">{}</td><td class="numeric">{}</td><td class="numeric">{}</td></tr>',
            (
                (
                    impact["type_name"],
                    impact["district"],
                    impact["future"],
                    impact["cancelled"],
                    impact["moved"],
                    impact["added"],
                    f"{(impact['cancelled'] + impact['moved']) / impact['future']:.0%}"
                    if impact["future"]
                    else "-",
                )
                for impact in run.review.get("districts", [])
            ),
        )
        shown = len(run.review.get("districts", []))
        affected = run.review.get("districts_affected", shown)
        return format_html(
            '<div class="waste-import-review"><p>{}</p><ul>{}</ul>'
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "</tr></thead><tbody>{}</tbody></table><p>{}</p></div>",
            gettext(
                "Held: more than %(share)s of a district's future collections would be cancelled or "
                "moved, or a waste type would lose all of them."
            )
            % {"share": f"{run.review.get('share_limit', 0):.0%}"},
            reasons,
            # A context of their own: Django's catalogs translate a bare "cancelled" otherwise.
            pgettext("import review", "waste type"),
            pgettext("import review", "district"),
            pgettext("import review", "future collections"),
            pgettext("import review", "cancelled"),
            pgettext("import review", "moved"),
            pgettext("import review", "added"),
            pgettext("import review", "share"),
            rows,
            gettext(
                "%(shown)d of %(affected)d affected districts shown, the largest share first; "
                "counted from %(today)s."
            )
            % {"shown": shown, "affected": affected, "today": run.review.get("today", "")},
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/confirm/",
                self.admin_site.admin_view(require_POST(self.confirm_view)),
                name="waste_calendar_importrun_confirm",
            ),
            path(
                "<path:object_id>/discard/",
                self.admin_site.admin_view(require_POST(self.discard_view)),
                name="waste_calendar_importrun_discard",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            "can_review": run is not None
            and run.status == ImportStatus.HELD
            and request.user.has_perm("waste_calendar.review_importrun"),
        }
        return super().change_view(request, object_id, form_url, context)

    def _decide(self, request: HttpRequest, object_id: str, *, confirm: bool) -> HttpResponse:
        if not request.user.has_perm("waste_calendar.review_importrun"):
            raise PermissionDenied
        run = get_object_or_404(ImportRun, pk=object_id)
        try:
            if confirm:
                run = import_held_confirm(run_id=run.pk, user=request.user)  # type: ignore[arg-type]
                self.message_user(
                    request,
                    gettext(
                        "The import was applied: %(cancelled)d cancelled, %(moved)d moved, %(added)d added; "
                        "subscribers will be told."
                    )
                    % {key: run.summary.get(key, 0) for key in ("cancelled", "moved", "added")},
                    messages.SUCCESS,
                )
            else:
                import_held_discard(run_id=run.pk, user=request.user)  # type: ignore[arg-type]
                self.message_user(
                    request, gettext("The import was discarded; nothing was changed."), messages.SUCCESS
                )
        except ImportNotHeld as refusal:
            self.message_user(request, str(refusal.detail), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:waste_calendar_importrun_change", args=[run.pk]))

    def confirm_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide(request, object_id, confirm=True)

    def discard_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide(request, object_id, confirm=False)


@admin.register(CollectionChange)
class CollectionChangeAdmin(admin.ModelAdmin[CollectionChange]):
    list_display = ["created_at", "kind", "district", "previous_date", "date", "import_run", "notified_at"]
    list_filter = ["kind", "district__waste_type", ("date", admin.DateFieldListFilter)]
    list_select_related = ["district__waste_type", "import_run"]
    search_fields = ["district__code"]
    readonly_fields = [
        "collection",
        "district",
        "kind",
        "previous_date",
        "date",
        "import_run",
        "created_at",
        "notified_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
