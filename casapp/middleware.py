"""Cross-cutting request handling: request ids, one log line per request, the request size and query
parameter limits, staff on a temporary password."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import is_valid_path, reverse
from django.utils.translation import gettext as _

from casapp.api.errors import (
    BACKING_SERVICE_ERRORS,
    error_response,
    service_unavailable_response,
    too_many_parameters_detail,
)
from casapp.logging import new_request_id, request_id_var
from casapp.metrics import http_request_observe

logger = logging.getLogger("casapp.request")
api_logger = logging.getLogger("casapp.api")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestLogMiddleware:
    """Tags the request with an id (echoed as ``X-Request-ID``), logs one line when it is answered and
    counts it in the request metrics.

    The line carries method, path (never the query string: it may hold tokens), status and duration.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            duration = time.perf_counter() - started
            http_request_observe(request, status=response.status_code, seconds=duration)
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class RequestBodyLimitMiddleware:
    """Answers 413 before reading a body larger than ``MAX_REQUEST_BODY_BYTES``.

    Django's own limit ignores file parts, so a 2 GB upload would otherwise be streamed to disk first.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return error_response(
                status=413,
                code="request_too_large",
                detail=None,
            )
        return self.get_response(request)


class QueryParameterLimitMiddleware:
    """Answers 400 ``too_many_parameters`` for a query string of more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``
    parameters, for every path.

    Django counts them only when ``request.GET`` is first read: a view that never reads it would answer as
    if they were not there, one that reads it outside DRF would fail with Django's generic 400. Reading it
    here (it is parsed once per request either way) gives every endpoint the same answer. An app whose
    endpoints have an error format of their own renders it through the ``error_response`` hook of its
    AppConfig (``request, *, status, code, detail`` -> a response, or None for paths not its own).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.error_renderers: list[Callable[..., HttpResponse | None]] = [
            config.error_response  # type: ignore[attr-defined]
            for config in apps.get_app_configs()
            if callable(getattr(config, "error_response", None))
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.GET  # noqa: B018 - parsed (and counted) now, kept for the view
        except TooManyFieldsSent:
            detail = too_many_parameters_detail()
            for render in self.error_renderers:
                response = render(request, status=400, code="too_many_parameters", detail=detail)
                if response is not None:
                    return response
            return error_response(status=400, code="too_many_parameters", detail=detail)
        return self.get_response(request)


class TrailingSlashMiddleware:
    """An API or Open311 path answers the same with and without its trailing slash, for every method.

    Django's APPEND_SLASH redirects a GET and cannot redirect a POST (a 500 under DEBUG; elsewhere a 301
    that clients follow as a GET, so a reminder was silently not created). Here a path that resolves to
    nothing is served in place under its other form, without a redirect. Only misses cost anything: a path
    that resolves is never looked at. Placed after CommonMiddleware, so its redirect never sees these.
    """

    PREFIXES = ("/api/", "/open311/")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        if (
            response.status_code != 404
            or getattr(request, "resolver_match", None) is not None  # a view's own 404
            or not path.startswith(self.PREFIXES)
        ):
            return response
        other = path[:-1] if path.endswith("/") else f"{path}/"
        if not is_valid_path(other, getattr(request, "urlconf", None)):
            return response
        request.path = request.path[: len(request.path) - len(path)] + other
        request.path_info = other
        return self.get_response(request)


TEMPORARY_PASSWORD_SESSION_KEY = "casapp_temporary_password"


class TemporaryPasswordMiddleware:
    """Sends a staff member who logged in with a password Administration gave them to set their own first.

    The login marks the session (``casapp.signals``); only a marked session costs a query here, and the mark
    goes as soon as the password is no longer the temporary one.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only workspace pages: reading the session elsewhere would add "Vary: Cookie" to public answers.
        if not request.path.startswith(reverse("admin:index")):
            return self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.get(TEMPORARY_PASSWORD_SESSION_KEY):
            return self.get_response(request)
        from casapp.staff import temporary_password_pending

        if not temporary_password_pending(request.user):  # type: ignore[arg-type]
            del session[TEMPORARY_PASSWORD_SESSION_KEY]
            return self.get_response(request)
        allowed = {
            reverse("admin:password_change"),
            reverse("admin:password_change_done"),
            reverse("admin:logout"),
        }
        if request.path in allowed:
            return self.get_response(request)
        messages.warning(request, _("Please choose your own password before you continue."))
        return redirect("admin:password_change")


class BackingServiceMiddleware:
    """503 ``service_unavailable`` instead of a 500 when a view outside DRF (admin, health probes, the ICS
    feed) cannot reach the database, the cache or the broker. DRF views get the same from the API's
    exception handler."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BACKING_SERVICE_ERRORS):
            api_logger.warning("backing service unavailable: %s", type(exception).__name__)
            return service_unavailable_response()
        return None
