"""``POST servicerequestupdates.{xml,json}``: a partner passes on a citizen's comment or "still broken" on a
request it filed, in the shape FixMyStreet's update sender posts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from reports.models import Category, Report, ReportEvent, ReportStatus
from reports.open311.models import PartnerSubmission, PartnerUpdate
from reports.services import report_transition
from tests.factories import StaffFactory
from tests.open311 import schemas
from tests.open311.conftest import BASE, Partner, assert_open311_error, parse_json, parse_xml
from tests.reports.factories import ReportFactory

FORM = "application/x-www-form-urlencoded"
WORDS = "Die Laterne ist immer noch aus, Tel. 0170 333"


def post(
    client: Any, fmt: str = "json", fields: dict[str, Any] | None = None, body: bytes | None = None
) -> Any:
    data = body if body is not None else urlencode(fields or {}, doseq=True)
    return client.post(f"{BASE}servicerequestupdates.{fmt}", data, content_type=FORM)


def fixmystreet_update(partner: Partner, report: Report, **extra: Any) -> dict[str, Any]:
    """The fields FixMyStreet's Open311 update sender posts (Open311.pm)."""
    return {
        "jurisdiction_id": "castrop-rauxel.de",
        "api_key": partner.secret,
        "service_request_id": str(report.pk),
        "update_id": "9001",
        "status": "OPEN",
        "description": WORDS,
        "updated_datetime": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "first_name": "Erika",
        "last_name": "Mustermann",
        "email": "erika@example.org",
        **extra,
    }


@pytest.fixture
def staff(db: Any) -> Any:
    return StaffFactory(roles=["Administration"])


@pytest.fixture
def partners_report(streetlight: Category, partner: Partner) -> Report:
    report: Report = ReportFactory(category=streetlight, installation=None)
    PartnerSubmission.objects.create(report=report, api_key=partner.key, token="t-1")
    return report


def done(report: Report, staff: Any, *, days_ago: float = 0) -> None:
    report_transition(report=report, actor=staff, status=ReportStatus.DONE, public_message="Repariert.")
    Report.objects.filter(pk=report.pk).update(closed_at=timezone.now() - timedelta(days=days_ago, seconds=5))


@pytest.mark.django_db
def test_a_comment_is_kept_for_staff_and_answered_with_its_update_id(
    reader: Any, partner: Partner, partners_report: Report
) -> None:
    response = post(reader, "json", fixmystreet_update(partner, partners_report))

    assert response.status_code == 200
    body = parse_json(response)
    schemas.validate(body, schemas.UPDATE_POST_RESPONSE)
    event = ReportEvent.objects.get(pk=int(body[0]["update_id"]))
    assert (event.kind, event.internal_note, event.is_public, event.public_message) == (
        "comment",
        WORDS,
        False,
        "",
    )
    update = PartnerUpdate.objects.get()
    assert (update.partner_update_id, update.reopened, update.event_id) == ("9001", False, event.pk)
    partners_report.refresh_from_db()
    assert partners_report.status == ReportStatus.RECEIVED
    # Neither the words nor the commenter appear anywhere public.
    public = reader.get(f"{BASE}requests/{partners_report.pk}.json", {"extensions": "true"}).content.decode()
    assert "immer noch" not in public
    assert "Erika" not in public


@pytest.mark.django_db
def test_xml_answer_is_what_fixmystreet_reads(reader: Any, partner: Partner, partners_report: Report) -> None:
    root = parse_xml(post(reader, "xml", fixmystreet_update(partner, partners_report)))

    assert root.tag == "service_request_updates"
    (item,) = list(root)
    assert item.tag == "request_update"
    assert [child.tag for child in item] == ["update_id"]
    assert item.findtext("update_id") == str(PartnerUpdate.objects.get().event_id)


@pytest.mark.django_db
def test_still_broken_reopens_a_report_done_within_the_window(
    reader: Any, partner: Partner, partners_report: Report, staff: Any
) -> None:
    done(partners_report, staff, days_ago=3)

    response = post(reader, "json", fixmystreet_update(partner, partners_report, status="REOPEN"))

    assert response.status_code == 200
    partners_report.refresh_from_db()
    assert partners_report.status == ReportStatus.IN_REVIEW
    assert partners_report.closed_at is None
    event = ReportEvent.objects.get(pk=int(response.json()[0]["update_id"]))
    assert (event.kind, event.from_status, event.to_status) == ("status", "erledigt", "in_pruefung")
    assert event.internal_note == WORDS
    assert event.public_message == ""
    assert PartnerUpdate.objects.get().reopened


