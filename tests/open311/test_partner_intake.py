"""Intake from partner platforms: the request shapes a FixMyStreet Open311 sender produces (its own
attributes, several media_url, a long description, contact fields, jurisdiction_id), what is stored, what
staff see, what stays private, and the refusals in the spec's error format.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from reports.models import Category, Report
from reports.open311.models import PartnerSubmission
from tests.open311.conftest import BASE, Partner, assert_open311_error, parse_json
from tests.reports.factories import CITY_POINT, CategoryFactory, CategoryGroupFactory
from tests.reports.staff_factories import report

FORM = "application/x-www-form-urlencoded"
PHOTOS = [f"https://fms.example.org/photo/4711.{n}.full.jpeg" for n in range(5)]
LONG_DESCRIPTION = "Die Laterne vor der Kita ist seit Tagen aus. " * 88  # 3,960 characters


def fixmystreet_request(partner: Partner, **extra: Any) -> list[tuple[str, str]]:
    """What FixMyStreet's Open311 sender posts: the spec's fields, its own attributes, every photo."""
    return [
        ("api_key", partner.secret),
        ("jurisdiction_id", "castrop-rauxel.de"),
        ("service_code", "strassenlaterne"),
        ("lat", str(CITY_POINT[0])),
        ("long", str(CITY_POINT[1])),
        ("address_string", "Münsterstraße 12"),
        ("description", LONG_DESCRIPTION),
        ("email", "erika@example.org"),
        ("first_name", "Erika"),
        ("last_name", "Mustermann"),
        ("phone", "+49 2305 123456"),
        ("attribute[fehlerbild]", "aus"),
        ("attribute[fixmystreet_id]", "12345"),
        ("attribute[easting]", "389512"),
        ("attribute[northing]", "5712345"),
        ("attribute[report_url]", "https://fms.example.org/report/12345"),
        ("attribute[closest_address]", "Münsterstraße 12, 44575 Castrop-Rauxel"),
        ("attribute[title]", "Laterne aus"),
        *(("media_url", link) for link in PHOTOS),
        *extra.items(),
    ]


def post(client: Client, fields: list[tuple[str, str]] | dict[str, Any], fmt: str = "json") -> Any:
    return client.post(f"{BASE}requests.{fmt}", urlencode(fields, doseq=True), content_type=FORM)


def staff_browser(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_fixmystreet_request_is_filed_with_its_metadata_links_and_long_description(
    reader: Client, partner: Partner, streetlight: Category
) -> None:
    response = post(reader, fixmystreet_request(partner))

    assert response.status_code == 200, response.content
    (filed,) = parse_json(response)
    report = Report.objects.get(pk=int(filed["service_request_id"]))
    assert report.description == LONG_DESCRIPTION.strip()
    assert len(report.description) > 2000
    assert report.answers == {"fehlerbild": "aus"}
    assert (report.contact_name, report.contact_email, report.contact_phone) == (
        "Erika Mustermann",
        "erika@example.org",
        "+49 2305 123456",
    )
    submission = PartnerSubmission.objects.get(report=report)
    assert submission.sender_reference == "12345"
    assert submission.sender_metadata == {
        "fixmystreet_id": "12345",
        "easting": "389512",
        "northing": "5712345",
        "report_url": "https://fms.example.org/report/12345",
        "closest_address": "Münsterstraße 12, 44575 Castrop-Rauxel",
        "title": "Laterne aus",
    }
    assert submission.media_urls == PHOTOS
    assert report.media_url == PHOTOS[0]


@pytest.mark.django_db
def test_the_senders_metadata_is_never_public(
    reader: Client, anon_client: Any, partner: Partner, streetlight: Category
) -> None:
    (filed,) = post(reader, fixmystreet_request(partner)).json()
    report_id = filed["service_request_id"]

    responses = [
        reader.get(f"{BASE}requests/{report_id}.json", {"extensions": "true"}),
        reader.get(f"{BASE}requests/{report_id}.xml", {"extensions": "true"}),
        reader.get(f"{BASE}requests.json", {"extensions": "true"}),
        anon_client.get(f"/api/v1/reports/{report_id}"),
        anon_client.get("/api/v1/reports/", {"format": "geojson", "bbox": "7.2,51.5,7.4,51.6"}),
        anon_client.get("/api/v1/reports/", {"format": "csv", "bbox": "7.2,51.5,7.4,51.6"}),
    ]

    assert [response.status_code for response in responses] == [200] * len(responses)
    public = [response.content for response in responses]
    # Each answer does show the report (and its long description), so the absence below means something.
    assert all(b"Kita ist seit Tagen aus" in body for body in public), [body[:200] for body in public]
    for body in public:
        for private in (b"12345", b"389512", b"fms.example.org/report", b"4711.1", b"Erika"):
            assert private not in body, (private, body[:300])
    # The first link stays the request's media_url, as before.
    (request,) = reader.get(f"{BASE}requests/{report_id}.json").json()
    assert request["media_url"] == PHOTOS[0]


@pytest.mark.django_db
def test_staff_see_metadata_and_every_link_in_the_staff_api_and_on_the_reports_page(
    reader: Client, partner: Partner, streetlight: Category, administration_client: Any
) -> None:
    (filed,) = post(reader, fixmystreet_request(partner)).json()
    report_id = filed["service_request_id"]

    detail = administration_client.get(f"/api/v1/staff/reports/{report_id}").json()

    assert detail["partner_submission"] == {
        "partner": "Stadtverwaltung Backoffice",
        "sender_reference": "12345",
        "sender_metadata": PartnerSubmission.objects.get(report_id=report_id).sender_metadata,
        "media_urls": PHOTOS,
        "media_fetches": [],
    }
    page = staff_browser(administration_client.user).get(f"/admin/reports/report/{report_id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Partner system (Open311, private)" in html
    assert "https://fms.example.org/report/12345" in html
    assert all(f'href="{link}"' in html for link in PHOTOS)


@pytest.mark.django_db
def test_an_app_report_has_no_partner_submission_for_staff(
    administration_client: Any, streetlight: Category
) -> None:
    filed = report(category=streetlight)

    detail = administration_client.get(f"/api/v1/staff/reports/{filed.pk}").json()

    assert detail["partner_submission"] is None
    page = staff_browser(administration_client.user).get(f"/admin/reports/report/{filed.pk}/change/")
    assert page.status_code == 200
    assert "Partner system (Open311, private)" not in page.content.decode()


@pytest.mark.django_db
def test_the_workspace_search_finds_a_report_by_the_senders_id(
    reader: Client, partner: Partner, streetlight: Category, administration_client: Any
) -> None:
    (filed,) = post(reader, fixmystreet_request(partner)).json()
    post(reader, fixmystreet_request(partner, **{"attribute[fixmystreet_id]": "999"}))
    browser = staff_browser(administration_client.user)

    response = browser.get("/admin/reports/report/", {"q": "12345"})

    assert response.status_code == 200
    assert [r.pk for r in response.context["cl"].result_list] == [int(filed["service_request_id"])]
    queue = administration_client.get("/api/v1/staff/reports/", {"q": "12345"})
    assert queue.status_code == 200, queue.content[:300]
    assert [r["id"] for r in queue.json()["results"]] == [int(filed["service_request_id"])]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "refusal",
    [
        ({"attribute[report_url]": "x" * 501}, "attribute[report_url]"),
        ({f"attribute[extra{n}]": "1" for n in range(31)}, "attribute"),
        ({"description": "x" * 4001}, "description"),
    ],
)
def test_the_senders_metadata_is_bounded(
    reader: Client, partner: Partner, streetlight: Category, refusal: tuple[dict[str, str], str], fmt: str
) -> None:
    change, mentions = refusal
    fields = dict(fixmystreet_request(partner)) | change

    assert_open311_error(post(reader, fields, fmt), 400, fmt, mentions=mentions)
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_more_than_five_media_links_are_refused(
    reader: Client, partner: Partner, streetlight: Category
) -> None:
    fields = [*fixmystreet_request(partner), ("media_url", "https://fms.example.org/photo/6.jpeg")]

    assert_open311_error(post(reader, fields), 400, "json", mentions="media_url")
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_a_bad_one_of_several_media_links_is_refused(
    reader: Client, partner: Partner, streetlight: Category
) -> None:
    fields = [*fixmystreet_request(partner)[:-1], ("media_url", "javascript:alert(1)")]

    assert_open311_error(post(reader, fields), 400, "json", mentions="media_url")
    assert Report.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_invalid_utf8_in_the_body_is_400_and_stores_nothing(
    reader: Client, partner: Partner, streetlight: Category, fmt: str
) -> None:
    body = urlencode(fixmystreet_request(partner)).encode() + b"&attribute[title]=Stra%DFe"

    response = reader.post(f"{BASE}requests.{fmt}", body, content_type=FORM)

    assert_open311_error(response, 400, fmt, mentions="UTF-8")
    raw = (
        urlencode(fixmystreet_request(partner)).encode().replace(b"description=", b"description=\xff\xfe", 1)
    )
    assert_open311_error(reader.post(f"{BASE}requests.{fmt}", raw, content_type=FORM), 400, fmt)
    assert Report.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_invalid_utf8_in_the_query_string_is_400(reader: Client, streetlight: Category, fmt: str) -> None:
    assert_open311_error(
        reader.get(f"{BASE}requests.{fmt}?service_code=stra%DFe"), 400, fmt, mentions="UTF-8"
    )
    assert_open311_error(reader.get(f"{BASE}services.{fmt}?jurisdiction_id=%C3"), 400, fmt)


@pytest.mark.django_db
def test_utf8_text_is_stored_as_sent(reader: Client, partner: Partner, streetlight: Category) -> None:
    fields = fixmystreet_request(partner, description="Straße — Baustelle 🚧")

    (filed,) = post(reader, fields).json()

    assert Report.objects.get(pk=int(filed["service_request_id"])).description == "Straße — Baustelle 🚧"


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_more_than_1000_parameters_are_400_not_500(
    reader: Client, partner: Partner, streetlight: Category, fmt: str
) -> None:
    fields = [*fixmystreet_request(partner), *((f"x{n}", "1") for n in range(1001))]

    assert_open311_error(post(reader, fields, fmt), 400, fmt)
    assert Report.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("address", [{"address_string": "Münsterstraße 12"}, {"address_id": "4711"}])
def test_an_address_without_a_position_asks_for_one(
    reader: Client, partner: Partner, streetlight: Category, address: dict[str, str], fmt: str
) -> None:
    fields = {
        name: value
        for name, value in fixmystreet_request(partner)
        if name not in ("lat", "long", "address_string")
    } | address

    (description,) = assert_open311_error(post(reader, fields, fmt), 400, fmt, mentions="lat/long")
    assert "In Castrop-Rauxel ist eine Position nötig" in description
    assert Report.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_single_link_filed_before_as_the_list_of_links(partner: Partner) -> None:
    executor = MigrationExecutor(connection)
    before, after = [("open311", "0001_initial")], [("open311", "0002_sender_metadata_and_media_links")]
    executor.migrate(before)
    old_submission = executor.loader.project_state(before).apps.get_model("open311", "PartnerSubmission")
    category = CategoryFactory(parent=CategoryGroupFactory())
    with_link = report(category, media_url="https://partner.example.org/photos/17.jpg")
    without_link = report(category)
    for filed, token in ((with_link, "a" * 32), (without_link, "b" * 32)):
        old_submission.objects.create(report_id=filed.pk, api_key_id=partner.key.pk, token=token)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    migrated = executor.loader.project_state(after).apps.get_model("open311", "PartnerSubmission")
    assert migrated.objects.get(report_id=with_link.pk).media_urls == [
        "https://partner.example.org/photos/17.jpg"
    ]
    assert migrated.objects.get(report_id=without_link.pk).media_urls == []
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
