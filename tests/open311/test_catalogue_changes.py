"""The discovery's ``changeset`` and the ``Last-Modified``/``ETag`` of services and service definitions follow
the last change of the category catalogue; an unchanged catalogue answers ``304``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.utils.http import http_date

from reports.models import Category, CategoryQuestion
from tests.open311 import schemas
from tests.open311.conftest import BASE
from tests.reports.factories import CategoryQuestionFactory

EDITED = datetime(2027, 2, 3, 10, 15, 30, tzinfo=UTC)
LATER = datetime(2027, 2, 4, 8, 0, 0, tzinfo=UTC)
CATALOGUE_PATHS = [
    f"{BASE}services.json",
    f"{BASE}services.xml",
    f"{BASE}services/strassenlaterne.json",
    f"{BASE}services/strassenlaterne.xml",
]


@pytest.fixture
def catalogue(streetlight: Category) -> Category:
    """The catalogue, last edited at ``EDITED``."""
    Category.objects.update(updated_at=EDITED)
    CategoryQuestion.objects.update(updated_at=EDITED)
    return streetlight


def changeset(client: Any) -> str:
    body = client.get(f"{BASE}discovery.json").json()
    schemas.validate(body, schemas.DISCOVERY)
    assert body["endpoints"][0]["changeset"] == body["changeset"]
    return str(body["changeset"])


@pytest.mark.django_db
def test_changeset_is_the_catalogues_last_change(reader: Any, catalogue: Category) -> None:
    assert changeset(reader) == "2027-02-03T11:15:30+01:00"

    with time_machine.travel(LATER, tick=False):
        catalogue.name_de = "Straßenlaterne kaputt"
        catalogue.save()

    assert changeset(reader) == "2027-02-04T09:00:00+01:00"


@pytest.mark.django_db
def test_deactivating_a_group_and_editing_a_question_move_it_too(reader: Any, catalogue: Category) -> None:
    group = catalogue.parent
    assert group is not None
    with time_machine.travel(LATER, tick=False):
        group.is_active = False
        group.save()
    assert changeset(reader) == "2027-02-04T09:00:00+01:00"

    with time_machine.travel(datetime(2027, 2, 5, tzinfo=UTC), tick=False):
        CategoryQuestionFactory(category=catalogue, key="neu")
    assert changeset(reader) == "2027-02-05T01:00:00+01:00"


@pytest.mark.django_db
@pytest.mark.parametrize("path", CATALOGUE_PATHS)
def test_services_carry_last_modified_and_answer_304_until_the_catalogue_changes(
    reader: Any, catalogue: Category, path: str
) -> None:
    first = reader.get(path)
    assert first.status_code == 200
    assert first["Last-Modified"] == http_date(EDITED.timestamp())
    assert first["Cache-Control"] == "public, max-age=300"

    assert reader.get(path, headers={"If-None-Match": first["ETag"]}).status_code == 304
    by_date = reader.get(path, headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 304
    assert by_date["ETag"] == first["ETag"]

    with time_machine.travel(LATER, tick=False):
        catalogue.description_de = "Leuchtet nicht"
        catalogue.save()

    changed = reader.get(path, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]
    assert changed["Last-Modified"] == http_date(LATER.timestamp())
    assert reader.get(path, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 200


@pytest.mark.django_db
def test_each_language_and_format_has_its_own_etag(reader: Any, catalogue: Category) -> None:
    tags = {
        reader.get(f"{BASE}services.json")["ETag"],
        reader.get(f"{BASE}services.xml")["ETag"],
        reader.get(f"{BASE}services.json", headers={"Accept-Language": "en"})["ETag"],
    }

    assert len(tags) == 3
    english = reader.get(f"{BASE}services.json", headers={"Accept-Language": "en"})
    german_tag = reader.get(f"{BASE}services.json")["ETag"]
    assert (
        reader.get(
            f"{BASE}services.json", headers={"Accept-Language": "en", "If-None-Match": german_tag}
        ).status_code
        == 200
    )
    assert english.json()[0]["service_name"] == "Street light broken"


@pytest.mark.django_db
def test_a_deactivated_service_disappears_under_a_new_etag(reader: Any, catalogue: Category) -> None:
    first = reader.get(f"{BASE}services/strassenlaterne.json")

    with time_machine.travel(LATER, tick=False):
        catalogue.is_active = False
        catalogue.save()

    gone = reader.get(f"{BASE}services/strassenlaterne.json", headers={"If-None-Match": first["ETag"]})
    assert gone.status_code == 404
    listing = reader.get(f"{BASE}services.json")
    assert listing.json() == []
    assert listing["Last-Modified"] == http_date(LATER.timestamp())


@pytest.mark.django_db
def test_a_304_is_answered_without_building_the_catalogue(
    reader: Any, catalogue: Category, django_assert_max_num_queries: Any
) -> None:
    etag = reader.get(f"{BASE}services.json")["ETag"]

    with django_assert_max_num_queries(2):  # the catalogue's last change: categories and questions
        response = reader.get(f"{BASE}services.json", headers={"If-None-Match": etag})

    assert response.status_code == 304
