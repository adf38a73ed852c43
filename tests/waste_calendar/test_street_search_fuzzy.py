"""The street autocomplete forgives typing errors and reads a house number typed after the street."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.waste_calendar.factories import LocationFactory, StreetFactory
from waste_calendar.demo import demo_streets
from waste_calendar.lookup import local_forget

STREETS_URL = "/api/v1/waste/streets/"
MISSPELLINGS = Path(__file__).resolve().parent / "data" / "street-misspellings.tsv"
# The target: at least 95 of the 100 typed errors find the street meant as the first answer.
FOUND_FIRST_TARGET = 0.95


def misspellings() -> list[tuple[str, str]]:
    rows = []
    for line in MISSPELLINGS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            typed, meant = line.split("\t")
            rows.append((typed, meant))
    return rows


@pytest.fixture
def demo_town(db):
    """The demo's 60 real street names, as the app finds them after `load_demo`."""
    return {name: StreetFactory(name=name, postcode=postcode) for name, postcode, _ in demo_streets()}


def search(client, query: str) -> list[dict]:
    response = client.get(STREETS_URL, {"q": query})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_misspelling_list_holds_100_errors_of_demo_streets():
    names = {name for name, _, _ in demo_streets()}
    rows = misspellings()
    assert len(rows) == 100
    assert {meant for _, meant in rows} <= names
    assert all(typed != meant for typed, meant in rows)


def test_95_of_100_typing_errors_find_the_street_meant_first(anon_client, demo_town):
    missed = []
    for typed, meant in misspellings():
        found = [street["name"] for street in search(anon_client, typed)]
        if found[:1] != [meant]:
            missed.append((typed, meant, found[:3]))
    share = 1 - len(missed) / 100
    assert share >= FOUND_FIRST_TARGET, missed


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Bahnhfostraße", "Bahnhofstraße"),  # two letters swapped
        ("Bahnhofstrasee", "Bahnhofstraße"),  # two letters swapped in the suffix
        ("Banhofstraße", "Bahnhofstraße"),  # one missing
        ("Bahnhoffstraße", "Bahnhofstraße"),  # one extra
        ("Bahnjofstraße", "Bahnhofstraße"),  # a neighbouring key
        ("Bhanhfostraße", "Bahnhofstraße"),  # two swaps
        ("Simon Cohen-Platz", "Simon-Cohen-Platz"),  # a hyphen missing
        ("Kuopio - Platz", "Kuopio-Platz"),  # spaces added
        ("Am-Markt", "Am Markt"),  # a hyphen for a space
        ("Bochumerstr.", "Bochumer Straße"),  # no space, abbreviated
        ("Poeppinghausr Str", "Pöppinghauser Straße"),  # umlaut written out and a letter missing
        ("Ickernerstrase", "Ickerner Straße"),
    ],
)
def test_a_typing_error_finds_the_street_marked_fuzzy(anon_client, demo_town, typed, meant):
    first = search(anon_client, typed)[0]
    assert first["name"] == meant


def test_exact_and_prefix_matches_rank_before_fuzzy_ones_and_are_not_marked(anon_client, db):
    for name in ["Hochstraße", "Hofstraße", "Hochfeld", "Hohe Straße"]:
        StreetFactory(name=name)

    found = search(anon_client, "Hochstr")

    assert [(s["name"], s["fuzzy"]) for s in found] == [
        ("Hochstraße", False),
        # "hochstr" with one letter wrong or missing: a fuzzy match, after the exact ones.
        ("Hofstraße", True),
        ("Hohe Straße", True),
    ]


def test_a_fuzzy_match_is_marked(anon_client, demo_town):
    first = search(anon_client, "Bahnhfostraße")[0]
    assert (first["name"], first["fuzzy"]) == ("Bahnhofstraße", True)
    exact = search(anon_client, "Bahnhofstraße")[0]
    assert (exact["name"], exact["fuzzy"]) == ("Bahnhofstraße", False)


@pytest.mark.parametrize("typed", ["Bah", "Bxqz", "zzzz", "Kanalstrxxxx"])
def test_short_or_far_queries_find_no_fuzzy_noise(anon_client, demo_town, typed):
    assert [s["name"] for s in search(anon_client, typed) if s["fuzzy"]] == []


