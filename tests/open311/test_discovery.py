"""``GET /open311/v2/discovery.{xml,json}``: the Service Discovery document, with our extensions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.open311 import schemas
from tests.open311.conftest import BASE, children, parse_json, parse_xml


@pytest.mark.django_db
def test_discovery_json_lists_this_endpoint_and_both_formats(reader: Any) -> None:
    response = reader.get(f"{BASE}discovery.json")

    assert response.status_code == 200
    body = parse_json(response)
    schemas.validate(body, schemas.DISCOVERY)
    (endpoint,) = body["endpoints"]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert {extension["parameter"] for extension in body["extensions"]} == {
        "extensions",
        "updated_after",
        "updated_before",
        "lat,long,radius",
        "bbox",
        "page,page_size",
        "servicerequestupdates",
    }
    assert "castrop-rauxel.de" in body["key_service"]


@pytest.mark.django_db
def test_discovery_xml_has_the_spec_elements(reader: Any) -> None:
    root = parse_xml(reader.get(f"{BASE}discovery.xml"))

    assert root.tag == "discovery"
    assert children(root) == ["changeset", "contact", "key_service", "endpoints", "extensions"]
    (endpoint,) = root.find("endpoints") or []
    assert endpoint.tag == "endpoint"
    assert children(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in endpoint.find("formats") or []] == ["text/xml", "application/json"]
    assert endpoint.findtext("type") == "production"


@pytest.mark.django_db
def test_discovery_speaks_german_by_default_and_english_on_request(reader: Any) -> None:
    german = reader.get(f"{BASE}discovery.json").json()
    english = reader.get(f"{BASE}discovery.json", headers={"Accept-Language": "en"}).json()

    assert german["contact"].startswith("Stadt Castrop-Rauxel")
    assert english["contact"].startswith("City of Castrop-Rauxel")
