"""``manage.py import_districts``: Stadtteil polygons from GeoJSON, all or nothing."""

from __future__ import annotations

import json
import unicodedata
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from reports.geo import stadtteil_official_name
from reports.models import District

TEST_DATA = Path(__file__).resolve().parent / "data"
TWO = TEST_DATA / "districts-two.geojson"
TWO_CASTROP_MOVED = TEST_DATA / "districts-two-castrop-moved.geojson"
BAD = TEST_DATA / "districts-bad.geojson"

pytestmark = pytest.mark.django_db


def _box(west: float, south: float, east: float, north: float) -> list[list[list[float]]]:
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


# Inside the city (see the fixture files), in Dortmund, and crossing the northern boundary by ~3 %.
IN_CITY = _box(7.30, 51.565, 7.32, 51.58)
IN_DORTMUND = _box(7.45, 51.50, 7.47, 51.51)
OVERSHOOTING = _box(7.33, 51.585, 7.36, 51.60)
HALF_OUTSIDE = _box(7.36, 51.585, 7.40, 51.60)


def _feature(name: Any, coordinates: Any, *, kind: str = "Polygon", prop: str = "name") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {prop: name},
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def _write(tmp_path: Path, *features: dict[str, Any], raw: str | None = None) -> str:
    path = tmp_path / "districts.geojson"
    path.write_text(
        raw if raw is not None else json.dumps({"type": "FeatureCollection", "features": list(features)}),
        encoding="utf-8",
    )
    return str(path)


def _import(path: Path | str, *args: str) -> str:
    out = StringIO()
    call_command("import_districts", str(path), *args, stdout=out, stderr=out)
    return out.getvalue()


def _refused(path: Path | str, *args: str) -> str:
    with pytest.raises(CommandError) as caught:
        _import(path, *args)
    return str(caught.value)


def _table() -> list[tuple[str, Any, Any]]:
    return list(District.objects.order_by("name").values_list("name", "geometry", "imported_at"))


def _file_geometries(path: Path) -> list[dict[str, Any]]:
    return [feature["geometry"] for feature in json.loads(path.read_text(encoding="utf-8"))["features"]]


# --- the happy path ------------------------------------------------------------------------------------


def test_imports_a_good_file() -> None:
    output = _import(TWO)
    castrop, poeppinghausen = _file_geometries(TWO)
    assert [(name, geometry) for name, geometry, _ in _table()] == [
        ("Castrop", castrop),
        ("Pöppinghausen", poeppinghausen),  # the file says "Poeppinghausen"
    ]
    assert "Imported 2 Stadtteil polygon(s)" in output
    assert "created 2 (Castrop, Pöppinghausen)" in output
    assert "13 Stadtteil(e) without a polygon: Becklem, Behringhausen" in output


def test_importing_the_same_file_again_changes_nothing() -> None:
    _import(TWO)
    before = _table()
    output = _import(TWO)
    assert _table() == before  # imported_at too: no row was written
    assert "created 0; updated 0; unchanged 2 (Castrop, Pöppinghausen)" in output


def test_a_re_import_replaces_changed_polygons() -> None:
    _import(TWO)
    before = {name: (geometry, at) for name, geometry, at in _table()}
    output = _import(TWO_CASTROP_MOVED)
    after = {name: (geometry, at) for name, geometry, at in _table()}
    assert after["Castrop"][0] == _file_geometries(TWO_CASTROP_MOVED)[0]
    assert after["Castrop"][1] > before["Castrop"][1]
    assert after["Pöppinghausen"] == before["Pöppinghausen"]
    assert District.objects.count() == 2
    assert "updated 1 (Castrop); unchanged 1 (Pöppinghausen)" in output


def test_stadtteile_missing_from_the_file_keep_their_polygon(tmp_path: Path) -> None:
    _import(TWO)
    output = _import(_write(tmp_path, _feature("Rauxel", IN_CITY)))
    assert [name for name, _, _ in _table()] == ["Castrop", "Pöppinghausen", "Rauxel"]
    assert "12 Stadtteil(e) without a polygon" in output


