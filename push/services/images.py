"""Images of push messages: uploaded in the workspace, fitted to what FCM accepts, stored for reuse."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import BinaryIO

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse

from casapp.images import image_fit
from push.models import PushImage

# FCM refuses notification images over 1 MB; Android shows them at most about 1,440 px wide.
PUSH_IMAGE_MAX_BYTES = 1_000_000
PUSH_IMAGE_MAX_EDGE = 1440
_IMAGE_PATH = re.compile(r"/push/images/([0-9a-f-]{36})\.jpg$")


@dataclass(frozen=True)
class FittedPushImage:
    """An upload made fit for FCM, not stored yet: its id (and so its address) is already fixed."""

    image: PushImage  # unsaved
    jpeg: bytes


def push_image_fit(*, upload: UploadedFile | BinaryIO, actor: User | None, name: str = "") -> FittedPushImage:
    """Turns an uploaded JPEG, PNG or WebP into a JPEG of at most ``PUSH_IMAGE_MAX_EDGE`` px and
    ``PUSH_IMAGE_MAX_BYTES`` bytes, without metadata; refuses anything else with the pipeline's
    ``DomainError`` (``unsupported_image``, ``photo_too_large``, ``invalid_photo``, ``image_too_large``)
    on ``image_upload``. Nothing is stored: the workspace stores it once the notification was saved, so a
    refused notification leaves no file behind."""
    fitted = image_fit(
        upload, field="image_upload", max_edge=PUSH_IMAGE_MAX_EDGE, max_bytes=PUSH_IMAGE_MAX_BYTES
    )
    image = PushImage(
        id=uuid.uuid4(),
        name=(name or getattr(upload, "name", "") or "")[:120] or "image",
        width=fitted.width,
        height=fitted.height,
        size_bytes=len(fitted.data),
        uploaded_by=actor,
    )
    return FittedPushImage(image=image, jpeg=fitted.data)


def push_image_store(fitted: FittedPushImage) -> PushImage:
    """Writes the file through the storage backend and the row that names it."""
    image = fitted.image
    image.file.save(f"{image.pk}.jpg", ContentFile(fitted.jpeg), save=False)
    image.save()
    return image


def push_image_upload(*, upload: UploadedFile | BinaryIO, actor: User | None, name: str = "") -> PushImage:
    """``push_image_fit`` and ``push_image_store`` in one."""
    return push_image_store(push_image_fit(upload=upload, actor=actor, name=name))


def push_image_path(image: PushImage) -> str:
    """The image's public path on this server; it never changes (see ``push.public_urls``)."""
    return reverse("push-image", kwargs={"pk": image.pk})


def push_image_of_url(url: str) -> PushImage | None:
    """The uploaded image a notification's ``image_url`` names, if it names one of ours."""
    found = _IMAGE_PATH.search(url or "")
    return PushImage.objects.filter(pk=found.group(1)).first() if found else None
