"""``GET /api/v1/notices/``: the public notice board of outages, campaigns and news."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from push.models import Notification, NotificationKind, NotificationStatus, OutageState
from push.selectors import NOTICES_LIMIT
from tests.conftest import assert_error_shape

URL = "/api/v1/notices/"


def _content(title: str, *, english: str | None = None) -> dict[str, dict[str, str]]:
    content = {"de": {"title": title, "body": f"{title}: Text"}}
    if english:
        content["en"] = {"title": english, "body": f"{english}: text"}
    return content


def published(
    kind: str, title: str, *, hours_ago: float, english: str | None = None, **fields: Any
) -> Notification:
    """A broadcast as the send workflow leaves it: sent, with its start time."""
    fields.setdefault("status", NotificationStatus.SENT)
    fields.setdefault("audience_kind", "all")
    if kind == NotificationKind.OUTAGE and "thread" not in fields:
        fields.setdefault("outage_state", OutageState.ONGOING)
    return Notification.objects.create(
        kind=kind,
        content=_content(title, english=english),
        started_at=timezone.now() - timedelta(hours=hours_ago),
        **fields,
    )


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [notice["title"] for notice in response.json()["results"]]


@pytest.mark.django_db
def test_anyone_reads_the_board_even_with_stale_credentials(anon_client):
    published("news", "Neues Freibad", hours_ago=1)

    response = anon_client.get(URL, HTTP_AUTHORIZATION="Device no-longer-valid")

    assert titles(response) == ["Neues Freibad"]


@pytest.mark.django_db
def test_a_notice_has_its_text_link_and_times(anon_client):
    expires = timezone.now() + timedelta(days=2)
    news = published(
        "campaign",
        "Wunschfenster",
        hours_ago=2,
        deep_link="casapp://aktionen/wunschfenster",
        image_url="https://www.castrop-rauxel.de/bild.jpg",
        expires_at=expires,
    )

    [notice] = anon_client.get(URL).json()["results"]

    assert notice == {
        "id": f"n-{news.pk}",
        "kind": "campaign",
        "category": None,
        "title": "Wunschfenster",
        "body": "Wunschfenster: Text",
        "deep_link": "casapp://aktionen/wunschfenster",
        "link": None,  # written as free text before the link catalogue: still shown, not read as a target
        "image_url": "https://www.castrop-rauxel.de/bild.jpg",
        "published_at": notice["published_at"],
        "expires_at": notice["expires_at"],
        "ongoing": False,
        "timeline": [],
    }
    assert datetime.fromisoformat(notice["published_at"]) == news.started_at
    assert datetime.fromisoformat(notice["expires_at"]) == expires


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "title"),
    [
        ("de-DE,de;q=0.9", "Bürgerbüro geschlossen"),
        ("en-US,en;q=0.8", "Citizens' office closed"),
        ("fr-FR,fr;q=0.9", "Bürgerbüro geschlossen"),
        (None, "Bürgerbüro geschlossen"),
    ],
)
def test_text_comes_in_the_requested_language_with_german_fallback(anon_client, accept_language, title):
    published("outage", "Bürgerbüro geschlossen", english="Citizens' office closed", hours_ago=1)
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    assert titles(anon_client.get(URL, **headers)) == [title]


@pytest.mark.django_db
def test_english_request_gets_german_text_where_no_translation_exists(anon_client):
    published("news", "Nur auf Deutsch", hours_ago=1)

    assert titles(anon_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")) == ["Nur auf Deutsch"]


@pytest.mark.django_db
def test_an_outage_thread_is_one_entry_with_its_latest_text_and_a_timeline(anon_client):
    root = published("outage", "Bürgerbüro geschlossen", hours_ago=5)
    update = published(
        "outage", "Bürgerbüro: ab 14 Uhr wieder offen", hours_ago=2, thread=root, outage_state="ongoing"
    )
    # A resolution still being written is not published: it neither shows nor resolves.
    Notification.objects.create(
        kind="outage",
        content=_content("Entwurf"),
        audience_kind="all",
        thread=root,
        outage_state=OutageState.RESOLVED,
        status=NotificationStatus.DRAFT,
    )

    [notice] = anon_client.get(URL).json()["results"]

    assert notice["id"] == f"n-{update.pk}"
    assert notice["title"] == "Bürgerbüro: ab 14 Uhr wieder offen"
    assert notice["ongoing"] is True
    assert [(e["id"], e["title"]) for e in notice["timeline"]] == [
        (f"n-{root.pk}", "Bürgerbüro geschlossen"),
        (f"n-{update.pk}", "Bürgerbüro: ab 14 Uhr wieder offen"),
    ]


@pytest.mark.django_db
def test_an_outage_is_resolved_once_its_resolution_was_sent(anon_client):
    root = published("outage", "Wasserrohrbruch", hours_ago=5, outage_state=OutageState.RESOLVED)
    resolution = published(
        "outage", "Wasserrohrbruch behoben", hours_ago=1, thread=root, outage_state=OutageState.RESOLVED
    )

    [notice] = anon_client.get(URL).json()["results"]

    assert (notice["id"], notice["ongoing"]) == (f"n-{resolution.pk}", False)
    assert len(notice["timeline"]) == 2


@pytest.mark.django_db
def test_ongoing_outages_come_first_then_newest_first(anon_client):
    ongoing = published("outage", "Ampelausfall", hours_ago=30)
    published("outage", "Ampelausfall: Techniker vor Ort", hours_ago=20, thread=ongoing)
    resolved = published("outage", "Stromausfall", hours_ago=10, outage_state=OutageState.RESOLVED)
    published("outage", "Stromausfall behoben", hours_ago=3, thread=resolved, outage_state="resolved")
    published("news", "Neue Bücherei", hours_ago=1)
    published("campaign", "Stadtradeln", hours_ago=5)
    published("news", "Partly failed send", hours_ago=6, status=NotificationStatus.PARTLY_FAILED)
    published("news", "Still sending", hours_ago=0.5, status=NotificationStatus.SENDING)

    assert titles(anon_client.get(URL)) == [
        "Ampelausfall: Techniker vor Ort",
        "Still sending",
        "Neue Bücherei",
        "Stromausfall behoben",
        "Stadtradeln",
        "Partly failed send",
    ]


@pytest.mark.django_db
def test_unpublished_expired_test_and_personal_notifications_are_not_shown(anon_client):
    now = timezone.now()
    visible = published("news", "Sichtbar", hours_ago=1, expires_at=now + timedelta(minutes=5))
    published("news", "Abgelaufen", hours_ago=1, expires_at=now - timedelta(minutes=5))
    for status in ("draft", "awaiting_approval", "scheduled", "failed", "cancelled"):
        published("news", f"Status {status}", hours_ago=1, status=status)
    published("news", "Test an eigene Geräte", hours_ago=1, test_of=visible, audience_kind="test")
    published("personal", "Ihre Meldung", hours_ago=1, category="report_update")

    assert titles(anon_client.get(URL)) == ["Sichtbar"]


@pytest.mark.django_db
def test_an_expired_update_leaves_the_thread_to_its_earlier_posts(anon_client):
    root = published("outage", "Sperrung Ringstraße", hours_ago=5)
    published(
        "outage",
        "Umleitung bis 12 Uhr",
        hours_ago=3,
        thread=root,
        expires_at=timezone.now() - timedelta(hours=1),
    )

    [notice] = anon_client.get(URL).json()["results"]

    assert notice["title"] == "Sperrung Ringstraße"
    assert [e["title"] for e in notice["timeline"]] == ["Sperrung Ringstraße"]


@pytest.mark.django_db
def test_the_board_holds_the_newest_entries_up_to_its_limit(anon_client):
    start = timezone.now() - timedelta(days=1)
    Notification.objects.bulk_create(
        Notification(
            kind="news",
            content=_content(f"Nachricht {i}"),
            audience_kind="all",
            status="sent",
            started_at=start + timedelta(minutes=i),
        )
        for i in range(NOTICES_LIMIT + 5)
    )

    shown = titles(anon_client.get(URL))

    assert len(shown) == NOTICES_LIMIT
    assert shown[0] == f"Nachricht {NOTICES_LIMIT + 4}"
    assert shown[-1] == "Nachricht 5"


@pytest.mark.django_db
def test_the_board_is_publicly_cacheable_per_language_and_revalidates_with_etag(anon_client):
    published("news", "Neues Freibad", english="New open-air pool", hours_ago=1)

    first = anon_client.get(URL, HTTP_ACCEPT_LANGUAGE="de")
    again = anon_client.get(URL, HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH=first["ETag"])
    english = anon_client.get(URL, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["Cache-Control"] == "public, max-age=30"
    assert "Accept-Language" in first["Vary"]
    assert "Cookie" not in first.get("Vary", "")
    assert first["ETag"]
    assert again.status_code == 304
    assert again.content == b""
    assert english.status_code == 200
    assert english["ETag"] != first["ETag"]


@pytest.mark.django_db
def test_a_new_notice_changes_the_etag(anon_client):
    published("news", "Erste", hours_ago=2)
    first = anon_client.get(URL)
    published("news", "Zweite", hours_ago=1)

    response = anon_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

    assert response.status_code == 200
    assert titles(response) == ["Zweite", "Erste"]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_board_is_read_only(anon_client, method):
    assert_error_shape(getattr(anon_client, method)(URL, {}, format="json"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_the_board_costs_two_queries_however_many_threads(anon_client, django_assert_num_queries):
    for i in range(5):
        root = published("outage", f"Störung {i}", hours_ago=20 + i)
        published("outage", f"Störung {i}: Update", hours_ago=10 + i, thread=root)
        published("news", f"Nachricht {i}", hours_ago=i)

    with django_assert_num_queries(2):  # the entries, then the timelines of their threads
        assert len(titles(anon_client.get(URL))) == 10
