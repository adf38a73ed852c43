"""The Mängelmelder's photo pipeline: one upload in, a clean JPEG and its thumbnail out.

The pipeline itself is shared (``casapp.images``: campaign pictures and push images use it too); the
report service imports it from here, with the limits that are the Mängelmelder's.
"""

from __future__ import annotations

from casapp.images import (
    JPEG_QUALITY,
    MAX_DECODED_PIXELS,
    MAX_DECODED_PIXELS_PER_REQUEST,
    MAX_EDGE,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    THUMBNAIL_EDGE,
    PhotosTooLarge,
    ProcessedPhoto,
    photo_decode_cost,
    photo_process,
    photos_process,
)

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
