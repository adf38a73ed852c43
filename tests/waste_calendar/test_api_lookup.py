"""Public lookups: waste types, the street autocomplete, house numbers and the address → location step."""

from __future__ import annotations

import pytest

from tests.conftest import assert_error_shape
from tests.waste_calendar.factories import LocationFactory, StreetFactory, WasteTypeFactory
from waste_calendar.models import WasteType

TYPES_URL = "/api/v1/waste/types/"
STREETS_URL = "/api/v1/waste/streets/"


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [street["name"] for street in response.json()]


@pytest.fixture
def streets(db):
    for name in [
        "Bahnhofstraße",
        "Am Bahnhof",
        "Bochumer Straße",
        "Friedhofstraße",
        "Pöppinghauser Straße",
        "Münsterplatz",
        "Simon-Cohen-Platz",
        "Große Straße",
    ]:
        StreetFactory(name=name)


@pytest.mark.django_db
def test_types_in_german_and_english_with_colour_and_public_cache(anon_client):
    # The standard types come with the migrations; one that staff switched off is not listed.
    WasteType.objects.filter(key="papier").update(colour="#0000ff", position=0)
    WasteTypeFactory(key="alt", name_de="Alt", is_active=False)
    active = list(WasteType.objects.filter(is_active=True).order_by("position", "key"))

    german = anon_client.get(TYPES_URL)
    english = anon_client.get(TYPES_URL, HTTP_ACCEPT_LANGUAGE="en")

    assert [t["key"] for t in german.json()] == [t.key for t in active]
    assert "alt" not in [t["key"] for t in german.json()]
    paper = german.json()[0]
    assert paper["key"] == "papier"
    assert (paper["name"], paper["colour"]) == ("Papier", "#0000ff")
    assert paper["hints"].startswith("Blaue Tonne")
    assert english.json()[0]["name"] == "Paper"
    assert english.json()[0]["hints"].startswith("Blue bin")
    assert german["Cache-Control"].startswith("public")
    assert "Accept-Language" in german["Vary"]


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("Bahnhofstraße", "Bahnhofstraße"),
        ("bahnhofstrasse", "Bahnhofstraße"),
        ("Bahnhofstr.", "Bahnhofstraße"),
        ("bahnhofstr", "Bahnhofstraße"),
        ("BAHNHOFSTRASSE", "Bahnhofstraße"),
        ("Bochumer Str", "Bochumer Straße"),
        ("bochumerstr", "Bochumer Straße"),
        ("Poeppinghauser", "Pöppinghauser Straße"),
        ("pöppinghauser str.", "Pöppinghauser Straße"),
        ("Muensterpl", "Münsterplatz"),
        ("Grosse Str", "Große Straße"),
        ("simon cohen", "Simon-Cohen-Platz"),
        ("cohen", "Simon-Cohen-Platz"),
    ],
)
def test_autocomplete_finds_each_spelling(anon_client, streets, query, expected_first):
    assert names(anon_client.get(STREETS_URL, {"q": query}))[0] == expected_first


def test_autocomplete_ranks_prefix_then_word_start_then_inner_word(anon_client, streets):
    # "Bahnhofstraße" starts with it, "Am Bahnhof" has a word starting with it.
    assert names(anon_client.get(STREETS_URL, {"q": "bahnhof"})) == ["Bahnhofstraße", "Am Bahnhof"]
    # Inside a word only: "Friedhofstraße" contains "hof"; the prefix/word matches of "hof" do not exist,
    # and the shorter name comes first among equals.
    assert names(anon_client.get(STREETS_URL, {"q": "hof"})) == [
        "Am Bahnhof",
        "Bahnhofstraße",
        "Friedhofstraße",
    ]


def test_autocomplete_shorter_names_first_among_prefix_matches(anon_client, db):
    for name in ["Marktplatzweg", "Markt", "Marktstraße"]:
        StreetFactory(name=name)
    assert names(anon_client.get(STREETS_URL, {"q": "markt"})) == ["Markt", "Marktstraße", "Marktplatzweg"]


def test_autocomplete_without_match_is_an_empty_list(anon_client, streets):
    assert names(anon_client.get(STREETS_URL, {"q": "xyz"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "a"}, {"q": "x" * 101}])
