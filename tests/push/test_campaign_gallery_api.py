"""What the public sees of Mitmach-Aktionen: the campaigns and the gallery of approved photos, without
anything of who sent them. Actors: an anonymous caller, two app installations."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from push.models import NotificationStatus
from push.participation.models import SubmissionStatus
from push.participation.services import Decision, submission_moderate
from tests.conftest import assert_error_shape
from tests.push.participation_support import approved, campaign_participation, sent

pytestmark = pytest.mark.django_db

GALLERY_FIELDS = {"id", "image", "thumbnail", "width", "height", "text", "published_at"}


def test_published_campaigns_are_listed_in_the_requested_language(anon_client, device, other_device):
    participation = campaign_participation(max_submissions=2)
    approved(participation, device)
    sent(participation, other_device)  # pending: not counted
    campaign_participation(status=NotificationStatus.DRAFT)  # not published: not listed

    response = anon_client.get("/api/v1/campaigns/", headers={"Accept-Language": "en"})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    [item] = response.json()["results"]
    assert item == {
        "id": participation.pk,
        "notice_id": f"n-{participation.notification_id}",
        "title": "Wish window",
        "body": "Paint your wish into your window and send us a photo!",
        "description": "A photo of your window with the wish.",
        "closes_at": item["closes_at"],
        "open": True,
        "max_submissions": 2,
        "photos_published": 1,
    }
    german = anon_client.get(f"/api/v1/campaigns/{participation.pk}").json()
    assert german["title"] == "Wunschfenster"
    assert german["description"] == "Ein Foto eures Fensters mit dem Wunsch."


def test_a_closed_campaign_is_listed_as_closed(anon_client):
    from datetime import timedelta

    participation = campaign_participation(closes_in=-timedelta(hours=1))
    assert anon_client.get(f"/api/v1/campaigns/{participation.pk}").json()["open"] is False


def test_an_unpublished_or_unknown_campaign_is_not_found(anon_client):
    draft = campaign_participation(status=NotificationStatus.DRAFT)
    assert_error_shape(anon_client.get(f"/api/v1/campaigns/{draft.pk}"), 404, "not_found")
    assert_error_shape(anon_client.get(f"/api/v1/campaigns/{draft.pk}/gallery"), 404, "not_found")
    assert_error_shape(anon_client.get("/api/v1/campaigns/424242/gallery"), 404, "not_found")


def test_the_gallery_shows_approved_photos_only_without_personal_data(anon_client, device, other_device):
    participation = campaign_participation()
    shown = approved(participation, device, text="Schnee zu Weihnachten")
    sent(participation, device, text="Noch nicht freigegeben")
    rejected = sent(participation, other_device, text="Abgelehnt")
    submission_moderate(submission=rejected, actor=None, decision=Decision.REJECT)
    removed = approved(participation, other_device, text="Entfernt")
    submission_moderate(submission=removed, actor=None, decision=Decision.REMOVE)

    response = anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=30"
    [photo] = response.json()["results"]
    assert set(photo) == GALLERY_FIELDS
    assert photo["id"] == shown.pk
    assert photo["text"] == "Schnee zu Weihnachten"
    # Served by us at an address that does not expire, whatever the storage (no /media/ outside debug).
    assert photo["image"] == f"http://testserver/push/campaign-photos/{shown.photo.name.split('/', 1)[1]}"
    assert photo["thumbnail"] == (
        f"http://testserver/push/campaign-photos/{shown.thumbnail.name.split('/', 1)[1]}"
    )
    served = anon_client.get(photo["image"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "public, max-age=300"
    with default_storage.open(shown.photo.name) as stored:
        assert b"".join(served.streaming_content) == stored.read()
    assert anon_client.get(photo["thumbnail"]).status_code == 200
    # What is not (or no longer) shown has no address that answers.
    unknown = photo["image"].replace(".jpg", "x.jpg")
    assert anon_client.get(unknown).status_code == 404
    submission_moderate(submission=shown, actor=None, decision=Decision.REMOVE)
    assert anon_client.get(photo["image"]).status_code == 404
    # Nothing in the whole answer names the sender's installation or other photos' texts.
    text = response.content.decode()
    for secret in (str(device.pk), str(other_device.pk), "Noch nicht freigegeben", "Abgelehnt", "Entfernt"):
        assert secret not in text


def test_the_gallery_shows_the_text_as_approved_not_as_sent(anon_client, device, other_device):
    participation = campaign_participation()
    edited = sent(participation, device, text="Ich heiße Erika Mustermann und wünsche mir Frieden")
    submission_moderate(
        submission=edited, actor=None, decision=Decision.APPROVE, public_text="Ich wünsche mir Frieden"
    )
    without = sent(participation, other_device, text="Ruft mich an: 0171 2345678")
    submission_moderate(submission=without, actor=None, decision=Decision.APPROVE, public_text="")

    photos = anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery").json()["results"]

    assert {photo["id"]: photo["text"] for photo in photos} == {
        edited.pk: "Ich wünsche mir Frieden",
        without.pk: "",
    }
    assert "Mustermann" not in str(photos)
    assert "0171" not in str(photos)


def test_the_gallery_is_paginated_newest_first(anon_client, device, other_device):
    participation = campaign_participation()
    first = approved(participation, device, text="eins")
    second = approved(participation, other_device, text="zwei")
    third = approved(participation, device, text="drei")

    page = anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery?page_size=2").json()
    assert [photo["id"] for photo in page["results"]] == [third.pk, second.pk]
    assert page["next"]
    rest = anon_client.get(page["next"]).json()
    assert [photo["id"] for photo in rest["results"]] == [first.pk]
    assert rest["next"] is None


def test_a_bad_page_size_or_cursor_is_a_clear_error(anon_client):
    participation = campaign_participation()
    gallery = f"/api/v1/campaigns/{participation.pk}/gallery"
    assert_error_shape(anon_client.get(f"{gallery}?page_size=1000"), 400, "validation_error")
    assert_error_shape(anon_client.get(f"{gallery}?cursor=bm9wZQ"), 404, "not_found")


def test_credentials_are_ignored_by_the_public_endpoints(device_client, device):
    participation = campaign_participation()
    approved(participation, device)
    response = device_client.get(f"/api/v1/campaigns/{participation.pk}/gallery")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_statuses_are_what_the_sender_sees(device_client, device):
    participation = campaign_participation()
    submission = approved(participation, device)
    [own] = device_client.get(f"/api/v1/campaigns/{participation.pk}/submissions/mine").json()
    assert own["id"] == submission.pk
    assert own["status"] == SubmissionStatus.APPROVED
    assert own["public_text"] == "Frieden"