def test_dry_run_checks_and_writes_nothing() -> None:
    output = _import(TWO, "--dry-run")
    assert _table() == []
    assert "Dry run, nothing written. Would import 2" in output
    assert "created 2 (Castrop, Pöppinghausen)" in output

    _import(TWO)
    before = _table()
    output = _import(TWO_CASTROP_MOVED, "--dry-run")
    assert _table() == before
    assert "updated 1 (Castrop)" in output


def test_dry_run_of_a_bad_file_fails_like_the_real_run() -> None:
    assert "features[1] ('Mengede')" in _refused(BAD, "--dry-run")


def test_the_name_may_come_from_another_property(tmp_path: Path) -> None:
    path = _write(tmp_path, _feature("ICKERN", OVERSHOOTING, prop="STT_NAME"))
    assert "no 'name' property (choose another with --name-property)" in _refused(path)
    _import(path, "--name-property", "STT_NAME")
    assert [name for name, _, _ in _table()] == ["Ickern"]


def test_a_small_overshoot_of_the_city_boundary_is_accepted(tmp_path: Path) -> None:
    _import(_write(tmp_path, _feature("Ickern", OVERSHOOTING)))
    assert [name for name, _, _ in _table()] == ["Ickern"]


def test_overlapping_polygons_are_imported_with_a_warning(tmp_path: Path) -> None:
    output = _import(_write(tmp_path, _feature("Rauxel", IN_CITY), _feature("Dingen", IN_CITY)))
    assert District.objects.count() == 2
    assert "Warning: Rauxel and Dingen overlap (100% of the smaller)" in output
    assert "assigned to Dingen" in output


@pytest.mark.parametrize(
    ("spelling", "official"),
    [
        ("Poeppinghausen", "Pöppinghausen"),
        ("pöppinghausen", "Pöppinghausen"),
        ("PÖPPINGHAUSEN", "Pöppinghausen"),
        (unicodedata.normalize("NFD", "Pöppinghausen"), "Pöppinghausen"),  # ö as o + combining diaeresis
        ("  Castrop ", "Castrop"),
        ("castrop", "Castrop"),
        ("Ober-Castrop", "Obercastrop"),
        ("Ober castrop", "Obercastrop"),
        ("Castrop-Rauxel", None),
        ("Mengede", None),
        ("", None),
    ],
)
def test_stadtteil_spellings(spelling: str, official: str | None) -> None:
    assert stadtteil_official_name(spelling) == official


# --- refusals: nothing changes -------------------------------------------------------------------------


@pytest.fixture
def existing() -> list[tuple[str, Any, Any]]:
    """Two imported Stadtteile, to show a refused import leaves them as they were."""
    _import(TWO)
    return _table()


def test_a_bad_file_reports_every_problem_and_changes_nothing(existing: list[Any]) -> None:
    message = _refused(BAD)
    assert message.startswith(f"3 problem(s) in {BAD}, nothing was imported:")
    assert "features[0]" not in message  # the good one
    assert (
        "features[1] ('Mengede'): 'Mengede' is not a Stadtteil of Castrop-Rauxel (one of: Becklem," in message
    )
    assert "features[2] ('Rauxel'): the polygon is not valid: Self-intersection" in message
    assert (
        "features[3] ('Habinghorst'): only 0% of the polygon lies inside Castrop-Rauxel (at least 95% must)"
        in message
    )
    assert _table() == existing


def test_an_unknown_name_is_refused(tmp_path: Path, existing: list[Any]) -> None:
    message = _refused(_write(tmp_path, _feature("Castrop", IN_CITY), _feature("Dortmund", IN_CITY)))
    assert "features[1] ('Dortmund'): 'Dortmund' is not a Stadtteil of Castrop-Rauxel" in message
    assert _table() == existing


