"""Staff accounts as Administration manages them: roles, single grants, deactivation, temporary passwords
and login locks.

Administration manages every account but a superuser's, and never raises itself: the checks live here, in
``staff_change_refusal``, so neither a page nor a crafted POST gets round them. What an account may do comes
only from the three roles and from the few permissions apps declare grantable one by one
(``AppConfig.grantable_permissions``, e.g. push's "send without a second approval"). Each change is written
to the staff audit log. Accounts are deactivated, never deleted: their names stay in every history.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from rest_framework.throttling import BaseThrottle

from casapp.errors import DomainError, Forbidden
from casapp.models import StaffAuditEntry, TemporaryPassword
from casapp.roles import ROLES

Action = StaffAuditEntry.Action


@dataclass(frozen=True)
class StaffAccess:
    """What an account may do: its roles and its single grants ("app_label.codename")."""

    roles: frozenset[str]
    grants: frozenset[str]
    is_active: bool


def grantable_permissions() -> dict[str, StrOrPromise]:
    """The permissions outside the roles that Administration may grant one by one, with their labels."""
    grantable: dict[str, StrOrPromise] = {}
    for config in apps.get_app_configs():
        for codename, label in getattr(config, "grantable_permissions", {}).items():
            grantable[f"{config.label}.{codename}"] = label
    return grantable


def staff_access(member: User) -> StaffAccess:
    grants = {
        f"{app_label}.{codename}"
        for app_label, codename in member.user_permissions.values_list("content_type__app_label", "codename")
    }
    return StaffAccess(
        roles=frozenset(member.groups.filter(name__in=ROLES).values_list("name", flat=True)),
        grants=frozenset(grants & grantable_permissions().keys()),
        is_active=member.is_active,
    )


def staff_change_refusal(*, actor: User, member: User | None, access: StaffAccess) -> None:
    """Raises if ``actor`` may not give ``member`` (None: a new account) this access; else returns."""
    if member is not None and member.is_superuser and not actor.is_superuser:
        raise Forbidden(_("Superuser accounts are managed by superusers only."))
    if unknown := access.roles - set(ROLES):
        raise DomainError(_("Unknown role: %(role)s") % {"role": ", ".join(sorted(unknown))}, field="roles")
    if unknown := access.grants - grantable_permissions().keys():
        raise DomainError(
            _("This permission cannot be granted: %(permission)s")
            % {"permission": ", ".join(sorted(unknown))},
            field="grants",
        )
    if member is not None and member.pk == actor.pk and not actor.is_superuser:
        current = staff_access(member)
        if access.roles != current.roles or access.grants != current.grants:
            raise Forbidden(_("You cannot change your own roles or permissions."), field="roles")
        if not access.is_active:
            raise Forbidden(_("You cannot deactivate your own account."), field="is_active")


@transaction.atomic
def staff_member_create(
    *, actor: User, username: str, first_name: str, last_name: str, email: str, access: StaffAccess
) -> tuple[User, str]:
    """Creates a staff account with a temporary password, returned once: its owner must replace it."""
    staff_change_refusal(actor=actor, member=None, access=access)
    member = User.objects.create_user(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=True,
        is_active=access.is_active,
    )
    _apply(member, access)
    password = _temporary_password_set(member)
    _audit(actor, member, Action.CREATED, {"roles": sorted(access.roles), "grants": sorted(access.grants)})
    return member, password


@transaction.atomic
def staff_member_update(
    *, actor: User, member: User, first_name: str, last_name: str, email: str, access: StaffAccess
) -> None:
    """Changes an account's names, roles, grants and whether it is active; each change is audited."""
    member = User.objects.select_for_update().get(pk=member.pk)
    staff_change_refusal(actor=actor, member=member, access=access)
    before = staff_access(member)
    details = {"first_name": first_name, "last_name": last_name, "email": email}
    changed = {
        field: [getattr(member, field), value]
        for field, value in details.items()
        if getattr(member, field) != value
    }
    for field, value in details.items():
        setattr(member, field, value)
    _apply(member, access)
    if changed:
        _audit(actor, member, Action.CHANGED, changed)
    if before.roles != access.roles:
        _audit(actor, member, Action.ROLES, {"roles": [sorted(before.roles), sorted(access.roles)]})
    for grant in sorted(access.grants - before.grants):
        _audit(actor, member, Action.GRANTED, {"permission": grant})
    for grant in sorted(before.grants - access.grants):
        _audit(actor, member, Action.REVOKED, {"permission": grant})
    if before.is_active != access.is_active:
        _audit(actor, member, Action.REACTIVATED if access.is_active else Action.DEACTIVATED, {})


