"""``GET/PATCH /api/v1/devices/me/preferences`` and ``GET /api/v1/push/catalogue``."""

from __future__ import annotations

import pytest

from push import registry
from push.models import CategoryOptOut, Delivery, DeliveryStatus, Topic
from push.services import notify_installations
from tests.conftest import assert_error_shape

URL = "/api/v1/devices/me/preferences"
CATALOGUE_URL = "/api/v1/push/catalogue"


# --- Preferences


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch"])
def test_without_credentials_is_401(anon_client, method):
    response = getattr(anon_client, method)(URL, {"topics": []}, format="json")

    assert_error_shape(response, 401, "not_authenticated")


@pytest.mark.django_db
def test_read_shows_topics_muted_categories_and_stadtteil(device_client, device, report_category):
    device.topics.set(Topic.objects.filter(key__in=["stoerungen", "nachrichten"]))
    CategoryOptOut.objects.create(installation=device, category="report_update")
    CategoryOptOut.objects.create(installation=device, category="no_longer_registered")
    device.stadtteil = "Ickern"
    device.save()

    response = device_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "topics": ["stoerungen", "nachrichten"],  # catalogue order
        "muted_categories": ["report_update"],  # only categories the app can still show
        "stadtteil": "Ickern",
    }


@pytest.mark.django_db
def test_a_new_installation_has_no_stadtteil_and_nothing_muted(device_client):
    body = device_client.get(URL).json()

    assert body["muted_categories"] == []
    assert body["stadtteil"] is None


@pytest.mark.django_db
def test_update_replaces_topics_and_muted_categories(device_client, device, report_category, waste_category):
    device.topics.set(Topic.objects.filter(key="stoerungen"))
    CategoryOptOut.objects.create(installation=device, category="waste_reminder")

    response = device_client.patch(
        URL,
        {"topics": ["aktionen", "nachrichten", "aktionen"], "muted_categories": ["report_update"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "topics": ["aktionen", "nachrichten"],
        "muted_categories": ["report_update"],
        "stadtteil": None,
    }
    assert set(device.topics.values_list("key", flat=True)) == {"aktionen", "nachrichten"}
    assert list(CategoryOptOut.objects.filter(installation=device).values_list("category", flat=True)) == [
        "report_update"
    ]


@pytest.mark.django_db
def test_update_changes_only_what_is_given(device_client, device, report_category):
    device.topics.set(Topic.objects.filter(key="stoerungen"))
    CategoryOptOut.objects.create(installation=device, category="report_update")

    response = device_client.patch(URL, {"stadtteil": "Henrichenburg"}, format="json")

    assert response.json() == {
        "topics": ["stoerungen"],
        "muted_categories": ["report_update"],
        "stadtteil": "Henrichenburg",
    }
    device.refresh_from_db()
    assert device.stadtteil == "Henrichenburg"


@pytest.mark.django_db
def test_empty_lists_unsubscribe_everything_and_null_forgets_the_stadtteil(device_client, device):
    device.topics.set(Topic.objects.all())
    device.stadtteil = "Rauxel"
    device.save()

    response = device_client.patch(
        URL, {"topics": [], "muted_categories": [], "stadtteil": None}, format="json"
    )

    assert response.json() == {"topics": [], "muted_categories": [], "stadtteil": None}
    device.refresh_from_db()
    assert device.stadtteil == ""
    assert not device.topics.exists()


@pytest.mark.django_db
def test_each_installation_changes_only_its_own_preferences(
    device_client, device, other_device, report_category
):
    other_device.topics.set(Topic.objects.filter(key="stoerungen"))

    device_client.patch(URL, {"topics": [], "muted_categories": ["report_update"]}, format="json")

    assert list(other_device.topics.values_list("key", flat=True)) == ["stoerungen"]
    assert not CategoryOptOut.objects.filter(installation=other_device).exists()


@pytest.mark.django_db
def test_unknown_topic_is_400_naming_the_field_and_changes_nothing(device_client, device):
    device.topics.set(Topic.objects.filter(key="stoerungen"))

    response = device_client.patch(
        URL, {"topics": ["nachrichten", "fussball"], "stadtteil": "Ickern"}, format="json"
    )

    body = assert_error_shape(response, 400, "unknown_topic")
    assert body["errors"] == [{"field": "topics", "code": "unknown_topic", "detail": body["detail"]}]
    assert "fussball" in body["detail"]
    device.refresh_from_db()
    assert device.stadtteil == ""
    assert list(device.topics.values_list("key", flat=True)) == ["stoerungen"]


@pytest.mark.django_db
def test_unregistered_category_is_400_naming_the_field(device_client, device, report_category):
    response = device_client.patch(
        URL, {"muted_categories": ["report_update", "lottery_results"]}, format="json"
    )

    body = assert_error_shape(response, 400, "unknown_category")
    assert [e["field"] for e in body["errors"]] == ["muted_categories"]
    assert not CategoryOptOut.objects.filter(installation=device).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"stadtteil": "Dortmund"}, "stadtteil"),
        ({"stadtteil": ""}, "stadtteil"),
        ({"topics": "stoerungen"}, "topics"),
        ({"topics": None}, "topics"),
        ({"topics": ["not a slug!"]}, "topics.0"),
        ({"muted_categories": [{"key": "report_update"}]}, "muted_categories.0"),
        ({"muted_categories": ["x" * 41]}, "muted_categories.0"),
    ],
)
def test_malformed_input_is_400_naming_the_field(device_client, payload, field):
    body = assert_error_shape(device_client.patch(URL, payload, format="json"), 400, "validation_error")

    assert field in [e["field"] for e in body["errors"]], body


