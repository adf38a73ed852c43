"""Mitmach-Aktionen in tests: a published campaign that invites photos, photos as a phone sends them, and
a look into the storage. Shared by the campaign API and workspace tests."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from push.models import Installation, Notification, NotificationKind, NotificationStatus
from push.participation.models import Participation, Submission
from push.participation.services import Decision, submission_create, submission_moderate
from tests.factories import StaffFactory
from tests.reports import images

WUNSCHFENSTER = {
    "de": {"title": "Wunschfenster", "body": "Malt euren Wunsch ins Fenster und schickt uns ein Foto!"},
    "en": {"title": "Wish window", "body": "Paint your wish into your window and send us a photo!"},
}


def campaign_participation(
    *,
    status: str = NotificationStatus.SENT,
    closes_in: timedelta = timedelta(days=14),
    max_submissions: int = 3,
) -> Participation:
    """A campaign notification in ``status`` (sent: published) that invites photos until ``closes_in``."""
    now = timezone.now()
    notification = Notification.objects.create(
        kind=NotificationKind.CAMPAIGN,
        content=WUNSCHFENSTER,
        audience_kind="all",
        status=status,
        started_at=now if status == NotificationStatus.SENT else None,
    )
    return Participation.objects.create(
        notification=notification,
        description_de="Ein Foto eures Fensters mit dem Wunsch.",
        description_en="A photo of your window with the wish.",
        closes_at=now + closes_in,
        max_submissions=max_submissions,
    )


def phone_photo(name: str = "IMG_0001.jpg", *, size: tuple[int, int] = (1200, 900)) -> SimpleUploadedFile:
    """A JPEG as a phone writes it: EXIF orientation 6, GPS position, camera make, XMP, a comment."""
    return SimpleUploadedFile(
        name, images.phone_jpeg(size, orientation=6, noise=False), content_type="image/jpeg"
    )


def submit(client: APIClient, participation: Participation, **fields: Any) -> Any:
    body = {"photo": phone_photo(), "text": "Schnee zu Weihnachten", "consent_publication": "true", **fields}
    body = {key: value for key, value in body.items() if value is not None}
    return client.post(f"/api/v1/campaigns/{participation.pk}/submissions", body, format="multipart")


def sent(participation: Participation, installation: Installation, text: str = "Frieden") -> Submission:
    """A photo an installation sent, through the service as the API calls it."""
    return submission_create(
        participation=participation,
        installation=installation,
        photo=io.BytesIO(images.phone_jpeg((800, 600), orientation=None, noise=False)),
        text=text,
        consent_publication=True,
    )


def approved(participation: Participation, installation: Installation, text: str = "Frieden") -> Submission:
    submission = sent(participation, installation, text)
    return submission_moderate(submission=submission, actor=None, decision=Decision.APPROVE)


def stored_files(submission: Submission) -> list[str]:
    """The names of the submission's files the storage holds now."""
    return [
        name for name in (submission.photo.name, submission.thumbnail.name) if default_storage.exists(name)
    ]


def campaign_files() -> list[str]:
    """Every file under the storage's ``campaigns/`` folder."""
    found: list[str] = []
    if not default_storage.exists("campaigns"):
        return found
    folders, _files = default_storage.listdir("campaigns")
    for folder in folders:
        _sub, files = default_storage.listdir(f"campaigns/{folder}")
        found += [f"campaigns/{folder}/{name}" for name in files]
    return found


def browser(*roles: str) -> Client:
    """A staff member's browser session in the workspace; English, so messages compare in one language."""
    client = Client(headers={"Accept-Language": "en"})
    user = StaffFactory(roles=list(roles))
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client
