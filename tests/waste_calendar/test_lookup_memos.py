"""The per-process memos of the public lookups (``casapp.caching.LocalMemo``): what a process keeps is
dropped when the data it was made from changed, seen through the API in the same process."""

from __future__ import annotations

import pytest

from tests.waste_calendar.conftest import FIXTURES, run_command
from tests.waste_calendar.factories import LocationFactory, StreetFactory, WasteTypeFactory

STREETS_URL = "/api/v1/waste/streets/"


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [street["name"] for street in response.json()]


@pytest.mark.django_db(transaction=True)
def test_a_street_an_import_adds_is_found_by_the_next_search(anon_client):
    StreetFactory(name="Uferweg")
    assert names(anon_client.get(STREETS_URL, {"q": "Ufer"})) == ["Uferweg"]  # index and answer kept

    run_command("import_waste_csv", str(FIXTURES / "streets.csv"), str(FIXTURES / "dates.csv"))

    assert names(anon_client.get(STREETS_URL, {"q": "Ufer"})) == ["Uferweg", "Uferstraße"]
    assert names(anon_client.get(STREETS_URL, {"q": "Münsterstr"})) == ["Münsterstraße"]


@pytest.mark.django_db
def test_a_waste_type_staff_add_is_accepted_as_a_filter_at_once(anon_client):
    location = LocationFactory()
    WasteTypeFactory(key="papier")
    url = f"/api/v1/waste/locations/{location.public_id}/next"
    assert anon_client.get(url, {"types": "papier"}).status_code == 200
    assert anon_client.get(url, {"types": "glas"}).status_code == 400  # the memo holds papier only

    WasteTypeFactory(key="glas")

    assert anon_client.get(url, {"types": "glas"}).status_code == 200
