"""Turkish, the third language: what a citizen's phone reads in it (``Accept-Language: tr``), and German
for every language we do not have (``casapp/languages.py``)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.conftest import assert_error_shape

DEVICES_URL = "/api/v1/devices/"
WASTE_TYPES_URL = "/api/v1/waste/types"
CATEGORIES_URL = "/api/v1/reports/categories"


@pytest.mark.django_db
def test_errors_are_in_turkish_for_turkish_phones_and_german_for_unknown_languages(anon_client):
    body = {"platform": "android", "app_version": "2.4.1", "locale": "?"}
    turkish = anon_client.post(DEVICES_URL, body, format="json", HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9")
    french = anon_client.post(DEVICES_URL, body, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    required = anon_client.post(DEVICES_URL, {}, format="json", HTTP_ACCEPT_LANGUAGE="tr")

    assert assert_error_shape(turkish, 400)["detail"] == "Geçersiz giriş."
    # Our serializer's own message, and DRF's (Django REST framework ships Turkish).
    assert turkish.json()["errors"] == [
        {
            "field": "locale",
            "code": "invalid",
            "detail": "Lütfen 'de' veya 'en-GB' gibi bir dil kodu giriniz.",
        }
    ]
    assert {e["field"]: e["detail"] for e in required.json()["errors"]}["platform"] == "Bu alan zorunlu."
    assert assert_error_shape(french, 400)["detail"] == "Ungültige Eingabe."
    assert french.json()["errors"][0]["detail"] == "Geben Sie ein Sprachkürzel wie „de“ oder „en-GB“ ein."


@pytest.mark.django_db
def test_a_domain_error_and_a_404_are_in_turkish(device_client):
    refused = device_client.post(
        "/api/v1/waste/reminders/",
        {"location": "doesnotexist", "types": ["papier"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="tr",
    )
    missing = device_client.get("/api/v1/nowhere", HTTP_ACCEPT_LANGUAGE="tr")

    assert assert_error_shape(refused, 400)["code"] == "unknown_location"
    assert refused.json()["errors"] == [
        {"field": "location", "code": "unknown_location", "detail": "Bilinmeyen adres."}
    ]
    assert assert_error_shape(missing, 404)["detail"] == "Bulunamadı."


@pytest.mark.django_db
def test_waste_types_are_named_in_turkish_with_german_where_staff_wrote_none(anon_client):
    from waste_calendar.models import WasteType

    # The standard types come with the migrations, their Turkish names with them.
    WasteType.objects.filter(key="gruenschnitt").update(name_tr="", hints_tr="")

    types = {t["key"]: t for t in anon_client.get(WASTE_TYPES_URL, HTTP_ACCEPT_LANGUAGE="tr").json()}
    german = {t["key"]: t for t in anon_client.get(WASTE_TYPES_URL, HTTP_ACCEPT_LANGUAGE="de").json()}

    assert types["restabfall"]["name"] == "Evsel atık"
    assert types["papier"]["hints"].startswith("Mavi çöp kutusu")
    assert (types["gruenschnitt"]["name"], types["gruenschnitt"]["hints"]) == (
        german["gruenschnitt"]["name"],
        german["gruenschnitt"]["hints"],
    )
    assert german["restabfall"]["name"] == "Restabfall"


@pytest.mark.django_db
def test_the_demo_catalogue_is_named_in_turkish(anon_client):
    call_command("load_demo", stdout=io.StringIO())

    groups = anon_client.get(CATEGORIES_URL, HTTP_ACCEPT_LANGUAGE="tr").json()["groups"]

    lighting = next(group for group in groups if group["key"] == "beleuchtung")
    assert lighting["label"] == "Sokak aydınlatması"
    lamp = next(leaf for leaf in lighting["categories"] if leaf["key"] == "strassenlaterne")
    assert lamp["label"] == "Arızalı sokak lambası"
    fault = next(question for question in lamp["questions"] if question["key"] == "fehlerbild")
    assert fault["label"] == "Sorun nedir?"
    assert [choice["label"] for choice in fault["choices"]] == ["Yanmıyor", "Yanıp sönüyor", "Gündüz yanıyor"]
    french = anon_client.get(CATEGORIES_URL, HTTP_ACCEPT_LANGUAGE="fr").json()["groups"]
    assert next(group for group in french if group["key"] == "beleuchtung")["label"] == "Beleuchtung"
