"""An existing Open311 client, unchanged: ``georeport`` from PyPI reads our services, a service definition
and requests from a live server on loopback, in JSON and in XML.

georeport only reads (its README: it "does not currently support the creation of new 311 service
requests"); filing is shown with a plain urlencoded POST over the same loopback server, as every Open311
client sends it.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from georeport import GeoReport

from reports.models import Category, Report
from tests.open311.conftest import Partner
from tests.reports.factories import CITY_POINT, CategoryFactory, ReportFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoint(live_server: Any) -> str:
    return f"{live_server.url}/open311/v2"


@pytest.fixture
def two_services(streetlight: Category) -> list[Category]:
    return [streetlight, CategoryFactory(key="muell", name_de="Wilder Müll")]


def test_georeport_reads_services_and_a_definition_as_json(
    endpoint: str, two_services: list[Category]
) -> None:
    client = GeoReport(endpoint, jurisdiction="castrop-rauxel.de")

    services = client.get_service_list()
    definition = client.get_service_definition("strassenlaterne")

    assert {service["service_code"] for service in services} == {"strassenlaterne", "muell"}
    assert definition["service_code"] == "strassenlaterne"
    assert [attribute["code"] for attribute in definition["attributes"]] == [
        "fehlerbild",
        "mastnummer",
        "hinweis",
        "umgebung",
    ]


def test_georeport_reads_services_and_a_definition_as_xml(
    endpoint: str, two_services: list[Category]
) -> None:
    client = GeoReport(endpoint, output_format="xml")

    services = client.get_service_list()
    definition = client.get_service_definition("strassenlaterne")

    assert {service["service_code"] for service in services} == {"strassenlaterne", "muell"}
    assert next(s for s in services if s["service_code"] == "muell")["service_name"] == "Wilder Müll"
    attributes = definition["attributes"]["attribute"]
    assert attributes[0]["code"] == "fehlerbild"
    assert attributes[0]["datatype"] == "singlevaluelist"
    assert [value["key"] for value in attributes[0]["values"]["value"]] == ["aus", "flackert"]


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_georeport_reads_requests(endpoint: str, streetlight: Category, output_format: str) -> None:
    first = ReportFactory(category=streetlight, description="Laterne aus")
    second = ReportFactory(category=streetlight, description="Laterne flackert")
    client = GeoReport(endpoint, jurisdiction="castrop-rauxel.de", output_format=output_format)

    listed = client.get_service_requests(service_code="strassenlaterne", status="open")
    one = client.get_service_request(str(first.pk))
    both = client.get_service_requests(service_request_id=f"{first.pk},{second.pk}")

    assert {request["service_request_id"] for request in listed} == {str(first.pk), str(second.pk)}
    assert one["service_request_id"] == str(first.pk)
    assert one["description"] == "Laterne aus"
    assert one["status"] == "open"
    assert float(one["lat"]) == first.latitude
    assert len(both) == 2


def test_georeport_surfaces_our_errors_as_http_errors(endpoint: str, streetlight: Category) -> None:
    client = GeoReport(endpoint, jurisdiction="dortmund.de")

    with pytest.raises(requests.HTTPError) as raised:
        client.get_service_list()

    assert raised.value.response.status_code == 404
    assert raised.value.response.json()[0]["code"] == 404


def test_a_form_post_over_loopback_files_a_request(
    endpoint: str, partner: Partner, streetlight: Category
) -> None:
    response = requests.post(
        f"{endpoint}/requests.json",
        data={
            "api_key": partner.secret,
            "jurisdiction_id": "castrop-rauxel.de",
            "service_code": "strassenlaterne",
            "lat": CITY_POINT[0],
            "long": CITY_POINT[1],
            "attribute[fehlerbild]": "flackert",
            "description": "Flackert seit Tagen",
        },
        timeout=10,
    )

    assert response.status_code == 200, response.text
    (filed,) = response.json()
    report = Report.objects.get(pk=int(filed["service_request_id"]))
    assert report.answers == {"fehlerbild": "flackert"}
    assert GeoReport(endpoint).get_service_request(filed["service_request_id"])["description"] == (
        "Flackert seit Tagen"
    )
