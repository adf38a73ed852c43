"""Cross-cutting request handling: request ids, one log line per request, the request size limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from casapp.api.errors import error_response
from casapp.logging import new_request_id, request_id_var
from casapp.metrics import http_request_observe

logger = logging.getLogger("casapp.request")

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