@pytest.mark.django_db
def test_nothing_to_change_is_400(device_client):
    body = assert_error_shape(device_client.patch(URL, {}, format="json"), 400, "validation_error")

    assert [e["code"] for e in body["errors"]] == ["empty"]


@pytest.mark.django_db
def test_muted_category_gets_no_delivery_while_others_still_do(
    device_client, device, other_device, report_category, django_capture_on_commit_callbacks
):
    device_client.patch(URL, {"muted_categories": ["report_update"]}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_installations(
            installations=[device, other_device],
            content={"de": {"title": "Ihre Meldung", "body": "Der Schaden wurde behoben."}},
            category="report_update",
        )

    assert not Delivery.objects.filter(notification=notification, installation=device).exists()
    assert Delivery.objects.get(notification=notification, installation=other_device).status == (
        DeliveryStatus.INBOX_ONLY  # the other device has push switched off
    )


@pytest.mark.django_db
def test_muting_one_category_leaves_the_others(
    device_client, device, report_category, waste_category, django_capture_on_commit_callbacks
):
    device_client.patch(URL, {"muted_categories": ["waste_reminder"]}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_installations(
            installations=[device],
            content={"de": {"title": "Ihre Meldung", "body": "Der Schaden wurde behoben."}},
            category="report_update",
        )

    assert Delivery.objects.get(notification=notification, installation=device).status == (
        DeliveryStatus.ACCEPTED
    )


# --- Catalogue


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "de-DE", "fr", None])
def test_catalogue_is_german_by_default(anon_client, report_category, waste_category, language):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    body = anon_client.get(CATALOGUE_URL, **headers).json()

    assert [k["key"] for k in body["kinds"]] == ["outage", "campaign", "news", "personal"]
    assert body["kinds"][0]["name"] == "Störung"
    assert body["topics"][0] == {
        "key": "stoerungen",
        "name": "Störungen",
        "description": "Ausfälle städtischer Dienste, z. B. wenn das Bürgerbüro geschlossen bleiben muss.",
        "default_subscribed": True,
        "kind": "outage",
    }
    assert [t["key"] for t in body["topics"]] == ["stoerungen", "aktionen", "nachrichten"]
    assert body["categories"] == [
        {
            "key": "report_update",
            "name": "Meine Meldungen",
            "description": "Wenn sich der Stand Ihrer Meldung ändert.",
        },
        {
            "key": "waste_reminder",
            "name": "Abfuhr-Erinnerungen",
            "description": "Am Vorabend oder am Morgen der Abfuhr, und wenn sich ein Termin verschiebt.",
        },
    ]


