"""Rate limits by kind of client, counted in the shared cache (Redis in production).

App installations are counted per installation, staff per user, anonymous callers per client IP
(``DJANGO_NUM_PROXIES`` tells how many proxies' ``X-Forwarded-For`` entries to trust).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from casapp.api.permissions import is_device_request


class ClientRateThrottle(SimpleRateThrottle):
    """The default limit of every endpoint, scoped by who is calling."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = self._scope_for(request)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def __init__(self) -> None:  # rate depends on the request; resolved in allow_request
        pass

    @staticmethod
    def _scope_for(request: Request) -> str:
        if is_device_request(request):
            return "device"
        if request.user and request.user.is_authenticated:
            return "staff"
        return "anon"

    def get_cache_key(self, request: Request, view: Any) -> str:
        if is_device_request(request):
            ident = f"i{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerIpScopedThrottle(ScopedRateThrottle):
    """A named limit (``throttle_scope`` on the view) counted per client IP, whoever is calling."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
