"""Public photo URLs that do not expire: the app API, the open data and Open311 hand out the same URL of
ours; it serves the photo with an ETag and long caching, changes when the picture changes, and answers
410 at once when moderation removes the photo or hides the report. Actors: a reporter's phone
(``device_client``), the public (``anon_client``), a triage ``member`` of the report's department."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from reports.models import Category, Department, Report, ReportPhoto
from reports.services import report_moderate
from tests.conftest import assert_error_shape
from tests.reports import images
from tests.reports.factories import CITY_POINT
from tests.reports.staff_factories import photo, report

PHOTO_URL = re.compile(r"^http://testserver/media/reports/photos/([0-9a-f]{16})-([0-9a-f]{16})\.jpg$")
THUMB_URL = re.compile(r"^http://testserver/media/reports/photos/([0-9a-f]{16})-([0-9a-f]{16})-thumb\.jpg$")


@pytest.fixture
def member(triage_client: APIClient, tiefbau: Department) -> APIClient:
    tiefbau.members.add(triage_client.user)  # type: ignore[attr-defined]
    return triage_client


def file_photo(device_client: APIClient, category: Category) -> dict[str, Any]:
    upload = SimpleUploadedFile("IMG_0001.jpg", images.phone_jpeg((120, 90), noise=False), "image/jpeg")
    response = device_client.post(
        "/api/v1/reports/",
        {
            "category": category.key,
            "latitude": CITY_POINT[0],
            "longitude": CITY_POINT[1],
            "photos": [upload],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


@pytest.mark.django_db
def test_a_filed_photo_has_our_stable_url_made_of_its_public_id_and_content_hash(
    device_client: APIClient, anon_client: APIClient, schlagloch: Category
) -> None:
    shown = file_photo(device_client, schlagloch)["photos"][0]

    image_match, thumb_match = PHOTO_URL.match(shown["image"]), THUMB_URL.match(shown["thumbnail"])
    assert image_match, shown
    assert thumb_match, shown
    stored = ReportPhoto.objects.get()
    with stored.image.open("rb") as file:
        stored_bytes = file.read()
    assert image_match.groups() == (stored.public_id, hashlib.sha256(stored_bytes).hexdigest()[:16])
    assert thumb_match.groups() == image_match.groups()

    response = anon_client.get(path_of(shown["image"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == stored_bytes
    assert response["ETag"] == f'"{stored.content_hash}"'
    assert response["Content-Disposition"] == f'inline; filename="{stored.public_id}.jpg"'
    assert "immutable" in response["Cache-Control"]
    assert "max-age=31536000" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    thumbnail = anon_client.get(path_of(shown["thumbnail"]))
    with stored.thumbnail.open("rb") as file:
        assert b"".join(thumbnail.streaming_content) == file.read()
    assert thumbnail["ETag"] == f'"{stored.content_hash}-thumb"'


@pytest.mark.django_db
def test_a_cached_copy_is_confirmed_with_304_and_head_answers_without_a_body(
    device_client: APIClient, anon_client: APIClient, schlagloch: Category
) -> None:
    url = path_of(file_photo(device_client, schlagloch)["photos"][0]["image"])
    etag = anon_client.get(url)["ETag"]

    revalidated = anon_client.get(url, HTTP_IF_NONE_MATCH=etag)
    head = anon_client.head(url)
    other = anon_client.get(url, HTTP_IF_NONE_MATCH='"0000000000000000"')

    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated["ETag"] == etag
    assert head.status_code == 200
    assert head.content == b""
    assert int(head["Content-Length"]) == ReportPhoto.objects.get().image.size
    assert other.status_code == 200


@pytest.mark.django_db
def test_the_app_api_open_data_and_open311_hand_out_the_same_url(
    device_client: APIClient, anon_client: APIClient, schlagloch: Category
) -> None:
    filed = file_photo(device_client, schlagloch)
    url = filed["photos"][0]["image"]

    detail = anon_client.get(f"/api/v1/reports/{filed['id']}").json()
    listed = anon_client.get("/api/v1/reports/").json()["results"][0]
    geojson = anon_client.get("/api/v1/reports/", {"format": "geojson"}).json()["features"][0]
    csv = anon_client.get("/api/v1/reports/", {"format": "csv"}).content.decode()
    open311 = anon_client.get(f"/open311/v2/requests/{filed['id']}.json").json()[0]
    screen = anon_client.get("/api/v1/reports/screen").json()

    assert detail["photos"][0]["image"] == url
    assert listed["photos"][0]["image"] == url
    assert geojson["properties"]["photos"][0]["image"] == url
    assert url in csv
    assert open311["media_url"] == url
    assert screen["newest"][0]["thumbnail"] == path_of(filed["photos"][0]["thumbnail"])


@pytest.mark.django_db
def test_a_removed_photo_answers_410_at_once_also_to_a_copy_of_its_url(
    device_client: APIClient, anon_client: APIClient, member: APIClient, schlagloch: Category
) -> None:
    filed = file_photo(device_client, schlagloch)
    image, thumbnail = path_of(filed["photos"][0]["image"]), path_of(filed["photos"][0]["thumbnail"])
    assert anon_client.get(image).status_code == 200
    stored = ReportPhoto.objects.get()

    response = member.post(
        f"/api/v1/staff/reports/{filed['id']}/moderate", {"remove_photo_ids": [stored.pk]}, format="json"
    )
    assert response.status_code == 200, response.content

    for url in (image, thumbnail):
        gone = anon_client.get(url)
        assert_error_shape(gone, 410, "photo_gone")
        assert gone["Cache-Control"] == "no-store"
        assert anon_client.get(url, HTTP_IF_NONE_MATCH=f'"{stored.content_hash}"').status_code == 410
    assert anon_client.get(f"/open311/v2/requests/{filed['id']}.json").json()[0]["media_url"] is None


@pytest.mark.django_db
def test_the_photos_of_a_hidden_report_answer_410(
    anon_client: APIClient, member: APIClient, schlagloch: Category
) -> None:
    target = report(schlagloch)
    stored = photo(target)
    url = f"/media/reports/photos/{stored.public_id}-{stored.content_hash}.jpg"
    assert anon_client.get(url).status_code == 200

    report_moderate(report=target, actor=member.user, hide=True)  # type: ignore[attr-defined]

    assert_error_shape(anon_client.get(url), 410, "photo_gone")


@pytest.mark.django_db
def test_an_unknown_photo_or_an_outdated_hash_is_404_and_writing_is_405(
    anon_client: APIClient, schlagloch: Category
) -> None:
    stored = photo(report(schlagloch))

    unknown = anon_client.get(f"/media/reports/photos/0123456789abcdef-{stored.content_hash}.jpg")
    outdated = anon_client.get(f"/media/reports/photos/{stored.public_id}-0123456789abcdef.jpg")
    malformed = anon_client.get(f"/media/reports/photos/{stored.public_id}.jpg")
    written = anon_client.post(f"/media/reports/photos/{stored.public_id}-{stored.content_hash}.jpg")

    assert_error_shape(unknown, 404, "not_found")
    assert_error_shape(outdated, 404, "not_found")
    assert malformed.status_code == 404
    assert written.status_code == 405


@pytest.mark.django_db
def test_another_picture_gets_another_url(device_client: APIClient, schlagloch: Category) -> None:
    first = file_photo(device_client, schlagloch)["photos"][0]["image"]
    second = file_photo(device_client, schlagloch)["photos"][0]["image"]

    first_match, second_match = PHOTO_URL.match(first), PHOTO_URL.match(second)
    assert first_match
    assert second_match
    assert first_match.group(1) != second_match.group(1)
    # The same picture twice: the same content hash, yet each photo its own public id.
    assert first_match.group(2) == second_match.group(2)


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_the_photos_stored_before_a_public_id_and_a_hash(schlagloch: Category) -> None:
    executor = MigrationExecutor(connection)
    before, after = (
        [("reports", "0007_description_up_to_open311_limit")],
        [("reports", "0008_photo_public_id_and_content_hash")],
    )
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_photo = old_apps.get_model("reports", "ReportPhoto")
    target = report(schlagloch)
    for name in ("a", "b"):
        old_photo.objects.create(
            report_id=target.pk,
            image=f"reports/{target.pk}/{name}.jpg",
            thumbnail=f"x/{name}-t.jpg",
            width=4,
            height=3,
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    first, second = ReportPhoto.objects.order_by("image")
    assert re.fullmatch("[0-9a-f]{16}", first.public_id)
    assert first.public_id != second.public_id
    assert first.content_hash == hashlib.sha256(f"reports/{target.pk}/a.jpg".encode()).hexdigest()[:16]
    assert first.content_hash != second.content_hash


@pytest.mark.django_db
def test_the_reporter_of_a_hidden_report_is_shown_no_photo_url_that_would_answer_410(
    device_client: APIClient, anon_client: APIClient, member: APIClient, schlagloch: Category
) -> None:
    filed = file_photo(device_client, schlagloch)
    target = Report.objects.get(pk=filed["id"])

    report_moderate(report=target, actor=member.user, hide=True)  # type: ignore[attr-defined]

    own = device_client.get(f"/api/v1/reports/mine/{target.pk}").json()
    assert own["photos"] == []
    assert anon_client.get(path_of(filed["photos"][0]["image"])).status_code == 410
