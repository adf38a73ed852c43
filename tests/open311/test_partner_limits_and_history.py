"""Each partner's own rate limit (set per key, else the default), and what a partner sees of the requests
it filed when it reads with its ``api_key``: their history, hidden ones included, never internal notes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from reports.models import Category, Report, ReportStatus
from reports.open311.models import PartnerSubmission
from reports.services import report_moderate, report_note, report_reply, report_transition
from tests.conftest import set_rates
from tests.factories import StaffFactory
from tests.open311 import schemas
from tests.open311.conftest import BASE, Partner, assert_open311_error, parse_xml
from tests.reports.factories import CITY_POINT, ReportFactory

FORM = "application/x-www-form-urlencoded"
INTERNAL = "Intern: Anwohner ist Herr Meier"


def file(client: Any, partner: Partner) -> Any:
    fields = {
        "api_key": partner.secret,
        "service_code": "strassenlaterne",
        "lat": str(CITY_POINT[0]),
        "long": str(CITY_POINT[1]),
        "attribute[fehlerbild]": "aus",
    }
    return client.post(f"{BASE}requests.json", urlencode(fields), content_type=FORM)


def updates(client: Any, partner: Partner) -> Any:
    return client.get(f"{BASE}servicerequestupdates.json", {"api_key": partner.secret})


@pytest.fixture
def staff(db: Any) -> Any:
    return StaffFactory(roles=["Administration"])


@pytest.mark.django_db
def test_a_partners_own_limit_replaces_the_default(
    reader: Any, partner: Partner, other_partner: Partner, streetlight: Category, settings: Any
) -> None:
    set_rates(settings, open311_key="2/min")
    partner.key.rate_limit = "4/min"
    partner.key.save()

    assert [file(reader, partner).status_code for _ in range(4)] == [200] * 4
    assert_open311_error(file(reader, partner), 429, "json")
    assert [file(reader, other_partner).status_code for _ in range(2)] == [200] * 2
    assert_open311_error(file(reader, other_partner), 429, "json")
    assert Report.objects.count() == 6


@pytest.mark.django_db
def test_reads_and_filings_share_the_partners_limit(
    reader: Any, partner: Partner, streetlight: Category, settings: Any
) -> None:
    set_rates(settings, open311_key="3/min")

    assert updates(reader, partner).status_code == 200
    assert reader.get(f"{BASE}requests.json", {"api_key": partner.secret}).status_code == 200
    assert file(reader, partner).status_code == 200
    assert_open311_error(updates(reader, partner), 429, "json")
    # Anonymous reads are not the partner's: they count per address only.
    assert reader.get(f"{BASE}requests.json").status_code == 200


@pytest.mark.django_db
def test_the_rate_must_read_count_per_period(partner: Partner) -> None:
    for bad in ("viel", "10/fortnight", "0/min", "-1/hour"):
        partner.key.rate_limit = bad
        with pytest.raises(ValidationError):
            partner.key.full_clean()
    partner.key.rate_limit = "1200/hour"
    partner.key.full_clean()


@pytest.mark.django_db
def test_the_admin_sets_a_partners_limit(partner: Partner) -> None:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(StaffFactory(roles=["Administration"]))
    url = f"/admin/open311/partnerapikey/{partner.key.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert "rate_limit" in page.content.decode()

    refused = client.post(url, {"name": partner.key.name, "contact": "", "rate_limit": "viel"})
    assert refused.status_code == 200  # the form again, with the error
    partner.key.refresh_from_db()
    assert partner.key.rate_limit == ""

    client.post(url, {"name": partner.key.name, "contact": "", "rate_limit": "50/min"})
    partner.key.refresh_from_db()
    assert partner.key.rate_limit == "50/min"


@pytest.fixture
def history(reader: Any, partner: Partner, streetlight: Category, staff: Any) -> Report:
    (filed,) = file(reader, partner).json()
    report = Report.objects.get(pk=int(filed["service_request_id"]))
    report_transition(
        report=report,
        actor=staff,
        status=ReportStatus.IN_PROGRESS,
        public_message="Beauftragt",
        internal_note=INTERNAL,
    )
    report_note(report=report, actor=staff, note=INTERNAL)
    report_reply(report=report, actor=staff, message="Morgen")
    return report


@pytest.mark.django_db
def test_a_partner_reads_its_own_requests_with_their_history(
    reader: Any, partner: Partner, history: Report
) -> None:
    response = reader.get(f"{BASE}requests.json", {"api_key": partner.secret, "extensions": "true"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    (own,) = response.json()
    schemas.validate([own], {"type": "array", "items": schemas.PARTNER_EXTENDED_REQUEST})
    extended = own["extended_attributes"]
    assert [(n["type"], n["status"], n["description"]) for n in extended["notes"]] == [
        ("created", "eingegangen", None),
        ("status", "in_bearbeitung", "Beauftragt"),
        ("reply", None, "Morgen"),
    ]
    assert extended["non_public"] is False
    assert INTERNAL not in response.content.decode()


@pytest.mark.django_db
def test_a_partner_still_sees_its_request_once_hidden(
    reader: Any, partner: Partner, other_partner: Partner, history: Report, staff: Any
) -> None:
    report_moderate(report=history, actor=staff, hide=True)

    (own,) = reader.get(f"{BASE}requests.json", {"api_key": partner.secret, "extensions": "true"}).json()
    single = parse_xml(reader.get(f"{BASE}requests/{history.pk}.xml", {"api_key": partner.secret}))

    assert own["extended_attributes"]["non_public"] is True
    assert single.findtext("request/service_request_id") == str(history.pk)
    assert reader.get(f"{BASE}requests.json").json() == []
    assert_open311_error(reader.get(f"{BASE}requests/{history.pk}.json"), 404, "json")
    foreign = reader.get(f"{BASE}requests/{history.pk}.json", {"api_key": other_partner.secret})
    assert_open311_error(foreign, 404, "json")


@pytest.mark.django_db
def test_other_requests_read_with_a_key_are_as_public(
    reader: Any, partner: Partner, streetlight: Category, staff: Any
) -> None:
    report = ReportFactory(category=streetlight)
    report_note(report=report, actor=staff, note=INTERNAL)

    keyed = reader.get(f"{BASE}requests.json", {"api_key": partner.secret, "extensions": "true"}).json()
    public = reader.get(f"{BASE}requests.json", {"extensions": "true"}).json()

    assert keyed == public
    schemas.validate(keyed, schemas.EXTENDED_REQUESTS)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_key_on_a_read_is_refused_not_ignored(reader: Any, history: Report, fmt: str) -> None:
    assert_open311_error(reader.get(f"{BASE}requests.{fmt}", {"api_key": "geraten"}), 403, fmt)
    assert_open311_error(reader.get(f"{BASE}requests/{history.pk}.{fmt}", {"api_key": "geraten"}), 403, fmt)
    assert reader.get(f"{BASE}requests.{fmt}").status_code == 200


@pytest.mark.django_db
def test_filed_elsewhere_is_not_the_partners(
    reader: Any, partner: Partner, other_partner: Partner, history: Report
) -> None:
    assert PartnerSubmission.objects.get(report=history).api_key == partner.key

    (seen,) = reader.get(
        f"{BASE}requests.json", {"api_key": other_partner.secret, "extensions": "true"}
    ).json()

    assert "non_public" not in seen["extended_attributes"]
