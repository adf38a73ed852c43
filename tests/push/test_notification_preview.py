"""The preview in the workspace: lock screens on Android and iOS in German and English, cut where the
platforms cut; warnings for cut text, a missing English text, a small campaign; refusals for a message over
FCM's 4,096 bytes and for an audience of zero, in the preview and in the service. Actors: an author in
Kommunikation (a German workspace unless said otherwise), Triage, subscribers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from push import services
from push.admin_preview import LOCK_SCREEN_LIMITS, cut
from push.models import Installation, Notification, Topic
from tests.conftest import assert_error_shape
from tests.factories import InstallationFactory
from tests.push.test_notification_admin import NOTIFICATIONS, browser, form_data

PREVIEW = f"{NOTIFICATIONS}preview/"
LONG_TITLE = "Vollsperrung der Wittener Straße zwischen Bahnhof und Marktplatz ab Montag"  # 74 characters
# 1,000 characters of 4 bytes each: within the length limit, far over FCM's 4,096 bytes.
HEAVY_BODY = "🚧" * 1000


@pytest.fixture
def author(db: Any) -> Client:
    return browser("Kommunikation")


@pytest.fixture
def subscribers(db: Any) -> list[Installation]:
    outages = Topic.objects.get(key="stoerungen")
    phones = []
    for index, (platform, locale) in enumerate([("android", "de"), ("ios", "de"), ("ios", "en")]):
        phone = InstallationFactory(
            platform=platform, locale=locale, push_token=f"token-preview-{index:04d}", push_token_kind="fid"
        )
        phone.topics.add(outages)
        phones.append(phone)
    return phones


def preview(client: Client, **fields: Any) -> str:
    response = client.post(PREVIEW, form_data(**fields))
    assert response.status_code == 200
    return response.content.decode()


def screens(html: str) -> dict[tuple[str, str], str]:
    """(platform, language) → the text of that lock screen's notification, tags removed."""
    found = re.findall(r'data-platform="(\w+)" data-language="(\w+)">(.*?)</figure>', html, flags=re.DOTALL)
    return {(p, lang): " ".join(re.sub(r"<[^>]+>", " ", body).split()) for p, lang, body in found}


def test_a_text_is_cut_with_an_ellipsis_exactly_at_the_limit() -> None:
    assert cut("a" * 65, 65) == ("a" * 65, False)
    assert cut("a" * 66, 65) == ("a" * 64 + "…", True)
    assert cut("Bürgerbüro  geschlossen ", 65) == ("Bürgerbüro geschlossen", False)


@pytest.mark.django_db
def test_four_lock_screens_cut_where_each_platform_cuts(author, subscribers):
    html = preview(author, title_de=LONG_TITLE, title_en="Wittener Straße closed", body_en="From Monday.")

    shown = screens(html)
    assert set(shown) == {("android", "de"), ("android", "en"), ("ios", "de"), ("ios", "en")}
    ios_limit = LOCK_SCREEN_LIMITS["ios"]["title"]
    assert LONG_TITLE[: ios_limit - 1].rstrip() + "…" in shown[("ios", "de")]
    assert LONG_TITLE[:64].rstrip() + "…" in shown[("android", "de")]
    assert "Wittener Straße closed" in shown[("ios", "en")]
    assert "iOS cuts the German title after 50 characters." in html
    assert "Android cuts the German title after 65 characters." in html
    assert "no English text" not in html


@pytest.mark.django_db
def test_without_english_text_the_english_phones_show_german_and_the_preview_says_so(author, subscribers):
    html = preview(author)

    assert "There is no English text" in html
    assert "Bürgerbüro geschlossen" in screens(html)[("ios", "en")]
    assert "German text" in screens(html)[("ios", "en")]


