"""The Abfallkalender's staff workspace: every page opens for Administration, filters work, searches find
what the app finds, Kommunikation cancels collections (announced like a re-import), Triage sees nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from tests.factories import StaffFactory
from tests.waste_calendar.conftest import FIXTURES, run_command
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    ImportRun,
    Street,
    WasteType,
)
from waste_calendar.services import collections_changed

pytestmark = pytest.mark.django_db
ADMIN = "/admin/waste_calendar/"


def browser(*roles: str) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(StaffFactory(roles=list(roles)))
    return client


@pytest.fixture
def imported() -> None:
    run_command("import_waste_csv", str(FIXTURES / "streets.csv"), str(FIXTURES / "dates.csv"))


@pytest.mark.parametrize(
    "model", ["wastetype", "street", "location", "district", "collection", "importrun", "collectionchange"]
)
def test_every_list_and_page_opens_for_administration(imported: None, model: str) -> None:
    client = browser("Administration")
    response = client.get(f"{ADMIN}{model}/")
    assert response.status_code == 200
    first = response.context["cl"].result_list[0] if response.context["cl"].result_list else None
    if first is not None:
        assert client.get(f"{ADMIN}{model}/{first.pk}/change/").status_code == 200


def test_collections_filter_by_type_status_and_date(imported: None) -> None:
    client = browser("Administration")

    def listed(query: dict[str, str]) -> set[tuple[str, dt.date]]:
        response = client.get(f"{ADMIN}collection/", query)
        assert response.status_code == 200
        return {(c.district.code, c.date) for c in response.context["cl"].result_list}

    papier = WasteType.objects.get(key="papier")
    assert listed({"district__waste_type__id__exact": str(papier.pk)}) == {
        ("P01", dt.date(2025, 1, 15)),
        ("P01", dt.date(2025, 2, 12)),
    }
    assert listed({"date__gte": "2025-02-01", "date__lt": "2025-03-01"}) == {
        ("R01", dt.date(2025, 2, 3)),
        ("P01", dt.date(2025, 2, 12)),
    }
    assert listed({"status__exact": "cancelled"}) == set()


def test_street_search_finds_spellings_of_the_name(imported: None) -> None:
    client = browser("Administration")
    for query in ("Bochumer Str.", "bochumerstr", "Muensterstrasse"):
        response = client.get(f"{ADMIN}street/", {"q": query})
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == 1, query


def test_a_street_added_by_hand_gets_its_search_forms(imported: None) -> None:
    client = browser("Administration")
    response = client.post(
        f"{ADMIN}street/add/",
        {
            "name": "Pöppinghauser Straße",
            "postcode": "",
            "stadtteil": "Pöppinghausen",
            "needs_house_number": "on",
            "locations-TOTAL_FORMS": "0",
            "locations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    street = Street.objects.get(name="Pöppinghauser Straße")
    assert (street.name_search, street.name_compact) == ("poppinghauser strasse", "poppinghauserstrasse")


def test_locations_and_import_history_are_not_created_by_hand(imported: None) -> None:
    client = browser("Administration")
    assert client.get(f"{ADMIN}location/add/").status_code == 403
    assert client.get(f"{ADMIN}importrun/add/").status_code == 403
    run = ImportRun.objects.get()
    page = client.get(f"{ADMIN}importrun/{run.pk}/change/")
    assert page.status_code == 200
    assert "locations created 7" in page.content.decode()
    assert client.post(f"{ADMIN}importrun/{run.pk}/change/", {"source": "x"}).status_code == 403
    assert ImportRun.objects.get().source != "x"


def test_kommunikation_cancels_collections_and_subscribers_are_told(
    imported: None, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[dict[str, Any]] = []
    collections_changed.connect(
        lambda **kwargs: received.append(kwargs), dispatch_uid="admin-test", weak=False
    )
    try:
        client = browser("Kommunikation")
        target = Collection.objects.get(district__code="R01", date=dt.date(2025, 1, 20))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"{ADMIN}collection/",
                {"action": "cancel_collections", "_selected_action": [str(target.pk)]},
                follow=True,
            )
    finally:
        collections_changed.disconnect(dispatch_uid="admin-test")
    assert response.status_code == 200
    assert "1 collection(s) cancelled" in response.content.decode()
    target.refresh_from_db()
    assert target.status == CollectionStatus.CANCELLED
    assert target.reason == "Abfuhr entfällt"
    change = CollectionChange.objects.get()
    assert (change.kind, change.date) == (ChangeKind.CANCELLED, dt.date(2025, 1, 20))
    assert change.import_run.kind == "manual"
    assert [[c.pk for c in call["changes"]] for call in received] == [[change.pk]]


def test_triage_has_no_access() -> None:
    client = browser("Triage")
    assert client.get(f"{ADMIN}collection/").status_code == 403
    assert client.get(f"{ADMIN}wastetype/").status_code == 403


def test_the_workspace_speaks_german() -> None:
    client = Client(headers={"Accept-Language": "de"})
    client.force_login(StaffFactory(roles=["Administration"]))
    page = client.get("/admin/").content.decode()
    assert "Abfallkalender" in page
    assert "Abfuhrtermine" in page
    assert "Importverlauf" in page
