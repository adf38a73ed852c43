"""Reply templates ("Textbausteine") in the workspace.

Who manages them: Administration every department's; a Triage member those of their own departments
(they write the replies, so they keep their department's wording up to date), and only those: the list,
the pages and the department choices are limited to their departments.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from reports.models import ReplyTemplate
from reports.reply_templates import PLACEHOLDERS, placeholders_unknown
from reports.staff_selectors import departments_for_staff, staff_sees_all_reports

PREVIEW_CHARACTERS = 90


def _placeholder_help() -> str:
    names = "; ".join(f"{{{name}}}: {meaning}" for name, meaning in PLACEHOLDERS.items())
    return str(_("Shown to the reporter as written, with these placeholders filled in: %(names)s.")) % {
        "names": names
    }


class ReplyTemplateForm(forms.ModelForm[ReplyTemplate]):
    class Meta:
        model = ReplyTemplate
        fields = ["department", "title", "text"]
        widgets = {"text": forms.Textarea({"rows": 6})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = _placeholder_help()

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if unknown := placeholders_unknown(text):
            raise forms.ValidationError(
                _("Unknown placeholder: %(unknown)s. Available: %(available)s."),
                code="unknown_placeholder",
                params={
                    "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                    "available": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
                },
            )
        return text


class OwnDepartmentFilter(admin.RelatedOnlyFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("department")


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin[ReplyTemplate]):
    form = ReplyTemplateForm
    list_display = ["title", "department", "preview", "updated_at"]
    list_filter = [("department", OwnDepartmentFilter)]
    list_select_related = ["department"]
    search_fields = ["title", "text"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReplyTemplate]:
        templates = super().get_queryset(request)
        if staff_sees_all_reports(request.user):
            return templates
        return templates.filter(department__in=departments_for_staff(request.user))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "department":
            kwargs["queryset"] = departments_for_staff(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("text"))
    def preview(self, template: ReplyTemplate) -> str:
        return Truncator(" ".join(template.text.split())).chars(PREVIEW_CHARACTERS)
