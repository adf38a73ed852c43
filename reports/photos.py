"""The Mängelmelder's photos: the shared image pipeline (``casapp.images``) at the report's sizes.

One upload in, a clean JPEG of at most MAX_EDGE px and its thumbnail of THUMBNAIL_EDGE px out. Pure: no
database, no storage, no network. The report service stores the bytes it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.core.files.uploadedfile import UploadedFile

from casapp.images import (
    JPEG_QUALITY,
    MAX_DECODED_PIXELS,
    MAX_DECODED_PIXELS_PER_REQUEST,
    MAX_EDGE,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    SanitisedImage,
    image_decode_cost,
    image_sanitise,
    images_sanitise,
)
from casapp.images import ImagesTooLarge as PhotosTooLarge

THUMBNAIL_EDGE = 400

__all__ = [
    "JPEG_QUALITY",
    "MAX_DECODED_PIXELS",
    "MAX_DECODED_PIXELS_PER_REQUEST",
    "MAX_EDGE",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "THUMBNAIL_EDGE",
    "PhotosTooLarge",
    "ProcessedPhoto",
    "photo_decode_cost",
    "photo_process",
    "photos_process",
]


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes  # JPEG, ≤ MAX_EDGE px on the long edge, auto-oriented, no metadata at all
    thumbnail: bytes  # JPEG, ≤ THUMBNAIL_EDGE px on the long edge, the same picture
    width: int  # of ``image``
    height: int


def photos_process(
    uploads: Sequence[UploadedFile | BinaryIO], *, field: str = "photos"
) -> list[ProcessedPhoto]:
    """``photo_process`` for each upload within one decoding budget (``casapp.images.images_sanitise``:
    413 ``photos_too_large`` before anything is decoded when the photos together cost too much)."""
    sanitised = images_sanitise(uploads, field=field, max_edge=MAX_EDGE, thumbnail_edge=THUMBNAIL_EDGE)
    return [_processed(image) for image in sanitised]


def photo_decode_cost(upload: UploadedFile | BinaryIO, *, field: str = "photos") -> int:
    """The weighted pixels decoding this photo would cost (``casapp.images.image_decode_cost``)."""
    return image_decode_cost(upload, field=field, max_edge=MAX_EDGE)


def photo_process(upload: UploadedFile | BinaryIO, *, field: str = "photos") -> ProcessedPhoto:
    """A publishable JPEG and its thumbnail, or a refusal: the guarantees of
    ``casapp.images.image_sanitise`` (metadata stripped, upright, sRGB, bounded size and cost)."""
    return _processed(image_sanitise(upload, field=field, max_edge=MAX_EDGE, thumbnail_edge=THUMBNAIL_EDGE))


def _processed(image: SanitisedImage) -> ProcessedPhoto:
    if image.thumbnail is None:  # pragma: no cover - asked for by every caller above
        raise RuntimeError("the pipeline made no thumbnail")
    return ProcessedPhoto(image=image.data, thumbnail=image.thumbnail, width=image.width, height=image.height)
