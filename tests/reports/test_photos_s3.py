"""Service tier: report photos stored through django-storages' S3 backend, against moto's S3 server on
loopback, and read back over HTTP with boto3 and by following the URL the API answers.

The storage options are the ones ``casapp/settings.py`` builds from the ``AWS_*`` variables (read in a
child process with those variables set), pointed at the local server: the production wiring is what is
tested, not a hand-made copy of it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.client import Config
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports.models import ReportPhoto
from tests.reports import images
from tests.reports.factories import CITY_POINT, CategoryFactory

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/reports/"
BUCKET = "casapp-media-test"
ACCESS_KEY, SECRET_KEY = "testing-access-key", "testing-secret-key"
REGION = "eu-central-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a thread of this process, on a free loopback port, with an empty bucket."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = s3_client(endpoint)
        # moto keeps one store per process: a second module using this fixture finds the bucket made.
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield endpoint
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )


def storage_settings_from_environment(**variables: str) -> dict[str, Any]:
    """``STORAGES["default"]`` as casapp.settings builds it from these variables."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AWS_", "DATABASE_URL", "REDIS_URL"))
    }
    environment |= {"DJANGO_SETTINGS_MODULE": "casapp.settings", "DJANGO_DEBUG": "true", **variables}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['default']))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(result.stdout))


@pytest.fixture
def s3_storage(s3_endpoint: str, settings: Any) -> Any:
    """Media storage switched to the bucket on moto, as production configures S3."""
    default = storage_settings_from_environment(
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3_endpoint,
        AWS_S3_REGION_NAME=REGION,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_S3_ADDRESSING_STYLE="path",
    )
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["querystring_auth"] is True
    assert default["OPTIONS"]["default_acl"] is None
    settings.STORAGES = {**settings.STORAGES, "default": default}  # resets default_storage
    return s3_client(s3_endpoint)


@pytest.fixture
def streetlight(db: Any) -> Any:
    return CategoryFactory(key="strassenlaterne", name_de="Straßenlaterne defekt")


def fetch(url: str) -> tuple[int, bytes]:
    assert url.startswith("http://127.0.0.1:")  # never anything off this machine
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


@pytest.mark.django_db
def test_a_phone_photo_filed_through_the_api_is_stored_in_s3_without_metadata_and_served(
    s3_storage, s3_endpoint, device_client, streetlight
):
    photo = images.phone_jpeg((800, 600), orientation=6, noise=False)
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the upload carries GPS
    latitude, longitude = CITY_POINT

    response = device_client.post(
        URL,
        {
            "category": "strassenlaterne",
            "latitude": latitude,
            "longitude": longitude,
            "photos": [SimpleUploadedFile("IMG_0001.jpg", photo, content_type="image/jpeg")],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content[:500]
    [shown] = response.json()["photos"]
    assert (shown["width"], shown["height"]) == (600, 800)
    stored = ReportPhoto.objects.get()
    report_id = stored.report_id

    # What the bucket holds, read with boto3 over HTTP: the photo and its thumbnail, nothing else.
    listed = s3_storage.list_objects_v2(Bucket=BUCKET, Prefix=f"reports/{report_id}/")
    keys = sorted(item["Key"] for item in listed.get("Contents", []))
    assert keys == sorted([stored.image.name, stored.thumbnail.name])
    assert all("IMG_0001" not in key for key in keys)
    image_object = s3_storage.get_object(Bucket=BUCKET, Key=stored.image.name)
    assert image_object["ContentType"] == "image/jpeg"
    image_bytes = image_object["Body"].read()
    thumbnail_bytes = s3_storage.get_object(Bucket=BUCKET, Key=stored.thumbnail.name)["Body"].read()

    images.assert_no_metadata(image_bytes)
    images.assert_no_metadata(thumbnail_bytes)
    upright = images.opened(image_bytes)
    assert upright.size == (600, 800)
    # Orientation 6: the stored top-left (red) is shown top right, the stored top-right (blue) bottom right.
    assert_corners_upright(upright)
    thumbnail = images.opened(thumbnail_bytes)
    assert max(thumbnail.size) <= 400
    assert thumbnail.size[0] < thumbnail.size[1]
    assert_corners_upright(thumbnail)

    # The URLs the API answers are ours and do not expire: they stream the objects from the bucket.
    stable = f"/media/reports/photos/{stored.public_id}-{stored.content_hash}"
    for url, path, expected in (
        (shown["image"], f"{stable}.jpg", image_bytes),
        (shown["thumbnail"], f"{stable}-thumb.jpg", thumbnail_bytes),
    ):
        assert url == f"http://testserver{path}"
        served = device_client.get(path)
        assert served.status_code == 200
        assert served["ETag"]
        assert b"".join(served.streaming_content) == expected
    # Staff see the objects through signed URLs of the private bucket, and they work.
    for field, expected in ((stored.image, image_bytes), (stored.thumbnail, thumbnail_bytes)):
        parts = urlsplit(field.url)
        assert f"{parts.scheme}://{parts.netloc}" == s3_endpoint
        assert parts.path.startswith(f"/{BUCKET}/reports/{report_id}/")
        assert "X-Amz-Signature=" in parts.query
        status, body = fetch(field.url)
        assert (status, body) == (200, expected)
    # Removed by moderation: our URL is gone at once, though the object stays in the bucket for staff.
    stored.removed = True
    stored.save(update_fields=["removed"])
    assert device_client.get(f"{stable}.jpg").status_code == 410
    assert s3_storage.get_object(Bucket=BUCKET, Key=stored.image.name)["Body"].read() == image_bytes


def assert_corners_upright(picture: Image.Image) -> None:
    width, height = picture.size
    inset = max(2, width // 40)
    images.assert_colour(picture.getpixel((width - inset, inset)), images.RED, tolerance=30)
    images.assert_colour(picture.getpixel((width - inset, height - inset)), images.BLUE, tolerance=30)
    images.assert_colour(picture.getpixel((inset, inset)), images.GREY, tolerance=40)


@pytest.mark.django_db
def test_stored_photos_get_no_public_grant(s3_storage, s3_endpoint, device_client, streetlight):
    """The bucket stays private: objects are stored without a public ACL, reached by signed URLs only."""
    latitude, longitude = CITY_POINT
    response = device_client.post(
        URL,
        {
            "category": "strassenlaterne",
            "latitude": latitude,
            "longitude": longitude,
            "photos": [
                SimpleUploadedFile(
                    "a.jpg", images.phone_jpeg((80, 60), noise=False), content_type="image/jpeg"
                )
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content[:500]
    stored = ReportPhoto.objects.get()

    acl = s3_storage.get_object_acl(Bucket=BUCKET, Key=stored.image.name)
    grantees = [grant["Grantee"].get("URI", "") for grant in acl["Grants"]]
    assert not [uri for uri in grantees if uri.endswith(("AllUsers", "AuthenticatedUsers"))]