@pytest.mark.django_db
def test_open_on_a_done_report_is_still_broken_too(
    reader: Any, partner: Partner, partners_report: Report, staff: Any
) -> None:
    done(partners_report, staff, days_ago=1)

    assert (
        post(reader, "json", fixmystreet_update(partner, partners_report, status="open")).status_code == 200
    )

    partners_report.refresh_from_db()
    assert partners_report.status == ReportStatus.IN_REVIEW


@pytest.mark.django_db
def test_words_written_before_the_closing_are_a_comment_not_a_reopening(
    reader: Any, partner: Partner, partners_report: Report, staff: Any
) -> None:
    done(partners_report, staff, days_ago=0)
    earlier = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    response = post(reader, "json", fixmystreet_update(partner, partners_report, updated_datetime=earlier))

    assert response.status_code == 200
    partners_report.refresh_from_db()
    assert partners_report.status == ReportStatus.DONE
    assert ReportEvent.objects.get(pk=int(response.json()[0]["update_id"])).kind == "comment"


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_report_done_longer_ago_than_the_window_is_not_reopened(  # noqa: PLR0917 - fixtures and parameters
    reader: Any, partner: Partner, partners_report: Report, staff: Any, settings: Any, fmt: str
) -> None:
    done(partners_report, staff, days_ago=settings.REPORT_REOPEN_DAYS + 1)

    response = post(reader, fmt, fixmystreet_update(partner, partners_report, status="REOPEN"))

    assert_open311_error(response, 400, fmt, mentions=f"{settings.REPORT_REOPEN_DAYS}")
    partners_report.refresh_from_db()
    assert partners_report.status == ReportStatus.DONE
    assert not PartnerUpdate.objects.exists()
    assert not ReportEvent.objects.filter(kind="comment").exists()


@pytest.mark.django_db
def test_a_rejected_report_is_not_reopened(
    reader: Any, partner: Partner, partners_report: Report, staff: Any
) -> None:
    report_transition(
        report=partners_report, actor=staff, status=ReportStatus.REJECTED, public_message="Privat"
    )
    after = (timezone.now() + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    reopening = fixmystreet_update(partner, partners_report, updated_datetime=after)
    assert_open311_error(post(reader, "json", reopening), 400, "json")

    closed = post(reader, "json", fixmystreet_update(partner, partners_report, status="NO_FURTHER_ACTION"))
    assert closed.status_code == 200  # a comment on it is fine
    partners_report.refresh_from_db()
    assert partners_report.status == ReportStatus.REJECTED


@pytest.mark.django_db
def test_a_resent_update_is_stored_once(reader: Any, partner: Partner, partners_report: Report) -> None:
    first = post(reader, "json", fixmystreet_update(partner, partners_report))
    again = post(reader, "xml", fixmystreet_update(partner, partners_report))

    assert parse_xml(again).findtext("request_update/update_id") == first.json()[0]["update_id"]
    assert PartnerUpdate.objects.count() == 1
    assert ReportEvent.objects.filter(kind="comment").count() == 1


@pytest.mark.django_db
def test_an_update_id_reused_for_another_request_is_refused(
    reader: Any, partner: Partner, partners_report: Report, streetlight: Category
) -> None:
    second: Report = ReportFactory(category=streetlight, installation=None)
    PartnerSubmission.objects.create(report=second, api_key=partner.key, token="t-2")
    post(reader, "json", fixmystreet_update(partner, partners_report))

    response = post(reader, "json", fixmystreet_update(partner, second))

    assert_open311_error(response, 400, "json", mentions="update_id")
    assert PartnerUpdate.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_only_the_partner_that_filed_a_request_may_update_it(  # noqa: PLR0917 - fixtures and parameters
    reader: Any,
    partner: Partner,
    other_partner: Partner,
    partners_report: Report,
    streetlight: Category,
    fmt: str,
) -> None:
    apps_report = ReportFactory(category=streetlight)

    assert_open311_error(post(reader, fmt, fixmystreet_update(other_partner, partners_report)), 403, fmt)
    assert_open311_error(post(reader, fmt, fixmystreet_update(partner, apps_report)), 403, fmt)
    missing = fixmystreet_update(partner, partners_report, service_request_id="999999")
    assert_open311_error(post(reader, fmt, missing), 404, fmt)
    # A hidden report of someone else is unknown, not forbidden: no partner learns which numbers exist.
    hidden = ReportFactory(category=streetlight, hidden=True)
    assert_open311_error(post(reader, fmt, fixmystreet_update(partner, hidden)), 404, fmt)
    Report.objects.filter(pk=partners_report.pk).update(hidden=True)
    assert_open311_error(post(reader, fmt, fixmystreet_update(other_partner, partners_report)), 404, fmt)
    without_key = {k: v for k, v in fixmystreet_update(partner, partners_report).items() if k != "api_key"}
    assert_open311_error(post(reader, fmt, without_key), 403, fmt, mentions="api_key")
    assert not PartnerUpdate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("changes", "mentions"),
    [
        ({"status": "KAPUTT"}, "status"),
        ({"status": ""}, "status"),
        ({"description": ""}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"service_request_id": "abc"}, "service_request_id"),
        ({"updated_datetime": "gestern"}, "updated_datetime"),
        ({"email": "keine-adresse"}, "email"),
        ({"phone": "ruf mich an"}, "phone"),
        ({"media_url": "ftp://example.org/a.jpg"}, "media_url"),
        ({"update_id": "u" * 101}, "update_id"),
        ({"public_anonymity_required": "VIELLEICHT"}, "public_anonymity_required"),
        ({"jurisdiction_id": "dortmund.de"}, "jurisdiction_id"),
    ],
)
def test_bad_input_is_400_and_stores_nothing(  # noqa: PLR0917 - fixtures and parameters
    reader: Any, partner: Partner, partners_report: Report, fmt: str, changes: dict[str, str], mentions: str
) -> None:
    response = post(reader, fmt, fixmystreet_update(partner, partners_report, **changes))

    status = 404 if "jurisdiction_id" in changes else 400
    assert_open311_error(response, status, fmt, mentions=mentions)
    assert not PartnerUpdate.objects.exists()


