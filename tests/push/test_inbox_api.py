"""``GET /api/v1/devices/me/inbox`` and marking its items read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from push.models import Delivery, DeliveryStatus, Notification, NotificationStatus, OutageState
from push.services import PersonalMessage, notify_each, notify_installations
from tests.conftest import assert_error_shape
from tests.factories import InstallationFactory

URL = "/api/v1/devices/me/inbox"
READ_ALL_URL = "/api/v1/devices/me/inbox/read-all"

pytestmark = pytest.mark.usefixtures("report_category", "waste_category")


def read_url(item_id: str) -> str:
    return f"/api/v1/devices/me/inbox/{item_id}/read"


def published(kind: str, title: str, *, hours_ago: float, **fields: Any) -> Notification:
    fields.setdefault("status", NotificationStatus.SENT)
    fields.setdefault("audience_kind", "all")
    return Notification.objects.create(
        kind=kind,
        content={
            "de": {"title": title, "body": f"{title}: Text"},
            "en": {"title": f"EN {title}", "body": "x"},
        },
        started_at=timezone.now() - timedelta(hours=hours_ago),
        **fields,
    )


def personal(installations: list[Any], title: str, capture: Any, **kwargs: Any) -> Notification:
    """A personal notification the way other apps send one, sent eagerly by the console backend."""
    with capture(execute=True):
        return notify_installations(
            installations=installations,
            content={"de": {"title": title, "body": "Neuer Stand Ihrer Meldung."}},
            category="report_update",
            **kwargs,
        )


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content[:500]
    return list(response.json()["results"])


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [("get", URL), ("post", READ_ALL_URL), ("post", read_url("n-1"))])
def test_without_credentials_is_401(anon_client, method, url):
    response = getattr(anon_client, method)(url)

    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Device")


@pytest.mark.django_db
def test_inbox_holds_current_notices_and_own_personal_notifications_newest_first(
    device_client, device, other_device, django_capture_on_commit_callbacks
):
    older_news = published("news", "Neue Bücherei", hours_ago=3)
    mine = personal([device], "Ihre Meldung ist erledigt", django_capture_on_commit_callbacks)
    personal([other_device], "Fremde Meldung", django_capture_on_commit_callbacks)
    campaign = published("campaign", "Stadtradeln", hours_ago=1)
    published("news", "Entwurf", hours_ago=1, status=NotificationStatus.DRAFT)
    published("news", "Testversand", hours_ago=1, test_of=older_news, audience_kind="test")

    inbox = items(device_client.get(URL))

    assert [i["id"] for i in inbox] == [f"n-{mine.pk}", f"n-{campaign.pk}", f"n-{older_news.pk}"]
    assert inbox[0] == {
        "id": f"n-{mine.pk}",
        "kind": "personal",
        "category": "report_update",
        "title": "Ihre Meldung ist erledigt",
        "body": "Neuer Stand Ihrer Meldung.",
        "deep_link": "",
        "link": None,
        "image_url": "",
        "published_at": inbox[0]["published_at"],
        "expires_at": None,
        "ongoing": False,
        "timeline": [],
        "read": False,
    }
    assert Delivery.objects.get(notification=mine, installation=device).status == DeliveryStatus.ACCEPTED


@pytest.mark.django_db
def test_an_installation_with_push_switched_off_still_finds_its_personal_notifications(
    other_device_client, other_device, django_capture_on_commit_callbacks
):
    assert other_device.push_token is None
    notification = personal([other_device], "Ihre Meldung", django_capture_on_commit_callbacks)

    inbox = items(other_device_client.get(URL))

    assert [i["id"] for i in inbox] == [f"n-{notification.pk}"]
    delivery = Delivery.objects.get(notification=notification, installation=other_device)
    assert delivery.status == DeliveryStatus.INBOX_ONLY


@pytest.mark.django_db
def test_personal_text_is_the_installations_own_in_its_language(
    device_client, other_device_client, device, other_device, django_capture_on_commit_callbacks
):
    messages = [
        PersonalMessage(
            installation_id=device.pk,
            content={"de": {"title": "Morgen: Papiertonne", "body": "Bitte bis 6 Uhr rausstellen."}},
        ),
        PersonalMessage(
            installation_id=other_device.pk,
            content={
                "de": {"title": "Morgen: Restmüll", "body": "Bitte bis 6 Uhr rausstellen."},
                "en": {"title": "Tomorrow: residual waste", "body": "Put it out by 6 a.m."},
            },
        ),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        notify_each(messages=iter(messages), category="waste_reminder")

    # The installation's language decides, as for its pushes; Accept-Language does not.
    assert items(device_client.get(URL, HTTP_ACCEPT_LANGUAGE="en"))[0]["title"] == "Morgen: Papiertonne"
    assert items(other_device_client.get(URL))[0]["title"] == "Tomorrow: residual waste"


@pytest.mark.django_db
def test_cancelled_and_expired_personal_notifications_are_left_out(
    device_client, device, django_capture_on_commit_callbacks
):
    cancelled = personal([device], "Abgebrochen", django_capture_on_commit_callbacks)
    Delivery.objects.filter(notification=cancelled).update(status=DeliveryStatus.CANCELLED)
    expired = personal([device], "Abgelaufen", django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    failed = personal([device], "Fehlgeschlagen", django_capture_on_commit_callbacks)
    Delivery.objects.filter(notification=failed).update(status=DeliveryStatus.FAILED)

    assert [i["title"] for i in items(device_client.get(URL))] == ["Fehlgeschlagen"]


@pytest.mark.django_db
def test_an_outage_thread_is_one_item_that_turns_unread_with_each_update(device_client, device):
    root = published("outage", "Bürgerbüro geschlossen", hours_ago=5, outage_state=OutageState.ONGOING)
    device_client.post(read_url(f"n-{root.pk}"))
    update = published(
        "outage", "Bürgerbüro ab 14 Uhr offen", hours_ago=1, thread=root, outage_state="ongoing"
    )

    [item] = items(device_client.get(URL))

    assert (item["id"], item["title"], item["ongoing"], item["read"]) == (
        f"n-{update.pk}",
        "Bürgerbüro ab 14 Uhr offen",
        True,
        False,
    )
    assert [e["id"] for e in item["timeline"]] == [f"n-{root.pk}", f"n-{update.pk}"]


@pytest.mark.django_db
def test_pages_follow_a_cursor_without_gaps_or_repeats(device_client):
    created = [published("news", f"Nachricht {i}", hours_ago=10 - i) for i in range(5)]
    # Two sends that started in the same instant, split across pages, still come in a fixed order.
    Notification.objects.filter(pk=created[2].pk).update(started_at=created[3].started_at)

    seen: list[str] = []
    response = device_client.get(URL, {"page_size": 2})
    while True:
        seen += [i["id"] for i in items(response)]
        if not response.json()["next"]:
            break
        response = device_client.get(response.json()["next"])

    assert seen == [f"n-{n.pk}" for n in reversed(created)]


@pytest.mark.django_db
def test_bad_page_size_or_cursor_is_handled(device_client):
    published("news", "Nachricht", hours_ago=1)

    assert_error_shape(device_client.get(URL, {"cursor": "not-a-cursor"}), 404, "not_found")
    # An unusable page_size is refused, naming the range, rather than silently replaced by the default.
    [error] = assert_error_shape(device_client.get(URL, {"page_size": "many"}), 400, "validation_error")[
        "errors"
    ]
    assert error["field"] == "page_size"


@pytest.mark.django_db
def test_the_inbox_is_private(device_client):
    response = device_client.get(URL)

    assert response["Cache-Control"] == "private, no-cache"


# --- Marking read


@pytest.mark.django_db
def test_reading_a_personal_notification_records_the_open_once(
    device_client, device, django_capture_on_commit_callbacks
):
    notification = personal([device], "Ihre Meldung", django_capture_on_commit_callbacks)

    response = device_client.post(read_url(f"n-{notification.pk}"))

    assert response.status_code == 204
    delivery = Delivery.objects.get(notification=notification, installation=device)
    first_open = delivery.opened_at
    assert first_open is not None
    assert delivery.status == DeliveryStatus.ACCEPTED
    assert device_client.post(read_url(f"n-{notification.pk}")).status_code == 204
    delivery.refresh_from_db()
    assert delivery.opened_at == first_open
    assert items(device_client.get(URL))[0]["read"] is True


@pytest.mark.django_db
def test_reading_a_notice_never_pushed_to_the_installation_creates_an_inbox_only_row(
    other_device_client, other_device
):
    news = published("news", "Neue Bücherei", hours_ago=1)

    assert other_device_client.post(read_url(f"n-{news.pk}")).status_code == 204

    delivery = Delivery.objects.get(notification=news, installation=other_device)
    assert delivery.status == DeliveryStatus.INBOX_ONLY
    assert delivery.opened_at is not None
    assert items(other_device_client.get(URL))[0]["read"] is True


@pytest.mark.django_db
def test_reading_a_pushed_notice_marks_its_delivery(device_client, device):
    news = published("news", "Neue Bücherei", hours_ago=1)
    Delivery.objects.create(notification=news, installation=device, status=DeliveryStatus.ACCEPTED)

    device_client.post(read_url(f"n-{news.pk}"))

    delivery = Delivery.objects.get(notification=news, installation=device)
    assert (delivery.status, delivery.opened_at is not None) == (DeliveryStatus.ACCEPTED, True)


@pytest.mark.django_db
def test_another_installations_personal_notification_is_404_and_stays_unread(
    device_client, other_device, django_capture_on_commit_callbacks
):
    theirs = personal([other_device], "Fremde Meldung", django_capture_on_commit_callbacks)

    assert_error_shape(device_client.post(read_url(f"n-{theirs.pk}")), 404, "not_found")

    assert Delivery.objects.get(notification=theirs).opened_at is None
    assert Delivery.objects.filter(notification=theirs).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("item", ["draft", "test_send", "missing", "x-1", "n-", "n-abc", "n-1.0", "n-٣"])
def test_what_is_not_in_the_inbox_is_404(device_client, device, item):
    sent = published("news", "Gesendet", hours_ago=1)
    ids = {
        "draft": f"n-{published('news', 'Entwurf', hours_ago=1, status='draft').pk}",
        "test_send": f"n-{published('news', 'Test', hours_ago=1, test_of=sent, audience_kind='test').pk}",
        "missing": "n-999999",
    }

    assert_error_shape(device_client.post(read_url(ids.get(item, item))), 404, "not_found")
    assert not Delivery.objects.filter(installation=device).exists()


@pytest.mark.django_db
def test_read_all_marks_every_item_of_this_installation_only(
    device_client, device, other_device, django_capture_on_commit_callbacks
):
    news = published("news", "Neue Bücherei", hours_ago=4)
    pushed = published("campaign", "Stadtradeln", hours_ago=3)
    Delivery.objects.create(notification=pushed, installation=device, status=DeliveryStatus.ACCEPTED)
    root = published("outage", "Ampelausfall", hours_ago=2, outage_state=OutageState.ONGOING)
    update = published("outage", "Ampel repariert", hours_ago=1, thread=root, outage_state="ongoing")
    mine = personal([device, other_device], "Ihre Meldung", django_capture_on_commit_callbacks)
    already = personal([device], "Schon gelesen", django_capture_on_commit_callbacks)
    device_client.post(read_url(f"n-{already.pk}"))
    first_open = Delivery.objects.get(notification=already, installation=device).opened_at

    response = device_client.post(READ_ALL_URL)

    assert response.status_code == 204
    assert all(item["read"] for item in items(device_client.get(URL)))
    opened = set(
        Delivery.objects.filter(installation=device, opened_at__isnull=False).values_list(
            "notification_id", flat=True
        )
    )
    assert opened == {news.pk, pushed.pk, update.pk, mine.pk, already.pk}  # not the folded root
    assert Delivery.objects.get(notification=news, installation=device).status == DeliveryStatus.INBOX_ONLY
    assert Delivery.objects.get(notification=already, installation=device).opened_at == first_open
    assert Delivery.objects.get(notification=mine, installation=other_device).opened_at is None
    assert not Delivery.objects.filter(installation=other_device, notification=news).exists()
    assert device_client.post(READ_ALL_URL).status_code == 204  # idempotent


@pytest.mark.django_db
def test_read_all_leaves_a_new_installation_with_nothing_to_mark(device_client):
    assert device_client.post(READ_ALL_URL).status_code == 204


@pytest.mark.django_db
def test_opens_from_the_inbox_count_in_the_statistics(device_client, device):
    from push.selectors import notification_statistics

    news = published("news", "Neue Bücherei", hours_ago=1)
    reader = InstallationFactory()
    Delivery.objects.create(notification=news, installation=reader, status=DeliveryStatus.ACCEPTED)

    device_client.post(read_url(f"n-{news.pk}"))

    assert notification_statistics(news)["opened"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_read_endpoints_accept_post_only(device_client, method):
    for url in (READ_ALL_URL, read_url("n-1")):
        assert_error_shape(getattr(device_client, method)(url), 405, "method_not_allowed")


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_however_many_items(
    device_client, device, django_assert_num_queries, django_capture_on_commit_callbacks
):
    for i in range(5):
        root = published("outage", f"Störung {i}", hours_ago=20 + i, outage_state=OutageState.ONGOING)
        published("outage", f"Störung {i}: Update", hours_ago=10 + i, thread=root, outage_state="ongoing")
        published("news", f"Nachricht {i}", hours_ago=i)
        personal([device], f"Meldung {i}", django_capture_on_commit_callbacks)

    # The device, the page, this installation's delivery rows on it, the outage timelines.
    with django_assert_num_queries(4):
        assert len(items(device_client.get(URL))) == 15
