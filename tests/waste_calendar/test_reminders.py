"""Reminder pushes through the periodic task, delivered to the fake FCM server by the real SDK."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from push.models import CategoryOptOut
from tests.factories import InstallationFactory
from tests.waste_calendar.factories import CollectionChangeFactory, CollectionFactory, LocationFactory
from waste_calendar.models import (
    REMINDER_DEFAULT_TIMES,
    CollectionChange,
    ReminderRun,
    ReminderSend,
    ReminderSubscription,
)
from waste_calendar.services import collections_changed
from waste_calendar.tasks import send_due_reminders

BERLIN = ZoneInfo("Europe/Berlin")
# A Wednesday in winter time; the collections are on Thursday.
DAY = dt.date(2026, 1, 14)
TOMORROW = DAY + dt.timedelta(days=1)


def berlin(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).isoformat()


def utc(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC).isoformat()


_token_numbers = iter(range(10_000))


def phone(locale: str = "de"):
    return InstallationFactory(
        locale=locale,
        push_token=f"waste-token-{next(_token_numbers):04d}",
        push_token_kind="registration_token",
    )


def subscribe(
    installation, location, types, *, remind_at="evening_before", house_number="", remind_time=None, label=""
):
    return ReminderSubscription.objects.create(
        installation=installation,
        location=location,
        waste_types=types,
        remind_at=remind_at,
        remind_time=remind_time or REMINDER_DEFAULT_TIMES[remind_at],
        house_number=house_number,
        label=label,
    )


def run(django_capture_on_commit_callbacks, now: str) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return send_due_reminders.delay(now=now).get()


def bodies(fcm, installation) -> list[tuple[str, str]]:
    return [
        (m["message"]["notification"]["title"], m["message"]["notification"]["body"])
        for m in fcm.messages(installation.push_token)
    ]


@pytest.fixture
def thursday(town):
    d = town.districts
    CollectionFactory(district=d["restabfall"], date=TOMORROW)
    CollectionFactory(district=d["papier"], date=TOMORROW, status="moved", original_date=DAY)
    CollectionFactory(district=d["bioabfall"], date=TOMORROW, status="cancelled")
    return town


def test_one_push_per_installation_at_18_naming_each_address(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    german, english, paper_only, organic_only = phone(), phone("en"), phone(), phone()
    subscribe(german, thursday.bahnhof_odd, ["papier", "restabfall", "bioabfall"], house_number="13")
    subscribe(german, thursday.bahnhof_12, ["restabfall"])
    subscribe(english, thursday.bahnhof_12a, ["restabfall", "papier"])
    subscribe(paper_only, thursday.bahnhof_12, ["papier"])
    subscribe(organic_only, thursday.bahnhof_12, ["bioabfall"])  # cancelled tomorrow: nothing to say

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 17, 59)) == 0
    assert firebase_backend.counts() == {}

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 3

    # Both addresses of the German phone in one push, in the order they were subscribed.
    assert bodies(firebase_backend, german) == [
        ("Abfallkalender", "Morgen: Restabfall, Papier (Bahnhofstraße 13) · Restabfall (Bahnhofstraße 12)")
    ]
    assert bodies(firebase_backend, english) == [
        ("Waste calendar", "Tomorrow: Residual waste, Paper (Bahnhofstraße 12a)")
    ]
    assert bodies(firebase_backend, paper_only) == [("Abfallkalender", "Morgen: Papier (Bahnhofstraße 12)")]
    assert bodies(firebase_backend, organic_only) == []
    message = firebase_backend.messages(paper_only.push_token)[0]["message"]
    assert message["data"]["location"] == thursday.bahnhof_12.public_id
    assert message["data"]["date"] == TOMORROW.isoformat()
    assert "locations" not in message["data"]
    both = firebase_backend.messages(german.push_token)[0]["message"]["data"]
    assert both["locations"] == f"{thursday.bahnhof_odd.public_id},{thursday.bahnhof_12.public_id}"
    assert ReminderSend.objects.count() == 4  # a claim per address: a retry never sends one twice
    assert ReminderRun.objects.get(remind_time=dt.time(18, 0)).sent == 3


def test_a_turkish_phone_is_reminded_in_turkish_and_an_unknown_language_in_german(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    turkish, french, early_turkish = phone("tr"), phone("fr"), phone("tr")
    subscribe(turkish, thursday.bahnhof_12a, ["restabfall", "papier"])
    subscribe(turkish, thursday.bahnhof_odd, ["restabfall"], house_number="7", label="İş yeri")
    subscribe(french, thursday.bahnhof_12, ["papier"])
    subscribe(
        early_turkish, thursday.bahnhof_12, ["papier"], remind_at="morning_of", remind_time=dt.time(6, 0)
    )

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 2
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 6, 0)) == 1

    # The waste types' Turkish names come with the migrations (data/waste_types.json).
    assert bodies(firebase_backend, turkish) == [
        ("Çöp takvimi", "Yarın: Evsel atık, Kâğıt (Bahnhofstraße 12a) · Evsel atık (İş yeri)")
    ]
    assert bodies(firebase_backend, early_turkish) == [("Çöp takvimi", "Bugün: Kâğıt (Bahnhofstraße 12)")]
    assert bodies(firebase_backend, french) == [("Abfallkalender", "Morgen: Papier (Bahnhofstraße 12)")]


def test_labels_name_the_addresses_in_one_push(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    from tests.waste_calendar.factories import LocationDistrictFactory, StreetFactory

    wiese = LocationFactory(street=StreetFactory(name="Wiesenstraße"), house_number="3")
    LocationDistrictFactory(location=wiese, district=thursday.districts["restabfall"])
    installation = phone()
    subscribe(installation, thursday.bahnhof_12, ["bioabfall", "papier", "restabfall"], label="Zuhause")
    subscribe(installation, wiese, ["restabfall"], house_number="3")
    # Bioabfall is not cancelled this time.
    thursday_organic = thursday.districts["bioabfall"].collections.get()
    thursday_organic.status = "scheduled"
    thursday_organic.save()

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 1

    assert bodies(firebase_backend, installation) == [
        ("Abfallkalender", "Morgen: Restabfall, Bioabfall, Papier (Zuhause) · Restabfall (Wiesenstraße 3)")
    ]


def test_each_reminder_goes_out_at_its_chosen_time(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    installation = phone()
    subscribe(installation, thursday.bahnhof_12, ["restabfall"], remind_time=dt.time(19, 45), label="Zuhause")
    subscribe(installation, thursday.bahnhof_odd, ["papier"], house_number="7", remind_time=dt.time(16, 0))
    early_bird = phone()
    subscribe(early_bird, thursday.bahnhof_12, ["papier"], remind_at="morning_of", remind_time=dt.time(5, 15))

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 15, 59)) == 0
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 16, 0)) == 1
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 19, 44)) == 0
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 19, 45)) == 1
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 21, 0)) == 0
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 5, 0)) == 0
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 5, 15)) == 1

    # Two times, two pushes: one per installation and time.
    assert bodies(firebase_backend, installation) == [
        ("Abfallkalender", "Morgen: Papier (Bahnhofstraße 7)"),
        ("Abfallkalender", "Morgen: Restabfall (Zuhause)"),
    ]
    assert bodies(firebase_backend, early_bird) == [("Abfallkalender", "Heute: Papier (Bahnhofstraße 12)")]


def test_a_retry_of_a_grouped_push_sends_nothing_twice(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    installation = phone()
    subscribe(installation, thursday.bahnhof_12, ["restabfall"])
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 1
    # A second address at the same time, added after the run: the next run names only the new one.
    subscribe(installation, thursday.bahnhof_odd, ["papier"], house_number="5")

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 1)) == 1
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 2)) == 0
    ReminderRun.objects.update(finished_at=None)  # as if the first run had died half-way: it starts over
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 3)) == 0

    assert bodies(firebase_backend, installation) == [
        ("Abfallkalender", "Morgen: Restabfall (Bahnhofstraße 12)"),
        ("Abfallkalender", "Morgen: Papier (Bahnhofstraße 5)"),
    ]


def test_at_most_one_reminder_per_installation_location_and_day(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    installation = phone()
    subscription = subscribe(installation, thursday.bahnhof_12, ["restabfall"])

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 1
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 1)) == 0
    # Changing the subscription makes the next run look at it again, and still nothing is sent twice.
    subscription.waste_types = ["restabfall", "papier"]
    subscription.save()
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 2)) == 0
    # Switching to the morning of the same collection day does not remind a second time either.
    subscription.remind_at, subscription.remind_time = "morning_of", dt.time(6, 0)
    subscription.save()
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 6, 0)) == 0

    assert firebase_backend.counts() == {installation.push_token: 1}
    assert ReminderSend.objects.count() == 1


def test_a_subscription_made_after_the_evening_run_is_reminded_by_the_next_run(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    early = phone()
    subscribe(early, thursday.bahnhof_12, ["restabfall"])
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 1

    late = phone()
    subscribe(late, thursday.bahnhof_12, ["papier"])
    assert run(django_capture_on_commit_callbacks, berlin(DAY, 20, 30)) == 1

    assert firebase_backend.counts() == {early.push_token: 1, late.push_token: 1}


def test_no_evening_reminder_after_midnight(firebase_backend, django_capture_on_commit_callbacks, thursday):
    subscribe(phone(), thursday.bahnhof_12, ["restabfall"])

    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 0, 5)) == 0
    assert firebase_backend.counts() == {}


def test_morning_variant_at_six_on_the_day(firebase_backend, django_capture_on_commit_callbacks, thursday):
    installation = phone()
    subscribe(installation, thursday.bahnhof_12, ["restabfall", "papier"], remind_at="morning_of")

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 0
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 5, 59)) == 0
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 6, 0)) == 1
    assert run(django_capture_on_commit_callbacks, berlin(TOMORROW, 6, 30)) == 0

    assert bodies(firebase_backend, installation) == [
        ("Abfallkalender", "Heute: Restabfall, Papier (Bahnhofstraße 12)")
    ]


def test_a_muted_category_gets_no_push(firebase_backend, django_capture_on_commit_callbacks, thursday):
    muted, listening = phone(), phone()
    CategoryOptOut.objects.create(installation=muted, category="waste_reminder")
    subscribe(muted, thursday.bahnhof_12, ["restabfall"])
    subscribe(listening, thursday.bahnhof_12, ["restabfall"])

    run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0))

    assert firebase_backend.counts() == {listening.push_token: 1}


@pytest.mark.parametrize(
    "case",
    [
        # Clocks go forward on 29 March 2026: 18:00 on the 28th is still winter time (UTC+1) ...
        (
            dt.date(2026, 3, 29),
            "evening_before",
            (dt.date(2026, 3, 28), 16, 59),
            (dt.date(2026, 3, 28), 17, 0),
        ),
        # ... 06:00 on the 29th is summer time (UTC+2).
        (dt.date(2026, 3, 29), "morning_of", (dt.date(2026, 3, 29), 3, 59), (dt.date(2026, 3, 29), 4, 0)),
        # Clocks go back on 25 October 2026: 18:00 on the 24th is summer time, 06:00 on the 25th winter time.
        (
            dt.date(2026, 10, 25),
            "evening_before",
            (dt.date(2026, 10, 24), 15, 59),
            (dt.date(2026, 10, 24), 16, 0),
        ),
        (dt.date(2026, 10, 25), "morning_of", (dt.date(2026, 10, 25), 4, 59), (dt.date(2026, 10, 25), 5, 0)),
    ],
)
def test_reminder_times_are_berlin_wall_clock_on_dst_days(
    firebase_backend, django_capture_on_commit_callbacks, town, case
):
    collection_day, remind_at, too_early_utc, on_time_utc = case
    CollectionFactory(district=town.districts["papier"], date=collection_day)
    installation = phone()
    subscribe(installation, town.bahnhof_12, ["papier"], remind_at=remind_at)

    assert run(django_capture_on_commit_callbacks, utc(*too_early_utc)) == 0
    assert run(django_capture_on_commit_callbacks, utc(*on_time_utc)) == 1
    assert firebase_backend.counts() == {installation.push_token: 1}


# --- Change pushes


@pytest.fixture
def moved_paper(town):
    """An import moved paper at the Bahnhofstraße from the day after tomorrow by one day."""
    from django.utils import timezone

    today = timezone.localdate()
    collection = CollectionFactory(
        district=town.districts["papier"],
        date=today + dt.timedelta(days=3),
        status="moved",
        original_date=today + dt.timedelta(days=2),
    )
    return CollectionChangeFactory(
        collection=collection, kind="moved", previous_date=collection.original_date, date=collection.date
    )


def test_a_moved_collection_in_the_next_week_is_pushed_once(
    firebase_backend, django_capture_on_commit_callbacks, town, moved_paper
):
    paper, rest_only = phone(), phone("en")
    subscribe(paper, town.bahnhof_odd, ["papier"], house_number="7")
    subscribe(rest_only, town.bahnhof_12, ["restabfall"])
    english_paper = phone("en")
    subscribe(english_paper, town.bahnhof_12, ["papier", "restabfall"])

    with django_capture_on_commit_callbacks(execute=True):
        collections_changed.send(sender=None, changes=[moved_paper], import_run=moved_paper.import_run)

    previous, new = moved_paper.previous_date.strftime("%d.%m."), moved_paper.date.strftime("%d.%m.")
    assert bodies(firebase_backend, paper) == [
        ("Abfuhrtermin geändert", f"Papier: verschoben vom {previous} auf den {new} — Bahnhofstraße 7")
    ]
    assert bodies(firebase_backend, english_paper) == [
        ("Waste collection changed", f"Paper moves from {previous} to {new} — Bahnhofstraße 12")
    ]
    assert bodies(firebase_backend, rest_only) == []
    assert CollectionChange.objects.get().notified_at is not None

    # The signal again (or the periodic catch-up) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        collections_changed.send(sender=None, changes=[moved_paper], import_run=moved_paper.import_run)
        send_due_reminders.delay(now=berlin(DAY, 12, 0))
    assert sum(firebase_backend.counts().values()) == 2


def test_a_cancelled_collection_is_pushed_and_a_far_change_is_not(
    firebase_backend, django_capture_on_commit_callbacks, town
):
    from django.utils import timezone

    today = timezone.localdate()
    soon = CollectionFactory(
        district=town.districts["restabfall"], date=today + dt.timedelta(days=1), status="cancelled"
    )
    later = CollectionFactory(
        district=town.districts["restabfall"], date=today + dt.timedelta(days=20), status="cancelled"
    )
    CollectionChangeFactory(collection=soon, kind="cancelled", date=soon.date)
    CollectionChangeFactory(collection=later, kind="cancelled", date=later.date)
    installation = phone()
    subscribe(installation, town.bahnhof_12, ["restabfall"])

    with django_capture_on_commit_callbacks(execute=True):
        collections_changed.send(sender=None, changes=[], import_run=None)

    assert bodies(firebase_backend, installation) == [
        ("Abfuhrtermin geändert", f"Restabfall am {soon.date:%d.%m.} entfällt — Bahnhofstraße 12")
    ]
    assert not CollectionChange.objects.filter(notified_at__isnull=True).exists()


def test_erased_installation_gets_no_more_reminders(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    from push.services import installation_erase

    gone, staying = phone(), phone()
    subscribe(gone, thursday.bahnhof_12, ["restabfall"])
    subscribe(staying, thursday.bahnhof_12, ["restabfall"])
    installation_erase(installation=gone)

    run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0))

    assert firebase_backend.counts() == {staying.push_token: 1}


def test_locations_of_other_districts_are_not_reminded(
    firebase_backend, django_capture_on_commit_callbacks, thursday
):
    elsewhere = LocationFactory(house_number="5")  # another street, no districts at all
    subscribe(phone(), elsewhere, ["restabfall"])

    assert run(django_capture_on_commit_callbacks, berlin(DAY, 18, 0)) == 0


def _paper_moved_and_rest_cancelled(town):
    """Two changes of one import: the paper collection in two days moved by a day, the residual waste
    collection in four days cancelled."""
    from django.utils import timezone

    today = timezone.localdate()
    paper = CollectionFactory(
        district=town.districts["papier"],
        date=today + dt.timedelta(days=3),
        status="moved",
        original_date=today + dt.timedelta(days=2),
    )
    rest = CollectionFactory(
        district=town.districts["restabfall"], date=today + dt.timedelta(days=4), status="cancelled"
    )
    run = CollectionChangeFactory(
        collection=paper, kind="moved", previous_date=paper.original_date, date=paper.date
    )
    CollectionChangeFactory(collection=rest, kind="cancelled", date=rest.date, import_run=run.import_run)
    return paper, rest, run


def test_several_changes_at_one_location_make_one_push(
    firebase_backend, django_capture_on_commit_callbacks, town
):
    paper, rest, run = _paper_moved_and_rest_cancelled(town)
    both, paper_only = phone(), phone()
    subscribe(both, town.bahnhof_12, ["restabfall", "papier"])
    subscribe(paper_only, town.bahnhof_12, ["papier"])

    with django_capture_on_commit_callbacks(execute=True):
        collections_changed.send(sender=None, changes=[], import_run=run.import_run)

    moved = f"Papier: verschoben vom {paper.original_date:%d.%m.} auf den {paper.date:%d.%m.}"
    assert bodies(firebase_backend, both) == [
        ("Abfuhrtermin geändert", f"{moved}; Restabfall am {rest.date:%d.%m.} entfällt — Bahnhofstraße 12")
    ]
    assert bodies(firebase_backend, paper_only) == [("Abfuhrtermin geändert", f"{moved} — Bahnhofstraße 12")]


def test_a_turkish_phone_hears_of_changes_in_turkish(
    firebase_backend, django_capture_on_commit_callbacks, town
):
    paper, rest, run = _paper_moved_and_rest_cancelled(town)
    turkish = phone("tr")
    subscribe(turkish, town.bahnhof_12, ["restabfall", "papier"])

    with django_capture_on_commit_callbacks(execute=True):
        collections_changed.send(sender=None, changes=[], import_run=run.import_run)

    assert bodies(firebase_backend, turkish) == [
        (
            "Çöp toplama tarihi değişti",
            f"Kâğıt: {paper.original_date:%d.%m.} yerine {paper.date:%d.%m.} tarihinde toplanacak; "
            f"Evsel atık: {rest.date:%d.%m.} tarihindeki toplama iptal edildi — Bahnhofstraße 12",
        )
    ]
