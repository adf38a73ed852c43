from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from casapp.models import AppConfiguration, MaintenanceBanner, PlatformRelease
from tests.conftest import assert_error_shape

URL = "/api/v1/app/config"


@pytest.fixture
def releases(db):
    PlatformRelease.objects.create(platform="ios", min_supported_version="1.2.0", latest_version="1.10.0")
    PlatformRelease.objects.create(platform="android", min_supported_version="1.0.0", latest_version="1.4.0")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("version", "force_update", "update_available"),
    [
        ("1.1.9", True, True),
        ("1.2.0", False, True),
        ("1.9.5", False, True),
        ("1.10.0", False, False),
        ("2.0", False, False),
    ],
)
def test_force_update_compares_versions_numerically(
    anon_client, releases, version, force_update, update_available
):
    response = anon_client.get(URL, {"platform": "ios", "version": version})

    assert response.status_code == 200
    body = response.json()
    assert body["force_update"] is force_update
    assert body["update_available"] is update_available
    assert body["min_supported_version"] == "1.2.0"


@pytest.mark.django_db
def test_modules_and_links_come_from_the_configuration(anon_client, releases):
    AppConfiguration.objects.create(pk=1, waste_calendar_enabled=False)

    body = anon_client.get(URL, {"platform": "android", "version": "1.4.0"}).json()

    assert body["modules"] == {"reports": True, "waste_calendar": False, "push": True}
    assert body["links"]["privacy_policy"].startswith("https://")
    assert body["maintenance"] is None


@pytest.mark.django_db
def test_an_active_banner_is_shown_in_the_requested_language_and_staff_edits_show_at_once(
    anon_client, releases, django_capture_on_commit_callbacks
):
    now = timezone.now()
    anon_client.get(URL, {"platform": "ios", "version": "1.4.0"})  # fills the cache
    with django_capture_on_commit_callbacks(execute=True):
        _create_banners(now)

    german = anon_client.get(URL, {"platform": "ios", "version": "1.4.0"}).json()
    english = anon_client.get(URL, {"platform": "ios", "version": "1.4.0"}, HTTP_ACCEPT_LANGUAGE="en").json()

    assert german["maintenance"]["title"] == "Bürgerbüro geschlossen"
    assert german["maintenance"]["severity"] == "outage"
    assert english["maintenance"]["title"] == "Citizens' office closed"
    assert english["maintenance"]["text"].startswith("Wegen")  # no English text: German is shown


def _create_banners(now):
    MaintenanceBanner.objects.create(
        title_de="Bürgerbüro geschlossen",
        title_en="Citizens' office closed",
        text_de="Wegen eines Rechenzentrumsausfalls ist das Bürgerbüro heute geschlossen.",
        text_en="",
        severity="outage",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=8),
    )
    MaintenanceBanner.objects.create(
        title_de="Später",
        text_de="Noch nicht aktiv",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
    )


@pytest.mark.django_db
def test_unknown_platform_release_has_no_update_flags(anon_client):
    body = anon_client.get(URL, {"platform": "web", "version": "1.0"}).json()

    assert body["force_update"] is False
    assert body["min_supported_version"] is None


@pytest.mark.django_db
def test_config_is_cacheable_with_etag(anon_client, releases):
    first = anon_client.get(URL, {"platform": "ios", "version": "1.4.0"})
    again = anon_client.get(URL, {"platform": "ios", "version": "1.4.0"}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert "max-age" in first["Cache-Control"]
    assert again.status_code == 304


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"version": "1.0"}, "platform"),
        ({"platform": "symbian", "version": "1.0"}, "platform"),
        ({"platform": "ios"}, "version"),
        ({"platform": "ios", "version": "one point oh"}, "version"),
        ({"platform": "ios", "version": ""}, "version"),
    ],
)
def test_bad_query_is_400(anon_client, query, field):
    body = assert_error_shape(anon_client.get(URL, query), 400, "validation_error")

    assert field in [e["field"] for e in body["errors"]]


@pytest.mark.django_db
def test_banner_must_end_after_it_starts(db):
    from django.db import IntegrityError, transaction

    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        MaintenanceBanner.objects.create(
            title_de="x", text_de="x", starts_at=now, ends_at=now - timedelta(hours=1)
        )


# --- Answers kept per process (casapp.api.app_config.app_config_view)


def _headers(response):
    return {name: value for name, value in response.items() if name not in {"X-Request-ID"}}


@pytest.mark.django_db
def test_a_repeated_start_gets_the_same_bytes_and_headers_in_its_own_language(anon_client, releases):
    query = {"platform": "ios", "version": "1.1.0"}
    german = [anon_client.get(URL, query, HTTP_ACCEPT_LANGUAGE="de") for _ in range(3)]
    english = [anon_client.get(URL, query, HTTP_ACCEPT_LANGUAGE="en") for _ in range(3)]

    assert {r.status_code for r in german + english} == {200}
    assert len({r.content for r in german}) == 1
    assert len({r.content for r in english}) == 1
    assert all(_headers(r) == _headers(german[0]) for r in german)
    assert german[0]["Content-Language"] == "de"
    assert english[2]["Content-Language"] == "en"
    assert german[2].json()["force_update"] is True
    etag = german[2]["ETag"]
    assert anon_client.get(URL, query, HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.django_db
def test_a_banner_shows_when_it_starts_though_the_answer_without_it_was_kept(anon_client, releases):
    now = timezone.now()
    MaintenanceBanner.objects.create(
        title_de="Gleich",
        text_de="Gleich geht es los.",
        starts_at=now + timedelta(seconds=1.5),
        ends_at=now + timedelta(hours=1),
    )
    query = {"platform": "android", "version": "1.4.0"}
    before = [anon_client.get(URL, query).json()["maintenance"] for _ in range(2)]
    while timezone.now() < now + timedelta(seconds=1.6):
        time.sleep(0.1)

    after = anon_client.get(URL, query).json()["maintenance"]

    assert before == [None, None]
    assert after["title"] == "Gleich"


@pytest.mark.django_db
def test_a_client_over_the_anonymous_limit_gets_429_also_for_kept_answers(anon_client, releases, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "4/min"},
    }
    query = {"platform": "ios", "version": "1.4.0"}

    statuses = [anon_client.get(URL, query).status_code for _ in range(4)]
    refused = anon_client.get(URL, query)
    other_client = anon_client.get(URL, query, REMOTE_ADDR="10.1.2.3")

    assert statuses == [200, 200, 200, 200]
    assert_error_shape(refused, 429, "throttled")
    assert int(refused["Retry-After"]) >= 1
    assert other_client.status_code == 200


@pytest.mark.django_db
def test_a_bad_query_is_refused_also_after_good_ones_were_kept(anon_client, releases):
    anon_client.get(URL, {"platform": "ios", "version": "1.4.0"})
    anon_client.get(URL, {"platform": "ios", "version": "1.4.0"})

    body = assert_error_shape(anon_client.get(URL, {"platform": "ios", "version": "1.4.0x"}), 400)

    assert "version" in [e["field"] for e in body["errors"]]
