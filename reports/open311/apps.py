from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


class Open311Config(AppConfig):
    """The Mängelmelder as Open311 GeoReport v2, for the city's back office and partner systems."""

    name = "reports.open311"
    label = "open311"
    verbose_name = _("Open311")
    role_permissions = {
        "Administration": [
            *(f"{action}_partnerapikey" for action in ("add", "change", "view")),
            "view_partnersubmission",
        ],
    }

    def error_response(
        self, request: HttpRequest, *, status: int, code: str, detail: str
    ) -> HttpResponse | None:
        """casapp's middleware refuses some requests before any view sees them: under /open311/ in the
        spec's errors format, as the views answer (``casapp.middleware.QueryParameterLimitMiddleware``)."""
        from reports.open311.api import errors_document_response

        if not request.path.startswith("/open311/"):
            return None
        return errors_document_response(request, status=status, descriptions=[detail])
