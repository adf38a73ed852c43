"""The API documentation pages (Swagger UI and Redoc, served offline by drf-spectacular-sidecar).

They answer GET and HEAD only. Any other method gets a 405 in the one error shape: drf-spectacular's views
would answer OPTIONS (and render their errors) through the page's HTML template renderer, which has no
template for data and failed with a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from casapp.api.errors import error_response

PAGE_METHODS = ("GET", "HEAD")


class _DocsPage:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in PAGE_METHODS:
            response = error_response(status=405, code="method_not_allowed")
            response["Allow"] = ", ".join(PAGE_METHODS)
            return response
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]


class SwaggerPage(_DocsPage, SpectacularSwaggerSplitView):
    pass


class RedocPage(_DocsPage, SpectacularRedocView):
    pass
