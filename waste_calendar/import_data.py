"""What an import brings, checked and ready to apply: addresses, house numbers, districts and dates.

The readers (``tables`` for the CSV, the ICS command, the planner, the demo) build an ``ImportData``;
``services.import_apply`` writes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from waste_calendar.models import (
    CollectionStatus,
    Parity,
)
from waste_calendar.normalise import (
    house_number_parts,
    house_number_range,
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class HouseNumber:
    """A house number, a range with parity, or the whole street (key "")."""

    key: str
    display: str
    number_from: int | None = None
    number_to: int | None = None
    suffix: str = ""
    parity: str = Parity.ALL


PARITY_WORDS = {
    "": Parity.ALL,
    "all": Parity.ALL,
    "alle": Parity.ALL,
    "a": Parity.ALL,
    "odd": Parity.ODD,
    "u": Parity.ODD,
    "ungerade": Parity.ODD,
    "even": Parity.EVEN,
    "g": Parity.EVEN,
    "gerade": Parity.EVEN,
}
PARITY_DISPLAY = {Parity.ODD: "ungerade", Parity.EVEN: "gerade"}


def house_number_read(text: str, parity_word: str = "") -> HouseNumber:
    """ "" (whole street), "12a", "12", "1-99" with a parity; raises ValueError with the reason."""
    text = " ".join(text.split())
    parity = PARITY_WORDS.get(parity_word.strip().lower())
    if parity is None:
        raise ValueError(
            f"parity {parity_word!r} is not one of: gerade/g/even, ungerade/u/odd, alle/all or empty"
        )
    if not text:
        if parity != Parity.ALL:
            raise ValueError("a parity needs a house number range")
        return HouseNumber(key="", display="")
    single = house_number_parts(text)
    if single is not None and (single[1] or parity == Parity.ALL):
        number, suffix = single
        return HouseNumber(
            key=f"{number}{suffix}",
            display=f"{number}{suffix}",
            number_from=number,
            number_to=number,
            suffix=suffix,
        )
    span = house_number_range(text)
    if span is None:
        raise ValueError(f"house number {text!r} is neither a number (12, 12a) nor a range (1-99)")
    low, high = span
    key = f"{low}-{high}" if parity == Parity.ALL else f"{low}-{high}/{parity}"
    display = f"{low}-{high}" if parity == Parity.ALL else f"{low}-{high} ({PARITY_DISPLAY[parity]})"
    return HouseNumber(key=key, display=display, number_from=low, number_to=high, parity=parity)


@dataclass(frozen=True)
class AddressKey:
    street: str
    postcode: str
    house_number_key: str


@dataclass(frozen=True)
class PlannedCollection:
    status: str = CollectionStatus.SCHEDULED
    original_date: dt.date | None = None
    reason: str = ""


@dataclass
class ImportData:
    """Everything an import states, checked and ready to apply.

    ``assignments``: per address, waste type key → district code, valid from ``valid_from``.
    ``collections``: per (waste type key, district code), date → planned collection; only stored dates
    within ``span`` (or, without one, the span of each district's new dates) are compared with them.
    """

    kind: str
    source: str
    checksum: str
    valid_from: dt.date
    district_source: str
    streets: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, postcode) → Stadtteil
    house_numbers: dict[AddressKey, HouseNumber] = field(default_factory=dict)
    assignments: dict[AddressKey, dict[str, str]] = field(default_factory=dict)
    collections: dict[tuple[str, str], dict[dt.date, PlannedCollection]] = field(default_factory=dict)
    district_names: dict[tuple[str, str], str] = field(default_factory=dict)
    # Unpaired new dates where the district had dates before: an additional collection (imports) or a
    # regular one (plans, whose rules may simply have changed).
    added_status: str = CollectionStatus.EXTRA
    # The regular days the input speaks for (a planned year: a collection whose regular day is in the year,
    # even when a holiday moved it into the next); None: each district's first to last date (a feed's window).
    span: tuple[dt.date, dt.date] | None = None


def checksum_of(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


# --- A held import's input, stored until an Administration user decides (``ImportRun.held_input``)


def import_data_dump(data: ImportData) -> bytes:
    """``data`` as compressed JSON; ``import_data_load`` gives back an equal ``ImportData``."""
    document = {
        "kind": data.kind,
        "source": data.source,
        "checksum": data.checksum,
        "valid_from": data.valid_from.isoformat(),
        "district_source": data.district_source,
        "streets": [[name, postcode, stadtteil] for (name, postcode), stadtteil in data.streets.items()],
        "house_numbers": [
            [
                *(key.street, key.postcode, key.house_number_key, number.key, number.display),
                *(number.number_from, number.number_to, number.suffix, number.parity),
            ]
            for key, number in data.house_numbers.items()
        ],
        "assignments": [
            [key.street, key.postcode, key.house_number_key, by_type]
            for key, by_type in data.assignments.items()
        ],
        "collections": [
            [
                type_key,
                code,
                [
                    [day.isoformat(), planned.status, _iso(planned.original_date), planned.reason]
                    for day, planned in sorted(dates.items())
                ],
            ]
            for (type_key, code), dates in data.collections.items()
        ],
        "district_names": [[type_key, code, name] for (type_key, code), name in data.district_names.items()],
        "added_status": data.added_status,
        "span": [data.span[0].isoformat(), data.span[1].isoformat()] if data.span else None,
    }
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


def import_data_load(raw: bytes) -> ImportData:
    document = json.loads(zlib.decompress(raw))
    day = dt.date.fromisoformat
    span = document["span"]
    return ImportData(
        kind=document["kind"],
        source=document["source"],
        checksum=document["checksum"],
        valid_from=day(document["valid_from"]),
        district_source=document["district_source"],
        streets={(name, postcode): stadtteil for name, postcode, stadtteil in document["streets"]},
        house_numbers={
            AddressKey(street, postcode, address_key): HouseNumber(key, display, low, high, suffix, parity)
            for street, postcode, address_key, key, display, low, high, suffix, parity in document[
                "house_numbers"
            ]
        },
        assignments={
            AddressKey(street, postcode, address_key): by_type
            for street, postcode, address_key, by_type in document["assignments"]
        },
        collections={
            (type_key, code): {
                day(date): PlannedCollection(status, day(original) if original else None, reason)
                for date, status, original, reason in dates
            }
            for type_key, code, dates in document["collections"]
        },
        district_names={(type_key, code): name for type_key, code, name in document["district_names"]},
        added_status=document["added_status"],
        span=(day(span[0]), day(span[1])) if span else None,
    )


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None