def test_three_errors_are_too_many(anon_client, demo_town):
    assert search(anon_client, "Bnhahfostraße") == []


# --- A house number typed after the street


def test_a_house_number_after_the_street_is_pre_selected_and_resolved(anon_client, town):
    for typed in ("Bahnhofstraße 12", "bahnhofstr.12", "Bahnhofstrasse, 12", "Bahnhfostraße 12"):
        first = search(anon_client, typed)[0]
        assert first["name"] == "Bahnhofstraße", typed
        assert first["house_number"] == "12", typed
        assert first["location_id"] == town.bahnhof_12.public_id, typed


@pytest.mark.parametrize(
    ("typed", "number", "location"),
    [
        ("Bahnhofstraße 12a", "12a", "bahnhof_12a"),
        ("Bahnhofstraße 12 A", "12a", "bahnhof_12a"),
        ("Bahnhofstraße 13", "13", "bahnhof_odd"),  # within the odd range 1-99
        ("Bahnhofstraße 14", "14", None),  # no location holds it: the number is still pre-selected
    ],
)
def test_the_house_number_resolves_like_the_location_step(anon_client, town, typed, number, location):
    first = search(anon_client, typed)[0]
    assert first["house_number"] == number
    assert first["location_id"] == (getattr(town, location).public_id if location else None)


def test_no_location_when_the_street_is_not_the_one_best_match(anon_client, db):
    # Two streets of the same name in two postcodes: the user picks; the number stays pre-selected.
    for postcode in ("44575", "44577"):
        LocationFactory(street=StreetFactory(name="Lindenweg", postcode=postcode), house_number="3")

    found = search(anon_client, "Lindenweg 3")

    assert [(s["name"], s["house_number"], s["location_id"]) for s in found] == [
        ("Lindenweg", "3", None),
        ("Lindenweg", "3", None),
    ]


def test_the_postcode_and_town_typed_after_the_address_are_left_aside(anon_client, town):
    for typed in (
        "Bahnhofstraße 12, Castrop-Rauxel",
        "Bahnhofstraße 12 44575",
        "Bahnhofstr. 12, 44575 Castrop-Rauxel",
        "bahnhofstrasse 12 44575 castrop rauxel",
    ):
        first = search(anon_client, typed)[0]
        assert (first["name"], first["house_number"]) == ("Bahnhofstraße", "12"), typed
        assert first["location_id"] == town.bahnhof_12.public_id, typed
    assert search(anon_client, "Bahnhofstraße, Castrop-Rauxel")[0]["name"] == "Bahnhofstraße"


def test_without_a_house_number_the_fields_are_empty(anon_client, town):
    first = search(anon_client, "Bahnhofstraße")[0]
    assert (first["house_number"], first["location_id"]) == ("", None)


def test_a_new_street_is_found_once_the_data_generation_changes(anon_client, db):
    from waste_calendar.lookup import data_generation_bump

    StreetFactory(name="Alte Straße")
    assert [s["name"] for s in search(anon_client, "Alte Strase")] == ["Alte Straße"]

    StreetFactory(name="Alter Weg")
    data_generation_bump()  # what the commit of an import or an admin edit does
    assert [s["name"] for s in search(anon_client, "Alter Wge")] == ["Alter Weg"]


@pytest.fixture(autouse=True)
def _fresh_index():
    local_forget()


def test_the_answer_is_what_the_schema_documents(anon_client, town):
    import schemathesis

    from tests.casapp.test_response_schema import assert_documented

    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    openapi = schemathesis.openapi.from_dict(schema)
    body = assert_documented(
        openapi, "get", STREETS_URL, anon_client.get(STREETS_URL, {"q": "Bahnhfostrase 12"})
    )

    assert (body[0]["fuzzy"], body[0]["house_number"], body[0]["location_id"]) == (
        True,
        "12",
        town.bahnhof_12.public_id,
    )
    examples = schema["paths"][STREETS_URL]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"
    ]
    assert {"fuzzy", "house_number", "location_id"} <= set(next(iter(examples.values()))["value"][0])
