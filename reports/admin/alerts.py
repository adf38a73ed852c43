"""“My notifications”: each staff member chooses how they hear of new reports of their departments.

A page of one's own: the list redirects to the member's own preference, nobody sees or changes anyone
else's. The workspace index shows the overdue reports of one's departments (``workspace_index.html``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from reports import alerts
from reports.models import AlertPreference, Department
from reports.staff_selectors import TRIAGE_GROUP

# The workspace index with the overdue count (reports/templates/admin/workspace_index.html).
admin.site.index_template = "admin/workspace_index.html"


class AlertPreferenceForm(forms.ModelForm[AlertPreference]):
    class Meta:
        model = AlertPreference
        fields = ["frequency", "language"]
        widgets = {"frequency": forms.RadioSelect, "language": forms.RadioSelect}


@admin.register(AlertPreference)
class AlertPreferenceAdmin(admin.ModelAdmin[AlertPreference]):
    form = AlertPreferenceForm
    fieldsets = [
        (
            None,
            {
                "fields": ["frequency", "language", "departments", "address"],
                "description": _(
                    "Daily digests go out at 7:30 on working days (Monday to Friday, not on public "
                    "holidays in NRW) and also list the overdue reports of your departments. E-mails "
                    "never contain the reporter's contact data or photos."
                ),
            },
        )
    ]
    readonly_fields = ["departments", "address"]

    def _own(self, request: HttpRequest, obj: AlertPreference | None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and (obj is None or obj.user_id == user.pk))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._own(request, None)

    def has_view_permission(self, request: HttpRequest, obj: AlertPreference | None = None) -> bool:
        return self._own(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: AlertPreference | None = None) -> bool:
        return self._own(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AlertPreference | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(user=request.user.pk or 0)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        preference, _created = AlertPreference.objects.get_or_create(user_id=request.user.pk)
        return HttpResponseRedirect(reverse("admin:reports_alertpreference_change", args=[preference.pk]))

    def save_model(self, request: HttpRequest, obj: AlertPreference, form: Any, change: bool) -> None:
        alerts.alert_preference_update(
            user=obj.user, frequency=form.cleaned_data["frequency"], language=form.cleaned_data["language"]
        )

    def response_change(self, request: HttpRequest, obj: AlertPreference) -> HttpResponse:
        self.message_user(request, _("Your notification settings are saved."))
        return HttpResponseRedirect(request.path)

    @admin.display(description=_("my departments"))
    def departments(self, preference: AlertPreference) -> SafeString | str:
        names = ", ".join(str(d) for d in Department.objects.filter(members=preference.user_id))
        if not preference.user.groups.filter(name=TRIAGE_GROUP).exists():
            return format_html(
                "{} <em>({})</em>", names or "-", _("without the Triage role you get no e-mails")
            )
        return names or str(_("none: you get no e-mails"))

    @admin.display(description=_("sent to"))
    def address(self, preference: AlertPreference) -> str:
        return preference.user.email or str(_("no e-mail address: ask Administration to add one"))


__all__ = ["AlertPreferenceAdmin"]
