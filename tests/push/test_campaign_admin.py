"""Mitmach-Aktionen in the workspace (Django admin): opening one for a campaign, moderating the photos sent
in with thumbnails, and the ZIP of approved photos. Actors: two Kommunikation members, Triage, and an
installation that sent photos."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from push.models import Notification, NotificationKind, NotificationStatus
from push.participation.models import Participation, Submission, SubmissionStatus
from tests.push.participation_support import (
    approved,
    browser,
    campaign_files,
    campaign_participation,
    sent,
    stored_files,
)

pytestmark = pytest.mark.django_db

SUBMISSIONS = "/admin/push/submission/"
PARTICIPATIONS = "/admin/push/participation/"


@pytest.fixture
def moderator():
    return browser("Kommunikation")


def _action(client, action, submissions, capture):
    with capture(execute=True):
        return client.post(
            SUBMISSIONS,
            {"action": action, "_selected_action": [s.pk for s in submissions]},
            follow=True,
        )


# --- Opening a participation


def test_a_campaign_notification_is_opened_for_photos(moderator):
    campaign = Notification.objects.create(
        kind=NotificationKind.CAMPAIGN,
        content={"de": {"title": "Wunschfenster", "body": "…"}},
        audience_kind="all",
    )
    news = Notification.objects.create(
        kind=NotificationKind.NEWS, content={"de": {"title": "Neues", "body": "…"}}, audience_kind="all"
    )
    page = moderator.get(f"{PARTICIPATIONS}add/")
    assert page.status_code == 200
    options = page.context["adminform"].form.fields["notification"].queryset
    assert list(options) == [campaign]  # campaigns only: never news, outages or test sends
    closes = (timezone.localtime() + timedelta(days=10)).replace(microsecond=0)

    response = moderator.post(
        f"{PARTICIPATIONS}add/",
        {
            "notification": campaign.pk,
            "description_de": "Ein Foto eures Fensters.",
            "description_en": "",
            "closes_at_0": closes.strftime("%Y-%m-%d"),
            "closes_at_1": closes.strftime("%H:%M:%S"),
            "max_submissions": 3,
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    participation = Participation.objects.get()
    assert participation.notification == campaign
    assert participation.created_by == moderator.user
    refused = moderator.post(
        f"{PARTICIPATIONS}add/",
        {
            "notification": news.pk,
            "description_de": "x",
            "closes_at_0": closes.strftime("%Y-%m-%d"),
            "closes_at_1": "12:00:00",
            "max_submissions": 3,
        },
    )
    assert refused.status_code == 200
    assert "notification" in refused.context["adminform"].form.errors


def test_an_end_in_the_past_or_too_many_photos_are_refused(moderator):
    campaign = Notification.objects.create(
        kind=NotificationKind.CAMPAIGN, content={"de": {"title": "W", "body": "…"}}, audience_kind="all"
    )
    response = moderator.post(
        f"{PARTICIPATIONS}add/",
        {
            "notification": campaign.pk,
            "description_de": "x",
            "closes_at_0": "2020-01-01",
            "closes_at_1": "12:00:00",
            "max_submissions": 21,
        },
    )
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"closes_at", "max_submissions"}
    assert not Participation.objects.exists()


# --- Moderation


def test_the_moderation_list_shows_thumbnails_and_the_texts(moderator, device):
    participation = campaign_participation()
    submission = sent(participation, device, text="Schnee zu Weihnachten")

    page = moderator.get(f"{SUBMISSIONS}?participation__id__exact={participation.pk}&status__exact=pending")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'src="/media/{submission.thumbnail.name}"' in html
    assert "Schnee zu Weihnachten" in html
    assert str(device.pk) not in html  # moderators judge the photo, not the phone


def test_approving_from_the_list_publishes_with_or_without_the_text(
    moderator, device, other_device, anon_client, django_capture_on_commit_callbacks
):
    participation = campaign_participation()
    with_text = sent(participation, device, text="Frieden")
    without_text = sent(participation, other_device, text="Ruft mich an: 0171 2345678")

    _action(moderator, "approve", [with_text], django_capture_on_commit_callbacks)
    response = _action(moderator, "approve_without_text", [without_text], django_capture_on_commit_callbacks)

    assert "1 photo(s) approved." in response.content.decode()
    with_text.refresh_from_db()
    assert with_text.status == SubmissionStatus.APPROVED
    assert with_text.moderated_by == moderator.user
    assert with_text.published_at is not None
    gallery = anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery").json()["results"]
    assert {photo["id"]: photo["text"] for photo in gallery} == {with_text.pk: "Frieden", without_text.pk: ""}


def test_rejecting_deletes_the_photo(moderator, device, django_capture_on_commit_callbacks):
    submission = sent(campaign_participation(), device)
    files = stored_files(submission)
    assert len(files) == 2

    response = _action(moderator, "reject", [submission], django_capture_on_commit_callbacks)

    assert "1 photo(s) rejected and deleted." in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.REJECTED
    assert not submission.photo
    assert not submission.thumbnail
    assert campaign_files() == []


def test_removing_an_approved_photo_later_takes_it_out_of_gallery_and_storage(
    moderator, device, anon_client, django_capture_on_commit_callbacks
):
    participation = campaign_participation()
    submission = approved(participation, device)

    _action(moderator, "remove", [submission], django_capture_on_commit_callbacks)

    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.REMOVED
    assert campaign_files() == []
    assert anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery").json()["results"] == []


def test_a_decision_that_does_not_fit_the_status_changes_nothing(
    moderator, device, django_capture_on_commit_callbacks
):
    pending = sent(campaign_participation(), device)

    response = _action(moderator, "remove", [pending], django_capture_on_commit_callbacks)

    assert "Only approved photos can be removed." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == SubmissionStatus.PENDING
    assert len(stored_files(pending)) == 2


def test_the_photos_page_approves_with_an_edited_text(moderator, device, django_capture_on_commit_callbacks):
    submission = sent(campaign_participation(), device, text="Ich bin Erika und wünsche mir Frieden")
    page = moderator.get(f"{SUBMISSIONS}{submission.pk}/change/")
    html = page.content.decode()
    assert 'name="_approve"' in html
    assert 'name="_reject"' in html
    assert 'name="_remove"' not in html
    assert page.context["adminform"].form.initial["public_text"] == submission.text
    assert f'src="/media/{submission.thumbnail.name}"' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = moderator.post(
            f"{SUBMISSIONS}{submission.pk}/change/",
            {
                "public_text": "Ich wünsche mir Frieden",
                "moderation_note": "Name entfernt",
                "_approve": "Approve",
            },
        )

    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.APPROVED
    assert submission.public_text == "Ich wünsche mir Frieden"
    assert submission.text == "Ich bin Erika und wünsche mir Frieden"  # what was sent stays on record
    assert submission.moderation_note == "Name entfernt"
    approved_page = moderator.get(f"{SUBMISSIONS}{submission.pk}/change/").content.decode()
    assert 'name="_remove"' in approved_page
    assert 'name="_approve"' not in approved_page


def test_a_forged_decision_button_is_refused_on_the_page(moderator, device):
    submission = approved(campaign_participation(), device)
    response = moderator.post(f"{SUBMISSIONS}{submission.pk}/change/", {"public_text": "x", "_approve": "1"})
    assert response.status_code == 200
    assert "does not fit" in response.content.decode()
    submission.refresh_from_db()
    assert submission.public_text == "Frieden"


def test_nobody_adds_or_deletes_photos_in_the_workspace(moderator, device):
    submission = sent(campaign_participation(), device)
    assert moderator.get(f"{SUBMISSIONS}add/").status_code == 403
    assert moderator.post(f"{SUBMISSIONS}{submission.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Submission.objects.filter(pk=submission.pk).exists()


def test_triage_staff_cannot_moderate_or_download(device):
    participation = campaign_participation()
    submission = sent(participation, device)
    triage = browser("Triage")
    assert triage.get(SUBMISSIONS).status_code == 403
    assert (
        triage.post(SUBMISSIONS, {"action": "approve", "_selected_action": [submission.pk]}).status_code
        == 403
    )
    assert triage.get(f"{PARTICIPATIONS}{participation.pk}/archive/").status_code == 403
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING


# --- The ZIP for the city's other channels


def test_the_archive_holds_the_approved_photos_and_a_manifest(moderator, device, other_device):
    participation = campaign_participation()
    first = approved(participation, device, text="=Schnee zu Weihnachten")
    child = sent(participation, other_device, text="Ein Hund")
    child.is_child, child.parental_consent = True, True
    child.save()
    from push.participation.services import Decision, submission_moderate

    submission_moderate(submission=child, actor=None, decision=Decision.APPROVE)
    sent(participation, device, text="Noch offen")  # pending: not in the archive
    listing = moderator.get(PARTICIPATIONS).content.decode()
    assert f"/admin/push/participation/{participation.pk}/archive/" in listing

    response = moderator.get(f"{PARTICIPATIONS}{participation.pk}/archive/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="mitmach-aktion-{participation.pk}-' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    photos = sorted(name for name in archive.namelist() if name.endswith(".jpg"))
    assert photos == [f"0001-{first.pk}.jpg", f"0002-{child.pk}.jpg"]
    assert Image.open(io.BytesIO(archive.read(photos[0]))).format == "JPEG"
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [(row["file"], row["text"], row["sent_for_child"], row["parental_consent"]) for row in rows] == [
        (photos[0], "'=Schnee zu Weihnachten", "False", "False"),  # no formula in a spreadsheet
        (photos[1], "Ein Hund", "True", "True"),
    ]
    assert all(row["consent_to_publication_at"] for row in rows)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["campaign"] == participation.pk
    assert [photo["text"] for photo in manifest["photos"]] == ["=Schnee zu Weihnachten", "Ein Hund"]
    assert "Noch offen" not in response.getvalue().decode("latin-1")
    assert str(device.pk) not in response.getvalue().decode("latin-1")


def test_a_campaign_not_sent_yet_can_be_prepared_but_takes_no_photos(moderator):
    participation = campaign_participation(status=NotificationStatus.SCHEDULED)
    page = moderator.get(PARTICIPATIONS).content.decode()
    assert "Wunschfenster" in page
    assert participation.is_open(now=timezone.now()) is False
