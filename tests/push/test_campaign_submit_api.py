"""Sending a photo to a Mitmach-Aktion from the app: ``POST /api/v1/campaigns/{id}/submissions`` and the
sender's own list. Actors: an app installation, another one, an anonymous caller."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from casapp.images import MAX_UPLOAD_BYTES
from push.models import NotificationStatus
from push.participation.models import Submission, SubmissionStatus
from tests.conftest import assert_error_shape, set_rates
from tests.push.participation_support import campaign_files, campaign_participation, submit
from tests.reports import images
from tests.reports.images import assert_no_metadata

pytestmark = pytest.mark.django_db


def _url(participation: Any) -> str:
    return f"/api/v1/campaigns/{participation.pk}/submissions"


def assert_nothing_stored() -> None:
    assert not Submission.objects.exists()
    assert campaign_files() == []


# --- The happy path


def test_a_photo_is_stored_for_moderation_without_its_metadata(device_client, device):
    participation = campaign_participation()

    response = submit(
        device_client,
        participation,
        text="  Schnee zu Weihnachten  ",
        is_child="true",
        parental_consent="true",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["text"] == "Schnee zu Weihnachten"
    assert body["public_text"] == ""
    assert body["published_at"] is None
    assert (body["width"], body["height"]) == (900, 1200)  # turned upright by its EXIF orientation
    submission = Submission.objects.get()
    assert submission.installation == device
    assert submission.is_child
    assert submission.parental_consent
    assert submission.consented_at is not None
    with default_storage.open(submission.photo.name) as stored:
        photo = stored.read()
    assert_no_metadata(photo)
    assert Image.open(io.BytesIO(photo)).size == (900, 1200)
    with default_storage.open(submission.thumbnail.name) as stored:
        assert max(Image.open(stored).size) == 400
    assert body["image"].endswith(f"/push/campaign-photos/{submission.photo.name.split('/', 1)[1]}")
    # The sender sees their photo before moderation (its address has a random name nobody else knows).
    own = device_client.get(body["image"])
    assert own.status_code == 200
    assert own["Cache-Control"] == "private, max-age=300"
    # Not public before moderation.
    gallery = device_client.get(f"/api/v1/campaigns/{participation.pk}/gallery")
    assert gallery.json()["results"] == []


def test_a_large_photo_is_scaled_down_to_2048_pixels(device_client):
    participation = campaign_participation()
    large = SimpleUploadedFile(
        "big.jpg", images.phone_jpeg((4000, 3000), orientation=None, noise=False), content_type="image/jpeg"
    )

    response = submit(device_client, participation, photo=large)

    assert response.status_code == 201, response.content
    assert (response.json()["width"], response.json()["height"]) == (2048, 1536)


def test_the_text_may_be_left_out(device_client):
    response = submit(device_client, campaign_participation(), text=None)
    assert response.status_code == 201, response.content
    assert response.json()["text"] == ""


# --- Who may send


def test_anonymous_callers_cannot_send(anon_client):
    response = submit(anon_client, campaign_participation())
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Device realm="api"'
    assert_nothing_stored()


def test_a_staff_session_is_no_installation(comms_client):
    response = submit(comms_client, campaign_participation())
    assert_error_shape(response, 401, "not_authenticated")


# --- The campaign's state


def test_a_closed_campaign_refuses_photos(device_client):
    participation = campaign_participation(closes_in=-timedelta(minutes=1))

    response = submit(device_client, participation)

    body = assert_error_shape(response, 409, "participation_closed")
    assert body["detail"] == "Diese Aktion nimmt keine Fotos (mehr) an."
    assert_nothing_stored()


def test_a_campaign_not_sent_yet_is_not_found(device_client):
    participation = campaign_participation(status=NotificationStatus.AWAITING_APPROVAL)
    assert_error_shape(submit(device_client, participation), 404, "not_found")
    assert_nothing_stored()


def test_a_cancelled_campaign_is_not_found(device_client):
    participation = campaign_participation(status=NotificationStatus.CANCELLED)
    assert_error_shape(submit(device_client, participation), 404, "not_found")


def test_an_unknown_campaign_is_not_found(device_client):
    response = device_client.post("/api/v1/campaigns/999999/submissions", {}, format="multipart")
    assert_error_shape(response, 404, "not_found")


# --- Consent


@pytest.mark.parametrize("consent", [None, "false"])
def test_without_consent_to_publication_nothing_is_stored(device_client, consent):
    """A form sends an unticked box as nothing at all: missing and false are refused alike."""
    response = submit(device_client, campaign_participation(), consent_publication=consent)

    body = assert_error_shape(response, 400, "consent_required")
    assert body["errors"][0]["field"] == "consent_publication"
    assert_nothing_stored()


def test_a_child_needs_a_parents_agreement(device_client):
    response = submit(device_client, campaign_participation(), is_child="true")

    body = assert_error_shape(response, 400, "parental_consent_required")
    assert body["errors"][0]["field"] == "parental_consent"
    assert_nothing_stored()


def test_the_refusal_is_in_german_by_default(device_client):
    response = submit(device_client, campaign_participation(), consent_publication="false")
    body = assert_error_shape(response, 400, "consent_required")
    assert (
        body["detail"]
        == "Bitte stimmen Sie zu, dass die Stadt das Foto und seinen Text veröffentlichen darf."
    )


# --- Limits


def test_an_installation_sends_at_most_the_campaigns_number_of_photos(device_client, other_device_client):
    participation = campaign_participation(max_submissions=2)
    for _ in range(2):
        assert submit(device_client, participation).status_code == 201

    response = submit(device_client, participation)

    body = assert_error_shape(response, 409, "submission_limit")
    assert body["detail"] == "Sie haben 2 Fotos an diese Aktion gesandt, so viele wie sie annimmt."
    assert Submission.objects.count() == 2
    # Another installation has its own allowance.
    assert submit(other_device_client, participation).status_code == 201


def test_withdrawing_a_photo_frees_its_place(device_client):
    participation = campaign_participation(max_submissions=1)
    first = submit(device_client, participation).json()
    assert_error_shape(submit(device_client, participation), 409, "submission_limit")

    withdrawn = device_client.delete(f"/api/v1/campaigns/{participation.pk}/submissions/{first['id']}")

    assert withdrawn.status_code == 204
    assert submit(device_client, participation).status_code == 201


def test_photos_per_day_are_limited_and_refused_ones_do_not_count(device_client, settings):
    set_rates(settings, campaign_submission_day="2/day", campaign_submission_ip="100/min")
    participation = campaign_participation(max_submissions=10)
    assert submit(device_client, participation, consent_publication="false").status_code == 400
    assert submit(device_client, participation).status_code == 201
    assert submit(device_client, participation).status_code == 201

    response = submit(device_client, participation)

    assert_error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert Submission.objects.count() == 2


def test_attempts_per_address_are_limited_refused_ones_included(device_client, other_device_client, settings):
    set_rates(settings, campaign_submission_day="100/day", campaign_submission_ip="3/min")
    participation = campaign_participation(max_submissions=10)
    assert submit(device_client, participation, consent_publication="false").status_code == 400
    assert submit(device_client, participation).status_code == 201
    assert submit(other_device_client, participation).status_code == 201

    assert_error_shape(submit(other_device_client, participation), 429, "throttled")


# --- Bad photos and input


def test_without_a_photo_nothing_is_stored(device_client):
    response = submit(device_client, campaign_participation(), photo=None)
    body = assert_error_shape(response, 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["photo"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(b"Mein Wunsch: Frieden.\n", "unsupported_photo", id="text-named-jpg"),
        pytest.param(images.encoded(Image.new("P", (50, 50)), "GIF"), "unsupported_photo", id="gif"),
        pytest.param(
            images.phone_jpeg((800, 600), orientation=None)[:5000], "invalid_photo", id="truncated-jpeg"
        ),
        pytest.param(images.png_bomb(10000, 10000), "photo_too_large", id="decompression-bomb"),
    ],
)
def test_a_file_that_is_no_usable_photo_is_refused(device_client, content, code):
    upload = SimpleUploadedFile("IMG_0001.jpg", content, content_type="image/jpeg")

    response = submit(device_client, campaign_participation(), photo=upload)

    body = assert_error_shape(response, 400, code)
    assert body["errors"][0]["field"] == "photo"
    assert_nothing_stored()


def test_a_photo_over_15_mb_is_too_large(device_client):
    jpeg = images.phone_jpeg((400, 300), orientation=None, noise=False)
    upload = SimpleUploadedFile("big.jpg", jpeg + b"\0" * (MAX_UPLOAD_BYTES + 1 - len(jpeg)))

    response = submit(device_client, campaign_participation(), photo=upload)

    body = assert_error_shape(response, 400, "photo_too_large")
    with translation.override("de"):
        assert "15 MB" in body["detail"]
    assert_nothing_stored()


def test_a_text_longer_than_280_characters_is_refused(device_client):
    response = submit(device_client, campaign_participation(), text="x" * 281)
    body = assert_error_shape(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "text"
    assert_nothing_stored()


def test_json_is_not_accepted(device_client):
    participation = campaign_participation()
    response = device_client.post(_url(participation), {"consent_publication": True}, format="json")
    assert_error_shape(response, 415, "unsupported_media_type")


# --- The sender's own photos


def test_the_sender_sees_their_own_photos_with_status_and_nobody_elses(device_client, other_device_client):
    participation = campaign_participation()
    mine = submit(device_client, participation, text="Meiner").json()
    submit(other_device_client, participation, text="Fremder")

    response = device_client.get(f"/api/v1/campaigns/{participation.pk}/submissions/mine")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    assert [(item["id"], item["text"], item["status"]) for item in response.json()] == [
        (mine["id"], "Meiner", SubmissionStatus.PENDING)
    ]


def test_the_own_list_needs_an_installation(anon_client):
    participation = campaign_participation()
    response = anon_client.get(f"/api/v1/campaigns/{participation.pk}/submissions/mine")
    assert_error_shape(response, 401, "not_authenticated")
