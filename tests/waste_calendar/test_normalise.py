from __future__ import annotations

import pytest

from waste_calendar.normalise import (
    house_number_parts,
    house_number_range,
    street_compact_form,
    street_search_form,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("strasse", "Straße"),
        ("Bahnhofstrasse", "Bahnhofstraße"),
        ("Bahnhofstr.", "Bahnhofstraße"),
        ("bahnhofstr", "Bahnhofstraße"),
        ("BAHNHOFSTRASSE", "Bahnhofstraße"),
        ("Bochumer Str.", "Bochumer Straße"),
        ("Bochumer Str", "Bochumer Straße"),
        ("Poeppinghauser Strasse", "Pöppinghauser Straße"),
        ("Poppinghauser Straße", "Pöppinghauser Straße"),
        ("Kleine Loensstr.", "Kleine Lönsstraße"),
        ("Kloecknerstrasse", "Klöcknerstraße"),
        ("Muensterplatz", "Münsterplatz"),
        ("simon cohen platz", "Simon-Cohen-Platz"),
        ("Simon\u2013Cohen\u2013Platz", "Simon-Cohen-Platz"),
        ("  Am   Markt ", "Am Markt"),
    ],
)
def test_typed_variants_have_the_stored_names_search_form(typed: str, stored: str) -> None:
    assert street_search_form(typed) == street_search_form(stored)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Bahnhofstra", "Bahnhofstraße"),  # half typed: a prefix of the search form
        ("Bahnhofst", "Bahnhofstraße"),
        ("Pöpp", "Pöppinghauser Straße"),
        ("Poepp", "Pöppinghauser Straße"),
        ("bochumer", "Bochumer Straße"),
    ],
)
def test_half_typed_names_are_prefixes(typed: str, stored: str) -> None:
    assert street_search_form(stored).startswith(street_search_form(typed))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Bochumerstr", "Bochumer Straße"),
        ("hof", "Friedhofstraße"),  # inner word
        ("loens", "Kleine Lönsstraße"),
        ("cohenpl", "Simon-Cohen-Platz"),
    ],
)
def test_compact_form_finds_inner_words_and_missing_spaces(typed: str, stored: str) -> None:
    assert street_compact_form(typed) in street_compact_form(stored)


def test_search_form_examples() -> None:
    assert street_search_form("Pöppinghauser Straße") == "poppinghauser strasse"
    assert street_search_form("Simon-Cohen-Platz") == "simon cohen platz"
    assert street_compact_form("Bochumer Str.") == "bochumerstrasse"
    assert street_search_form("Café Élysée-Weg") == "cafe elysee weg"
    # Words that merely contain "str" are left alone.
    assert street_search_form("Astrid-Lindgren-Weg") == "astrid lindgren weg"


def test_house_numbers() -> None:
    assert house_number_parts("12a") == (12, "a")
    assert house_number_parts(" 12 A ") == (12, "a")
    assert house_number_parts("7") == (7, "")
    assert house_number_parts("12-14") is None
    assert house_number_range("1-99") == (1, 99)
    assert house_number_range("1 \u2013 99") == (1, 99)
    assert house_number_range("12") == (12, 12)
    assert house_number_range("99-1") is None
    assert house_number_range("12a") is None
