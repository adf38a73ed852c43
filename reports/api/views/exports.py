"""The open-data exports: the public list as GeoJSON (RFC 7946) and CSV, at most ``EXPORT_LIMIT`` reports.

Serializing 10,000 reports costs seconds, so an export is computed at most once a minute per filter set
and has a rate limit of its own (``THROTTLE_REPORT_EXPORT`` per client IP) on top of the anonymous one.
Filters are normalised before they name the cached export: a map client panning by a few metres, or the
same statuses in another order, would otherwise compute a new export every time.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from casapp.api.throttling import FixedWindowThrottle
from casapp.caching import shared_value
from reports import exports, selectors
from reports.api.serializers import public_report_records, request_language
from reports.models import Category
from reports.selectors import BoundingBox

CSV_FILENAME = "maengelmelder-castrop-rauxel.csv"
EXPORT_CACHE_SECONDS = 60
# A bbox of an export is widened outward to this grid (0.001° is 70-110 m here): viewports a few metres
# apart share one cached export, at the price of a few reports just outside the viewport.
BBOX_GRID = Decimal("0.001")


class GeoJSONRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class CSVRenderer(BaseRenderer):
    """Renders rows (lists of strings, the header first) as RFC 4180 CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Iterable[Sequence[str]],
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(data)
        return buffer.getvalue().encode("utf-8")


EXPORT_FORMATS = (GeoJSONRenderer.format, CSVRenderer.format)


def is_export(request: Request) -> bool:
    """Whether content negotiation chose an export (``?format=`` or ``Accept``)."""
    renderer = getattr(request, "accepted_renderer", None)
    return getattr(renderer, "format", None) in EXPORT_FORMATS


class ReportExportThrottle(FixedWindowThrottle):
    """Exports per client IP (``THROTTLE_REPORT_EXPORT``), besides the limit of every anonymous call."""

    scope = "report_export"


def _grid(value: float, rounding: str) -> float:
    return float(Decimal(repr(value)).quantize(BBOX_GRID, rounding=rounding))


def export_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The validated list filters in one canonical form: the bbox widened outward to ``BBOX_GRID``,
    statuses sorted and without repeats, ``updated_since`` in UTC. Selects the same reports as before,
    plus those between the bbox and its widened edges."""
    canonical = dict(filters)
    bbox: BoundingBox | None = canonical.get("bbox")
    if bbox is not None:
        canonical["bbox"] = BoundingBox(
            min_longitude=_grid(bbox.min_longitude, ROUND_FLOOR),
            min_latitude=_grid(bbox.min_latitude, ROUND_FLOOR),
            max_longitude=_grid(bbox.max_longitude, ROUND_CEILING),
            max_latitude=_grid(bbox.max_latitude, ROUND_CEILING),
        )
    if "statuses" in canonical:
        canonical["statuses"] = sorted(set(canonical["statuses"]))
    since: datetime | None = canonical.get("updated_since")
    if since is not None:
        canonical["updated_since"] = since.astimezone(UTC)
    return canonical


def export_cache_key(request: Request, filters: Mapping[str, Any]) -> str:
    """The cache key of an export: host (photo URLs are absolute), language and the canonical filters."""
    parts = [request.build_absolute_uri("/"), request_language()]
    for name, value in sorted(filters.items()):
        if isinstance(value, BoundingBox):
            corners = (value.min_longitude, value.min_latitude, value.max_longitude, value.max_latitude)
            text = ",".join(f"{coordinate:.3f}" for coordinate in corners)
        elif isinstance(value, Category):
            text = value.key
        elif isinstance(value, datetime):
            text = value.isoformat()
        elif isinstance(value, list | tuple):
            text = ",".join(map(str, value))
        else:
            text = str(value)
        parts.append(f"{name}={text}")
    return "reports:export:v2:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def export_records(request: Request, filters: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The public records of an export, least recently changed first, and whether the cap cut them;
    computed once per ``EXPORT_CACHE_SECONDS`` per canonical filter set, host and language."""
    canonical = export_filters(filters)

    def build() -> tuple[list[dict[str, Any]], bool]:
        reports = selectors.report_public_rows(**canonical).order_by("updated_at", "pk")
        rows = list(reports[: exports.EXPORT_LIMIT + 1])
        records = public_report_records(rows[: exports.EXPORT_LIMIT], request=request)
        return records, len(rows) > exports.EXPORT_LIMIT

    return shared_value(export_cache_key(request, canonical), build, seconds=EXPORT_CACHE_SECONDS)


def export_response(records: list[dict[str, Any]], *, truncated: bool, export_format: str) -> Response:
    if export_format == GeoJSONRenderer.format:
        response = Response(
            exports.feature_collection(records, truncated=truncated), content_type=GeoJSONRenderer.media_type
        )
    else:
        response = Response(
            list(exports.csv_rows(records)), content_type="text/csv; charset=utf-8; header=present"
        )
        response["Content-Disposition"] = f'attachment; filename="{CSV_FILENAME}"'
    response["X-Export-Truncated"] = "true" if truncated else "false"
    return response
