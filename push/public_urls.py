"""Public files of push, served by us at addresses that never change or expire: the images of push
messages, and the photos of Mitmach-Aktionen.

Phones load a message's image when it arrives, possibly days later (FCM holds messages up to four
weeks), and an app keeps a gallery page: a signed storage URL would have expired by then, and without a
bucket nothing else serves the media folder outside debug.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from push.models import PushImage
from push.participation.models import Submission, SubmissionStatus


@require_safe
def push_image(request: HttpRequest, pk: str) -> FileResponse:
    image = PushImage.objects.filter(pk=pk).first()
    if image is None or not default_storage.exists(image.file.name):
        raise Http404
    response = FileResponse(default_storage.open(image.file.name, "rb"), content_type="image/jpeg")
    # The id names the bytes: they never change, so caches may keep them.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@require_safe
def campaign_photo(request: HttpRequest, participation_id: int, name: str) -> FileResponse:
    """A photo (or its thumbnail) of a Mitmach-Aktion while it may be shown: approved, or awaiting
    moderation (then only its sender has the address: the file name is random). A rejected, removed or
    withdrawn photo has no file any more: 404 at once."""
    stored = f"campaigns/{participation_id}/{name}.jpg"
    submission = (
        Submission.objects.filter(Q(photo=stored) | Q(thumbnail=stored))
        .filter(status__in=[SubmissionStatus.APPROVED, SubmissionStatus.PENDING])
        .only("status")
        .first()
    )
    if submission is None or not default_storage.exists(stored):
        raise Http404
    response = FileResponse(default_storage.open(stored, "rb"), content_type="image/jpeg")
    # Short: a photo the city removes must leave shared caches soon (its file is deleted at once).
    visibility = "public" if submission.status == SubmissionStatus.APPROVED else "private"
    response["Cache-Control"] = f"{visibility}, max-age=300"
    return response


urlpatterns: list[URLPattern] = [
    path("images/<uuid:pk>.jpg", push_image, name="push-image"),
    path(
        "campaign-photos/<int:participation_id>/<slug:name>.jpg",
        campaign_photo,
        name="push-campaign-photo",
    ),
]