def test_an_invalid_geometry_is_refused(tmp_path: Path, existing: list[Any]) -> None:
    bow_tie = [[[7.30, 51.565], [7.32, 51.58], [7.32, 51.565], [7.30, 51.58], [7.30, 51.565]]]
    message = _refused(_write(tmp_path, _feature("Castrop", bow_tie)))
    assert "features[0] ('Castrop'): the polygon is not valid: Self-intersection" in message
    assert _table() == existing


def test_a_polygon_outside_the_city_is_refused(tmp_path: Path, existing: list[Any]) -> None:
    message = _refused(_write(tmp_path, _feature("Castrop", IN_DORTMUND)))
    assert "only 0% of the polygon lies inside Castrop-Rauxel" in message
    message = _refused(_write(tmp_path, _feature("Castrop", HALF_OUTSIDE)))
    assert "features[0] ('Castrop'): only 16% of the polygon" in message
    assert _table() == existing


def test_swapped_coordinates_get_a_hint(tmp_path: Path, existing: list[Any]) -> None:
    swapped = [[[lat, lon] for lon, lat in IN_CITY[0]]]
    message = _refused(_write(tmp_path, _feature("Castrop", swapped)))
    assert "look like [latitude, longitude], GeoJSON wants [longitude, latitude]" in message
    assert _table() == existing


def test_projected_coordinates_are_refused(tmp_path: Path, existing: list[Any]) -> None:
    # UTM 32N (EPSG:25832), as QGIS exports in Germany unless told otherwise.
    utm = [[[385000, 5712000], [386000, 5712000], [386000, 5713000], [385000, 5713000], [385000, 5712000]]]
    message = _refused(_write(tmp_path, _feature("Castrop", utm)))
    assert "not WGS84 longitude/latitude" in message
    assert "EPSG:4326" in message
    assert _table() == existing


@pytest.mark.parametrize(
    ("feature", "problem"),
    [
        (_feature("Castrop", [7.31, 51.55], kind="Point"), "must be a Polygon or MultiPolygon, not 'Point'"),
        (
            {"type": "Feature", "properties": {"name": "Castrop"}},
            "must be a Polygon or MultiPolygon, not None",
        ),
        (_feature("Castrop", [[[7.30, 51.56], [7.31, 51.56]]]), "unreadable coordinates"),
        (_feature("Castrop", "nonsense"), "unreadable coordinates"),
        (_feature("Castrop", []), "the polygon is empty"),
        (_feature(None, IN_CITY), "no 'name' property"),
        (_feature(42, IN_CITY), "42 is not a Stadtteil"),
        ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": IN_CITY}}, "no 'name' property"),
        ("Castrop", "not a GeoJSON Feature"),
    ],
)
def test_malformed_features_are_refused(
    tmp_path: Path, existing: list[Any], feature: Any, problem: str
) -> None:
    message = _refused(_write(tmp_path, _feature("Rauxel", IN_CITY), feature))
    assert "features[1]" in message
    assert problem in message
    assert "features[0]" not in message
    assert _table() == existing


def test_a_stadtteil_twice_is_refused(tmp_path: Path, existing: list[Any]) -> None:
    message = _refused(_write(tmp_path, _feature("Ickern", OVERSHOOTING), _feature("ickern", IN_CITY)))
    assert "features[1] ('ickern'): Ickern appears twice (also features[0])" in message
    assert _table() == existing


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not json", "is not a JSON file"),
        ('{"type": "Feature"}', "is not a GeoJSON FeatureCollection"),
        ("[]", "is not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "holds no features"),
    ],
)
def test_unusable_files_are_refused(tmp_path: Path, existing: list[Any], raw: str, problem: str) -> None:
    assert problem in _refused(_write(tmp_path, raw=raw))
    assert _table() == existing


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert "Cannot read" in _refused(tmp_path / "missing.geojson")
