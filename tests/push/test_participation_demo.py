"""load_demo opens the Mitmach-Aktion "Wunschfenster" with photos sent in, so the workspace is not empty."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from push.participation.models import Participation, Submission, SubmissionStatus
from tests.push.participation_support import browser

pytestmark = pytest.mark.django_db


def load_demo() -> str:
    stdout = io.StringIO()
    call_command("load_demo", stdout=stdout)
    return stdout.getvalue()


def test_demo_opens_the_wunschfenster_with_approved_and_pending_photos(anon_client):
    output = load_demo()

    assert "Mitmach-Aktionen: Wunschfenster open for photos, 3 sent in (2 approved)." in output
    participation = Participation.objects.get()
    assert participation.notification.content["de"]["title"] == "Wunschfenster"
    statuses = sorted(Submission.objects.values_list("status", flat=True))
    assert statuses == [SubmissionStatus.APPROVED, SubmissionStatus.APPROVED, SubmissionStatus.PENDING]
    campaign = anon_client.get(f"/api/v1/campaigns/{participation.pk}").json()
    assert campaign["open"] is True
    assert campaign["photos_published"] == 2
    gallery = anon_client.get(f"/api/v1/campaigns/{participation.pk}/gallery").json()["results"]
    assert {photo["text"] for photo in gallery} == {"Schnee zu Weihnachten", "Frieden für alle"}
    moderation = browser("Kommunikation").get("/admin/push/submission/?status__exact=pending")
    assert "Ein Hund für unsere Familie" in moderation.content.decode()


def test_a_second_run_changes_nothing():
    load_demo()

    output = load_demo()

    assert "Mitmach-Aktionen: Wunschfenster already there." in output
    assert Participation.objects.count() == 1
    assert Submission.objects.count() == 3