@pytest.mark.django_db
def test_text_that_is_not_utf8_is_400(reader: Any, partner: Partner, partners_report: Report) -> None:
    fields = fixmystreet_update(partner, partners_report)
    fields.pop("description")
    body = urlencode(fields).encode() + b"&description=Laterne%20f%E4llt"  # Latin-1 "ä"

    assert_open311_error(post(reader, "json", body=body), 400, "json", mentions="UTF-8")
    assert not PartnerUpdate.objects.exists()


@pytest.mark.django_db
def test_several_media_links_are_kept_for_staff(
    reader: Any, partner: Partner, partners_report: Report
) -> None:
    fields = fixmystreet_update(partner, partners_report)
    body = urlencode(
        [
            *fields.items(),
            ("media_url", "https://fms.example.org/p/1.jpg"),
            ("media_url", "https://fms.example.org/p/2.jpg"),
        ]
    )

    assert post(reader, "json", body=body.encode()).status_code == 200

    assert PartnerUpdate.objects.get().media_urls == [
        "https://fms.example.org/p/1.jpg",
        "https://fms.example.org/p/2.jpg",
    ]


@pytest.mark.django_db
def test_the_partner_sees_its_comment_in_its_own_history(
    reader: Any, partner: Partner, other_partner: Partner, partners_report: Report
) -> None:
    post(reader, "json", fixmystreet_update(partner, partners_report))

    (own,) = reader.get(
        f"{BASE}requests/{partners_report.pk}.json", {"api_key": partner.secret, "extensions": "true"}
    ).json()
    (foreign,) = reader.get(
        f"{BASE}requests/{partners_report.pk}.json", {"api_key": other_partner.secret, "extensions": "true"}
    ).json()

    assert [note["type"] for note in own["extended_attributes"]["notes"]] == ["created", "comment"]
    assert own["extended_attributes"]["notes"][-1]["description"] == WORDS
    assert [note["type"] for note in foreign["extended_attributes"]["notes"]] == ["created"]
    assert "non_public" not in foreign["extended_attributes"]


@pytest.mark.django_db
def test_the_partner_sees_its_words_on_the_reopening_and_the_public_does_not(
    reader: Any, partner: Partner, partners_report: Report, staff: Any
) -> None:
    done(partners_report, staff, days_ago=1)
    post(reader, "json", fixmystreet_update(partner, partners_report, status="REOPEN"))

    (own,) = reader.get(
        f"{BASE}requests/{partners_report.pk}.json", {"api_key": partner.secret, "extensions": "true"}
    ).json()
    (public,) = reader.get(f"{BASE}requests/{partners_report.pk}.json", {"extensions": "true"}).json()

    *_, reopened = own["extended_attributes"]["notes"]
    assert (reopened["type"], reopened["status"], reopened["description"]) == ("status", "in_pruefung", WORDS)
    assert public["extended_attributes"]["notes"][-1]["description"] is None
