"""HTTP plumbing of the Open311 endpoints: format by URL suffix, the spec's error format, partner keys.

Open311 clients pick the format by the URL's suffix (``.xml``/``.json``), not by ``Accept``, and expect
the spec's ``errors`` array instead of this API's error object: both are decided here, once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote_to_bytes

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from casapp.api.errors import DEFAULT_DETAILS, _field_errors, too_many_parameters_detail
from casapp.api.throttling import FixedWindowThrottle
from casapp.errors import DomainError
from reports.open311.documents import Document, Open311JSONRenderer, Open311XMLRenderer
from reports.open311.models import PartnerApiKey
from reports.open311.services import partner_key_authenticate

logger = logging.getLogger("reports.open311")

# The one jurisdiction this server answers for; optional in every request, checked when given.
JURISDICTION_ID = "castrop-rauxel.de"

# Our field names (in DomainError.field) as the Open311 parameter the client sent.
PARAMETER_NAMES = {
    "location": "lat/long",
    "latitude": "lat",
    "longitude": "long",
    "category": "service_code",
    "answers": "attribute",
}


class SuffixNegotiation(DefaultContentNegotiation):
    """The URL's suffix decides the format, whatever ``Accept`` says (JSON where a path has none)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        candidates = list(renderers)
        for renderer in candidates:
            if renderer.format == (format_suffix or "json"):
                return renderer, renderer.media_type
        return candidates[0], candidates[0].media_type


class PartnerKeyAuthentication(BaseAuthentication):
    """A partner's ``api_key`` form field (or query parameter, as some clients send it). A missing or
    unknown key is no credential rather than an error: the view answers 403, after the rate limits."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PartnerApiKey] | None:
        secret = request.data.get("api_key") if hasattr(request.data, "get") else None
        secret = secret or request.query_params.get("api_key")
        if not isinstance(secret, str) or not secret:
            return None
        key = partner_key_authenticate(secret=secret)
        return (AnonymousUser(), key) if key is not None else None


class PartnerKeyThrottle(FixedWindowThrottle):
    """Each partner's own limit: the key's ``rate_limit``, else ``THROTTLE_OPEN311_KEY``. Counted per key:
    every read made with it (the updates feed, keyed request reads) and every request or update it
    filed; a refused POST does not count (the view charges a filed one)."""

    scope = "open311_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, PartnerApiKey):
            return True  # refused with 403 by the view, or an anonymous read
        self.charge_on_success = request.method == "POST"
        return super().allow_request(request, view)

    def rate_for(self, request: Request, scope: str) -> str | None:
        key = request.auth
        if isinstance(key, PartnerApiKey) and key.rate_limit:
            return key.rate_limit
        return super().rate_for(request, scope)

    def identity(self, request: Request) -> str:
        return f"k{request.auth.pk}"


def partner_of(request: Request) -> PartnerApiKey:
    if not isinstance(request.auth, PartnerApiKey):
        raise exceptions.PermissionDenied(_("The api_key is missing, unknown or revoked."))
    return request.auth


def present(values: Mapping[str, Any]) -> dict[str, str]:
    """The parameters as single values; an empty parameter counts as absent, as the spec says."""
    return {name: value for name, value in values.items() if isinstance(value, str) and value != ""}


def check_jurisdiction(values: Mapping[str, Any]) -> None:
    jurisdiction = values.get("jurisdiction_id") or ""
    if jurisdiction and jurisdiction != JURISDICTION_ID:
        raise exceptions.NotFound(
            _("jurisdiction_id %(given)s was not found; this server answers for %(ours)s.")
            % {"given": jurisdiction[:60], "ours": JURISDICTION_ID}
        )


def errors_response(
    status: int, descriptions: Sequence[str], headers: Mapping[str, str] | None = None
) -> Response:
    body = [{"code": status, "description": description} for description in descriptions]
    return Response(Document("errors", body, "error"), status=status, headers=dict(headers or {}))


def errors_document_response(
    request: HttpRequest, *, status: int, descriptions: Sequence[str]
) -> HttpResponse:
    """The spec's ``errors`` document outside a view (middleware), in the format the path's suffix names."""
    renderer: BaseRenderer = Open311XMLRenderer() if request.path.endswith(".xml") else Open311JSONRenderer()
    body = [{"code": status, "description": description} for description in descriptions]
    content = renderer.render(Document("errors", body, "error"))
    return HttpResponse(content, status=status, content_type=f"{renderer.media_type}; charset=utf-8")


def _parameter(field: str | None) -> str:
    if not field:
        return ""
    if field.startswith("answers."):
        return f"attribute[{field.removeprefix('answers.')}]"
    return PARAMETER_NAMES.get(field, field)


def open311_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """Every error of an Open311 endpoint as the spec's ``errors`` array, in the request's format."""
    set_rollback()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DomainError):
        name = _parameter(exc.field)
        description = f"{name}: {exc.detail}" if name else str(exc.detail)
        # The spec knows 400, 403 and 404; a clash with the report's state is the client's error too.
        return errors_response(exc.status if exc.status in (403, 404) else 400, [description])
    if isinstance(exc, exceptions.ValidationError):
        problems = [
            f"{_parameter(problem['field'])}: {problem['detail']}" if problem["field"] else problem["detail"]
            for problem in _field_errors(exc.detail)
        ]
        return errors_response(400, problems)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        # A form body's parameters, counted by Django's parsers while DRF parses the body.
        return errors_response(400, [too_many_parameters_detail()])
    if isinstance(exc, RequestDataTooBig):
        return errors_response(413, [str(DEFAULT_DETAILS["request_too_large"])])
    if isinstance(exc, SuspiciousOperation):
        return errors_response(400, [str(DEFAULT_DETAILS["bad_request"])])
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        exc = exceptions.PermissionDenied(_("The api_key is missing, unknown or revoked."))
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if wait := getattr(exc, "wait", None):
            headers["Retry-After"] = str(math.ceil(wait))
        detail = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        return errors_response(exc.status_code, [str(detail)], headers)
    logger.exception("unhandled error in %s", type(context.get("view")).__name__)
    return errors_response(500, [str(_("An internal error occurred. Please try again later."))])


class Open311View(APIView):
    """Base of every Open311 endpoint: public, suffix-negotiated, Open311 errors."""

    authentication_classes: Sequence[type[BaseAuthentication]] = ()
    permission_classes = ()
    renderer_classes = (Open311JSONRenderer, Open311XMLRenderer)
    content_negotiation_class = SuffixNegotiation
    # Not in /api/schema/: that schema describes /api/v1/ and its one error shape (a test holds every
    # listed path to it); this interface's contract is the GeoReport v2 spec, errors included
    # (docs/open311.md).
    schema = None

    def get_exception_handler(self) -> Any:
        return open311_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before the parameters are read: Django decodes them replacing invalid bytes with U+FFFD,
        # which would store a sender's broken text as a different one. The suffix is known first, so
        # the error comes in its format.
        self.format_kwarg = self.get_format_suffix(**kwargs)
        check_utf8(request._request)
        super().initial(request, *args, **kwargs)


def check_utf8(request: HttpRequest) -> None:
    """Refuses a query string or urlencoded body whose parameters, once percent-decoded, are not UTF-8
    (a multipart body's fields are not checked: Django's parser decodes them before we see them)."""
    encoded = [request.META.get("QUERY_STRING", "").encode("latin-1", errors="replace")]
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        encoded.append(request.body)
    for raw in encoded:
        for pair in raw.split(b"&"):
            try:
                unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                raise exceptions.ParseError(
                    _("The request's parameters are not valid UTF-8; send them UTF-8 encoded.")
                ) from None