@pytest.mark.django_db
def test_catalogue_in_turkish_falls_back_to_german_where_untranslated(
    anon_client, report_category, waste_category, untranslated_category
):
    body = anon_client.get(CATALOGUE_URL, HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9").json()

    assert body["kinds"][0] == {"key": "outage", "name": "arıza"}
    assert body["topics"][0]["name"] == "Arızalar ve kesintiler"
    assert body["topics"][2] == {
        "key": "nachrichten",
        "name": "Haberler",
        "description": "Belediye binasından haberler.",
        "default_subscribed": False,
        "kind": "news",
    }
    assert body["categories"] == [
        {
            "key": "report_update",
            "name": "Bildirimlerim",
            "description": "Bildiriminizin durumu değiştiğinde.",
        },
        {
            "key": "waste_reminder",
            "name": "Çöp toplama hatırlatmaları",
            "description": "Toplama gününden önceki akşam veya toplama sabahı ve bir tarih değiştiğinde.",
        },
        {"key": "only_german", "name": "Nur Deutsch", "description": "Ohne Übersetzung."},
    ]
    links = {link["key"]: link for link in body["links"]}
    assert links["report"]["name"] == "Bildirim"
    assert links["report"]["parameters"][0]["description"] == "Bildirim numarası"
    assert links["web"]["name"] == "İnternet sayfası"


@pytest.mark.django_db
def test_catalogue_in_english_falls_back_to_german_where_untranslated(
    anon_client, report_category, waste_category, untranslated_category
):
    body = anon_client.get(CATALOGUE_URL, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").json()

    assert body["kinds"][0] == {"key": "outage", "name": "outage"}
    assert body["topics"][0]["name"] == "Outages"
    assert body["topics"][0]["description"].startswith("Outages of city services")
    assert body["categories"] == [
        {"key": "report_update", "name": "My reports", "description": "When your report changes."},
        {
            "key": "waste_reminder",
            "name": "Collection reminders",
            "description": "The evening before or the morning of a collection, and when a date moves.",
        },
        {"key": "only_german", "name": "Nur Deutsch", "description": "Ohne Übersetzung."},
    ]


@pytest.mark.django_db
def test_catalogue_lists_the_categories_apps_registered(anon_client):
    keys = [c["key"] for c in anon_client.get(CATALOGUE_URL).json()["categories"]]

    assert keys == [c.key for c in registry.registered_categories()]
    assert "report_update" in keys  # registered by the reports app in its ready()


@pytest.mark.django_db
def test_catalogue_needs_no_credentials_and_ignores_stale_ones(anon_client):
    response = anon_client.get(CATALOGUE_URL, HTTP_AUTHORIZATION="Device no-longer-valid")

    assert response.status_code == 200


@pytest.mark.django_db
def test_catalogue_is_cacheable_per_language_with_etag(anon_client):
    first = anon_client.get(CATALOGUE_URL, HTTP_ACCEPT_LANGUAGE="de")
    again = anon_client.get(CATALOGUE_URL, HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH=first["ETag"])
    english = anon_client.get(CATALOGUE_URL, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["Cache-Control"] == "public, max-age=300"
    assert "Accept-Language" in first["Vary"]
    assert again.status_code == 304
    assert english.status_code == 200


def test_registering_another_definition_under_a_taken_key_is_refused(report_category):
    from django.core.exceptions import ImproperlyConfigured

    same = registry.register_category(
        key="report_update",
        name={"de": "Meine Meldungen", "en": "My reports", "tr": "Bildirimlerim"},
        description={
            "de": "Wenn sich der Stand Ihrer Meldung ändert.",
            "en": "When your report changes.",
            "tr": "Bildiriminizin durumu değiştiğinde.",
        },
    )
    assert same == report_category
    with pytest.raises(ImproperlyConfigured):
        registry.register_category(key="report_update", name={"de": "Etwas anderes"})
    with pytest.raises(ImproperlyConfigured):
        registry.register_category(key="Not A Key", name={"de": "x"})
    with pytest.raises(ImproperlyConfigured):
        registry.register_category(key="english_only", name={"en": "x"})
