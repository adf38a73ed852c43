"""Withdrawing consent from the app erases a campaign photo everywhere: storage, gallery and archives.
Actors: the sending installation, another installation, an anonymous caller, a Kommunikation member."""

from __future__ import annotations

import io
import zipfile

import pytest

from push.participation.models import Submission
from tests.conftest import assert_error_shape
from tests.push.participation_support import (
    approved,
    browser,
    campaign_files,
    campaign_participation,
    sent,
    stored_files,
)

pytestmark = pytest.mark.django_db


def _withdraw(client, submission):
    return client.delete(f"/api/v1/campaigns/{submission.participation_id}/submissions/{submission.pk}")


def test_withdrawing_an_approved_photo_removes_it_everywhere(
    device_client, device, other_device, anon_client, django_capture_on_commit_callbacks
):
    participation = campaign_participation()
    withdrawn = approved(participation, device, text="Zurückgezogen")
    kept = approved(participation, other_device, text="Bleibt")
    assert len(stored_files(withdrawn)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = _withdraw(device_client, withdrawn)

    assert response.status_code == 204
    assert stored_files(withdrawn) == []
    assert sorted(campaign_files()) == sorted([kept.photo.name, kept.thumbnail.name])
    assert not Submission.objects.filter(pk=withdrawn.pk).exists()
    gallery = anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery").json()["results"]
    assert [photo["id"] for photo in gallery] == [kept.pk]
    staff = browser("Kommunikation")
    archive = zipfile.ZipFile(
        io.BytesIO(staff.get(f"/admin/push/participation/{participation.pk}/archive/").getvalue())
    )
    assert "Zurückgezogen" not in archive.read("manifest.csv").decode("utf-8-sig")
    assert len([name for name in archive.namelist() if name.endswith(".jpg")]) == 1


def test_withdrawing_a_pending_photo_erases_it(device_client, device, django_capture_on_commit_callbacks):
    submission = sent(campaign_participation(), device)

    with django_capture_on_commit_callbacks(execute=True):
        assert _withdraw(device_client, submission).status_code == 204

    assert stored_files(submission) == []
    assert campaign_files() == []


def test_another_installation_cannot_withdraw_a_photo(
    other_device_client, device, django_capture_on_commit_callbacks
):
    submission = approved(campaign_participation(), device)

    with django_capture_on_commit_callbacks(execute=True):
        response = _withdraw(other_device_client, submission)

    assert_error_shape(response, 404, "not_found")
    assert len(stored_files(submission)) == 2
    assert Submission.objects.filter(pk=submission.pk).exists()


def test_a_photo_of_another_campaign_id_is_not_found(device_client, device):
    submission = sent(campaign_participation(), device)
    other = campaign_participation()
    response = device_client.delete(f"/api/v1/campaigns/{other.pk}/submissions/{submission.pk}")
    assert_error_shape(response, 404, "not_found")


def test_anonymous_callers_cannot_withdraw(anon_client, device):
    submission = sent(campaign_participation(), device)
    assert_error_shape(_withdraw(anon_client, submission), 401, "not_authenticated")
    assert Submission.objects.filter(pk=submission.pk).exists()


def test_erasing_the_installation_erases_its_photos(
    device_client, device, other_device, django_capture_on_commit_callbacks
):
    participation = campaign_participation()
    mine = approved(participation, device)
    theirs = approved(participation, other_device)

    with django_capture_on_commit_callbacks(execute=True):
        assert device_client.delete("/api/v1/devices/me").status_code == 204

    assert stored_files(mine) == []
    assert list(Submission.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert len(stored_files(theirs)) == 2
