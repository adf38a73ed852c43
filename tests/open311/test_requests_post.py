"""``POST requests.{xml,json}``: a partner system files a report with its api_key, through the same
checks and workflow as the app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from push.models import Delivery
from reports.models import Category, Report, ReportEvent, ReportStatus
from reports.open311.models import PartnerSubmission
from reports.services import report_transition, reports_erase_contact_after_retention
from tests.conftest import set_rates
from tests.factories import StaffFactory
from tests.open311 import schemas
from tests.open311.conftest import BASE, Partner, assert_open311_error, children, parse_json, parse_xml
from tests.reports.factories import CITY_POINT, DORTMUND, CategoryFactory

FORM = "application/x-www-form-urlencoded"


def post(client: Any, fmt: str = "json", fields: list[tuple[str, Any]] | dict[str, Any] | None = None) -> Any:
    """The body exactly as an Open311 client sends it: urlencoded, repeated keys allowed."""
    return client.post(f"{BASE}requests.{fmt}", urlencode(fields or {}, doseq=True), content_type=FORM)


def valid(partner: Partner, **extra: Any) -> dict[str, Any]:
    return {
        "api_key": partner.secret,
        "service_code": "strassenlaterne",
        "lat": str(CITY_POINT[0]),
        "long": str(CITY_POINT[1]),
        "attribute[fehlerbild]": "aus",
        **extra,
    }


@pytest.mark.django_db
def test_filing_json_stores_the_report_attributed_to_the_partner(
    reader: Any, partner: Partner, streetlight: Category
) -> None:
    fields = [
        *valid(
            partner,
            description="Laterne vor Hausnummer 12 ist aus",
            address_string="Münsterstraße 12, 44575 Castrop-Rauxel",
            email="erika@example.org",
            first_name="Erika",
            last_name="Mustermann",
            phone="+49 2305 123456",
            media_url="https://partner.example.org/photos/17.jpg",
        ).items(),
        ("attribute[mastnummer]", "4711"),
        ("attribute[hinweis]", "Seit Montag"),
        ("attribute[umgebung][]", "gehweg"),
        ("attribute[umgebung][]", "radweg"),
    ]

    response = post(reader, "json", fields)

    assert response.status_code == 200, response.content
    body = parse_json(response)
    schemas.validate(body, schemas.POST_RESPONSE)
    report = Report.objects.get(pk=int(body[0]["service_request_id"]))
    assert report.category == streetlight
    assert report.installation is None
    assert report.status == ReportStatus.RECEIVED
    assert report.description == "Laterne vor Hausnummer 12 ist aus"
    assert report.address == "Münsterstraße 12, 44575 Castrop-Rauxel"
    assert (report.latitude, report.longitude) == CITY_POINT
    assert report.answers == {
        "fehlerbild": "aus",
        "mastnummer": 4711,
        "hinweis": "Seit Montag",
        "umgebung": ["gehweg", "radweg"],
    }
    assert (report.contact_name, report.contact_email, report.contact_phone) == (
        "Erika Mustermann",
        "erika@example.org",
        "+49 2305 123456",
    )
    assert report.contact_consent is True
    assert report.media_url == "https://partner.example.org/photos/17.jpg"
    assert list(report.events.values_list("kind", flat=True)) == [ReportEvent.Kind.CREATED]
    submission = PartnerSubmission.objects.get(report=report)
    assert submission.api_key == partner.key
    assert body[0]["token"] == submission.token
    partner.key.refresh_from_db()
    assert partner.key.last_used_at is not None

    # The partner reads it back: the link as media_url, no contact data.
    (request,) = reader.get(f"{BASE}requests/{report.pk}.json").json()
    assert request["media_url"] == "https://partner.example.org/photos/17.jpg"
    assert "erika" not in str(request).lower()


@pytest.mark.django_db
def test_filing_xml_answers_the_spec_elements(reader: Any, partner: Partner, streetlight: Category) -> None:
    response = post(reader, "xml", valid(partner))

    assert response.status_code == 200, response.content
    root = parse_xml(response)
    assert root.tag == "service_requests"
    (request,) = list(root)
    assert request.tag == "request"
    assert children(request) == ["service_request_id", "token", "service_notice", "account_id"]
    assert Report.objects.filter(pk=int(request.findtext("service_request_id") or "")).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_leads_to_the_request(reader: Any, partner: Partner, streetlight: Category, fmt: str) -> None:
    (filed,) = post(reader, "json", valid(partner)).json()

    response = reader.get(f"{BASE}tokens/{filed['token']}.{fmt}")

    assert response.status_code == 200
    if fmt == "json":
        body = parse_json(response)
        schemas.validate(body, schemas.TOKEN_RESPONSE)
        assert body == [{"service_request_id": filed["service_request_id"], "token": filed["token"]}]
    else:
        (request,) = list(parse_xml(response))
        assert request.tag == "request"
        assert children(request) == ["service_request_id", "token"]
        assert request.findtext("service_request_id") == filed["service_request_id"]
    assert_open311_error(reader.get(f"{BASE}tokens/unbekannt.{fmt}"), 404, fmt)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_api_key_is_403_and_files_nothing(
    reader: Any, partner: Partner, streetlight: Category, fmt: str
) -> None:
    without = {k: v for k, v in valid(partner).items() if k != "api_key"}
    assert_open311_error(post(reader, fmt, without), 403, fmt, mentions="api_key")
    assert_open311_error(post(reader, fmt, {**without, "api_key": ""}), 403, fmt)
    assert_open311_error(post(reader, fmt, {**without, "api_key": "geraten"}), 403, fmt)
    partner.key.revoked_at = timezone.now()
    partner.key.save()
    assert_open311_error(post(reader, fmt, valid(partner)), 403, fmt)

    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_api_key_in_the_query_string_works_too(reader: Any, partner: Partner, streetlight: Category) -> None:
    fields = {k: v for k, v in valid(partner).items() if k != "api_key"}

    response = reader.post(
        f"{BASE}requests.json?api_key={partner.secret}", urlencode(fields), content_type=FORM
    )

    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_multipart_form_is_accepted(reader: Any, partner: Partner, streetlight: Category) -> None:
    response = reader.post(f"{BASE}requests.json", valid(partner))  # the test client's default: multipart

    assert response.status_code == 200, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "refusal",
    [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "ufo"}, 404, "ufo"),
        ({"service_code": "beleuchtung"}, 404, "beleuchtung"),
        ({"lat": None, "long": None}, 400, "lat"),
        ({"lat": None, "long": None, "address_string": "Münsterstraße 12"}, 400, "address_string"),
        ({"long": None}, 400, "lat"),
        ({"lat": "einundfünfzig"}, 400, "lat"),
        ({"lat": str(DORTMUND[0]), "long": str(DORTMUND[1])}, 400, "lat/long"),
        ({"lat": "0", "long": "0"}, 400, "lat/long"),
        ({"attribute[fehlerbild]": None}, 400, "attribute[fehlerbild]"),
        ({"attribute[fehlerbild]": "explodiert"}, 400, "attribute[fehlerbild]"),
        ({"attribute[mastnummer]": "vier"}, 400, "attribute[mastnummer]"),
        ({"attribute[umgebung][]": "see"}, 400, "attribute[umgebung]"),
        ({"email": "keine-adresse"}, 400, "email"),
        ({"phone": "ruf mich an"}, 400, "phone"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"media_url": "ftp://example.org/a.jpg"}, 400, "media_url"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"description": "Nul\x00byte"}, 400, "description"),
        ({"jurisdiction_id": "dortmund.de"}, 404, "dortmund.de"),
    ],
)
def test_refused_submissions_use_the_spec_error_format_and_store_nothing(
    reader: Any, partner: Partner, streetlight: Category, refusal: tuple[dict[str, Any], int, str], fmt: str
) -> None:
    change, status, mentions = refusal
    fields = valid(partner)
    for name, value in change.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value

    assert_open311_error(post(reader, fmt, fields), status, fmt, mentions=mentions)
    assert Report.objects.count() == 0
    assert PartnerSubmission.objects.count() == 0


@pytest.mark.django_db
def test_errors_are_german_by_default_and_english_on_request(
    reader: Any, partner: Partner, streetlight: Category
) -> None:
    outside = valid(partner, lat=str(DORTMUND[0]), long=str(DORTMUND[1]))

    (german,) = post(reader, "json", outside).json()
    english = reader.post(
        f"{BASE}requests.json", urlencode(outside), content_type=FORM, headers={"Accept-Language": "en"}
    ).json()[0]

    assert "außerhalb von Castrop-Rauxel" in german["description"]
    assert "outside Castrop-Rauxel" in english["description"]


@pytest.mark.django_db
def test_empty_parameters_count_as_absent(reader: Any, partner: Partner, streetlight: Category) -> None:
    response = post(
        reader,
        "json",
        valid(
            partner,
            email="",
            phone="",
            first_name="",
            media_url="",
            jurisdiction_id="",
            **{"attribute[mastnummer]": ""},
        ),
    )

    assert response.status_code == 200, response.content
    report = Report.objects.get()
    assert report.contact_consent is False
    assert report.contact_email == ""
    assert "mastnummer" not in report.answers


@pytest.mark.django_db
def test_partner_report_goes_through_the_same_workflow(
    reader: Any, partner: Partner, streetlight: Category
) -> None:
    (filed,) = post(reader, "json", valid(partner)).json()
    report = Report.objects.get(pk=int(filed["service_request_id"]))
    staff = StaffFactory(roles=["Administration"])

    report_transition(report=report, actor=staff, status=ReportStatus.IN_PROGRESS)
    report_transition(report=report, actor=staff, status=ReportStatus.DONE, public_message="Lampe getauscht.")

    (request,) = reader.get(f"{BASE}requests/{report.pk}.json").json()
    assert (request["status"], request["status_notes"]) == ("closed", "Lampe getauscht.")
    # Nobody's phone to push to: the partner polls (updated_after).
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_partner_contact_data_is_erased_after_retention(
    reader: Any, partner: Partner, streetlight: Category, settings: Any
) -> None:
    fields = valid(partner, email="erika@example.org", first_name="Erika", phone="+49 2305 123456")
    (filed,) = post(reader, "json", fields).json()
    report = Report.objects.get(pk=int(filed["service_request_id"]))
    report_transition(report=report, actor=StaffFactory(roles=["Administration"]), status=ReportStatus.DONE)
    later = timezone.now() + timedelta(days=settings.REPORT_CONTACT_RETENTION_DAYS + 1)

    reports_erase_contact_after_retention(now=later)

    report.refresh_from_db()
    assert (report.contact_name, report.contact_email, report.contact_phone) == ("", "", "")
    assert PartnerSubmission.objects.get(report=report).api_key == partner.key


@pytest.mark.django_db
def test_each_partner_key_is_throttled_on_filed_requests(
    reader: Any, partner: Partner, other_partner: Partner, streetlight: Category, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "open311_key": "2/hour",
        },
    }
    # Refused submissions do not count.
    assert post(reader, "json", valid(partner, lat="0", long="0")).status_code == 400
    assert post(reader, "json", valid(partner)).status_code == 200
    assert post(reader, "json", valid(partner)).status_code == 200

    response = post(reader, "xml", valid(partner))

    assert_open311_error(response, 429, "xml")
    assert int(response["Retry-After"]) >= 1
    assert Report.objects.count() == 2
    assert post(reader, "json", valid(other_partner)).status_code == 200


@pytest.mark.django_db
def test_inactive_category_is_not_a_service(reader: Any, partner: Partner, streetlight: Category) -> None:
    CategoryFactory(key="alt", is_active=False)

    assert_open311_error(post(reader, "json", valid(partner, service_code="alt")), 404, "json")


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_wrong_method_and_wrong_body_type_use_the_spec_error_format(
    reader: Any, partner: Partner, streetlight: Category, fmt: str
) -> None:
    assert_open311_error(reader.put(f"{BASE}requests.{fmt}"), 405, fmt)
    assert_open311_error(reader.post(f"{BASE}services.{fmt}"), 405, fmt)
    as_json = reader.post(f"{BASE}requests.{fmt}", valid(partner), content_type="application/json")
    assert_open311_error(as_json, 415, fmt)
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_guessing_keys_is_rate_limited_per_address(reader: Any, streetlight: Category, settings: Any) -> None:
    set_rates(settings, anon="2/min")
    guess = {"api_key": "geraten", "service_code": "strassenlaterne"}
    assert post(reader, "json", guess).status_code == 403
    assert post(reader, "json", guess).status_code == 403

    assert_open311_error(post(reader, "json", guess), 429, "json")


@pytest.mark.django_db
def test_triage_staff_see_the_partners_contact_name_and_media_link(
    reader: Any, partner: Partner, streetlight: Category, administration_client: Any
) -> None:
    fields = valid(
        partner,
        first_name="Erika",
        last_name="Mustermann",
        email="erika@example.org",
        media_url="https://partner.example.org/photos/17.jpg",
    )
    (filed,) = post(reader, "json", fields).json()

    detail = administration_client.get(f"/api/v1/staff/reports/{filed['service_request_id']}").json()

    assert detail["contact_name"] == "Erika Mustermann"
    assert detail["media_url"] == "https://partner.example.org/photos/17.jpg"
    (public,) = reader.get(f"{BASE}requests/{filed['service_request_id']}.json").json()
    assert "Erika" not in str(public)