def staff_member_deactivate(*, actor: User, member: User) -> None:
    """Deactivates an account; sessions and API tokens stop working, the name stays in every history."""
    current = staff_access(member)
    staff_member_update(
        actor=actor,
        member=member,
        first_name=member.first_name,
        last_name=member.last_name,
        email=member.email,
        access=StaffAccess(roles=current.roles, grants=current.grants, is_active=False),
    )


@transaction.atomic
def staff_password_reset(*, actor: User, member: User) -> str:
    """Gives ``member`` a new temporary password (returned once) and lifts a login lock."""
    if member.pk == actor.pk:
        raise Forbidden(_("Change your own password on the password page."))
    staff_change_refusal(actor=actor, member=member, access=staff_access(member))
    password = _temporary_password_set(member)
    axes_reset(username=member.get_username())
    _audit(actor, member, Action.PASSWORD_RESET, {})
    return password


def staff_login_unlock(*, actor: User, member: User) -> bool:
    """Lifts a login lock of ``member``'s user name; returns whether there was one."""
    staff_change_refusal(actor=actor, member=member, access=staff_access(member))
    if not staff_login_locked(member):
        return False
    axes_reset(username=member.get_username())
    _audit(actor, member, Action.UNLOCKED, {})
    return True


def staff_login_locked(member: User) -> bool:
    """Whether too many failed logins currently lock ``member``'s user name."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(
        username=member.get_username(),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gte=since,
    )
    return bool(attempts.exists())


def temporary_password_pending(user: User) -> bool:
    """Whether ``user`` still logs in with a password Administration gave them."""
    temporary = TemporaryPassword.objects.filter(user=user).first()
    return temporary is not None and temporary.is_current(user)


class StaffLoginHandler(AxesDatabaseHandler):
    """django-axes counting failed logins per user name and, with a higher limit, per address.

    A whole city hall reaches us from one address behind its NAT: five typos there must not lock everyone
    out, while five wrong passwords for one account do lock that account.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        by_username, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if by_address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(by_username, settings.AXES_FAILURE_LIMIT)
        return int(by_username)


def login_locked_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page a locked-out login gets: 429, in the workspace's language, saying how long to wait."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "lockout_minutes": minutes,
    }
    return render(request, "admin/login_locked.html", context, status=429)


def login_client_ip(request: HttpRequest) -> str | None:
    """The address failed logins are counted for: the same one the API's rate limits use; None when the
    request carries none that is an address (a forged X-Forwarded-For, a test client's login)."""
    ident = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    try:
        return str(ipaddress.ip_address(str(ident).strip()))
    except ValueError:
        return None


def _apply(member: User, access: StaffAccess) -> None:
    member.is_active = access.is_active
    member.is_staff = True
    member.save()
    member.groups.remove(*member.groups.filter(name__in=ROLES).exclude(name__in=access.roles))
    member.groups.add(*Group.objects.filter(name__in=access.roles))
    member.user_permissions.remove(*_permissions(grantable_permissions().keys() - access.grants))
    member.user_permissions.add(*_permissions(access.grants))


def _permissions(keys: Iterable[str]) -> list[Permission]:
    found: list[Permission] = []
    for key in keys:
        app_label, codename = key.split(".")
        found.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    return found


def _temporary_password_set(member: User) -> str:
    password = secrets.token_urlsafe(12)
    member.set_password(password)
    member.save(update_fields=["password"])
    TemporaryPassword.objects.update_or_create(user=member, defaults={"password_hash": member.password})
    return password


def _audit(actor: User, member: User, action: str, changes: Mapping[str, object]) -> None:
    StaffAuditEntry.objects.create(actor=actor, member=member, action=action, changes=changes)
