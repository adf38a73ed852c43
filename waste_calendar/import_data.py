"""What an import brings, checked and ready to apply: addresses, house numbers, districts and dates.

The readers (``tables`` for the CSV, the ICS command, the planner, the demo) build an ``ImportData``;
``services.import_apply`` writes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
