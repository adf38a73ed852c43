"""Content-Security-Policy on every response: the pages' policy for HTML, a strict one for everything else.

HTML pages (the admin, Swagger UI, Redoc) get ``settings.CONTENT_SECURITY_POLICY`` through django-csp,
with whatever a view adds (``csp_update``, e.g. the map of a report). Every other response (the JSON of
the API, the ICS feeds, the schema, CSV exports) is data and never a document that should run or load
anything: it gets ``default-src 'none'; frame-ancestors 'none'``, so a response a browser is tricked into
rendering still executes nothing and cannot be framed.
"""

from __future__ import annotations

from typing import Any

from csp.constants import NONE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest
from django.http.response import HttpResponseBase

API_POLICY: dict[str, Any] = {"default-src": [NONE], "frame-ancestors": [NONE]}


def _is_html(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only or _is_html(response):
            return parts
        return PolicyParts(config=API_POLICY)