@pytest.mark.django_db
def test_a_turkish_text_gets_its_own_lock_screens_and_none_without_one(author, subscribers):
    html = preview(author, title_tr="Vatandaşlık Bürosu kapalı", body_tr="Bugün kapalı kalacak.")

    shown = screens(html)
    assert {language for _platform, language in shown} == {"de", "en", "tr"}
    assert "Vatandaşlık Bürosu kapalı" in shown[("android", "tr")]
    assert "German text" not in shown[("android", "tr")]
    assert "Android · Turkish" in html
    assert {language for _platform, language in screens(preview(author))} == {"de", "en"}


@pytest.mark.django_db
def test_the_preview_counts_the_audience_as_the_send_would(author, subscribers):
    html = preview(author)
    nobody = preview(author, audience_kind="stadtteile", audience_stadtteile=["Frohlinde"])

    assert 'data-total="3"' in html
    assert "Android 1, iOS 2" in html
    assert "German 2, English 1" not in html  # no English text: all three get German
    assert "German 3" in html
    assert 'data-total="0"' in nobody
    assert "It cannot be submitted" in nobody


@pytest.mark.django_db
def test_a_small_campaign_is_warned_about(author, subscribers, settings):
    settings.PUSH_CAMPAIGN_MIN_AUDIENCE = 10
    Topic.objects.get(key="aktionen").installations.add(*subscribers)

    html = preview(author, kind="campaign")

    assert "Only 3 installations: fewer than the 10 a campaign should reach." in html


@pytest.mark.django_db
def test_a_message_over_fcms_limit_is_shown_as_refused_and_cannot_be_saved(author, subscribers):
    html = preview(author, body_de=HEAVY_BODY)
    response = author.post(f"{NOTIFICATIONS}add/", form_data(body_de=HEAVY_BODY))

    assert "as sent to Firebase; at most 4096" in html
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "4096" in " ".join(errors["title_de"]), errors
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_staff_api_refuses_a_message_over_fcms_limit_in_german(comms_client):
    response = comms_client.post(
        "/api/v1/push/notifications/",
        {"kind": "news", "content": {"de": {"title": "Baustelle", "body": HEAVY_BODY}}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de",
    )

    error = assert_error_shape(response, 400, "payload_too_large")
    assert "höchstens 4096 Bytes" in error["detail"]
    assert error["errors"][0]["field"] == "content.de"


@pytest.mark.django_db
def test_the_size_is_measured_on_what_firebase_admin_encodes(author, subscribers):
    # Data counts too: 3,600 bytes of data and a short text is over the limit as sent.
    big_data = '{"zone": "' + "x" * 3600 + '"}'
    html = preview(author, data=big_data)

    assert "as sent to Firebase" in html


@pytest.mark.django_db
def test_the_form_and_the_detail_page_show_the_preview_with_its_script_from_this_origin(author, subscribers):
    add_page = author.get(f"{NOTIFICATIONS}add/").content.decode()
    notification = services.notification_create(
        author=author.user,  # type: ignore[attr-defined]
        kind="outage",
        content={"de": {"title": "Wasserrohrbruch", "body": "Bahnhofstraße gesperrt."}},
    )
    detail = author.get(f"{NOTIFICATIONS}{notification.pk}/change/").content.decode()

    for page in (add_page, detail):
        assert 'id="push-preview"' in page
        assert 'src="/static/push/admin/notification_preview.js"' in page
        assert "/static/push/admin/notification_preview.css" in page
        assert 'enctype="multipart/form-data"' in page
    assert f'data-notification="{notification.pk}"' in detail
    assert 'data-total="3"' in detail  # the audience, again, for whoever approves
    assert "Wasserrohrbruch" in detail


@pytest.mark.django_db
def test_the_preview_is_for_those_who_write_notifications(subscribers):
    assert browser("Triage").post(PREVIEW, form_data()).status_code == 403
    assert Client().post(PREVIEW, form_data()).status_code == 302  # to the login page
    assert browser("Kommunikation").get(PREVIEW).status_code == 403
