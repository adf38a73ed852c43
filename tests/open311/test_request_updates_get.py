"""``GET servicerequestupdates.{xml,json}``: the updates feed FixMyStreet and open311-adapter poll, over a
series of status changes, its time windows, both formats, and what it never shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from reports.models import Category, Report, ReportStatus
from reports.open311.models import PartnerSubmission
from reports.services import (
    report_merge,
    report_moderate,
    report_note,
    report_reply,
    report_transition,
)
from tests.conftest import set_rates
from tests.factories import StaffFactory
from tests.open311 import schemas
from tests.open311.conftest import BASE, Partner, assert_open311_error, children, parse_json, parse_xml
from tests.reports.factories import ReportFactory

# 2027-03-01, a Monday: every step of the story below happens at a known time (UTC).
DAY = datetime(2027, 3, 1, tzinfo=UTC)
INTERNAL = "Intern: Bauhof ruft Herrn Meier unter 0170 111 an"
ELEMENTS = ["update_id", "service_request_id", "status", "description", "updated_datetime", "media_url"]


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def feed(client: Any, partner: Partner, fmt: str = "json", **params: Any) -> Any:
    return client.get(f"{BASE}servicerequestupdates.{fmt}", {"api_key": partner.secret, **params})


def window(start: datetime, end: datetime) -> dict[str, str]:
    """The dates as FixMyStreet sends them: W3CDTF in UTC with a Z."""
    return {
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture
def staff(db: Any) -> Any:
    return StaffFactory(roles=["Administration"])


@pytest.fixture
def story(streetlight: Category, staff: Any, partner: Partner) -> Report:
    """A partner's report through its life: reviewed (08:00), a reply (09:00), an internal note (09:30), in
    progress with an internal note beside the public message (10:00), done (12:00); filed at 07:00."""
    with time_machine.travel(at(7), tick=False):
        report: Report = ReportFactory(category=streetlight, installation=None)
        PartnerSubmission.objects.create(
            report=report, api_key=partner.key, token="t1", sender_metadata={"fixmystreet_id": "4242"}
        )
    with time_machine.travel(at(8), tick=False):
        report_transition(report=report, actor=staff, status=ReportStatus.IN_REVIEW)
    with time_machine.travel(at(9), tick=False):
        report_reply(report=report, actor=staff, message="Danke, wir sehen uns das an.")
    with time_machine.travel(at(9.5), tick=False):
        report_note(report=report, actor=staff, note=INTERNAL)
    with time_machine.travel(at(10), tick=False):
        report_transition(
            report=report,
            actor=staff,
            status=ReportStatus.IN_PROGRESS,
            public_message="Der Bauhof ist beauftragt.",
            internal_note=INTERNAL,
        )
    with time_machine.travel(at(12), tick=False):
        report_transition(report=report, actor=staff, status=ReportStatus.DONE, public_message="Repariert.")
    return report


@pytest.mark.django_db
def test_the_feed_lists_every_public_change_of_the_period_in_open311_adapter_fields(
    reader: Any, partner: Partner, story: Report
) -> None:
    response = feed(reader, partner, **window(at(0), at(24)))

    assert response.status_code == 200
    body = parse_json(response)
    schemas.validate(body, schemas.REQUEST_UPDATES)
    assert [(u["status"], u["external_status_code"], u["description"]) for u in body] == [
        ("investigating", "in_pruefung", ""),
        ("investigating", "in_pruefung", "Danke, wir sehen uns das an."),
        ("in_progress", "in_bearbeitung", "Der Bauhof ist beauftragt."),
        ("fixed", "erledigt", "Repariert."),
    ]
    assert {u["service_request_id"] for u in body} == {str(story.pk)}
    assert [u["updated_datetime"] for u in body] == [
        "2027-03-01T09:00:00+01:00",
        "2027-03-01T10:00:00+01:00",
        "2027-03-01T11:00:00+01:00",
        "2027-03-01T13:00:00+01:00",
    ]
    assert len({u["update_id"] for u in body}) == 4
    assert all(u["media_url"] == "" for u in body)
    # The partner that filed it gets its own id back, which FixMyStreet finds its report by.
    assert {u["fixmystreet_id"] for u in body} == {"4242"}
    assert INTERNAL not in response.content.decode()


@pytest.mark.django_db
def test_xml_and_json_carry_the_same_updates(reader: Any, partner: Partner, story: Report) -> None:
    as_json = feed(reader, partner, "json", **window(at(0), at(24))).json()
    root = parse_xml(feed(reader, partner, "xml", **window(at(0), at(24))))

    assert root.tag == "service_request_updates"
    as_xml = []
    for item in root:
        assert item.tag == "request_update"
        assert children(item)[:6] == ELEMENTS
        as_xml.append({child.tag: child.text or "" for child in item})
    assert as_xml == as_json


@pytest.mark.django_db
def test_xml_reads_as_fixmystreet_reads_it(reader: Any, partner: Partner, story: Report) -> None:
    """FixMyStreet keeps an update when its updated_datetime, in UTC, lies within the dates it asked
    for (compared as W3CDTF strings), and needs a service_request_id and an update_id."""
    asked = window(at(9), at(10))
    root = parse_xml(feed(reader, partner, "xml", **asked))

    kept = []
    for item in root.iter("request_update"):
        updated = datetime.fromisoformat(item.findtext("updated_datetime") or "")
        as_utc = updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert asked["start_date"] <= as_utc <= asked["end_date"]
        assert item.findtext("service_request_id")
        assert item.findtext("update_id")
        kept.append(item.findtext("status"))
    assert kept == ["investigating", "in_progress"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(8), at(8), ["investigating"]),  # both ends inclusive
        (at(8.5), at(11.9), ["investigating", "in_progress"]),
        (at(12), at(30), ["fixed"]),
        (at(13), at(14), []),
    ],
)
def test_time_windows(  # noqa: PLR0917 - fixtures and parameters
    reader: Any, partner: Partner, story: Report, start: datetime, end: datetime, expected: list[str]
) -> None:
    body = feed(reader, partner, **window(start, end)).json()

    assert [update["status"] for update in body] == expected


@pytest.mark.django_db
def test_dates_with_an_offset_or_without_one_mean_berlin_time(
    reader: Any, partner: Partner, story: Report
) -> None:
    with_offset = feed(
        reader, partner, start_date="2027-03-01T09:30:00+01:00", end_date="2027-03-01T10:30:00+01:00"
    )
    local = feed(reader, partner, start_date="2027-03-01T09:30:00", end_date="2027-03-01T10:30:00")

    assert [u["description"] for u in with_offset.json()] == ["Danke, wir sehen uns das an."]
    assert local.json() == with_offset.json()


@pytest.mark.django_db
def test_without_dates_the_last_24_hours(reader: Any, partner: Partner, story: Report) -> None:
    with time_machine.travel(at(33.5), tick=False):  # from 09:30 (UTC) of the day before
        body = feed(reader, partner).json()

    assert [update["status"] for update in body] == ["in_progress", "fixed"]


@pytest.mark.django_db
def test_a_reply_carries_the_status_of_its_time_not_todays(
    reader: Any, partner: Partner, story: Report
) -> None:
    (reply,) = feed(reader, partner, **window(at(9), at(9))).json()

    story.refresh_from_db()
    assert story.status == ReportStatus.DONE
    assert (reply["status"], reply["external_status_code"]) == ("investigating", "in_pruefung")


@pytest.mark.django_db
def test_each_status_maps_to_a_status_fixmystreet_knows(
    reader: Any, partner: Partner, streetlight: Category, staff: Any
) -> None:
    reports = {status: ReportFactory(category=streetlight) for status in ("r", "n", "d", "dup")}
    original = ReportFactory(category=streetlight)
    with time_machine.travel(at(1), tick=False):
        report_transition(
            report=reports["r"], actor=staff, status=ReportStatus.REJECTED, public_message="Nein"
        )
        report_transition(
            report=reports["n"], actor=staff, status=ReportStatus.NOT_RESPONSIBLE, forwarded_to="Straßen.NRW"
        )
        report_transition(report=reports["d"], actor=staff, status=ReportStatus.DONE)
        report_merge(report=reports["dup"], into=original, actor=staff)

    body = feed(reader, partner, **window(at(0), at(2))).json()

    assert {(u["external_status_code"], u["status"]) for u in body} == {
        ("abgelehnt", "no_further_action"),
        ("nicht_zustaendig", "not_councils_responsibility"),
        ("erledigt", "fixed"),
        ("duplikat", "duplicate"),
    }


@pytest.mark.django_db
def test_nothing_of_hidden_reports_and_only_the_redacted_text(
    reader: Any, partner: Partner, story: Report, staff: Any, streetlight: Category
) -> None:
    other = ReportFactory(category=streetlight)
    with time_machine.travel(at(9), tick=False):
        report_reply(report=other, actor=staff, message="Ihre Nummer 0170 222 haben wir")
    reply_event = other.events.get(kind="reply")
    report_moderate(report=other, actor=staff, event_messages={reply_event.pk: "[entfernt]"})
    report_moderate(report=story, actor=staff, hide=True)

    body = feed(reader, partner, **window(at(0), at(24))).json()

    assert [(u["service_request_id"], u["description"]) for u in body] == [(str(other.pk), "[entfernt]")]
    # fixmystreet_id only for the partner's own requests
    assert "fixmystreet_id" not in body[0]


@pytest.mark.django_db
def test_another_partner_sees_the_updates_without_the_senders_id(
    reader: Any, partner: Partner, other_partner: Partner, story: Report
) -> None:
    body = feed(reader, other_partner, **window(at(0), at(24))).json()

    assert len(body) == 4
    assert all("fixmystreet_id" not in update for update in body)


@pytest.mark.django_db
def test_pages_and_a_link_to_the_next_one(reader: Any, partner: Partner, story: Report) -> None:
    first = feed(reader, partner, page_size=3, **window(at(0), at(24)))
    second = feed(reader, partner, page_size=3, page=2, **window(at(0), at(24)))

    assert len(first.json()) == 3
    assert "page=2" in first["Link"]
    assert first["Link"].endswith('>; rel="next"')
    assert len(second.json()) == 1
    assert not second.has_header("Link")
    ids = [u["update_id"] for u in first.json() + second.json()]
    assert ids == [u["update_id"] for u in feed(reader, partner, **window(at(0), at(24))).json()]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"start_date": "gestern", "end_date": "2027-03-01T00:00:00Z"}, "start_date"),
        ({"start_date": "2027-03-02T00:00:00Z", "end_date": "2027-03-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2027-01-01T00:00:00Z", "end_date": "2027-03-01T00:00:00Z"}, "31"),
        ({"page": "0"}, "page"),
        ({"page_size": "1001"}, "page_size"),
    ],
)
def test_bad_dates_and_pages_are_400(
    reader: Any, partner: Partner, fmt: str, params: dict[str, str], mentions: str
) -> None:
    assert_open311_error(feed(reader, partner, fmt, **params), 400, fmt, mentions=mentions)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_feed_needs_a_usable_api_key(reader: Any, partner: Partner, story: Report, fmt: str) -> None:
    path = f"{BASE}servicerequestupdates.{fmt}"
    assert_open311_error(reader.get(path), 403, fmt, mentions="api_key")
    assert_open311_error(reader.get(path, {"api_key": "geraten"}), 403, fmt)
    partner.key.revoked_at = DAY
    partner.key.save()
    assert_open311_error(reader.get(path, {"api_key": partner.secret}), 403, fmt)


@pytest.mark.django_db
def test_the_feed_is_not_kept_in_shared_caches(reader: Any, partner: Partner, story: Report) -> None:
    response = feed(reader, partner, **window(at(0), at(24)))

    assert response["Cache-Control"] == "private, no-cache"


@pytest.mark.django_db
def test_the_feed_counts_against_the_partners_own_limit(
    reader: Any, partner: Partner, other_partner: Partner, settings: Any
) -> None:
    set_rates(settings, open311_key="2/min")
    assert feed(reader, partner).status_code == 200
    assert feed(reader, partner).status_code == 200

    response = feed(reader, partner, "xml")

    assert_open311_error(response, 429, "xml")
    assert feed(reader, other_partner).status_code == 200


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_updates(
    reader: Any, partner: Partner, streetlight: Category, staff: Any, django_assert_max_num_queries: Any
) -> None:
    with time_machine.travel(at(1), tick=True):
        for _ in range(20):
            report = ReportFactory(category=streetlight)
            report_transition(report=report, actor=staff, status=ReportStatus.IN_REVIEW)
            report_reply(report=report, actor=staff, message="Danke")

    with django_assert_max_num_queries(6):
        body = feed(reader, partner, **window(at(0), at(2))).json()

    assert len(body) == 40
