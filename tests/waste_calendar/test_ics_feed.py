"""The ICS feed of a location: RFC 5545 on the wire, parsed back with icalendar, and HTTP revalidation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.http import http_date
from icalendar import Calendar

from tests.conftest import assert_error_shape
from tests.waste_calendar.factories import CollectionFactory
from waste_calendar.models import Collection
from waste_calendar.services import collections_changed

LONG_REASON = (
    "Feiertag: Tag der Deutschen Einheit. Bitte die Tonne bis 6:00 Uhr an den Straßenrand stellen, Deckel "
    "geschlossen, Griffe zur Straße; überfüllte Tonnen werden nicht geleert."
)


def ics_url(location, **params):
    return f"/api/v1/waste/locations/{location.public_id}.ics"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def feed_town(town, today):
    d = town.districts
    CollectionFactory(district=d["restabfall"], date=today + dt.timedelta(days=1))
    CollectionFactory(district=d["restabfall"], date=today - dt.timedelta(days=31))  # before the window
    CollectionFactory(district=d["restabfall"], date=today - dt.timedelta(days=30))  # first day of it
    CollectionFactory(district=d["restabfall"], date=today + dt.timedelta(days=396))  # last day of it
    CollectionFactory(district=d["restabfall"], date=today + dt.timedelta(days=397))  # after it
    CollectionFactory(
        district=d["papier"],
        date=today + dt.timedelta(days=3),
        status="moved",
        original_date=today + dt.timedelta(days=2),
        reason=LONG_REASON,
    )
    CollectionFactory(district=d["bioabfall"], date=today + dt.timedelta(days=5), status="cancelled")
    return town


def events(body: bytes):
    return list(Calendar.from_ical(body).walk("VEVENT"))


def test_feed_is_rfc5545_on_the_wire(anon_client, feed_town):
    response = anon_client.get(ics_url(feed_town.bahnhof_12))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert b"\n" not in b"".join(lines)
    assert b"\r" not in b"".join(lines)
    assert all(len(line) <= 75 for line in lines), max(lines, key=len)
    assert any(line.startswith(b" ") for line in lines), "the long reason must be folded"
    assert lines[0] == b"BEGIN:VCALENDAR"
    assert lines[-1] == b"END:VCALENDAR"
    head = {line.split(b":", 1)[0]: line.split(b":", 1)[1] for line in lines[:12] if b":" in line}
    assert head[b"VERSION"] == b"2.0"
    assert head[b"NAME"] == "Abfuhrtermine Bahnhofstraße 12".encode()
    assert head[b"X-WR-CALNAME"] == head[b"NAME"]
    assert head[b"REFRESH-INTERVAL;VALUE=DURATION"] == b"PT12H"
    assert head[b"X-PUBLISHED-TTL"] == b"PT12H"


def test_feed_parses_back_with_all_day_events_in_the_window(anon_client, feed_town, today):
    found = events(anon_client.get(ics_url(feed_town.bahnhof_12)).content)

    starts = sorted(e.decoded("dtstart") for e in found)
    assert starts[0] == today - dt.timedelta(days=30)
    assert starts[-1] == today + dt.timedelta(days=396)
    assert len(found) == 5
    for event in found:
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert type(start) is dt.date
        assert end == start + dt.timedelta(days=1)
        assert event["uid"].endswith("@abfall.castrop-rauxel.de")
        assert event.get("dtstamp") is not None
    by_summary = {str(e["summary"]): e for e in found}
    moved = by_summary["Papier"]
    assert "Verschoben vom" in str(moved["description"])
    cancelled = by_summary["Bioabfall (entfällt)"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert str(moved["description"]).endswith("\n" + LONG_REASON)  # folding undone by the parser
    rest = next(e for e in found if str(e["summary"]) == "Restabfall")
    assert "description" not in rest


def test_feed_in_english_and_for_some_types(anon_client, feed_town):
    response = anon_client.get(ics_url(feed_town.bahnhof_12) + "?types=papier", HTTP_ACCEPT_LANGUAGE="en")

    found = events(response.content)
    assert [str(e["summary"]) for e in found] == ["Paper"]
    assert "Moved from" in str(found[0]["description"])
    assert b"NAME:Waste collection Bahnhofstra" in response.content


def test_uids_are_stable_across_requests_and_a_reimport_that_moves_a_collection(
    anon_client, feed_town, today
):
    first = {
        str(e["uid"]): e.decoded("dtstart")
        for e in events(anon_client.get(ics_url(feed_town.bahnhof_12)).content)
    }
    again = {
        str(e["uid"]): e.decoded("dtstart")
        for e in events(anon_client.get(ics_url(feed_town.bahnhof_12)).content)
    }
    assert first == again
    assert len(set(first)) == len(first)

    # A re-import moves tomorrow's residual waste collection by a day and recreates all rows.
    rest = Collection.objects.get(
        district=feed_town.districts["restabfall"], date=today + dt.timedelta(days=1)
    )
    rows = list(Collection.objects.values("district_id", "date", "status", "original_date"))
    Collection.objects.all().delete()
    for row in rows:
        if row["district_id"] == rest.district_id and row["date"] == rest.date:
            row.update(date=rest.date + dt.timedelta(days=1), status="moved", original_date=rest.date)
        Collection.objects.create(**row)
    # As the importer does after its transaction committed (the change rows are not needed here).
    collections_changed.send(sender=None, changes=[], import_run=None)

    after = {
        str(e["uid"]): e.decoded("dtstart")
        for e in events(anon_client.get(ics_url(feed_town.bahnhof_12)).content)
    }
    assert set(after) == set(first)
    moved_uid = next(uid for uid, day in first.items() if day == rest.date and "restabfall" in uid)
    assert after[moved_uid] == rest.date + dt.timedelta(days=1)


def test_uids_differ_between_locations_of_the_same_district(anon_client, feed_town):
    a = {str(e["uid"]) for e in events(anon_client.get(ics_url(feed_town.bahnhof_12)).content)}
    b = {str(e["uid"]) for e in events(anon_client.get(ics_url(feed_town.bahnhof_12a)).content)}
    assert a
    assert b
    assert not (a & b)


def test_etag_revalidation_answers_304(anon_client, feed_town):
    first = anon_client.get(ics_url(feed_town.bahnhof_12))
    etag = first["ETag"]
    assert etag.startswith('"')
    assert first["Cache-Control"].startswith("public")

    again = anon_client.get(ics_url(feed_town.bahnhof_12), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    other = anon_client.get(ics_url(feed_town.bahnhof_12), HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_last_modified_revalidation_answers_304_until_the_data_changes(anon_client, feed_town, today):
    first = anon_client.get(ics_url(feed_town.bahnhof_12))
    last_modified = first["Last-Modified"]

    assert (
        anon_client.get(ics_url(feed_town.bahnhof_12), HTTP_IF_MODIFIED_SINCE=last_modified).status_code
        == 304
    )
    earlier = http_date(timezone.now().timestamp() - 86400)
    assert anon_client.get(ics_url(feed_town.bahnhof_12), HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    both = anon_client.get(
        ics_url(feed_town.bahnhof_12), HTTP_IF_NONE_MATCH='"stale"', HTTP_IF_MODIFIED_SINCE=last_modified
    )
    assert both.status_code == 200


def test_an_import_with_changes_invalidates_validators_at_once(anon_client, feed_town, today):
    first = anon_client.get(ics_url(feed_town.bahnhof_12))
    collection = CollectionFactory(district=feed_town.districts["papier"], date=today + dt.timedelta(days=20))
    collections_changed.send(sender=None, changes=[], import_run=None)

    again = anon_client.get(ics_url(feed_town.bahnhof_12), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    assert collection.date in [e.decoded("dtstart") for e in events(again.content)]


@pytest.mark.parametrize("types", ["glas", "papier,,glas"])
def test_feed_refuses_unknown_types_in_the_error_shape(anon_client, town, types):
    body = assert_error_shape(
        anon_client.get(ics_url(town.bahnhof_12) + f"?types={types}"), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == "types"


def test_answers_from_the_cache_do_not_use_up_the_rate_limit(anon_client, feed_town, anon_limit):
    anon_limit("2/min")
    url = ics_url(feed_town.bahnhof_12)
    etag = anon_client.get(url)["ETag"]  # built: counts

    revalidations = [anon_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code for _ in range(5)]
    repeats = [anon_client.get(url).status_code for _ in range(5)]

    assert revalidations == [304] * 5
    assert repeats == [200] * 5
    # Calendars still to build count: the second is the limit's last.
    assert anon_client.get(url + "?types=restabfall").status_code == 200
    assert_error_shape(anon_client.get(url + "?types=papier"), 429, "throttled")


def test_an_answer_from_the_cache_is_the_answer_built_before(anon_client, feed_town):
    url = ics_url(feed_town.bahnhof_12)
    built = anon_client.get(url)  # the full view builds and caches it
    cached = anon_client.get(url)  # answered from the cache before DRF

    def headers(response):
        # Allow is DRF's; the request id is each request's own.
        return {k: v for k, v in response.headers.items() if k not in {"Allow", "X-Request-ID"}}

    assert cached.status_code == built.status_code == 200
    assert cached.content == built.content
    assert headers(cached) == headers(built)


def test_spellings_of_one_type_list_share_one_cached_calendar(anon_client, feed_town, anon_limit):
    anon_limit("1/min")
    url = ics_url(feed_town.bahnhof_12)
    first = anon_client.get(url + "?types=papier,restabfall")  # built: the limit's only request

    for spelling in ["papier, restabfall", "papier,restabfall,papier", "papier,,restabfall,"]:
        again = anon_client.get(url, {"types": spelling})
        assert again.status_code == 200, spelling
        assert again.content == first.content
    assert_error_shape(anon_client.get(url + "?types=restabfall,papier"), 429, "throttled")


def test_a_304_from_the_cache_is_the_304_of_the_full_view(anon_client, feed_town, anon_limit):
    anon_limit("2/min")
    url = ics_url(feed_town.bahnhof_12)
    etag = anon_client.get(url)["ETag"]  # built: counts (1)
    collections_changed.send(sender=None, changes=[], import_run=None)  # validators and body stale

    full = anon_client.get(url, HTTP_IF_NONE_MATCH=etag)  # validators computed again: counts (2)
    cached = anon_client.get(url, HTTP_IF_NONE_MATCH=etag)  # from the cache: does not count

    def headers(response):
        return {k: v for k, v in response.headers.items() if k not in {"Allow", "X-Request-ID"}}

    assert full.status_code == cached.status_code == 304
    assert headers(cached) == headers(full)
    # HEAD, other parameters and other methods take the full view, which counts: the limit is used up.
    assert anon_client.head(url).status_code == 429
    assert_error_shape(anon_client.get(url + "?utm_source=app"), 429, "throttled")
    assert_error_shape(anon_client.post(url), 429, "throttled")


def test_head_answers_like_get_without_a_body(anon_client, feed_town):
    url = ics_url(feed_town.bahnhof_12)
    get = anon_client.get(url)

    head = anon_client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Content-Type"] == "text/calendar; charset=utf-8"
    assert anon_client.get(url + "?types=papier&utm_source=app").status_code == 200
    assert_error_shape(anon_client.post(url), 405, "method_not_allowed")


@pytest.mark.parametrize("types", ["", ",", " , "])
def test_a_blank_type_list_means_all_types_from_the_cache_or_not(anon_client, feed_town, types):
    url = ics_url(feed_town.bahnhof_12)
    everything = anon_client.get(url)  # built and cached for all types

    built = anon_client.get(url, {"types": types, "utm_source": "app"})  # the full view
    cached = anon_client.get(url, {"types": types})  # from the cache

    assert built.status_code == cached.status_code == 200
    assert built.content == cached.content == everything.content


def test_an_overlong_type_list_is_refused_even_when_its_keys_are_cached(anon_client, feed_town):
    url = ics_url(feed_town.bahnhof_12)
    assert anon_client.get(url, {"types": "papier"}).status_code == 200

    body = assert_error_shape(
        anon_client.get(url, {"types": ",".join(["papier"] * 200)}), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == "types"


@pytest.mark.django_db
def test_the_schema_documents_the_feed_as_a_calendar(anon_client):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/waste/locations/{location_id}.ics"]["get"]
    assert operation["operationId"] == "waste_location_ics"
    assert "text/calendar" in operation["responses"]["200"]["content"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["types"]
