"""The feed is written directly, not by icalendar: byte for byte what icalendar writes for the same data.

The reference below is the builder the feed had before (icalendar's Calendar and Event); every status,
escaping, folding at multi-byte characters and escapes, both languages, a type filter, a route change.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

import pytest
from django.utils import timezone

from tests.waste_calendar.factories import CollectionFactory, DistrictFactory, LocationDistrictFactory
from tests.waste_calendar.ics_reference import reference, reference_validators
from waste_calendar.models import CollectionStatus, LocationDistrict


@pytest.fixture
def varied_town(town):
    today = timezone.localdate()
    d = town.districts
    CollectionFactory(district=d["restabfall"], date=today + dt.timedelta(days=1))
    CollectionFactory(district=d["restabfall"], date=today - dt.timedelta(days=30))
    CollectionFactory(district=d["restabfall"], date=today + dt.timedelta(days=396), sequence=4)
    CollectionFactory(district=d["restabfall"], date=today - dt.timedelta(days=31))  # outside the window
    CollectionFactory(
        district=d["papier"],
        date=today + dt.timedelta(days=3),
        status=CollectionStatus.MOVED,
        original_date=today + dt.timedelta(days=2),
        sequence=2,
        reason="Feiertag; Tonne bis 6:00 Uhr, Deckel zu\\offen\nüberfüllte Tonnen: nein. " + "ä" * 40,
    )
    # Escapes and multi-byte characters where the line folds.
    CollectionFactory(
        district=d["papier"],
        date=today + dt.timedelta(days=10),
        reason="x" * 52 + ",;\\" + "ß" * 30 + "\\" * 20,
    )
    CollectionFactory(
        district=d["bioabfall"],
        date=today + dt.timedelta(days=5),
        status=CollectionStatus.CANCELLED,
        reason="Streik",
        sequence=1,
    )
    CollectionFactory(district=d["bioabfall"], date=today + dt.timedelta(days=3))  # same day as Papier
    # From next month on, another Bioabfall district serves the street: the old one's later dates drop out.
    LocationDistrict.objects.filter(location=town.bahnhof_12, waste_type=town.bioabfall).update(
        valid_until=today + dt.timedelta(days=30)
    )
    later = DistrictFactory(waste_type=town.bioabfall, code="B-02")
    LocationDistrictFactory(
        location=town.bahnhof_12, district=later, valid_from=today + dt.timedelta(days=31)
    )
    CollectionFactory(district=d["bioabfall"], date=today + dt.timedelta(days=40))  # no longer this one's
    CollectionFactory(district=later, date=today + dt.timedelta(days=41))
    CollectionFactory(district=later, date=today + dt.timedelta(days=20))  # not yet this one's
    return town


@pytest.mark.parametrize(
    ("query", "language", "type_keys"),
    [
        ("", "de", None),
        ("", "en", None),
        ("?types=papier,bioabfall", "de", ["papier", "bioabfall"]),
    ],
)
def test_the_feed_is_byte_for_byte_what_icalendar_writes(
    anon_client, varied_town, query, language, type_keys
):
    location = varied_town.bahnhof_12
    response = anon_client.get(
        f"/api/v1/waste/locations/{location.public_id}.ics{query}", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 200
    stamp = parsedate_to_datetime(response["Last-Modified"]).astimezone(dt.UTC)
    expected = reference(location, type_keys=type_keys, language=language, stamp=stamp)
    assert response.content == expected
    assert (response["ETag"], stamp) == reference_validators(location, type_keys=type_keys, language=language)
    assert b"\r\n " in expected, "the fixture must exercise folding"
    assert expected.count(b"BEGIN:VEVENT") == (8 if type_keys is None else 5)


def test_locations_of_one_district_share_its_events_but_not_their_uids(anon_client, varied_town):
    # The events are rendered once per district: the second location must still get its own UIDs.
    first = anon_client.get(f"/api/v1/waste/locations/{varied_town.bahnhof_12.public_id}.ics").content
    second = anon_client.get(f"/api/v1/waste/locations/{varied_town.bahnhof_12a.public_id}.ics")

    stamp = parsedate_to_datetime(second["Last-Modified"]).astimezone(dt.UTC)
    location = varied_town.bahnhof_12a
    assert second.content == reference(location, type_keys=None, language="de", stamp=stamp)
    assert varied_town.bahnhof_12.public_id.encode() not in second.content
    assert varied_town.bahnhof_12a.public_id.encode() not in first
