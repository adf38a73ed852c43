"""Content negotiation: DRF's, except that an unknown ``?format=`` is the client's error (400), not a 404."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, Any]:
        candidates = list(renderers)
        parameter = api_settings.URL_FORMAT_OVERRIDE
        requested = request.query_params.get(parameter) if parameter else None
        # A format suffix is part of the path: an unknown one stays a 404 (no such URL). An empty ?format=
        # is no request for a format, as in DRF.
        if requested and not format_suffix and not any(r.format == requested for r in candidates):
            allowed = ", ".join(sorted({str(r.format) for r in candidates}))
            message = _('Unknown format "%(format)s"; allowed: %(allowed)s.') % {
                "format": requested[:20],
                "allowed": allowed,
            }
            raise ValidationError({parameter: [ErrorDetail(message, code="invalid_choice")]})
        selected: tuple[BaseRenderer, Any] = super().select_renderer(request, candidates, format_suffix)
        return selected
