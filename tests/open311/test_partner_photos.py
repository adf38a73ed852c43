"""Photos a partner platform sends as multipart file parts: FixMyStreet's sender uploads the photos of
private reports as ``photo1``, ``photo2``… (open311-adapter's names), GeoReport v2.1's draft and other
senders as ``media`` (repeated, ``media[]``, ``media_1``…). They go through the app's photo pipeline (type
and size checks, metadata stripped, resized); the limits answer 400 in the spec's error format, nothing is
stored then. Actors: a partner system (``partner``), the public (``reader``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from reports.models import Category, Report, ReportPhoto
from reports.open311.models import PartnerSubmission
from tests.open311.conftest import BASE, Partner, assert_open311_error, parse_json, parse_xml
from tests.open311.test_partner_intake import LONG_DESCRIPTION, PHOTOS, fixmystreet_request
from tests.reports import images


def photo(name: str, size: tuple[int, int]) -> SimpleUploadedFile:
    """A phone photo (EXIF with GPS, XMP, a comment) of the given landscape size, turned by orientation 6."""
    return SimpleUploadedFile(name, images.phone_jpeg(size, orientation=6, noise=False), "image/jpeg")


def multipart(partner: Partner, files: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """FixMyStreet's fields as a multipart body (as its sender posts with uploads), plus file parts."""
    fields: dict[str, Any] = {}
    for name, value in fixmystreet_request(partner):
        fields.setdefault(name, []).append(value)
    return {**fields, **files, **extra}


def stored_sizes(report: Report) -> list[tuple[int, int]]:
    return [(stored.width, stored.height) for stored in report.photos.order_by("position")]


@pytest.mark.django_db
def test_fixmystreets_photo_uploads_are_stored_in_their_order_without_metadata(
    reader: Client, partner: Partner, streetlight: Category
) -> None:
    # A Perl hash has no order: photo2 may come first in the body. Orientation 6 stands them upright.
    body = multipart(
        partner,
        {"photo2": photo("4711.1.full.jpeg", (90, 60)), "photo1": photo("4711.0.full.jpeg", (120, 80))},
    )

    response = reader.post(f"{BASE}requests.json", body)

    assert response.status_code == 200, response.content
    (filed,) = parse_json(response)
    report = Report.objects.get(pk=int(filed["service_request_id"]))
    assert stored_sizes(report) == [(80, 120), (60, 90)]
    for stored in report.photos.all():
        with stored.image.open("rb") as file:
            data = file.read()
        images.assert_no_metadata(data)
        assert images.PHONE_MAKE.encode() not in data
        assert "4711" not in stored.image.name
    # The rest of FixMyStreet's request, sent as multipart, is kept as from the urlencoded form.
    assert report.description == LONG_DESCRIPTION.strip()
    assert report.address == "Münsterstraße 12"
    assert report.answers == {"fehlerbild": "aus"}
    assert (report.contact_name, report.contact_email, report.contact_phone) == (
        "Erika Mustermann",
        "erika@example.org",
        "+49 2305 123456",
    )
    submission = PartnerSubmission.objects.get(report=report)
    assert submission.media_urls == PHOTOS
    assert submission.sender_reference == "12345"
    assert submission.sender_metadata["closest_address"] == "Münsterstraße 12, 44575 Castrop-Rauxel"
    assert set(filed) == {"service_request_id", "token", "service_notice", "account_id"}
    # The public media_url is now our stable URL of the first photo, no longer the sender's link.
    (public,) = parse_json(reader.get(f"{BASE}requests/{report.pk}.json"))
    first = report.photos.get(position=0)
    assert public["media_url"] == (
        f"http://testserver/media/reports/photos/{first.public_id}-{first.content_hash}.jpg"
    )
    assert reader.get(public["media_url"]).status_code == 200
    public_text = str(public)
    for private in ("Erika", "erika@example.org", "2305 123456", "12345", "fms.example.org"):
        assert private not in public_text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parts", "widths"),
    [
        ([("media", 40)], [40]),
        ([("media", 40), ("media", 50)], [40, 50]),
        ([("media[]", 60), ("media[]", 40), ("media[]", 50)], [60, 40, 50]),
        ([("media_2", 60), ("media_1", 40)], [40, 60]),
        ([("media[1]", 60), ("media[0]", 40)], [40, 60]),
        ([("media3", 70), ("media1", 50)], [50, 70]),
        ([("photo", 40)], [40]),
    ],
)
def test_the_multi_file_forms_senders_use_are_all_taken_numbered_ones_in_their_order(
    reader: Client, partner: Partner, streetlight: Category, parts: list[tuple[str, int]], widths: list[int]
) -> None:
    files: dict[str, list[SimpleUploadedFile]] = {}
    for name, width in parts:
        files.setdefault(name, []).append(photo(f"{name}.jpg", (width, 30)))

    response = reader.post(f"{BASE}requests.xml", multipart(partner, files))

    assert response.status_code == 200, response.content
    root = parse_xml(response)
    report = Report.objects.get(pk=int(root.findtext("request/service_request_id") or 0))
    assert stored_sizes(report) == [(30, width) for width in widths]  # upright: width and height swap


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_file_that_is_no_photo_is_400_naming_its_part_and_nothing_is_stored(
    reader: Client, partner: Partner, streetlight: Category, fmt: str
) -> None:
    text = SimpleUploadedFile("notes.jpg", b"Bitte schnell reparieren", "image/jpeg")
    files = {"photo1": photo("a.jpg", (60, 40)), "photo2": text}

    response = reader.post(f"{BASE}requests.{fmt}", multipart(partner, files))

    assert_open311_error(response, 400, fmt, mentions="photo2: ")
    assert Report.objects.count() == 0
    assert ReportPhoto.objects.count() == 0


