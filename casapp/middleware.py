"""Cross-cutting request handling: request ids, one log line per request, the request size limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from casapp.api.errors import BACKING_SERVICE_ERRORS, error_response, service_unavailable_response
from casapp.logging import new_request_id, request_id_var

logger = logging.getLogger("casapp.request")
api_logger = logging.getLogger("casapp.api")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestLogMiddleware:
    """Tags the request with an id (echoed as ``X-Request-ID``) and logs one line when it is answered.

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
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
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
