"""Open-data exports of the Mängelmelder: a GeoJSON FeatureCollection (RFC 7946) and CSV rows.

Both are built from the public representation of a report (what the public JSON API returns), so an
export can never carry more than the API does: no contact data, no installation, no internal notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from casapp.city import CITY_NAME
from casapp.spreadsheets import spreadsheet_safe

LICENSE_NAME = "Datenlizenz Deutschland – Namensnennung – 2.0"  # noqa: RUF001 - its official spelling
LICENSE_URL = "https://www.govdata.de/dl-de/by-2-0"
ATTRIBUTION = f"Stadt {CITY_NAME}, Mängelmelder der CAS-App"
# The sentence dl-de/by-2-0 asks re-users to show.
LICENSE_NOTE = f"Datenquelle: {ATTRIBUTION}. Lizenz: {LICENSE_NAME} ({LICENSE_URL})."

# An export is one response, not a page: this many reports at most. A city of 75,000 people files a few
# thousand reports a year, so a filtered export (status, bbox, updated_since) stays far below it.
EXPORT_LIMIT = 10_000

CSV_COLUMNS = (
    "id",
    "category",
    "category_label",
    "category_group",
    "status",
    "status_label",
    "description",
    "address",
    "stadtteil",
    "latitude",
    "longitude",
    "support_count",
    "duplicate_of",
    "forwarded_to",
    "created_at",
    "updated_at",
    "closed_at",
    "photo_urls",
)
# Free text from citizens: such cells are made spreadsheet-safe (casapp.spreadsheets).
_FREE_TEXT_COLUMNS = frozenset({"description", "address", "forwarded_to"})


def feature_collection(records: Iterable[Mapping[str, Any]], *, truncated: bool = False) -> dict[str, Any]:
    """The public reports as an RFC 7946 FeatureCollection: a Point ``[longitude, latitude]`` per report,
    the public fields as properties, and the data licence as foreign members."""
    return {
        "type": "FeatureCollection",
        "license": {"name": LICENSE_NAME, "url": LICENSE_URL},
        "attribution": ATTRIBUTION,
        "truncated": truncated,
        "features": [_feature(record) for record in records],
    }


def _feature(record: Mapping[str, Any]) -> dict[str, Any]:
    properties = {key: value for key, value in record.items() if key not in ("latitude", "longitude")}
    return {
        "type": "Feature",
        "id": record["id"],
        "geometry": {"type": "Point", "coordinates": [record["longitude"], record["latitude"]]},
        "properties": properties,
    }


def csv_rows(records: Iterable[Mapping[str, Any]]) -> Iterator[list[str]]:
    """A header row of ``CSV_COLUMNS``, then one row per public report; photos as space-separated URLs."""
    yield list(CSV_COLUMNS)
    for record in records:
        yield [_cell(column, record) for column in CSV_COLUMNS]


def _cell(column: str, record: Mapping[str, Any]) -> str:
    if column == "photo_urls":
        return " ".join(photo["image"] for photo in record.get("photos", ()))
    value = record.get(column)
    if value is None:
        return ""
    text = str(value)
    return spreadsheet_safe(text) if column in _FREE_TEXT_COLUMNS else text
