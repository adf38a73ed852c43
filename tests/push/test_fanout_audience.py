"""Who a send reaches, proven on what the fake FCM server received: the exact set of tokens.

One population has, for every filter of the audience, installations just inside and just outside it:
the topic (subscribed or not), the Stadtteil (matching, a similar name, another, none), the language,
reachability (push switched off, deactivated after a dead token), staleness (marked, or unseen past
the window but not marked yet, and seen just within it) and, for personal notifications, the muted
category. Dropping or widening any one filter in ``push.fanout.audience.audience_queryset`` or
``push.services.notify_each`` sends to a token that must not get it, or misses one that must.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from push import services
from push.fanout.audience import expand_next_chunk
from push.models import CategoryOptOut, Delivery, Installation, Notification, StaffDevice, Topic
from push.tasks import drain_notification
from tests.factories import InstallationFactory, StaffFactory

CONTENT = {
    "de": {"title": "Wunschfenster in Castrop", "body": "Heute auf dem Marktplatz."},
    "en": {"title": "Wish window in Castrop", "body": "Today on the market square."},
}


@dataclass(frozen=True)
class Member:
    token: str
    topics: tuple[str, ...]
    stadtteil: str = ""
    locale: str = "de"
    push: bool = True  # False: push switched off in the app (no token)
    active: bool = True  # False: FCM called the token dead, push switched off by us
    stale: bool = False  # marked stale by the hygiene task
    unseen_days: int = 0


# Token names say what the installation is. "aktionen" is the campaigns' topic, "stoerungen" the
# outages', "nachrichten" the news'; "baustellen" is a topic staff added (no kind).
POPULATION = [
    Member("campaign-castrop-de", ("aktionen",), "Castrop"),
    Member("campaign-castrop-en", ("aktionen",), "Castrop", locale="en"),
    Member("campaign-castrop-fr", ("aktionen",), "Castrop", locale="fr"),
    Member("campaign-castrop-seen-29-days-ago", ("aktionen",), "Castrop", unseen_days=29),
    Member("campaign-obercastrop", ("aktionen",), "Obercastrop"),
    Member("campaign-ickern", ("aktionen",), "Ickern"),
    Member("campaign-rauxel", ("aktionen",), "Rauxel"),
    Member("campaign-no-stadtteil", ("aktionen",)),
    Member("outage-castrop", ("stoerungen",), "Castrop"),
    Member("outage-ickern", ("stoerungen",), "Ickern"),
    Member("news-castrop", ("nachrichten",), "Castrop"),
    Member("roadworks-rauxel", ("baustellen",), "Rauxel"),
    Member("everything-castrop", ("stoerungen", "aktionen", "nachrichten", "baustellen"), "Castrop"),
    Member("nothing-castrop", (), "Castrop"),
    Member("campaign-castrop-deactivated", ("aktionen",), "Castrop", active=False),
    Member("campaign-castrop-push-off", ("aktionen",), "Castrop", push=False),
    Member("campaign-castrop-marked-stale", ("aktionen",), "Castrop", stale=True),
    Member("campaign-castrop-unseen-31-days", ("aktionen",), "Castrop", unseen_days=31),
    Member("outage-castrop-deactivated", ("stoerungen",), "Castrop", active=False),
    Member("outage-castrop-marked-stale", ("stoerungen",), "Castrop", stale=True),
    Member("outage-ickern-unseen-31-days", ("stoerungen",), "Ickern", unseen_days=31),
]


@pytest.fixture
def population(db) -> dict[str, Installation]:
    """Installations by token name (those with push off are keyed by the name they would have)."""
    Topic.objects.create(key="baustellen", name_de="Baustellen")
    topics = {t.key: t for t in Topic.objects.all()}
    created = {}
    for member in POPULATION:
        installation = InstallationFactory(
            push_token=member.token if member.push else None,
            push_token_kind="registration_token" if member.push else "",
            stadtteil=member.stadtteil,
            locale=member.locale,
            is_active=member.active,
            deactivation_reason="" if member.active else "unregistered",
            is_stale=member.stale,
            last_seen_at=timezone.now() - timedelta(days=member.unseen_days),
        )
        installation.topics.set([topics[key] for key in member.topics])
        created[member.token] = installation
    return created


def broadcast(capture, *, kind: str, expect: str = "sent", **audience) -> Notification:
    """Written by one member of Kommunikation, approved by another: sent at once, drained eagerly."""
    author = StaffFactory(roles=["Kommunikation"])
    approver = StaffFactory(roles=["Kommunikation"])
    notification = services.notification_create(author=author, kind=kind, content=CONTENT, **audience)
    services.notification_request_approval(notification=notification, actor=author)
    with capture(execute=True):
        services.notification_approve(notification=notification, approver=approver)
    notification.refresh_from_db()
    assert notification.status == expect
    return notification


def received(fcm) -> dict[str, int]:
    return fcm.counts()


def once(*tokens: str) -> dict[str, int]:
    return dict.fromkeys(tokens, 1)


REACHABLE_CAMPAIGN_SUBSCRIBERS_IN_CASTROP = (
    "campaign-castrop-de",
    "campaign-castrop-en",
    "campaign-castrop-fr",
    "campaign-castrop-seen-29-days-ago",
    "everything-castrop",
)


@pytest.mark.django_db
def test_a_campaign_to_everyone_reaches_only_reachable_fresh_campaign_subscribers(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    broadcast(django_capture_on_commit_callbacks, kind="campaign", audience_kind="all")

    assert received(firebase_backend) == once(
        *REACHABLE_CAMPAIGN_SUBSCRIBERS_IN_CASTROP,
        "campaign-obercastrop",
        "campaign-ickern",
        "campaign-rauxel",
        "campaign-no-stadtteil",
    )


@pytest.mark.django_db
def test_an_outage_to_everyone_reaches_only_reachable_fresh_outage_subscribers(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    broadcast(django_capture_on_commit_callbacks, kind="outage", audience_kind="all")

    assert received(firebase_backend) == once("outage-castrop", "outage-ickern", "everything-castrop")


@pytest.mark.django_db
def test_a_stadtteil_campaign_reaches_campaign_subscribers_of_that_stadtteil_only(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    notification = broadcast(
        django_capture_on_commit_callbacks,
        kind="campaign",
        audience_kind="stadtteile",
        audience_stadtteile=["Castrop"],
    )

    # Not Obercastrop, Ickern or no Stadtteil; not the outage or news subscribers of Castrop.
    assert received(firebase_backend) == once(*REACHABLE_CAMPAIGN_SUBSCRIBERS_IN_CASTROP)
    # The figures count the same installations: nobody else got a row.
    targeted = Delivery.objects.filter(notification=notification).values_list("installation_id", flat=True)
    assert set(targeted) == {population[t].pk for t in REACHABLE_CAMPAIGN_SUBSCRIBERS_IN_CASTROP}


@pytest.mark.django_db
def test_a_campaign_to_two_stadtteile_reaches_both_and_no_third(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    broadcast(
        django_capture_on_commit_callbacks,
        kind="campaign",
        audience_kind="stadtteile",
        audience_stadtteile=["Ickern", "Rauxel"],
    )

    assert received(firebase_backend) == once("campaign-ickern", "campaign-rauxel")


@pytest.mark.django_db
def test_an_outage_for_a_stadtteil_reaches_its_outage_subscribers_only(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    broadcast(
        django_capture_on_commit_callbacks,
        kind="outage",
        audience_kind="stadtteile",
        audience_stadtteile=["Ickern"],
    )

    # Not the stale outage subscriber of Ickern, not the campaign subscriber of Ickern.
    assert received(firebase_backend) == once("outage-ickern")


@pytest.mark.django_db
def test_chosen_topics_reach_the_subscribers_of_any_of_them_and_nobody_else(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    topics = list(Topic.objects.filter(key__in=["nachrichten", "baustellen"]))
    broadcast(django_capture_on_commit_callbacks, kind="news", audience_kind="topics", audience_topics=topics)

    assert received(firebase_backend) == once("news-castrop", "roadworks-rauxel", "everything-castrop")


@pytest.mark.django_db
def test_each_installation_gets_its_language_and_german_where_there_is_none(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    broadcast(
        django_capture_on_commit_callbacks,
        kind="campaign",
        audience_kind="stadtteile",
        audience_stadtteile=["Castrop"],
    )

    titles = {
        m["target"]: (m["message"]["notification"]["title"], m["message"]["notification"]["body"])
        for m in firebase_backend.messages()
    }
    german = (CONTENT["de"]["title"], CONTENT["de"]["body"])
    english = (CONTENT["en"]["title"], CONTENT["en"]["body"])
    assert titles == {
        "campaign-castrop-de": german,
        "campaign-castrop-en": english,
        "campaign-castrop-fr": german,
        "campaign-castrop-seen-29-days-ago": german,
        "everything-castrop": german,
    }


@pytest.mark.django_db
def test_a_test_send_reaches_the_authors_test_devices_only(
    firebase_backend, population, django_capture_on_commit_callbacks
):
    author, colleague = StaffFactory(roles=["Kommunikation"]), StaffFactory(roles=["Kommunikation"])
    StaffDevice.objects.create(
        paired_at=timezone.now(), user=author, installation=population["nothing-castrop"]
    )
    StaffDevice.objects.create(
        paired_at=timezone.now(), user=author, installation=population["campaign-castrop-deactivated"]
    )
    StaffDevice.objects.create(
        paired_at=timezone.now(), user=colleague, installation=population["news-castrop"]
    )
    notification = services.notification_create(
        author=author,
        kind="campaign",
        content=CONTENT,
        audience_kind="stadtteile",
        audience_stadtteile=["Rauxel"],
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send_test(notification=notification, actor=author)

    assert received(firebase_backend) == once("nothing-castrop")


@pytest.mark.django_db
def test_personal_notifications_skip_the_muted_category_and_reach_stale_installations(
    firebase_backend, population, waste_category, django_capture_on_commit_callbacks
):
    addressed = [
        "campaign-castrop-de",
        "campaign-ickern",  # muted waste reminders
        "campaign-castrop-marked-stale",  # asked for reminders: stale or not, they go
        "campaign-castrop-unseen-31-days",
        "campaign-castrop-deactivated",  # inbox only
        "campaign-castrop-push-off",  # inbox only
    ]
    CategoryOptOut.objects.create(installation=population["campaign-ickern"], category=waste_category.key)
    # Muting another category changes nothing for waste reminders.
    CategoryOptOut.objects.create(installation=population["campaign-castrop-de"], category="report_update")
    messages = [
        services.PersonalMessage(
            installation_id=population[token].pk,
            content={"de": {"title": "Morgen: Papiertonne", "body": "Bitte bis 6 Uhr rausstellen."}},
        )
        for token in addressed
    ]

    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify_each(messages=messages, category=waste_category.key)

    assert received(firebase_backend) == once(
        "campaign-castrop-de", "campaign-castrop-marked-stale", "campaign-castrop-unseen-31-days"
    )
    rows = dict(Delivery.objects.filter(notification=notification).values_list("installation_id", "status"))
    assert rows == {
        population["campaign-castrop-de"].pk: "accepted",
        population["campaign-castrop-marked-stale"].pk: "accepted",
        population["campaign-castrop-unseen-31-days"].pk: "accepted",
        population["campaign-castrop-deactivated"].pk: "inbox_only",
        population["campaign-castrop-push-off"].pk: "inbox_only",
    }


@pytest.mark.django_db
def test_an_installation_whose_push_went_off_after_expansion_gets_it_in_the_inbox_only(
    firebase_backend, population, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_DRAIN_CONCURRENCY = 0  # started, audience written, not drained yet
    notification = broadcast(
        django_capture_on_commit_callbacks,
        kind="campaign",
        audience_kind="stadtteile",
        audience_stadtteile=["Ickern", "Rauxel"],
        expect="sending",
    )
    expand_next_chunk(notification)
    # FCM called one token dead in another send; on the other phone the app switched push off.
    Installation.objects.filter(pk=population["campaign-ickern"].pk).update(is_active=False)
    Installation.objects.filter(pk=population["campaign-rauxel"].pk).update(push_token=None)

    drain_notification.delay(notification.pk)

    assert received(firebase_backend) == {}
    rows = Delivery.objects.filter(notification=notification)
    assert sorted(rows.values_list("status", flat=True)) == ["inbox_only", "inbox_only"]
