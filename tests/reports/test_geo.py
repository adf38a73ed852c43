"""The Mängelmelder's geography: the city boundary, location validation, Stadtteile, distances."""

from __future__ import annotations

import json
import logging
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.functional import Promise
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from casapp.errors import DomainError
from reports.geo import (
    EARTH_RADIUS_M,
    bbox_around,
    city_boundary,
    city_geometry,
    distance_m,
    point_in_city,
    stadtteil_for,
    validate_location,
)
from reports.models import District

TEST_DATA = Path(__file__).resolve().parent / "data"
# The reference data's neighbours, copied unchanged (licence note in data/README.md).
NEIGHBOURS_FILE = TEST_DATA / "castrop-rauxel-and-neighbours.geojson"
NEIGHBOURS = ("Datteln", "Oer-Erkenschwick", "Recklinghausen", "Waltrop", "Bochum", "Dortmund", "Herne")

# Inside the two test districts of data/districts-two.geojson (Castrop west of 7.32°E, Pöppinghausen east).
IN_TEST_CASTROP = (51.552, 7.31)
IN_TEST_POEPPINGHAUSEN = (51.552, 7.33)


def _neighbour_shapes() -> dict[str, BaseGeometry]:
    collection = json.loads(NEIGHBOURS_FILE.read_text(encoding="utf-8"))
    return {feature["properties"]["GEN"]: shape(feature["geometry"]) for feature in collection["features"]}


def _boundary_offset(metres: float) -> list[tuple[float, float]]:
    """Points (lat, lon) on a line ``metres`` outside (positive) or inside (negative) the city boundary.

    Buffered in a local metric projection, so the offset is the same in every direction.
    """
    polygon = city_geometry()
    lat0 = polygon.centroid.y
    metres_per_degree = EARTH_RADIUS_M * math.pi / 180
    kx, ky = metres_per_degree * math.cos(math.radians(lat0)), metres_per_degree
    in_metres = shapely.transform(polygon, lambda xy: xy * (kx, ky))
    offset = shapely.transform(in_metres.buffer(metres), lambda xy: xy / (kx, ky))
    return [(lat, lon) for lon, lat in offset.exterior.coords]


def _outside_city_code(*, latitude: Any, longitude: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as caught:
        validate_location(latitude=latitude, longitude=longitude)
    return caught.value.code, caught.value.field


# --- the city boundary -----------------------------------------------------------------------------------


def test_boundary_is_loaded_once_per_process() -> None:
    assert city_boundary() is city_boundary()
    assert city_geometry().is_valid
    assert city_geometry().geom_type == "Polygon"


def test_the_city_itself_is_inside_and_lat_lon_are_not_swapped() -> None:
    representative = city_geometry().representative_point()
    assert point_in_city(latitude=representative.y, longitude=representative.x)
    # The Rathaus at Europaplatz, as a person would type it: latitude first.
    assert point_in_city(latitude=51.5527, longitude=7.3105)
    assert not point_in_city(latitude=7.3105, longitude=51.5527)
    assert validate_location(latitude=51.5527, longitude=7.3105) == (51.5527, 7.3105)


def test_points_a_few_metres_inside_the_boundary_are_inside() -> None:
    points = _boundary_offset(-5)
    assert len(points) > 100
    assert all(point_in_city(latitude=lat, longitude=lon) for lat, lon in points)


def test_points_a_few_metres_outside_the_boundary_are_outside() -> None:
    points = _boundary_offset(5)
    assert len(points) > 100
    assert not any(point_in_city(latitude=lat, longitude=lon) for lat, lon in points)
    lat, lon = points[0]
    assert _outside_city_code(latitude=lat, longitude=lon) == ("outside_city", "location")


def test_points_on_the_boundary_line_count_as_inside() -> None:
    # The vertices are the only points exactly on the line: an edge's midpoint is off it by rounding.
    ring = city_geometry().exterior.coords
    assert len(ring) == 222
    assert all(point_in_city(latitude=lat, longitude=lon) for lon, lat in ring)


def test_just_beyond_the_extreme_vertices_is_outside() -> None:
    # Needs no geometry library: nothing of the city lies beyond its bounding box.
    min_lon, min_lat, max_lon, max_lat = city_geometry().bounds
    step = 3 / 111_195  # about 3 m in degrees of latitude
    ring = city_geometry().exterior.coords
    north = max(ring, key=lambda p: p[1])
    south = min(ring, key=lambda p: p[1])
    east = max(ring, key=lambda p: p[0])
    west = min(ring, key=lambda p: p[0])
    assert point_in_city(latitude=north[1], longitude=north[0])
    assert not point_in_city(latitude=max_lat + step, longitude=north[0])
    assert not point_in_city(latitude=min_lat - step, longitude=south[0])
    assert not point_in_city(latitude=east[1], longitude=max_lon + 2 * step)
    assert not point_in_city(latitude=west[1], longitude=min_lon - 2 * step)


@pytest.mark.parametrize("city", NEIGHBOURS)
def test_the_neighbouring_cities_are_outside(city: str) -> None:
    point = _neighbour_shapes()[city].representative_point()
    assert not point_in_city(latitude=point.y, longitude=point.x)
    assert _outside_city_code(latitude=point.y, longitude=point.x) == ("outside_city", "location")


def test_the_neighbours_file_agrees_on_castrop_rauxel() -> None:
    point = _neighbour_shapes()["Castrop-Rauxel"].representative_point()
    assert point_in_city(latitude=point.y, longitude=point.x)


# --- validate_location ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (51.5527, 7.3105),
        ("51.5527", "7.3105"),  # multipart forms send strings
        (" 51.5527 ", "7.3105"),
        (Decimal("51.5527"), Decimal("7.3105")),
    ],
)
def test_valid_locations_come_back_as_floats(latitude: Any, longitude: Any) -> None:
    assert validate_location(latitude=latitude, longitude=longitude) == (51.5527, 7.3105)


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (math.nan, 7.31, "latitude"),
        (51.55, math.nan, "longitude"),
        (math.inf, 7.31, "latitude"),
        (51.55, -math.inf, "longitude"),
        ("nan", 7.31, "latitude"),
        ("1e400", 7.31, "latitude"),  # a string that overflows to inf
        (Decimal("NaN"), 7.31, "latitude"),
        ("abc", 7.31, "latitude"),
        (51.55, "", "longitude"),
        (None, 7.31, "latitude"),
        (51.55, None, "longitude"),
        (True, 7.31, "latitude"),
        ([51.55], 7.31, "latitude"),
        ({"lat": 51.55}, 7.31, "latitude"),
        (90.0001, 7.31, "latitude"),
        (-91, 7.31, "latitude"),
        (51.55, 180.5, "longitude"),
        (51.55, -181, "longitude"),
        ("abc", "def", "latitude"),  # the first problem is named
    ],
)
def test_invalid_locations_are_refused(latitude: Any, longitude: Any, field: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate_location(latitude=latitude, longitude=longitude)
    assert caught.value.code == "invalid_location"
    assert caught.value.field == field
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(0, 0), (0.0, 0.0), ("0", "0"), (90, 180), (-90, -180), (7.3105, 51.5527)],
)
def test_valid_coordinates_elsewhere_are_outside_the_city(latitude: Any, longitude: Any) -> None:
    assert _outside_city_code(latitude=latitude, longitude=longitude) == ("outside_city", "location")


