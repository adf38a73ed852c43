"""The image of a notification: uploaded in the workspace, fitted to what FCM accepts, served at an address
that does not expire, chosen again for another notification, and sent to Android and iOS as FCM wants it.
Actors: an author and a colleague in Kommunikation; phones subscribed to outages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from push import services
from push.models import Installation, Notification, PushImage, Topic
from push.services.images import PUSH_IMAGE_MAX_BYTES, PUSH_IMAGE_MAX_EDGE
from tests.factories import InstallationFactory
from tests.push.test_notification_admin import NOTIFICATIONS, browser, form_data
from tests.reports import images

IMAGE_URL = re.compile(r"^http://testserver/push/images/([0-9a-f-]{36})\.jpg$")


@pytest.fixture
def author(db: Any) -> Client:
    return browser("Kommunikation")


@pytest.fixture
def colleague(db: Any) -> Client:
    return browser("Kommunikation")


@pytest.fixture
def subscribers(db: Any) -> list[Installation]:
    """An Android and an iPhone subscribed to outages."""
    phones = []
    for platform in ("android", "ios"):
        phone = InstallationFactory(
            platform=platform,
            push_token=f"token-image-{platform}-00000001",
            push_token_kind="registration_token",
        )
        phone.topics.add(Topic.objects.get(key="stoerungen"))
        phones.append(phone)
    return phones


def upload(data: bytes, name: str = "IMG_2041.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def added(client: Client, **fields: Any) -> Any:
    return client.post(f"{NOTIFICATIONS}add/", form_data(**fields))


@pytest.mark.django_db
def test_an_uploaded_photo_is_fitted_stripped_and_served_at_an_address_that_does_not_expire(author):
    photo = images.phone_jpeg((4000, 3000), orientation=6, noise=False)  # GPS, camera, XMP, comment, ICC

    response = added(author, image_upload=upload(photo))

    assert response.status_code == 302, response.context["adminform"].form.errors
    notification = Notification.objects.get()
    found = IMAGE_URL.match(notification.image_url)
    assert found, notification.image_url
    stored = PushImage.objects.get(pk=found.group(1))
    assert stored.uploaded_by == author.user
    assert stored.name == "IMG_2041.jpg"
    assert (stored.width, stored.height) == (1080, PUSH_IMAGE_MAX_EDGE)  # upright: it was held upright
    served = Client().get(f"/push/images/{stored.pk}.jpg")  # anonymous: phones load it
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert "immutable" in served["Cache-Control"]
    body = b"".join(served.streaming_content)  # type: ignore[attr-defined]
    assert len(body) == stored.size_bytes <= PUSH_IMAGE_MAX_BYTES
    images.assert_no_metadata(body)
    assert images.opened(body).size == (1080, 1440)


@pytest.mark.django_db
def test_a_large_noisy_picture_is_compressed_below_a_megabyte(author):
    noisy = images.encoded(images.marked_picture((2400, 1800)), "PNG")
    assert len(noisy) > 5 * PUSH_IMAGE_MAX_BYTES

    response = added(author, image_upload=upload(noisy, "plakat.png", "image/png"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = PushImage.objects.get()
    assert stored.size_bytes <= PUSH_IMAGE_MAX_BYTES
    assert max(stored.width, stored.height) <= PUSH_IMAGE_MAX_EDGE


@pytest.mark.django_db
def test_a_transparent_webp_is_accepted_and_flattened(author):
    logo = images.encoded(images.marked_picture((800, 400), noise=False).convert("RGBA"), "WEBP")

    response = added(author, image_upload=upload(logo, "logo.webp", "image/webp"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert PushImage.objects.get().width == 800


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "name"),
    [
        (images.encoded(images.marked_picture((64, 64), noise=False), "GIF"), "animation.gif"),
        (b"%PDF-1.7 not a picture", "flyer.jpg"),
        (images.phone_jpeg((400, 300), noise=False)[:600], "cut-off.jpg"),
    ],
)
def test_other_files_are_refused_on_the_field_and_nothing_is_stored(author, data, name):
    response = added(author, image_upload=upload(data, name))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "image_upload" in errors, errors
    assert not Notification.objects.exists()
    assert not PushImage.objects.exists()


@pytest.mark.django_db
def test_an_image_uploaded_before_is_chosen_again(author, colleague):
    added(author, image_upload=upload(images.phone_jpeg((800, 600), orientation=None, noise=False)))
    first = Notification.objects.get()
    stored = PushImage.objects.get()

    page = colleague.get(f"{NOTIFICATIONS}add/")
    assert (str(stored.pk), str(stored)) in page.context["adminform"].form.fields["image_choice"].choices
    response = added(colleague, image_choice=str(stored.pk))

    assert response.status_code == 302, response.context["adminform"].form.errors
    second = Notification.objects.exclude(pk=first.pk).get()
    assert second.image_url == first.image_url
    assert PushImage.objects.count() == 1


@pytest.mark.django_db
def test_a_notification_with_an_image_from_before_keeps_it_until_another_is_chosen(author, subscribers):
    legacy = services.notification_create(
        author=author.user,
        kind="outage",
        content={"de": {"title": "Bürgerbüro zu", "body": "Heute geschlossen."}},
        image_url="https://www.castrop-rauxel.de/bild.jpg",
    )
    url = f"{NOTIFICATIONS}{legacy.pk}/change/"
    form = author.get(url).context["adminform"].form
    assert form.initial["image_choice"] == "keep"

    response = author.post(url, form_data(image_choice="keep"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    legacy.refresh_from_db()
    assert legacy.image_url == "https://www.castrop-rauxel.de/bild.jpg"


@pytest.mark.django_db
def test_an_unknown_image_is_404(anon_client):
    assert anon_client.get("/push/images/00000000-0000-0000-0000-000000000000.jpg").status_code == 404


# --- What FCM receives


def send(author: Client, colleague: Client, capture: Any, **fields: Any) -> Notification:
    notification = services.notification_create(
        author=author.user,  # type: ignore[attr-defined]
        kind="outage",
        content={"de": {"title": "Wasserrohrbruch", "body": "Die Bahnhofstraße ist gesperrt."}},
        **fields,
    )
    services.notification_request_approval(notification=notification, actor=author.user)  # type: ignore[attr-defined]
    with capture(execute=True):
        services.notification_approve(notification=notification, approver=colleague.user)  # type: ignore[attr-defined]
    notification.refresh_from_db()
    return notification


@pytest.mark.django_db
def test_fcm_receives_the_image_for_android_and_for_ios_with_mutable_content(
    author, colleague, subscribers, firebase_backend, django_capture_on_commit_callbacks
):
    added(author, image_upload=upload(images.phone_jpeg((1600, 1200), orientation=None, noise=False)))
    image_url = Notification.objects.get().image_url

    sent = send(author, colleague, django_capture_on_commit_callbacks, image_url=image_url)

    assert sent.status == "sent"
    for phone in subscribers:
        [received] = firebase_backend.messages(phone.push_token)
        message = received["message"]
        assert message["notification"]["image"] == image_url  # Android (and the FCM default)
        assert message["apns"]["fcm_options"]["image"] == image_url
        assert message["apns"]["payload"]["aps"]["mutable-content"] == 1
    assert Client().get(image_url.removeprefix("http://testserver")).status_code == 200


@pytest.mark.django_db
def test_without_an_image_ios_gets_no_mutable_content(
    author, colleague, subscribers, firebase_backend, django_capture_on_commit_callbacks
):
    send(author, colleague, django_capture_on_commit_callbacks)

    message = firebase_backend.messages(subscribers[0].push_token)[0]["message"]
    assert "image" not in message["notification"]
    assert "fcm_options" not in message["apns"]
    assert "mutable-content" not in message["apns"]["payload"]["aps"]


@pytest.mark.django_db
def test_a_refused_notification_leaves_no_image_behind(author, settings):
    from pathlib import Path

    response = added(
        author,
        title_de="Fragen an 0171 2345678",  # a private number: refused by the service
        image_upload=upload(images.phone_jpeg((800, 600), orientation=None, noise=False)),
    )

    assert response.status_code == 200
    assert "title_de" in response.context["adminform"].form.errors
    assert not PushImage.objects.exists()
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.jpg"))
