"""Reading the waste company's tables (CSV) into an import, with every problem named by file and line.

Two files, as exported from a spreadsheet (UTF-8 with or without BOM, ``;`` or ``,`` separated, a header row
with German or English column names):

- the street table: ``strasse;plz;stadtteil;hausnummern;paritaet;fraktion;tour`` — a house number ("12",
  "12a"), a range ("1-99") with a parity (``gerade``/``g``/``even``, ``ungerade``/``u``/``odd``, empty = all)
  or empty for the whole street; the waste type key; the district ("Tour") code;
- the district dates: ``fraktion;tour;datum`` — one row per collection (``2025-01-07`` or ``07.01.2025``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from casapp.city import STADTTEILE
from waste_calendar.import_data import (
    AddressKey,
    ImportData,
    PlannedCollection,
    checksum_of,
    house_number_read,
)
from waste_calendar.models import CollectionStatus, DistrictSource, ImportKind

STREET_COLUMNS = {
    "street": ("street", "strasse", "straße", "str"),
    "postcode": ("postcode", "plz", "postleitzahl"),
    "stadtteil": ("stadtteil", "ortsteil", "district_name"),
    "house_numbers": ("house_numbers", "hausnummern", "hausnummer", "hnr", "nummern"),
    "parity": ("parity", "paritaet", "parität", "gerade_ungerade"),
    "type": ("type", "fraktion", "abfallart", "waste_type"),
    "district": ("district", "tour", "bezirk", "abfuhrbezirk"),
}
STREET_REQUIRED = ("street", "type", "district")
DATE_COLUMNS = {
    "type": STREET_COLUMNS["type"],
    "district": STREET_COLUMNS["district"],
    "date": ("date", "datum", "termin"),
    "name": ("name", "bezeichnung"),
}
DATE_REQUIRED = ("type", "district", "date")
MAX_ROWS = 2_000_000


def table_rows(
    path: Path, columns: dict[str, tuple[str, ...]], required: tuple[str, ...], problems: list[str]
) -> tuple[Iterable[tuple[int, dict[str, str]]], bytes]:
    """(line number, row by canonical column) for each data row, read lazily; the raw bytes for the checksum.

    Problems of a row's shape (too many rows, none at all) are added to ``problems`` as the rows are read.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(f"cannot read {path}: {exc.strerror or exc}")
        return [], b""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); save the table as CSV UTF-8")
        return [], raw
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        problems.append(f"{path}: the file is empty")
        return [], raw
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        cleaned = name.strip().lower()
        for canonical, aliases in columns.items():
            if cleaned in aliases and canonical not in positions:
                positions[canonical] = index
    missing = [name for name in required if name not in positions]
    if missing:
        problems.append(
            f"{path} line 1: missing column(s) {', '.join(missing)} "
            f"(the header names: {', '.join(columns[name][0] + '/' + columns[name][1] for name in missing)})"
        )
        return [], raw
    return _data_rows(path, reader, positions, problems), raw