def test_outside_city_detail_is_translated_per_request() -> None:
    with pytest.raises(DomainError) as caught:
        validate_location(latitude=0, longitude=0)
    assert isinstance(caught.value.detail, Promise)  # rendered in the request's language
    with translation.override("en"):
        assert str(caught.value.detail) == (
            "This place is outside Castrop-Rauxel. Please report it to the city responsible for it."
        )


# --- Stadtteile ----------------------------------------------------------------------------------------


@pytest.fixture
def two_districts(db: Any) -> None:
    call_command("import_districts", str(TEST_DATA / "districts-two.geojson"), stdout=_Discard())


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.django_db
def test_no_districts_means_no_stadtteil() -> None:
    assert stadtteil_for(latitude=IN_TEST_CASTROP[0], longitude=IN_TEST_CASTROP[1]) == ""


def test_stadtteil_of_a_point_in_an_imported_district(two_districts: None) -> None:
    assert stadtteil_for(latitude=IN_TEST_CASTROP[0], longitude=IN_TEST_CASTROP[1]) == "Castrop"
    lat, lon = IN_TEST_POEPPINGHAUSEN
    assert stadtteil_for(latitude=lat, longitude=lon) == "Pöppinghausen"
    # In the city, but in no imported polygon.
    assert stadtteil_for(latitude=51.60, longitude=7.33) == ""
    # Swapped coordinates find nothing.
    assert stadtteil_for(latitude=IN_TEST_CASTROP[1], longitude=IN_TEST_CASTROP[0]) == ""


def test_a_point_on_a_shared_edge_goes_to_the_alphabetically_first(two_districts: None) -> None:
    assert stadtteil_for(latitude=51.552, longitude=7.32) == "Castrop"
    assert stadtteil_for(latitude=51.545, longitude=7.33) == "Pöppinghausen"  # its own outer edge


def test_a_re_import_is_seen_at_once(two_districts: None) -> None:
    assert stadtteil_for(latitude=51.562, longitude=7.295) == ""  # memoised now
    call_command(
        "import_districts", str(TEST_DATA / "districts-two-castrop-moved.geojson"), stdout=_Discard()
    )
    assert stadtteil_for(latitude=51.562, longitude=7.295) == "Castrop"


