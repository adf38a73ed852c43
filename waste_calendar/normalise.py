"""The one normalisation of street names and search input for the street autocomplete.

Stored names and typed queries go through the same function, so a match only has to compare the two forms:

- case and accents: lower case; ä/ö/ü → a/o/u and ß → ss, and the spellings without umlauts (ae/oe/ue) fold
  to the same letters, so "Pöppinghauser", "Poeppinghauser" and "Poppinghauser" all read ``poppinghauser``;
- "Straße", "Strasse", "Str.", "str" at the end of a word all read ``strasse`` ("Bahnhofstr." →
  ``bahnhofstrasse``, "Bochumer Str" → ``bochumer strasse``);
- hyphens, dots, commas and runs of spaces become one space ("Simon-Cohen-Platz" → ``simon cohen platz``).

``street_search_form`` keeps the word boundaries (prefix and word-start matches); ``street_compact_form``
drops them, so "Bochumerstr" finds "Bochumer Straße" and an inner-word query ("hof") finds
"Friedhofstraße". Folding ae→a also changes a few words that had no umlaut ("Michael" → ``michal``); both
sides fold alike, so matching is unaffected: the forms are for searching, never for display.
"""

from __future__ import annotations

import re
import unicodedata

from casapp.city import CITY_NAME

_GERMAN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "ẞ": "ss"})
# ae/oe/ue as umlaut spellings. "eu"/"au" stay: only the vowel pair with a trailing "e" is an umlaut spelling.
_UMLAUT_SPELLING = re.compile(r"([aou])e")
# "str", "str.", "strasse" (after ß → ss) at the end of a word; "strass" covers a half-typed "Straß".
_STREET_SUFFIX = re.compile(r"(str|strass|strase|strasse)(?:\.|\b)")
# Hyphens and dashes of every kind (U+2010 … U+2014), apostrophes (U+2019) and punctuation.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2014/.,;:_'\u2019()]+")


def street_search_form(text: str) -> str:
    """The search form of a street name or query, words separated by single spaces."""
    folded = unicodedata.normalize("NFC", text).lower().translate(_GERMAN)
    # Other accents (é, ç …) lose their mark; German umlauts were folded above.
    folded = "".join(
        char for char in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(char)
    )
    folded = _UMLAUT_SPELLING.sub(r"\1", folded)
    folded = _STREET_SUFFIX.sub("strasse ", folded)
    return _SEPARATORS.sub(" ", folded).strip()


def street_compact_form(text: str) -> str:
    """The search form without word boundaries: "Bochumer Str." and "Bochumerstraße" read alike."""
    return street_search_form(text).replace(" ", "")


_HOUSE_NUMBER = re.compile(r"^\s*(\d{1,5})\s*([a-zA-Z]{0,3})\s*$")
_HOUSE_NUMBER_RANGE = re.compile(r"^\s*(\d{1,5})\s*[-\u2013]\s*(\d{1,5})\s*$")


def house_number_parts(text: str) -> tuple[int, str] | None:
    """``"12a"`` → ``(12, "a")``, ``"7"`` → ``(7, "")``; ``None`` when it is not one house number."""
    match = _HOUSE_NUMBER.match(text)
    if match is None:
        return None
    return int(match.group(1)), match.group(2).lower()


def house_number_range(text: str) -> tuple[int, int] | None:
    """``"1-99"`` → ``(1, 99)``; a single number is a range of one. ``None`` when unreadable or reversed."""
    match = _HOUSE_NUMBER_RANGE.match(text)
    if match is not None:
        low, high = int(match.group(1)), int(match.group(2))
        return (low, high) if low <= high else None
    single = house_number_parts(text)
    if single is not None and not single[1]:
        return single[0], single[0]
    return None


# "Bahnhofstraße 12", "Bahnhofstr.12a", "Lange Straße, 5 b": a house number typed after the street. The street
# part must hold a letter, so a query of digits only stays a (hopeless) street query.
_TRAILING_HOUSE_NUMBER = re.compile(
    r"^(?P<street>.*[^\W\d_].*?)[\s,]*(?<!\d)(?P<number>\d{1,5})\s*(?P<suffix>[a-zA-Z]?)\s*$"
)


# "…, 44575 Castrop-Rauxel", "… 12 44577", "…, Castrop-Rauxel": the postcode and town typed after the address
# (a German postcode has five digits, a house number fewer). The town's words may be joined by a hyphen or
# a space, or not at all.
_TRAILING_TOWN = re.compile(
    r"(?:[\s,]+\d{5})?(?:[\s,]+"
    + r"[\s-]*".join(re.escape(word) for word in re.split(r"[\s-]+", CITY_NAME))
    + r")?[\s,]*$",
    re.IGNORECASE,
)


def street_and_house_number(text: str) -> tuple[str, str]:
    """A typed address split into the street and a house number: ``"Bahnhofstr. 12a"`` → ``("Bahnhofstr.",
    "12a")``, also with the postcode and town after it (``"Bahnhofstraße 12, 44575 Castrop-Rauxel"``);
    ``(text, "")`` when no house number follows the street."""
    text = _TRAILING_TOWN.sub("", text, count=1) or text
    match = _TRAILING_HOUSE_NUMBER.match(text)
    if match is None or not street_compact_form(match.group("street")):
        return text, ""
    return match.group("street").strip(), f"{int(match.group('number'))}{match.group('suffix').lower()}"
