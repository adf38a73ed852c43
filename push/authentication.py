"""App calls authenticate with ``Authorization: Device <secret>``.

A scheme of our own rather than ``Bearer`` so a device secret and a staff token can never be mistaken
for each other, and so a 401 tells the app which credential it lacks (``WWW-Authenticate: Device``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from casapp.api.permissions import IsDevice

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass
from casapp.models import hash_secret
from push.models import Installation
from push.services import installation_seen

KEYWORD = "Device"


class DeviceAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, Installation] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid device credentials."))
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid device credentials.")) from None
        installation = Installation.objects.filter(secret_hash=hash_secret(secret)).first()
        if installation is None:
            raise exceptions.AuthenticationFailed(_("Invalid device credentials."))
        installation_seen(installation=installation)
        return AnonymousUser(), installation

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


class DeviceOnly:
    """Mixin for views only an app installation may call (no staff session, no anonymous caller)."""

    authentication_classes: Sequence[type[authentication.BaseAuthentication]] = (DeviceAuthentication,)
    permission_classes: Sequence[_PermissionClass] = (IsDevice,)


def request_installation(request: Request) -> Installation:
    """The calling installation; only for views whose permission already requires one."""
    installation: Any = request.auth
    if not isinstance(installation, Installation):
        raise exceptions.NotAuthenticated()
    return installation
