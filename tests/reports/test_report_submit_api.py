"""``POST /api/v1/reports/``: an app installation files a report (JSON, or multipart with photos)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports.models import Report, ReportEvent, ReportPhoto, ReportStatus
from tests.conftest import assert_error_shape, device_client_for, set_rates
from tests.factories import InstallationFactory
from tests.reports import images
from tests.reports.factories import (
    CITY_POINT,
    DORTMUND,
    CategoryFactory,
    CategoryGroupFactory,
    CategoryQuestionFactory,
)

URL = "/api/v1/reports/"
DISTRICTS_TWO = Path(__file__).resolve().parent / "data" / "districts-two.geojson"
JPEG_MARKERS_WITHOUT_METADATA = {0xE0, 0xDB, 0xC4, 0xC2, 0xDA}  # JFIF, tables, progressive frame, scan


@pytest.fixture
def streetlight(db: Any) -> Any:
    """A leaf with a required single choice and an optional text question, as the demo catalogue has."""
    category = CategoryFactory(key="strassenlaterne", name_de="Straßenlaterne defekt")
    CategoryQuestionFactory(
        category=category,
        key="fehlerbild",
        kind="single_choice",
        required=True,
        choices=[
            {"key": "aus", "label_de": "Leuchtet nicht", "label_en": "Not lit"},
            {"key": "flackert", "label_de": "Flackert", "label_en": "Flickers"},
        ],
    )
    CategoryQuestionFactory(category=category, key="mast_nummer", kind="text", required=False)
    return category


def report_fields(**overrides: Any) -> dict[str, Any]:
    latitude, longitude = CITY_POINT
    fields: dict[str, Any] = {
        "category": "strassenlaterne",
        "description": "Die Laterne vor Hausnummer 12 ist aus.",
        "latitude": latitude,
        "longitude": longitude,
        "address": "Marktplatz 12",
        "answers": {"fehlerbild": "aus", "mast_nummer": "A-17"},
    }
    fields.update(overrides)
    return fields


def multipart_fields(**overrides: Any) -> dict[str, Any]:
    fields = report_fields(**overrides)
    fields["answers"] = json.dumps(fields["answers"])
    return fields


def jpeg_upload(name: str = "IMG_0001.jpg", size: tuple[int, int] = (80, 60)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, images.phone_jpeg(size, noise=False), content_type="image/jpeg")


def field_error(response: Any, code: str | None = None) -> dict[str, Any]:
    body = assert_error_shape(response, 400, code)
    assert Report.objects.count() == 0
    return body


def fields_named(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]


# --- who may file


@pytest.mark.django_db
def test_without_credentials_is_401(anon_client, streetlight):
    response = anon_client.post(URL, report_fields(), format="json")

    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Device")
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_staff_session_cannot_file_as_an_installation(triage_client, streetlight):
    response = triage_client.post(URL, report_fields(), format="json")

    assert_error_shape(response, 401)


# --- the happy paths


@pytest.mark.django_db
def test_json_report_without_photos_is_filed_and_answered_as_the_reporter_sees_it(
    device_client, device, streetlight
):
    response = device_client.post(
        URL,
        report_fields(contact_email="erika@example.org", contact_phone="+49 2305 1234", contact_consent=True),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    report = Report.objects.get()
    assert body["id"] == report.pk
    assert body["category"] == "strassenlaterne"
    assert body["category_label"] == "Straßenlaterne defekt"
    assert body["status"] == ReportStatus.RECEIVED
    assert body["status_label"] == "Eingegangen"
    assert body["answers"] == {"fehlerbild": "aus", "mast_nummer": "A-17"}
    assert body["contact_email"] == "erika@example.org"
    assert body["contact_phone"] == "+49 2305 1234"
    assert body["contact_consent"] is True
    assert body["photos"] == []
    assert [entry["kind"] for entry in body["timeline"]] == ["created"]
    assert body["timeline"][0]["status"] == ReportStatus.RECEIVED
    assert (body["latitude"], body["longitude"]) == pytest.approx(CITY_POINT)

    assert report.installation == device
    assert report.description == "Die Laterne vor Hausnummer 12 ist aus."
    assert report.address == "Marktplatz 12"
    assert report.contact_email == "erika@example.org"
    assert report.events.get().kind == ReportEvent.Kind.CREATED


@pytest.mark.django_db
def test_multipart_report_with_a_phone_photo_stores_it_without_its_metadata(device_client, streetlight):
    photo = images.phone_jpeg((800, 600), orientation=6, noise=False)
    assert Image.open(io.BytesIO(photo)).getexif()[0x8825]  # the upload carries a GPS block

    response = device_client.post(
        URL,
        multipart_fields(
            photos=[SimpleUploadedFile("IMG_0001.jpg", photo, content_type="image/jpeg")],
            contact_consent="false",
        ),
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["answers"] == {"fehlerbild": "aus", "mast_nummer": "A-17"}
    [shown] = body["photos"]
    assert (shown["width"], shown["height"]) == (600, 800)  # turned upright by its EXIF orientation
    assert shown["image"].startswith("http://testserver/media/reports/")
    assert shown["thumbnail"].startswith("http://testserver/media/reports/")

    stored = ReportPhoto.objects.get()
    with stored.image.open("rb") as file:
        data = file.read()
    assert not Image.open(io.BytesIO(data)).getexif()
    assert set(images.jpeg_segments(data)) <= JPEG_MARKERS_WITHOUT_METADATA
    assert images.PHONE_MAKE.encode() not in data
    assert images.COMMENT not in data
    assert "IMG_0001" not in stored.image.name


@pytest.mark.django_db
def test_the_stadtteil_comes_from_the_imported_polygons(device_client, streetlight):
    from django.core.management import call_command

    without_polygons = device_client.post(URL, report_fields(latitude=51.552, longitude=7.31), format="json")
    call_command("import_districts", str(DISTRICTS_TWO), stdout=io.StringIO())
    west = device_client.post(URL, report_fields(latitude=51.552, longitude=7.31), format="json")
    east = device_client.post(URL, report_fields(latitude=51.552, longitude=7.33), format="json")

    assert without_polygons.json()["stadtteil"] == ""
    assert (west.json()["stadtteil"], east.json()["stadtteil"]) == ("Castrop", "Pöppinghausen")
    assert Report.objects.get(pk=west.json()["id"]).stadtteil == "Castrop"


@pytest.mark.django_db
def test_several_photos_are_kept_in_their_order(device_client, streetlight):
    response = device_client.post(
        URL,
        multipart_fields(photos=[jpeg_upload(size=(80, 60)), jpeg_upload(size=(60, 80))]),
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert [(p["width"], p["height"]) for p in response.json()["photos"]] == [(60, 80), (80, 60)]
    assert list(ReportPhoto.objects.values_list("position", flat=True)) == [0, 1]


@pytest.mark.django_db
def test_contact_data_is_optional(device_client, streetlight):
    response = device_client.post(URL, report_fields(description="", address=""), format="json")

    assert response.status_code == 201, response.content
    report = Report.objects.get()
    assert (report.contact_email, report.contact_phone, report.contact_consent) == ("", "", False)


# --- idempotency


@pytest.mark.django_db
def test_same_idempotency_key_answers_the_first_report_with_200(device_client, streetlight):
    first = device_client.post(URL, report_fields(idempotency_key="d5b1e6a0-report_1"), format="json")
    again = device_client.post(URL, report_fields(idempotency_key="d5b1e6a0-report_1"), format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Report.objects.count() == 1
    assert ReportEvent.objects.count() == 1


@pytest.mark.django_db
def test_same_key_of_another_installation_files_its_own_report(
    device_client, other_device_client, streetlight
):
    mine = device_client.post(URL, report_fields(idempotency_key="key-1"), format="json")
    theirs = other_device_client.post(URL, report_fields(idempotency_key="key-1"), format="json")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_without_idempotency_key_each_post_is_a_report(device_client, streetlight):
    device_client.post(URL, report_fields(), format="json")
    device_client.post(URL, report_fields(), format="json")

    assert Report.objects.count() == 2


# --- bad input: 400 in the error shape, naming the field, nothing stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"latitude": None}, "latitude", None),
        ({"latitude": "NaN"}, "latitude", None),
        ({"longitude": "inf"}, "longitude", None),
        ({"latitude": "-Infinity"}, "latitude", None),
        ({"latitude": "einundfünfzig"}, "latitude", None),
        ({"latitude": 95.0}, "latitude", "invalid_location"),
        ({"latitude": 0.0, "longitude": 0.0}, "location", "outside_city"),
        ({"latitude": DORTMUND[0], "longitude": DORTMUND[1]}, "location", "outside_city"),
        ({"category": "gibt-es-nicht"}, "category", None),
        ({"category": None}, "category", None),
        ({"description": "x" * 2001}, "description", None),
        ({"address": "x" * 201}, "address", None),
        ({"idempotency_key": "mit leerzeichen"}, "idempotency_key", None),
        ({"idempotency_key": "k" * 65}, "idempotency_key", None),
        ({"idempotency_key": "ümlaut"}, "idempotency_key", None),
        ({"contact_email": "erika@example.org"}, "contact_consent", "consent_required"),
        ({"contact_phone": "+49 2305 1234"}, "contact_consent", "consent_required"),
        ({"contact_email": "keine-adresse", "contact_consent": True}, "contact_email", None),
        ({"contact_phone": "ruf mich an", "contact_consent": True}, "contact_phone", None),
        ({"answers": ["aus"]}, "answers", "invalid_answers"),
        ({"answers": {"fehlerbild": "explodiert"}}, "answers.fehlerbild", "invalid_choice"),
        ({"answers": {"mast_nummer": "A-17"}}, "answers.fehlerbild", "required"),
        ({"answers": {"fehlerbild": "aus", "farbe": "rot"}}, "answers.farbe", "unknown_question"),
        ({"photos": ["not-a-file"]}, "photos.0", None),
    ],
)
def test_bad_input_is_400_naming_the_field(device_client, streetlight, overrides, field, code):
    fields = report_fields(**overrides)
    fields = {key: value for key, value in fields.items() if value is not None}

    body = field_error(device_client.post(URL, fields, format="json"), code)

    assert field in fields_named(body), body


@pytest.mark.django_db
def test_group_instead_of_a_leaf_is_400(device_client, streetlight):
    CategoryGroupFactory(key="beleuchtung")

    body = field_error(
        device_client.post(URL, report_fields(category="beleuchtung", answers={}), format="json"),
        "invalid_category",
    )

    assert fields_named(body) == ["category"]


@pytest.mark.django_db
def test_inactive_category_is_400(device_client, streetlight):
    CategoryFactory(key="alte-kategorie", is_active=False)

    body = field_error(
        device_client.post(URL, report_fields(category="alte-kategorie", answers={}), format="json"),
        "invalid_category",
    )

    assert fields_named(body) == ["category"]


@pytest.mark.django_db
def test_answers_that_are_no_json_in_multipart_are_400(device_client, streetlight):
    fields = multipart_fields()
    fields["answers"] = "{fehlerbild: aus"

    body = field_error(device_client.post(URL, fields, format="multipart"))

    assert fields_named(body) == ["answers"]


@pytest.mark.django_db
def test_missing_latitude_in_multipart_is_400(device_client, streetlight):
    fields = multipart_fields()
    del fields["latitude"]

    body = field_error(device_client.post(URL, fields, format="multipart"))

    assert fields_named(body) == ["latitude"]


@pytest.mark.django_db
def test_more_than_five_photos_are_400(device_client, streetlight):
    photos = [jpeg_upload(f"{n}.jpg") for n in range(6)]

    body = field_error(device_client.post(URL, multipart_fields(photos=photos), format="multipart"))

    assert body["code"] == "too_many_photos"
    assert fields_named(body) == ["photos"]
    assert ReportPhoto.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("notiz.jpg", b"Die Laterne ist kaputt.\n", "image/jpeg"),
        ("notiz.txt", b"Die Laterne ist kaputt.\n", "text/plain"),
        (
            "zeichnung.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b'<script>alert(1)</script><rect width="10" height="10"/></svg>',
            "image/svg+xml",
        ),
    ],
)
def test_a_file_that_is_no_photo_is_400_naming_its_position(
    device_client, streetlight, name, content, content_type
):
    photos = [jpeg_upload(), SimpleUploadedFile(name, content, content_type=content_type)]

    body = field_error(device_client.post(URL, multipart_fields(photos=photos), format="multipart"))

    assert body["code"] == "unsupported_photo"
    assert fields_named(body) == ["photos.1"]
    assert ReportPhoto.objects.count() == 0


def _truncated_jpeg() -> bytes:
    whole = images.phone_jpeg((400, 300), orientation=None)
    return whole[: len(whole) // 2]


def _over_15_mb() -> bytes:
    jpeg = images.phone_jpeg((400, 300), orientation=None, noise=False)
    return jpeg + b"\0" * (15 * 1024 * 1024 + 1 - len(jpeg))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda: images.png_bomb(10000, 10000), "photo_too_large", id="decompression-bomb"),
        pytest.param(_truncated_jpeg, "invalid_photo", id="truncated"),
        pytest.param(_over_15_mb, "photo_too_large", id="over-15-mb"),
    ],
)
def test_hostile_photos_are_400_and_nothing_is_stored(device_client, streetlight, make, code):
    photos = [SimpleUploadedFile("IMG_0002.jpg", make(), content_type="image/jpeg")]

    body = field_error(device_client.post(URL, multipart_fields(photos=photos), format="multipart"))

    assert body["code"] == code
    assert fields_named(body) == ["photos.0"]
    assert ReportPhoto.objects.count() == 0


@pytest.mark.django_db
def test_five_49_megapixel_pngs_are_refused_at_once_and_nothing_is_stored(device_client, streetlight):
    photos = [
        SimpleUploadedFile(f"{n}.png", images.png_bomb(7000, 7000), content_type="image/png")
        for n in range(5)
    ]
    started = time.process_time()

    body = field_error(device_client.post(URL, multipart_fields(photos=photos), format="multipart"))

    assert time.process_time() - started < 1
    assert body["code"] == "photo_too_large"
    assert fields_named(body) == ["photos.0"]


@pytest.mark.django_db
def test_photos_too_large_together_are_413_and_nothing_is_stored(device_client, streetlight):
    photos = [
        SimpleUploadedFile(f"{n}.png", images.png_bomb(6000, 4000), content_type="image/png")
        for n in range(3)
    ]

    response = device_client.post(
        URL, multipart_fields(photos=photos), format="multipart", HTTP_ACCEPT_LANGUAGE="en"
    )

    body = assert_error_shape(response, 413, "photos_too_large")
    assert body["detail"].startswith("Together these photos are too large to process")
    assert fields_named(body) == ["photos"]
    assert Report.objects.count() == 0
    assert ReportPhoto.objects.count() == 0


@pytest.mark.django_db
def test_a_heic_photo_from_an_iphone_is_filed_upright(device_client, streetlight):
    import pillow_heif

    if not pillow_heif.libheif_info()["HEIF"]:
        pytest.skip("this libheif build has no HEVC encoder, so no HEIC can be made for the test")
    heic = images.encoded(
        images.marked_picture((400, 300), noise=False),
        "HEIF",
        exif=images.phone_exif(orientation=6).tobytes(),
    )

    response = device_client.post(
        URL,
        multipart_fields(photos=[SimpleUploadedFile("IMG_0003.HEIC", heic, content_type="image/heic")]),
        format="multipart",
    )

    assert response.status_code == 201, response.content[:500]
    [shown] = response.json()["photos"]
    assert (shown["width"], shown["height"]) == (300, 400)
    with ReportPhoto.objects.get().image.open("rb") as file:
        images.assert_no_metadata(file.read())


@pytest.mark.django_db
def test_an_empty_file_is_400(device_client, streetlight):
    photos = [SimpleUploadedFile("leer.jpg", b"", content_type="image/jpeg")]

    body = field_error(device_client.post(URL, multipart_fields(photos=photos), format="multipart"))

    assert fields_named(body) == ["photos.0"]


@pytest.mark.django_db
def test_form_urlencoded_is_415(device_client, streetlight):
    response = device_client.post(
        URL, "category=strassenlaterne&latitude=51.57", content_type="application/x-www-form-urlencoded"
    )

    assert_error_shape(response, 415)
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400(device_client, streetlight):
    response = device_client.post(
        URL, '{"category": "strassenlaterne", "latitude": NaN}', content_type="application/json"
    )

    assert_error_shape(response, 400)
    assert Report.objects.count() == 0


# --- rate limits


@pytest.mark.django_db
def test_eleventh_report_of_a_day_is_429_with_retry_after(
    settings, device_client, other_device_client, streetlight
):
    set_rates(settings, report_day="10/day", report_ip="1000/min")

    statuses = [device_client.post(URL, report_fields(), format="json").status_code for _ in range(10)]
    refused = device_client.post(URL, report_fields(), format="json")

    assert statuses == [201] * 10
    assert_error_shape(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 86400
    assert Report.objects.count() == 10
    # The limit is the installation's, not everyone's.
    assert other_device_client.post(URL, report_fields(), format="json").status_code == 201


@pytest.mark.django_db
def test_refused_submissions_and_retries_do_not_use_up_the_day(settings, device_client, streetlight):
    set_rates(settings, report_day="1/day", report_ip="1000/min")

    outside = [
        device_client.post(URL, report_fields(latitude=0, longitude=0), format="json").status_code
        for _ in range(3)
    ]
    filed = device_client.post(URL, report_fields(idempotency_key="draft-1"), format="json")
    retried = device_client.post(URL, report_fields(idempotency_key="draft-1"), format="json")
    second = device_client.post(URL, report_fields(), format="json")

    assert outside == [400, 400, 400]
    assert filed.status_code == 201
    assert retried.status_code == 200
    assert retried.json()["id"] == filed.json()["id"]
    assert_error_shape(second, 429, "throttled")
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_reports_per_ip_are_limited_across_installations(settings, streetlight):
    set_rates(settings, report_day="1000/day", report_ip="2/hour")
    clients = [device_client_for(InstallationFactory()) for _ in range(3)]

    statuses = [client.post(URL, report_fields(), format="json").status_code for client in clients]

    assert statuses == [201, 201, 429]
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_the_daily_limit_follows_the_setting(settings, device_client, streetlight):
    set_rates(settings, report_day="1/day")

    assert device_client.post(URL, report_fields(), format="json").status_code == 201
    assert_error_shape(device_client.post(URL, report_fields(), format="json"), 429)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"fehlerbild": ["aus"]}, "answers.fehlerbild"),
        ({"fehlerbild": {"aus": True}}, "answers.fehlerbild"),
        ({"fehlerbild": "aus", "mast_nummer": "A-\u0000"}, "answers.mast_nummer"),
        ({"fehlerbild": "aus", "mast_nummer": "A-\ud800"}, "answers.mast_nummer"),
        ({"fehlerbild": "aus", "mast_nummer": ["A-17"]}, "answers.mast_nummer"),
    ],
)
def test_answers_of_the_wrong_type_are_400_not_500(device_client, streetlight, answers, field):
    # Sent as the raw JSON a client would send (a lone surrogate survives only as a \u escape).
    body = json.dumps(report_fields(answers=answers))
    response = device_client.post(URL, body, content_type="application/json")

    body = assert_error_shape(response, 400)
    assert field in fields_named(body)
    assert not Report.objects.exists()
    assert device_client.get("/api/v1/reports/mine").status_code == 200
