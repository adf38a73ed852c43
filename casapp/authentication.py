"""Staff API tokens: ``Authorization: Bearer <token>`` for the tools staff run against the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from casapp.models import StaffApiToken, hash_secret

# Writing last_used_at at most this often keeps token calls from writing a row each.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class StaffTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, StaffApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None
        token = StaffApiToken.objects.select_related("user").filter(key_hash=hash_secret(key)).first()
        if token is None or not token.is_usable or not token.user.is_active or not token.user.is_staff:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            StaffApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def staff_token_create(*, user: Any, name: str, expires_at: Any = None) -> tuple[StaffApiToken, str]:
    """Creates a token and returns it with its key; the key is not stored and cannot be shown again."""
    key = StaffApiToken.new_key()
    token = StaffApiToken(user=user, name=name, expires_at=expires_at)
    token.set_key(key)
    token.save()
    return token, key


# What staff endpoints accept: an API token from a tool, or the admin's session from a browser.
STAFF_AUTHENTICATION = [StaffTokenAuthentication, authentication.SessionAuthentication]