def test_a_change_by_another_process_is_seen_without_clearing_the_memo(two_districts: None) -> None:
    lat, lon = IN_TEST_CASTROP
    assert stadtteil_for(latitude=lat, longitude=lon) == "Castrop"
    # Another process (the admin, an import elsewhere) writes the table; this process's memo is stale.
    elsewhere = {
        "type": "Polygon",
        "coordinates": [[[7.28, 51.6], [7.29, 51.6], [7.29, 51.61], [7.28, 51.6]]],
    }
    District.objects.filter(name="Castrop").update(geometry=elsewhere, imported_at=timezone.now())
    assert stadtteil_for(latitude=lat, longitude=lon) == ""
    District.objects.filter(name="Pöppinghausen").delete()
    assert stadtteil_for(latitude=IN_TEST_POEPPINGHAUSEN[0], longitude=IN_TEST_POEPPINGHAUSEN[1]) == ""


def test_an_unreadable_district_row_does_not_break_lookups(
    two_districts: None, caplog: pytest.LogCaptureFixture
) -> None:
    District.objects.create(name="Becklem", geometry={"type": "Polygon", "coordinates": "broken"})
    with caplog.at_level(logging.ERROR, logger="reports.geo"):
        assert stadtteil_for(latitude=IN_TEST_CASTROP[0], longitude=IN_TEST_CASTROP[1]) == "Castrop"
    assert "Becklem" in caplog.text


# --- distances -----------------------------------------------------------------------------------------


def _destination(lat: float, lon: float, metres: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) along ``bearing_deg`` on the same sphere (standard formula)."""
    phi, lam, delta, theta = (
        math.radians(lat),
        math.radians(lon),
        metres / EARTH_RADIUS_M,
        math.radians(bearing_deg),
    )
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), math.degrees(lam2)


def test_distance_of_known_spans() -> None:
    assert distance_m(51.55, 7.31, 51.55, 7.31) == 0
    # One degree of latitude on the mean sphere: R·π/180.
    assert distance_m(51.0, 7.31, 52.0, 7.31) == pytest.approx(111_195.08, abs=0.01)
    # One degree of longitude shrinks with cos(latitude) (along the parallel a little less than the arc).
    assert distance_m(51.55, 7.0, 51.55, 8.0) == pytest.approx(69_190, rel=1e-3)
    assert distance_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert distance_m(51.55, 7.31, 51.56, 7.33) == distance_m(51.56, 7.33, 51.55, 7.31)


@pytest.mark.parametrize("bearing", [0, 45, 90, 135, 180, 225, 270, 315])
def test_distance_for_nearby_reports(bearing: float) -> None:
    lat, lon = 51.5527, 7.3105
    assert distance_m(lat, lon, *_destination(lat, lon, 49.9, bearing)) < 50
    assert distance_m(lat, lon, *_destination(lat, lon, 50.1, bearing)) > 50
    assert distance_m(lat, lon, *_destination(lat, lon, 50, bearing)) == pytest.approx(50, abs=1e-6)


@pytest.mark.parametrize(("lat", "lon"), [(51.5527, 7.3105), (0, 0), (-33.9, 18.4), (85, 7)])
def test_bbox_holds_the_whole_circle_and_no_more(lat: float, lon: float) -> None:
    metres = 50
    min_lat, min_lon, max_lat, max_lon = bbox_around(lat, lon, metres)
    circle = [_destination(lat, lon, metres, bearing / 10) for bearing in range(3600)]
    rounding = 1e-12  # degrees, about 0.1 µm
    for point_lat, point_lon in circle:
        assert min_lat - rounding <= point_lat <= max_lat + rounding
        assert min_lon - rounding <= point_lon <= max_lon + rounding
    # Tight: the circle touches each side (to within a millimetre's worth of degrees).
    tolerance = 1e-8
    assert max(p[0] for p in circle) == pytest.approx(max_lat, abs=tolerance)
    assert min(p[0] for p in circle) == pytest.approx(min_lat, abs=tolerance)
    assert max(p[1] for p in circle) == pytest.approx(max_lon, abs=tolerance)
    assert min(p[1] for p in circle) == pytest.approx(min_lon, abs=tolerance)
    assert distance_m(lat, lon, max_lat, max_lon) > metres


def test_bbox_near_a_pole_spans_all_longitudes() -> None:
    assert bbox_around(89.9999, 7.0, 50) == (pytest.approx(89.99945), -180.0, 90.0, 180.0)
    min_lat, min_lon, max_lat, max_lon = bbox_around(-90, 0, 1000)
    assert (min_lat, min_lon, max_lon) == (-90.0, -180.0, 180.0)
    assert max_lat == pytest.approx(-90 + 1000 / 111_195.08, rel=1e-6)


def test_bbox_of_zero_metres_is_the_point() -> None:
    assert bbox_around(51.55, 7.31, 0) == (51.55, 7.31, 51.55, 7.31)
