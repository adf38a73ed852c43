"""The Mängelmelder's geography: the city boundary, Stadtteile, distances.

All coordinates are WGS84. Functions take ``latitude``/``longitude`` by name; GeoJSON (and shapely, which
follows it) orders a position as ``[longitude, latitude]``, so the swap happens here and nowhere else.
Points exactly on a boundary count as inside (``covers``, not ``contains``).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Max
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from casapp.caching import LocalMemo
from casapp.city import STADTTEILE
from casapp.errors import DomainError
from reports.models import District

# shapely (and numpy under it, ~20 MB) is imported by the functions that use it, not with this module:
# every process imports reports.services, but a push worker never tests a point and stays smaller.
if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry
    from shapely.prepared import PreparedGeometry

BOUNDARY_FILE = Path(__file__).resolve().parent / "data" / "castrop-rauxel-boundary.geojson"

logger = logging.getLogger(__name__)

# Mean earth radius (IUGG), the usual choice for haversine; the error against the ellipsoid is < 0.5 %.
EARTH_RADIUS_M = 6_371_008.8


# --- the city boundary ---------------------------------------------------------------------------------


@functools.cache
def city_geometry() -> BaseGeometry:
    """The city's area as a shapely geometry (the union of the boundary file's features)."""
    from shapely.geometry import shape
    from shapely.ops import unary_union

    collection = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    geometry: BaseGeometry = unary_union([shape(feature["geometry"]) for feature in collection["features"]])
    return geometry


@functools.cache
def city_boundary_geojson() -> dict[str, Any]:
    """The boundary file as GeoJSON, as the workspace's maps draw it."""
    collection: dict[str, Any] = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": feature["geometry"]}
            for feature in collection["features"]
        ],
    }


@functools.cache
def city_boundary() -> PreparedGeometry[BaseGeometry]:
    """The city's area, prepared for many point tests; loaded once per process."""
    from shapely.prepared import prep

    return prep(city_geometry())


def point_in_city(*, latitude: float, longitude: float) -> bool:
    """Whether the point lies in Castrop-Rauxel (on the boundary line counts as inside)."""
    from shapely.geometry import Point

    return bool(city_boundary().covers(Point(longitude, latitude)))


def validate_location(*, latitude: Any, longitude: Any) -> tuple[float, float]:
    """The location as ``(latitude, longitude)`` floats, or a ``DomainError`` saying what is wrong with it.

    Accepts numbers and numeric strings (multipart forms send strings). Raises ``invalid_location`` for
    anything that is not a finite WGS84 coordinate, ``outside_city`` for a place outside the boundary
    (including 0/0, which is what a phone without a position fix tends to send).
    """
    lat = _coordinate(
        latitude,
        limit=90,
        field="latitude",
        message=_("The latitude must be a number between -90 and 90."),
    )
    lon = _coordinate(
        longitude,
        limit=180,
        field="longitude",
        message=_("The longitude must be a number between -180 and 180."),
    )
    if not point_in_city(latitude=lat, longitude=lon):
        raise DomainError(
            _("This place is outside Castrop-Rauxel. Please report it to the city responsible for it."),
            code="outside_city",
            field="location",
        )
    return lat, lon


def _coordinate(value: Any, *, limit: int, field: str, message: str | Promise) -> float:
    # bool is an int subclass, but True is no latitude.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise DomainError(message, code="invalid_location", field=field)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise DomainError(message, code="invalid_location", field=field) from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise DomainError(message, code="invalid_location", field=field)
    return number


# --- Stadtteile ----------------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    """A spelling-tolerant key: case, spacing, dashes and umlaut transcriptions do not matter."""
    text = unicodedata.normalize("NFC", name).casefold()
    for umlaut, transcription in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, transcription)
    return "".join(text.replace("-", " ").split())


_STADTTEIL_BY_KEY = {_name_key(name): name for name in STADTTEILE}


def stadtteil_official_name(name: str) -> str | None:
    """The official spelling of a Stadtteil name ("poeppinghausen " → "Pöppinghausen"), or None."""
    return _STADTTEIL_BY_KEY.get(_name_key(name))


_Shapes = tuple[tuple[str, "PreparedGeometry[BaseGeometry]"], ...]
# This process's polygons, for the districts' count and newest import (imported_at is auto_now): a re-import
# by another process changes that version, so it is read on every lookup (one cheap aggregate).
_districts: LocalMemo[None, _Shapes] = LocalMemo("Stadtteil polygons")


def districts_cache_clear() -> None:
    """Forget this process's district polygons; the next lookup reloads them."""
    _districts.forget()


def _district_shapes() -> _Shapes:
    state = District.objects.aggregate(count=Count("id"), latest=Max("imported_at"))
    return _districts.get_or_build(None, _district_shapes_load, fingerprint=(state["count"], state["latest"]))


def _district_shapes_load() -> _Shapes:
    from shapely.geometry import shape
    from shapely.prepared import prep

    shapes = []
    for name, geometry in District.objects.order_by("name").values_list("name", "geometry"):
        # The import command validates, but the admin can edit the JSON: one broken row must not stop
        # every report from being filed.
        try:
            shapes.append((name, prep(shape(geometry))))
        except Exception:
            logger.exception("unreadable geometry of Stadtteil %s, left out of lookups", name)
    return tuple(shapes)


def stadtteil_for(*, latitude: float, longitude: float) -> str:
    """The Stadtteil whose imported polygon covers the point, or "" when none does.

    On a line shared by two Stadtteile the alphabetically first wins, so the answer is stable.
    """
    from shapely.geometry import Point

    point = Point(longitude, latitude)
    for name, district in _district_shapes():
        if district.covers(point):
            return name
    return ""


# --- distances -----------------------------------------------------------------------------------------


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine on the mean earth sphere)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bbox_around(latitude: float, longitude: float, meters: float) -> tuple[float, float, float, float]:
    """``(min_lat, min_lon, max_lat, max_lon)`` of a box holding every point within ``meters``.

    For an indexed prefilter before ``distance_m``: the box is exact for the sphere ``distance_m`` uses, so
    no point within the distance falls outside it. Near a pole the longitude range opens to the full
    circle; the box does not wrap around the antimeridian (clamped to ±180 instead).
    """
    angle = meters / EARTH_RADIUS_M
    dlat = math.degrees(angle)
    min_lat, max_lat = max(-90.0, latitude - dlat), min(90.0, latitude + dlat)
    cos_lat = math.cos(math.radians(latitude))
    if min_lat <= -90.0 or max_lat >= 90.0 or math.sin(angle) >= cos_lat:
        return min_lat, -180.0, max_lat, 180.0
    # The widest longitude offset of a spherical circle: asin(sin r / cos φ), a bit more than r / cos φ.
    dlon = math.degrees(math.asin(math.sin(angle) / cos_lat))
    return min_lat, max(-180.0, longitude - dlon), max_lat, min(180.0, longitude + dlon)