def _data_rows(
    path: Path, reader: Any, positions: dict[str, int], problems: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Row by row, so a region's table (800,000 rows) is never held as dictionaries all at once."""
    count = 0
    for row in reader:
        if count >= MAX_ROWS:
            problems.append(f"{path}: more than {MAX_ROWS} rows")
            return
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        yield (
            reader.line_num,
            {
                canonical: row[index].strip() if index < len(row) else ""
                for canonical, index in positions.items()
            },
        )
    if not count:
        problems.append(f"{path}: no data rows")


def date_read(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar day, no time
        except ValueError:
            continue
    return None


def tables_read(  # noqa: PLR0912, PLR0915 - one check per column
    *, streets_path: Path, dates_path: Path, known_types: set[str], valid_from: dt.date | None
) -> tuple[ImportData | None, list[str]]:
    """The import the two tables describe, or the list of every problem found in them."""
    problems: list[str] = []
    street_rows, street_raw = table_rows(streets_path, STREET_COLUMNS, STREET_REQUIRED, problems)
    date_rows, date_raw = table_rows(dates_path, DATE_COLUMNS, DATE_REQUIRED, problems)
    collections: dict[tuple[str, str], dict[dt.date, PlannedCollection]] = {}
    names: dict[tuple[str, str], str] = {}
    first_line: dict[tuple[str, str, dt.date], int] = {}
    for line, row in date_rows:
        where = f"{dates_path} line {line}"
        type_key, code = row["type"].lower(), row["district"]
        day = date_read(row["date"])
        row_problems = []
        if type_key not in known_types:
            row_problems.append(
                f"unknown waste type {row['type']!r} (known: {', '.join(sorted(known_types))})"
            )
        if not code or len(code) > 40:
            row_problems.append("the district code must be 1-40 characters")
        if day is None:
            row_problems.append(f"{row['date']!r} is not a date (2025-01-07 or 07.01.2025)")
        if row_problems:
            problems.extend(f"{where}: {problem}" for problem in row_problems)
            continue
        assert day is not None  # noqa: S101 - checked above, for the type checker
        if (type_key, code, day) in first_line:
            problems.append(
                f"{where}: {type_key}/{code} on {day} already on line {first_line[type_key, code, day]}"
            )
            continue
        first_line[(type_key, code, day)] = line
        collections.setdefault((type_key, code), {})[day] = PlannedCollection(
            status=CollectionStatus.SCHEDULED
        )
        if row.get("name"):
            names[(type_key, code)] = row["name"]

    streets: dict[tuple[str, str], str] = {}
    house_numbers = {}
    assignments: dict[AddressKey, dict[str, str]] = {}
    assigned_on: dict[tuple[AddressKey, str], int] = {}
    for line, row in street_rows:
        where = f"{streets_path} line {line}"
        row_problems = []
        name = " ".join(row["street"].split())
        postcode = row.get("postcode", "")
        stadtteil = row.get("stadtteil", "")
        type_key, code = row["type"].lower(), row["district"]
        if not name or len(name) > 120:
            row_problems.append("the street name must be 1-120 characters")
        if postcode and not (postcode.isdigit() and len(postcode) == 5):
            row_problems.append(f"postcode {postcode!r} is not five digits")
        if stadtteil and stadtteil not in STADTTEILE:
            row_problems.append(f"{stadtteil!r} is not a Stadtteil (one of: {', '.join(STADTTEILE)})")
        try:
            number = house_number_read(row.get("house_numbers", ""), row.get("parity", ""))
        except ValueError as exc:
            row_problems.append(str(exc))
            number = None
        if type_key not in known_types:
            row_problems.append(
                f"unknown waste type {row['type']!r} (known: {', '.join(sorted(known_types))})"
            )
        elif (type_key, code) not in collections:
            row_problems.append(f"district {code!r} of {type_key} has no dates in {dates_path.name}")
        if row_problems or number is None:
            problems.extend(f"{where}: {problem}" for problem in row_problems)
            continue
        address = AddressKey(street=name, postcode=postcode, house_number_key=number.key)
        previous = assigned_on.get((address, type_key))
        if previous is not None and assignments[address][type_key] != code:
            problems.append(
                f"{where}: {name} {number.display} has two districts for {type_key} "
                f"({assignments[address][type_key]!r} on line {previous}, {code!r} here)"
            )
            continue
        assigned_on[(address, type_key)] = line
        if stadtteil or (name, postcode) not in streets:
            streets[(name, postcode)] = stadtteil
        house_numbers[address] = number
        assignments.setdefault(address, {})[type_key] = code
    if problems:
        return None, problems
    first_date = min(min(dates) for dates in collections.values())
    last_date = max(max(dates) for dates in collections.values())
    return (
        ImportData(
            kind=ImportKind.CSV,
            source=f"{streets_path.name} + {dates_path.name}",
            checksum=checksum_of(street_raw, date_raw, str(valid_from).encode()),
            valid_from=valid_from or first_date,
            district_source=DistrictSource.CSV,
            streets=streets,
            house_numbers=house_numbers,
            assignments=assignments,
            collections=collections,
            district_names=names,
            # The table speaks for its whole period, for every district in it: a district's first or last
            # date that disappeared is cancelled or moved, not outside a window.
            span=(first_date, last_date),
        ),
        [],
    )
