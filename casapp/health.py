"""Liveness and readiness for the orchestrator and the city's monitoring.

``/healthz`` answers while the process runs. ``/readyz`` checks every backing service that is configured
and names the failing ones. Only the database decides the verdict (503, so a load balancer takes the
instance out of rotation): without it no request can be served. The cache and the broker are shared by
every instance, and while Redis is away the app's main calls still work (reports are filed, the start-up
configuration comes from the database; see the fault matrix in docs/operations.md). Failing them would take
every instance out at once and turn a partial outage into a full one, so they answer 200 with
``status: degraded`` for monitoring to alert on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from casapp.api.errors import error_body, error_response
from casapp.tasks import HEARTBEAT_KEY

logger = logging.getLogger("casapp.health")


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("readyz:probe", "1", timeout=10)
    if cache.get("readyz:probe") != "1":
        raise RuntimeError("cache did not return the probe value")


def _broker() -> None:
    from casapp.celery import app

    with app.connection_for_write(url=settings.REDIS_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


# Without these an instance cannot serve any request; the others only degrade it.
REQUIRED = frozenset({"database"})


def readiness_checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache}
    if settings.REDIS_URL:
        checks["broker"] = _broker
    return checks


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(status=405, code="method_not_allowed")
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(status=405, code="method_not_allowed")
    results: dict[str, str] = {}
    for name, check in readiness_checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "failing"
    failing = [name for name, state in results.items() if state != "ok"]
    not_ready = [name for name in failing if name in REQUIRED]
    body: dict[str, object] = {}
    if not_ready:
        body = error_body(code="not_ready", detail=f"Not ready: {', '.join(failing)}")
    body |= {"status": "failing" if not_ready else "degraded" if failing else "ok", "checks": results}
    heartbeat = cache.get(HEARTBEAT_KEY) if "cache" not in failing else None
    if heartbeat:
        age = timezone.now() - datetime.fromisoformat(heartbeat)
        body["worker_heartbeat_age_s"] = int(age.total_seconds())
    return JsonResponse(body, status=503 if not_ready else 200)