def test_autocomplete_refuses_short_or_huge_queries(anon_client, params):
    body = assert_error_shape(anon_client.get(STREETS_URL, params), 400, "validation_error")
    assert body["errors"][0]["field"] == "q"


@pytest.mark.django_db
def test_autocomplete_of_punctuation_only_finds_nothing(anon_client, streets):
    assert names(anon_client.get(STREETS_URL, {"q": "--.."})) == []


def test_house_numbers_of_a_street(anon_client, town):
    response = anon_client.get(f"/api/v1/waste/streets/{town.bahnhofstrasse.pk}/house-numbers")

    assert response.status_code == 200
    assert [(n["house_number"], n["parity"]) for n in response.json()] == [
        ("1-99", "odd"),
        ("12", "all"),
        ("12a", "all"),
    ]
    assert response.json()[1]["location_id"] == town.bahnhof_12.public_id


@pytest.mark.django_db
def test_house_numbers_of_an_unknown_street_is_404(anon_client):
    assert_error_shape(anon_client.get("/api/v1/waste/streets/999999/house-numbers"), 404, "not_found")


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("12", "bahnhof_12"),
        (" 12 ", "bahnhof_12"),
        ("12a", "bahnhof_12a"),
        ("12A", "bahnhof_12a"),
        ("13", "bahnhof_odd"),
        ("13b", "bahnhof_odd"),  # no 13b of its own: the odd range holds it
        ("12b", "bahnhof_12"),  # no 12b of its own: the 12 holds it, not 12a
        ("99", "bahnhof_odd"),
    ],
)
def test_location_resolution_honours_suffix_range_and_parity(anon_client, town, number, expected):
    url = f"/api/v1/waste/streets/{town.bahnhofstrasse.pk}/location"
    response = anon_client.get(url, {"house_number": number})

    assert response.status_code == 200, response.content
    assert response.json()["id"] == getattr(town, expected).public_id


@pytest.mark.parametrize("number", ["14", "101", "100b"])
def test_a_number_no_location_holds_is_404(anon_client, town, number):
    url = f"/api/v1/waste/streets/{town.bahnhofstrasse.pk}/location"
    assert_error_shape(anon_client.get(url, {"house_number": number}), 404, "not_found")


@pytest.mark.parametrize("number", ["", "zwölf", "12-14", "123456"])
def test_a_street_that_needs_a_number_refuses_a_missing_or_unreadable_one(anon_client, town, number):
    url = f"/api/v1/waste/streets/{town.bahnhofstrasse.pk}/location"
    body = assert_error_shape(anon_client.get(url, {"house_number": number}), 400, "validation_error")
    assert body["errors"][0]["field"] == "house_number"


@pytest.mark.django_db
def test_a_street_without_number_step_resolves_to_the_whole_street(anon_client):
    street = StreetFactory(name="Kleiner Weg", needs_house_number=False)
    whole = LocationFactory(street=street, house_number="")

    no_number = anon_client.get(f"/api/v1/waste/streets/{street.pk}/location")
    any_number = anon_client.get(f"/api/v1/waste/streets/{street.pk}/location", {"house_number": "7"})

    assert no_number.json()["id"] == any_number.json()["id"] == whole.public_id
    assert no_number.json()["street"]["needs_house_number"] is False


def test_answers_from_the_cache_do_not_use_up_the_rate_limit(anon_client, town, anon_limit):
    location = f"/api/v1/waste/locations/{town.bahnhof_12.public_id}"
    street = f"/api/v1/waste/streets/{town.bahnhofstrasse.pk}"
    urls = [
        TYPES_URL,
        STREETS_URL + "?q=bahnhof",
        f"{street}/house-numbers",
        f"{street}/location?house_number=12",
        location,
        f"{location}/collections",
        f"{location}/next",
    ]
    anon_limit(f"{len(urls)}/min")

    built = [anon_client.get(url).status_code for url in urls]  # each built once: the whole limit
    repeats = [anon_client.get(url).status_code for url in urls for _ in range(3)]

    assert built == [200] * len(urls)
    assert repeats == [200] * len(urls) * 3
    # What is still to build counts, a probe for an unknown location too.
    assert_error_shape(anon_client.get(STREETS_URL + "?q=friedhof"), 429, "throttled")
    assert_error_shape(anon_client.get("/api/v1/waste/locations/zzzzzz"), 429, "throttled")
