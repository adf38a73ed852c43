"""``GET services.{xml,json}`` and ``services/{service_code}.{xml,json}``: our categories as services and
their extra questions as attributes."""

from __future__ import annotations

from typing import Any

import pytest

from reports.models import Category
from tests.open311 import schemas
from tests.open311.conftest import BASE, assert_open311_error, children, parse_json, parse_xml
from tests.reports.factories import CategoryFactory, CategoryGroupFactory

SERVICE_ELEMENTS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_ELEMENTS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]


@pytest.fixture
def catalogue(streetlight: Category) -> dict[str, Category]:
    """The street light, a plain leaf without questions, an inactive leaf and an inactive group's leaf."""
    plain = CategoryFactory(key="muell", name_de="Wilder Müll", name_en="Fly-tipping", description_de="")
    inactive = CategoryFactory(key="alt", is_active=False)
    hidden_group = CategoryGroupFactory(key="alte-gruppe", is_active=False)
    in_hidden_group = CategoryFactory(key="in-alter-gruppe", parent=hidden_group)
    return {
        "streetlight": streetlight,
        "plain": plain,
        "inactive": inactive,
        "in_hidden_group": in_hidden_group,
    }


@pytest.mark.django_db
def test_services_json_are_the_active_categories(reader: Any, catalogue: dict[str, Category]) -> None:
    response = reader.get(f"{BASE}services.json")

    assert response.status_code == 200
    body = parse_json(response)
    schemas.validate(body, schemas.SERVICES)
    by_code = {service["service_code"]: service for service in body}
    assert set(by_code) == {"strassenlaterne", "muell"}
    assert by_code["strassenlaterne"] == {
        "service_code": "strassenlaterne",
        "service_name": "Straßenlaterne defekt",
        "description": "Laterne aus oder flackert",
        "metadata": True,
        "type": "realtime",
        "keywords": "strassenlaterne,beleuchtung",
        "group": "Beleuchtung",
    }
    assert by_code["muell"]["metadata"] is False
    assert by_code["muell"]["description"] is None


@pytest.mark.django_db
def test_services_xml_has_the_spec_elements_in_order(reader: Any, catalogue: dict[str, Category]) -> None:
    root = parse_xml(reader.get(f"{BASE}services.xml"))

    assert root.tag == "services"
    assert {service.tag for service in root} == {"service"}
    for service in root:
        assert children(service) == SERVICE_ELEMENTS
        assert service.findtext("metadata") in {"true", "false"}
        assert service.findtext("type") == "realtime"
    light = next(s for s in root if s.findtext("service_code") == "strassenlaterne")
    assert light.findtext("service_name") == "Straßenlaterne defekt"
    assert light.findtext("group") == "Beleuchtung"


@pytest.mark.django_db
def test_services_in_english_on_request(reader: Any, catalogue: dict[str, Category]) -> None:
    body = reader.get(f"{BASE}services.json", headers={"Accept-Language": "en"}).json()

    light = next(s for s in body if s["service_code"] == "strassenlaterne")
    assert light["service_name"] == "Street light broken"
    assert light["group"] == "Lighting"


@pytest.mark.django_db
def test_service_definition_json_maps_questions_to_attributes(reader: Any, streetlight: Category) -> None:
    response = reader.get(f"{BASE}services/strassenlaterne.json")

    assert response.status_code == 200
    body = parse_json(response)
    schemas.validate(body, schemas.SERVICE_DEFINITION)
    assert body["service_code"] == "strassenlaterne"
    attributes = body["attributes"]
    assert [(a["code"], a["datatype"], a["required"], a["order"]) for a in attributes] == [
        ("fehlerbild", "singlevaluelist", True, 1),
        ("mastnummer", "number", False, 2),
        ("hinweis", "string", False, 3),
        ("umgebung", "multivaluelist", False, 4),
    ]
    assert attributes[0]["description"] == "Was ist kaputt?"
    assert attributes[0]["values"] == [
        {"key": "aus", "name": "Leuchtet nicht"},
        {"key": "flackert", "name": "Flackert"},
    ]
    assert attributes[1]["values"] == []
    assert all(a["variable"] is True for a in attributes)


@pytest.mark.django_db
def test_service_definition_xml(reader: Any, streetlight: Category) -> None:
    root = parse_xml(reader.get(f"{BASE}services/strassenlaterne.xml", headers={"Accept-Language": "en"}))

    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert attributes is not None
    assert [a.tag for a in attributes] == ["attribute"] * 4
    for attribute in attributes:
        assert children(attribute) == ATTRIBUTE_ELEMENTS
        assert attribute.findtext("variable") == "true"
        assert attribute.findtext("required") in {"true", "false"}
        assert int(attribute.findtext("order") or "") >= 1
    first = attributes[0]
    assert first.findtext("description") == "What is broken?"
    values = first.find("values")
    assert values is not None
    assert [(v.tag, children(v)) for v in values] == [("value", ["key", "name"])] * 2
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("aus", "Off"),
        ("flackert", "Flickering"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["gibt-es-nicht", "beleuchtung", "alt", "in-alter-gruppe"])
def test_unknown_group_or_inactive_service_is_404(
    reader: Any, catalogue: dict[str, Category], code: str, fmt: str
) -> None:
    response = reader.get(f"{BASE}services/{code}.{fmt}")

    assert_open311_error(response, 404, fmt, mentions=code)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_jurisdiction_is_optional_checked_when_given(reader: Any, streetlight: Category, fmt: str) -> None:
    assert reader.get(f"{BASE}services.{fmt}", {"jurisdiction_id": "castrop-rauxel.de"}).status_code == 200
    assert reader.get(f"{BASE}services.{fmt}", {"jurisdiction_id": ""}).status_code == 200

    response = reader.get(f"{BASE}services.{fmt}", {"jurisdiction_id": "dortmund.de"})

    assert_open311_error(response, 404, fmt, mentions="dortmund.de")


@pytest.mark.django_db
def test_services_are_cacheable_with_an_etag(reader: Any, streetlight: Category) -> None:
    first = reader.get(f"{BASE}services.xml")

    assert first["Cache-Control"] == "public, max-age=300"
    assert "Accept-Language" in first["Vary"]
    again = reader.get(f"{BASE}services.xml", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["services.csv", "services", "nothing.json", "requests/abc.json"],
    ids=["unknown-suffix", "no-suffix", "unknown-resource", "non-numeric-id"],
)
def test_unknown_resources_are_open311_404s(reader: Any, path: str) -> None:
    response = reader.get(f"{BASE}{path}")

    assert_open311_error(response, 404, "json")


@pytest.mark.django_db
def test_unknown_resource_with_xml_suffix_answers_xml(reader: Any) -> None:
    assert_open311_error(reader.get(f"{BASE}nothing.xml"), 404, "xml")