@pytest.mark.django_db
def test_more_than_five_photos_are_400(reader: Client, partner: Partner, streetlight: Category) -> None:
    files = {"media": [photo(f"{n}.jpg", (40, 30)) for n in range(6)]}

    response = reader.post(f"{BASE}requests.json", multipart(partner, files))

    assert_open311_error(response, 400, "json", mentions="media: ")
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_a_photo_of_too_many_pixels_is_400_before_it_is_decoded(
    reader: Client, partner: Partner, streetlight: Category
) -> None:
    bomb = SimpleUploadedFile("bomb.png", images.png_bomb(10_000, 10_000), "image/png")

    response = reader.post(f"{BASE}requests.json", multipart(partner, {"media_1": bomb}))

    assert_open311_error(response, 400, "json", mentions="media_1: ")
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_photos_too_costly_together_are_400_not_413(
    reader: Client, partner: Partner, streetlight: Category
) -> None:
    # Three transparent PNGs, each allowed alone, together beyond what one request may decode.
    big = images.encoded(Image.new("RGBA", (4500, 3400), (10, 20, 30, 40)), "PNG")
    files = {"media": [SimpleUploadedFile(f"{n}.png", big, "image/png") for n in range(3)]}

    response = reader.post(f"{BASE}requests.json", multipart(partner, files))

    assert_open311_error(response, 400, "json", mentions="media: ")
    assert Report.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_file_part_of_another_name_is_400_instead_of_being_dropped(
    reader: Client, partner: Partner, streetlight: Category, fmt: str
) -> None:
    files = {"attachment": photo("a.jpg", (60, 40))}

    response = reader.post(f"{BASE}requests.{fmt}", multipart(partner, files))

    assert_open311_error(response, 400, fmt, mentions="attachment: ")
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_the_photo_a_partner_sent_is_in_the_app_api_and_the_open_data_under_the_same_url(
    reader: Client, anon_client: Any, partner: Partner, streetlight: Category
) -> None:
    (filed,) = parse_json(
        reader.post(f"{BASE}requests.json", multipart(partner, {"media": photo("a.jpg", (64, 48))}))
    )
    report_id = filed["service_request_id"]

    (request,) = parse_json(reader.get(f"{BASE}requests/{report_id}.json"))
    detail = anon_client.get(f"/api/v1/reports/{report_id}").json()

    assert detail["photos"][0]["image"] == request["media_url"]
    assert (detail["photos"][0]["width"], detail["photos"][0]["height"]) == (48, 64)
