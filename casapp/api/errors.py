"""The API's one error shape and the handler that produces it for every error.

Shape::

    {"code": "validation_error", "detail": "Ungültige Eingabe.", "request_id": "3f2a...",
     "errors": [{"field": "push_token.kind", "code": "required", "detail": "Dieses Feld ..."}]}

``code`` is stable and machine-readable, ``detail`` is in the language negotiated from
``Accept-Language`` (de default, en), ``errors`` appears only for validation failures.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

import kombu.exceptions
import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from casapp.errors import DomainError
from casapp.logging import request_id_var

logger = logging.getLogger("casapp.api")

DEFAULT_DETAILS: dict[str, Promise] = {
    "bad_request": _("The request could not be understood."),
    "validation_error": _("Invalid input."),
    "not_authenticated": _("Authentication credentials were not provided."),
    "permission_denied": _("You do not have permission to perform this action."),
    "not_found": _("Not found."),
    "method_not_allowed": _("This method is not allowed here."),
    "request_too_large": _("The request body is too large."),
    "server_error": _("An internal error occurred. Please try again later."),
    "service_unavailable": _("The service is briefly unavailable. Please try again in a moment."),
}


def too_many_parameters_detail() -> str:
    """Django's limits on query and form parameters and on uploaded files, as a client can act on them."""
    return str(
        _("Too many parameters: at most %(fields)d query or form parameters and %(files)d files per request.")
        % {"fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, "files": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    )


ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 409, 413, 415, 429, 500, 503)

# A backing service that cannot be reached (database restarting, Redis stopped): the request is fine and
# the same request will work again shortly, so the client gets 503 with Retry-After, not a 500.
BACKING_SERVICE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    kombu.exceptions.OperationalError,
)
SERVICE_RETRY_AFTER_SECONDS = 5


def error_body(
    *, code: str, detail: str | Promise | None, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "detail": str(detail if detail is not None else DEFAULT_DETAILS.get(code, code)),
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = errors
    return body


def error_response(
    *,
    status: int,
    code: str,
    detail: str | Promise | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JsonResponse:
    """The error shape for code paths outside DRF views (middleware, URL resolver, health checks)."""
    return JsonResponse(error_body(code=code, detail=detail, errors=errors), status=status)


def service_unavailable_response() -> JsonResponse:
    """The answer while a backing service is away; logged once per request, without a traceback."""
    response = error_response(status=503, code="service_unavailable")
    response["Retry-After"] = str(SERVICE_RETRY_AFTER_SECONDS)
    return response


def _field_errors(detail: Any, path: str | None = None) -> Iterator[dict[str, Any]]:
    """Flattens DRF's nested error structure into ``{field, code, detail}`` items with dotted paths."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "__all__") else str(key)
            child = f"{path}.{name}" if path and name else (name or path)
            yield from _field_errors(value, child)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                yield from _field_errors(value, f"{path}.{index}" if path else str(index))
            else:
                yield from _field_errors(value, path)
    else:
        yield {"field": path, "code": getattr(detail, "code", "invalid"), "detail": str(detail)}


def _code_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    code = getattr(detail, "code", None)
    return str(code or exc.default_code)


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's exception handler: every exception a view raises becomes the error shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        set_rollback()
        errors = None
        if exc.field:
            errors = [{"field": exc.field, "code": exc.code, "detail": str(exc.detail)}]
        body = {**exc.extra, **error_body(code=exc.code, detail=exc.detail, errors=errors)}
        return Response(body, status=exc.status)

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return Response(
            error_body(code="validation_error", detail=None, errors=list(_field_errors(exc.detail))),
            status=400,
        )

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers: dict[str, str] = {}
        if auth_header := getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = auth_header
        if wait := getattr(exc, "wait", None):
            headers["Retry-After"] = str(math.ceil(wait))
        detail = exc.detail if isinstance(exc.detail, str) else None
        return Response(
            error_body(code=_code_of(exc), detail=detail), status=exc.status_code, headers=headers
        )

    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(code="request_too_large", detail=None), status=413)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        # Form bodies: counted by Django's parsers when DRF parses the body.
        body = error_body(code="too_many_parameters", detail=too_many_parameters_detail())
        return Response(body, status=400)
    if isinstance(exc, BACKING_SERVICE_ERRORS):
        set_rollback()
        logger.warning("backing service unavailable: %s", type(exc).__name__)
        return Response(
            error_body(code="service_unavailable", detail=None),
            status=503,
            headers={"Retry-After": str(SERVICE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, SuspiciousOperation):
        logger.warning("suspicious request: %s", type(exc).__name__)
        return Response(error_body(code="bad_request", detail=None), status=400)

    set_rollback()
    logger.exception("unhandled error in %s", type(context.get("view")).__name__)
    return Response(error_body(code="server_error", detail=None), status=500)


# --- Django-level handlers: URLs no view matched, and crashes outside DRF views.


def _wants_json(request: HttpRequest) -> bool:
    return not request.path.startswith("/admin/")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return error_response(status=400, code="too_many_parameters", detail=too_many_parameters_detail())
    return error_response(status=400, code="bad_request")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(status=403, code="permission_denied")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _wants_json(request):
        return page_not_found(request, exception or Http404())
    return error_response(status=404, code="not_found")


def handler500(request: HttpRequest) -> HttpResponse:
    return error_response(status=500, code="server_error")
