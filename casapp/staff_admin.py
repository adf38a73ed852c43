"""Staff management in the workspace: Administration adds staff, chooses their roles, departments and single
grants, deactivates accounts, resets passwords and lifts login locks; the staff audit log shows who did it.

Every write goes through ``casapp.staff``, whose refusals appear on the form field they concern. Apps add
their own parts of an account's page (the departments of the Mängelmelder) with ``staff_inline_register``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp import staff
from casapp.errors import DomainError
from casapp.models import StaffAuditEntry, StaffMember
from casapp.roles import ROLES

ROLE_LABELS: dict[str, StrOrPromise] = {
    "Triage": _("Triage (reports of their departments)"),
    "Kommunikation": _("Kommunikation (push notifications, banners)"),
    "Administration": _("Administration (staff, catalogue, configuration)"),
}

_staff_inlines: list[type[InlineModelAdmin[Any, Any]]] = []


def staff_inline_register(inline: type[InlineModelAdmin[Any, Any]]) -> None:
    """Adds an app's inline (e.g. department memberships) to every staff member's page."""
    if inline not in _staff_inlines:
        _staff_inlines.append(inline)


class StaffMemberForm(forms.ModelForm[StaffMember]):
    roles = forms.MultipleChoiceField(
        label=_("roles"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(role, ROLE_LABELS[role]) for role in ROLES],
    )
    grants = forms.MultipleChoiceField(
        label=_("single permissions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Granted one by one, in addition to the roles; recorded in the staff audit log."),
    )

    class Meta:
        model = StaffMember
        fields = ["username", "first_name", "last_name", "email", "is_active"]

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["grants"].choices = list(staff.grantable_permissions().items())  # type: ignore[attr-defined]
        self.fields["email"].required = True
        if self.instance.pk:
            current = staff.staff_access(self.instance)
            self.initial.update(roles=sorted(current.roles), grants=sorted(current.grants))
            if self.instance.pk == actor.pk and not actor.is_superuser:
                for name in ("roles", "grants", "is_active"):
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("Another Administration member changes this for you.")

    def access(self) -> staff.StaffAccess:
        return staff.StaffAccess(
            roles=frozenset(self.cleaned_data["roles"]),
            grants=frozenset(self.cleaned_data["grants"]),
            is_active=self.cleaned_data["is_active"],
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            staff.staff_change_refusal(
                actor=self.actor, member=self.instance if self.instance.pk else None, access=self.access()
            )
        except DomainError as error:
            raise ValidationError(
                {error.field: str(error.detail)} if error.field else str(error.detail)
            ) from None
        return cleaned


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin[StaffMember]):
    form = StaffMemberForm
    list_display = ["username", "full_name", "email", "role_list", "is_active", "login_locked", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["last_name", "first_name", "username"]
    actions = ["deactivate", "reset_password", "unlock_login"]
    fieldsets = [
        (None, {"fields": ["username", "first_name", "last_name", "email", "is_active"]}),
        (_("What the account may do"), {"fields": ["roles", "grants"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffMember]:
        # Superusers are accounts of the operators, not of the city's staff: managed in auth's own admin.
        return super().get_queryset(request).filter(is_superuser=False).prefetch_related("groups")

    def get_inlines(
        self, request: HttpRequest, obj: StaffMember | None
    ) -> list[type[InlineModelAdmin[Any, Any]]]:
        return list(_staff_inlines)

    def get_form(
        self, request: HttpRequest, obj: StaffMember | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)

        class BoundForm(form):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, actor=request.user, **form_kwargs)

        return BoundForm

    def get_readonly_fields(self, request: HttpRequest, obj: StaffMember | None = None) -> list[str]:
        return ["username", "last_login", "date_joined"] if obj else []

    def get_fieldsets(self, request: HttpRequest, obj: StaffMember | None = None) -> Any:
        if obj is None:
            return self.fieldsets
        return [*self.fieldsets, (_("Logins"), {"fields": ["last_login", "date_joined"]})]

    def has_delete_permission(self, request: HttpRequest, obj: StaffMember | None = None) -> bool:
        return False  # deactivate instead: the name stays in every report's and notification's history

    def save_model(self, request: HttpRequest, obj: StaffMember, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        fields = {name: form.cleaned_data[name] for name in ("first_name", "last_name", "email")}
        if change:
            staff.staff_member_update(actor=actor, member=obj, access=form.access(), **fields)
            return
        member, password = staff.staff_member_create(
            actor=actor, username=form.cleaned_data["username"], access=form.access(), **fields
        )
        obj.pk = member.pk
        obj._state.adding = False
        self.message_user(
            request,
            _("Temporary password of %(user)s (shown only now; replaced at first login): %(password)s")
            % {"user": member.get_username(), "password": password},
            messages.WARNING,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Roles and grants were set by the service; only the apps' inlines (departments) are saved here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.display(description=_("full name"))
    def full_name(self, obj: StaffMember) -> str:
        return obj.get_full_name()

    @admin.display(description=_("roles"))
    def role_list(self, obj: StaffMember) -> str:
        return ", ".join(sorted(group.name for group in obj.groups.all() if group.name in ROLES))

    @admin.display(description=_("login locked"), boolean=True)
    def login_locked(self, obj: StaffMember) -> bool:
        return staff.staff_login_locked(obj)

    def _each(
        self, request: HttpRequest, queryset: QuerySet[StaffMember], run: Any, done: StrOrPromise
    ) -> None:
        succeeded = 0
        for member in queryset:
            try:
                run(member)
            except DomainError as error:
                self.message_user(request, f"{member.get_username()}: {error.detail}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=_("Deactivate selected staff members"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[StaffMember]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        self._each(
            request,
            queryset,
            lambda member: staff.staff_member_deactivate(actor=actor, member=member),
            _("%(count)d account(s) deactivated."),
        )

    @admin.action(description=_("Reset password (temporary password)"), permissions=["change"])
    def reset_password(self, request: HttpRequest, queryset: QuerySet[StaffMember]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        passwords = []

        def reset(member: StaffMember) -> None:
            passwords.append((member.get_username(), staff.staff_password_reset(actor=actor, member=member)))

        self._each(request, queryset, reset, _("%(count)d password(s) reset."))
        if passwords:
            self.message_user(
                request,
                format_html(
                    "{} {}",
                    format_html_join(", ", "{}: <code>{}</code>", passwords),
                    _("(shown only now; each chooses their own password at the next login)"),
                ),
                messages.WARNING,
            )

    @admin.action(description=_("Lift login lock"), permissions=["change"])
    def unlock_login(self, request: HttpRequest, queryset: QuerySet[StaffMember]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        unlocked = [member for member in queryset if staff.staff_login_unlock(actor=actor, member=member)]
        self.message_user(
            request,
            _("Login lock lifted for %(count)d account(s).") % {"count": len(unlocked)},
            messages.SUCCESS if unlocked else messages.INFO,
        )


@admin.register(StaffAuditEntry)
class StaffAuditEntryAdmin(admin.ModelAdmin[StaffAuditEntry]):
    """Read-only for everyone: the log is only ever appended to by ``casapp.staff``."""

    list_display = ["at", "actor", "member", "action", "changes"]
    list_filter = ["action"]
    search_fields = ["member__username", "member__last_name", "actor__username"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
