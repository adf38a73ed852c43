"""Who may call what. App installations and staff are the two kinds of authenticated client.

An installation authenticates with ``push.authentication.DeviceAuthentication``, which leaves
``request.user`` anonymous and puts the installation in ``request.auth``. ``casapp`` recognises it by its
``is_installation`` marker, so the platform layer needs no import of the push app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rest_framework.authentication import BaseAuthentication

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request


def is_device_request(request: Request) -> bool:
    return bool(getattr(request.auth, "is_installation", False))


def is_staff_request(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class IsDeviceOrStaff(BasePermission):
    """The default: any authenticated client, app or staff; object rules come from each view."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_device_request(request) or is_staff_request(request)


class PublicEndpoint:
    """Mixin for views anyone may call; credentials, even stale ones, are not looked at."""

    authentication_classes: Sequence[type[BaseAuthentication]] = ()
    permission_classes: Sequence[_PermissionClass] = (AllowAny,)


class IsDevice(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return is_device_request(request)


class IsStaffInGroup(BasePermission):
    """Staff in at least one of ``view.staff_groups`` (Administration is always admitted)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_staff_request(request):
            return False
        user = request.user
        if user.is_superuser:
            return True
        allowed = {*getattr(view, "staff_groups", ()), "Administration"}
        return user.groups.filter(name__in=allowed).exists()
