"""Imports Stadtteil polygons from GeoJSON into the District table.

No public geometry of Castrop-Rauxel's Stadtteile exists, so the city draws them (e.g. in QGIS) and imports
them here. All or nothing: every feature is checked first, and one bad feature leaves the database as it
was. Idempotent: importing the same file again changes nothing. Stadtteile missing from the file keep the
polygon they have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import shapely
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from casapp.city import CITY_NAME, STADTTEILE
from reports.geo import city_geometry, districts_cache_clear, stadtteil_official_name
from reports.models import District

# Hand-drawn polygons may overshoot the city boundary a little (their line, our simplified boundary).
MIN_SHARE_INSIDE_CITY = 0.95
# Neighbouring hand-drawn polygons overlap a little along shared streets; more is a mistake worth a word.
MAX_SHARE_OVERLAP = 0.01
POLYGON_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class DistrictPolygon:
    index: int
    name: str
    geometry: dict[str, Any]
    shape: BaseGeometry


class Command(BaseCommand):
    help = (
        "Imports Stadtteil polygons from a GeoJSON FeatureCollection (WGS84). All or nothing; Stadtteile "
        "not in the file keep their polygon."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="GeoJSON FeatureCollection of Polygon/MultiPolygon")
        parser.add_argument(
            "--name-property",
            default="name",
            help='the feature property holding the Stadtteil name (default: "name")',
        )
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        features = _read_features(path)
        districts, problems = _check_features(features, name_property=options["name_property"])
        if problems:
            raise CommandError(
                f"{len(problems)} problem(s) in {path}, nothing was imported:\n"
                + "\n".join(f"  {problem}" for problem in problems)
            )
        for warning in _overlap_warnings(districts):
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))

        with transaction.atomic():
            existing = {
                district.name: district
                for district in District.objects.select_for_update().filter(
                    name__in=[d.name for d in districts]
                )
            }
            created, updated, unchanged = [], [], []
            for district in districts:
                row = existing.get(district.name)
                if row is None:
                    created.append(district.name)
                    if not options["dry_run"]:
                        District.objects.create(name=district.name, geometry=district.geometry)
                elif row.geometry != district.geometry:
                    updated.append(district.name)
                    if not options["dry_run"]:
                        row.geometry = district.geometry
                        row.save(update_fields=["geometry", "imported_at"])
                else:
                    unchanged.append(district.name)
            without_polygon = sorted(
                set(STADTTEILE)
                - set(District.objects.values_list("name", flat=True))
                - {d.name for d in districts}
            )
        districts_cache_clear()

        self.stdout.write(
            self.style.SUCCESS(
                ("Dry run, nothing written. Would import " if options["dry_run"] else "Imported ")
                + f"{len(districts)} Stadtteil polygon(s) from {path}: "
                + "; ".join(
                    f"{label} {len(names)}" + (f" ({', '.join(names)})" if names else "")
                    for label, names in (("created", created), ("updated", updated), ("unchanged", unchanged))
                )
            )
        )
        if without_polygon:
            self.stdout.write(
                f"{len(without_polygon)} Stadtteil(e) without a polygon: {', '.join(without_polygon)}"
            )


def _read_features(path: Path) -> list[Any]:
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"{path} is not a JSON file (UTF-8): {exc}") from exc
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise CommandError(f"{path} is not a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise CommandError(f"{path} holds no features")
    return features


def _check_features(features: list[Any], *, name_property: str) -> tuple[list[DistrictPolygon], list[str]]:
    """Every feature checked, every problem listed (not just the first), so one round of fixes suffices."""
    districts: list[DistrictPolygon] = []
    problems: list[str] = []
    first_index: dict[str, int] = {}
    for index, feature in enumerate(features):
        label = f"features[{index}]"
        if not isinstance(feature, dict):
            problems.append(f"{label}: not a GeoJSON Feature")
            continue
        properties = feature.get("properties") or {}
        raw_name = properties.get(name_property) if isinstance(properties, dict) else None
        if isinstance(raw_name, str) and raw_name.strip():
            label = f"{label} ({raw_name.strip()!r})"
        feature_problems: list[str] = []

        name = _check_name(raw_name, name_property=name_property, problems=feature_problems)
        if name is not None:
            if name in first_index:
                feature_problems.append(f"{name} appears twice (also features[{first_index[name]}])")
            else:
                first_index[name] = index
        geometry = feature.get("geometry")
        polygon = _check_geometry(geometry, problems=feature_problems)

        if feature_problems:
            problems.extend(f"{label}: {problem}" for problem in feature_problems)
        elif name is not None and polygon is not None and isinstance(geometry, dict):
            districts.append(
                DistrictPolygon(
                    index=index,
                    name=name,
                    geometry={"type": geometry["type"], "coordinates": geometry["coordinates"]},
                    shape=polygon,
                )
            )
    return districts, problems


def _check_name(raw_name: Any, *, name_property: str, problems: list[str]) -> str | None:
    if raw_name is None:
        problems.append(f"no {name_property!r} property (choose another with --name-property)")
        return None
    name = stadtteil_official_name(raw_name) if isinstance(raw_name, str) else None
    if name is None:
        problems.append(f"{raw_name!r} is not a Stadtteil of {CITY_NAME} (one of: {', '.join(STADTTEILE)})")
    return name


def _check_geometry(geometry: Any, *, problems: list[str]) -> BaseGeometry | None:
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else geometry
        problems.append(f"the geometry must be a Polygon or MultiPolygon, not {kind!r}")
        return None
    try:
        polygon: BaseGeometry = shape(geometry)
    except Exception as exc:  # shapely raises a variety of errors for malformed coordinates
        problems.append(f"unreadable coordinates ({exc})")
        return None
    if polygon.is_empty:
        problems.append("the polygon is empty")
        return None
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        problems.append(
            "the coordinates are not WGS84 longitude/latitude (a projected CRS such as EPSG:25832?); "
            "export the file as EPSG:4326"
        )
        return None
    if not polygon.is_valid:
        problems.append(f"the polygon is not valid: {explain_validity(polygon)}")
        return None
    share = _share_inside_city(polygon)
    if share < MIN_SHARE_INSIDE_CITY:
        problem = (
            f"only {share:.0%} of the polygon lies inside {CITY_NAME} "
            f"(at least {MIN_SHARE_INSIDE_CITY:.0%} must)"
        )
        if _share_inside_city(shapely.transform(polygon, lambda xy: xy[:, ::-1])) >= MIN_SHARE_INSIDE_CITY:
            problem += "; its positions look like [latitude, longitude], GeoJSON wants [longitude, latitude]"
        problems.append(problem)
        return None
    return polygon


def _share_inside_city(polygon: BaseGeometry) -> float:
    # A ratio of areas in degrees²: the distortion cancels out over an area the size of a city.
    return float(polygon.intersection(city_geometry()).area / polygon.area)


def _overlap_warnings(districts: list[DistrictPolygon]) -> list[str]:
    warnings = []
    for first, second in combinations(districts, 2):
        overlap = first.shape.intersection(second.shape).area
        smaller = min(first.shape.area, second.shape.area)
        if overlap > MAX_SHARE_OVERLAP * smaller:
            warnings.append(
                f"{first.name} and {second.name} overlap ({overlap / smaller:.0%} of the smaller); "
                f"a point there is assigned to {min(first.name, second.name)}"
            )
    return warnings
