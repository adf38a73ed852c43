"""The catalogue, maintained by Administration: departments, categories with their questions, Stadtteil
boundaries."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from casapp.staff_admin import staff_inline_register
from reports.admin.staff_fields import StaffMemberField
from reports.models import Category, CategoryQuestion, Department, District


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    """A department's members are the Triage staff who see and handle its categories' reports."""

    list_display = ["name", "key", "member_count", "category_count", "shared_inbox"]
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


class DepartmentMembershipInline(admin.TabularInline[Any, Any]):
    """A staff member's departments, on their page in staff management."""

    model = Department.members.through
    fk_name = "user"
    extra = 0
    verbose_name = _("department")
    verbose_name_plural = _("departments (Triage sees their reports)")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs["label"] = _("department")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


staff_inline_register(DepartmentMembershipInline)


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
        (
            None,
            {
                "fields": [
                    "parent",
                    "key",
                    "department",
                    "is_active",
                    "position",
                    "icon_key",
                    "first_response_days",
                ]
            },
        ),
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
