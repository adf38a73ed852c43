"""Service tier: a push image stored through django-storages' S3 backend (moto's S3 server on loopback, the
storage options casapp/settings.py builds, signed URLs on), and served at our own address, which is what
the message names: a signed bucket URL would expire before a phone that was off for a week loads it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from push.models import Notification, PushImage
from tests.push.test_notification_admin import NOTIFICATIONS, browser, form_data
from tests.reports import images
from tests.reports.test_photos_s3 import BUCKET, s3_endpoint, s3_storage  # noqa: F401  (fixtures)

pytestmark = pytest.mark.services


@pytest.mark.django_db
def test_an_uploaded_image_lives_in_the_bucket_and_is_served_at_an_address_that_does_not_expire(
    s3_storage: Any,  # noqa: F811  (the fixture imported above)
) -> None:
    author = browser("Kommunikation")
    photo = images.phone_jpeg((1600, 1200), orientation=None, noise=False)

    response = author.post(
        f"{NOTIFICATIONS}add/",
        form_data(image_upload=SimpleUploadedFile("IMG_1.jpg", photo, content_type="image/jpeg")),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = PushImage.objects.get()
    key = stored.file.name
    in_bucket = s3_storage.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    images.assert_no_metadata(in_bucket)
    image_url = Notification.objects.get().image_url
    assert image_url == f"http://testserver/push/images/{stored.pk}.jpg"
    assert "X-Amz" not in image_url
    served = Client().get(image_url.removeprefix("http://testserver"))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == in_bucket  # type: ignore[attr-defined]
