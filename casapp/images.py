"""The safe image pipeline: one upload in, a clean JPEG (and, when asked for, its thumbnail) out.

Shared by the Mängelmelder's report photos (``reports.photos``), the photos citizens send to a campaign
(``push.participation``) and any other picture the public uploads. Pure: no database, no storage, no
network; the caller stores the bytes it gets. What leaves this module never carries the uploader's
metadata (EXIF with GPS position, camera make and serial, XMP, comments, ICC profiles): the pictures are
shown publicly.

The API is small on purpose: ``image_sanitise`` (one upload), ``images_sanitise`` (the uploads of one
request, within a common decoding budget) and ``image_decode_cost``; each answers ``SanitisedImage``
(bytes, content type, dimensions, optional thumbnail). Refusals are ``DomainError``s with stable codes
(``unsupported_photo``, ``invalid_photo``, ``photo_too_large``; ``photos_too_large`` for a request).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from django.core.files.uploadedfile import UploadedFile
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from casapp.errors import DomainError

# Pillow and pillow-heif (~11 MB) are imported on the first picture, not with this module: every process
# imports the services that use it, but a push worker never processes a photo and stays smaller without them.
if TYPE_CHECKING:
    from PIL import Image, ImageCms

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
# The default long edge of what is kept: sharp on any phone, ~0.5-1 MB as JPEG.
MAX_EDGE = 2048
# A 12-MP phone photo is ~12 M pixels, the 48/50-MP modes of recent phones 48.8 M (8064 x 6048) and
# 49.9 M (8160 x 6120): all pass. Decoded as RGBA, 50 M pixels already take 200 MB of memory, and a PNG
# of that size compresses to a few KB when it is one colour, so the limit is what keeps a tiny upload
# from taking a worker's memory (a decompression bomb). Checked from the header, before decoding.
MAX_PIXELS = 50_000_000
# What decoding and scaling cost grows with the pixels actually decoded: about 7 bytes of memory and 20-30 ms
# of CPU per pixel for a JPEG (at the scale it is decoded at, see ``_draft_size``), an opaque PNG or a HEIC
# (measured with Pillow 13 and pillow-heif 1.9; figures in docs/api.md#limits). Photos are processed one
# after the other, so the memory a request needs is that of its largest photo, its CPU that of all.
# 25 M keeps a photo to ~175 MB: a 24-MP photo (the default of recent iPhones, 5712 x 4284) at full size,
# a 48/50-MP JPEG at half size (12.5 M).
MAX_DECODED_PIXELS = 25_000_000
# 64 M keeps a report's photos to ~2 s of CPU: five 12-MP photos, or five 50-MP JPEGs at half size.
MAX_DECODED_PIXELS_PER_REQUEST = 64_000_000
# Pictures that cost more per pixel count more: an alpha channel (RGBA is premultiplied into a copy for the
# resize), WebP (libwebp decodes into a buffer of its own, copied into Pillow's); and a progressive JPEG
# keeps every DCT coefficient of the full-size picture while it is decoded, at any scale.
_ALPHA_WEIGHT = 1.6
_WEBP_WEIGHT = 2.3
_PROGRESSIVE_JPEG_FULL_SIZE_WEIGHT = 0.3
JPEG_QUALITY = 85

# Only these decoders ever see an upload: Pillow's rarer parsers (TIFF, PSD, EPS ...) are not reachable.
_DECODERS = ("JPEG", "PNG", "WEBP", "HEIF")
# What Image.format can then say. "MPO" is Pillow's name for a JPEG that carries further pictures
# (depth maps, previews): phone cameras write those; we use the first picture, which is the photo.
_ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF"})
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
# The brands pillow-heif's opener accepts (its own list): HEVC-coded pictures, not AVIF.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
# Errors Pillow's decoders raise on a damaged file of an accepted format.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError)
_WHITE = (255, 255, 255)

_UNSUPPORTED_MESSAGE = _("Photos must be JPEG, PNG, WebP or HEIC.")
_TOO_LARGE_MESSAGE = format_lazy(
    _("A photo may be at most {megabytes} MB."), megabytes=MAX_UPLOAD_BYTES // (1024 * 1024)
)
_TOO_MANY_PIXELS_MESSAGE = format_lazy(
    _("A photo may have at most {megapixels} megapixels."), megapixels=MAX_PIXELS // 1_000_000
)
_INVALID_MESSAGE = _("The photo could not be read. It may be damaged or incomplete.")
_TOO_COSTLY_MESSAGE = format_lazy(
    _(
        "This photo is too large to process: at most {megapixels} megapixels (fewer for WebP and "
        "transparent pictures)."
    ),
    megapixels=MAX_DECODED_PIXELS // 1_000_000,
)
_TOO_COSTLY_TOGETHER_MESSAGE = format_lazy(
    _(
        "Together these photos are too large to process (about {megapixels} megapixels in all): "
        "send fewer or smaller ones."
    ),
    megapixels=MAX_DECODED_PIXELS_PER_REQUEST // 1_000_000,
)


class ImagesTooLarge(DomainError):
    """The pictures of one request would together cost more than ``MAX_DECODED_PIXELS_PER_REQUEST``."""

    status = 413
    code = "photos_too_large"


_pillow_lock = threading.Lock()
_pillow_ready = False


def _pillow_load() -> None:
    """Import pillow-heif and register its HEIF opener with Pillow: once per process, on the first photo."""
    global _pillow_ready  # noqa: PLW0603 - one per-process flag, set once under the lock
    if _pillow_ready:
        return
    with _pillow_lock:
        if not _pillow_ready:
            import pillow_heif

            # HEIC is what iPhones take photos in. Registering adds a Pillow plugin to the process.
            pillow_heif.register_heif_opener()
            _pillow_ready = True


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


JPEG_CONTENT_TYPE = "image/jpeg"


@dataclass(frozen=True)
class SanitisedImage:
    data: bytes  # the encoded picture: auto-oriented, ≤ max_edge px on the long edge, no metadata at all
    content_type: str  # of ``data`` (always JPEG today)
    width: int  # of ``data``
    height: int
    thumbnail: bytes | None = None  # the same picture, ≤ thumbnail_edge px, same type; when asked for


def images_sanitise(
    uploads: Sequence[UploadedFile | BinaryIO],
    *,
    field: str = "images",
    max_edge: int = MAX_EDGE,
    thumbnail_edge: int | None = None,
) -> list[SanitisedImage]:
    """``image_sanitise`` for each upload, after the headers of all of them said the lot is affordable.

    Guarantees, beyond ``image_sanitise``'s: nothing is decoded when the pictures together would decode
    more than MAX_DECODED_PIXELS_PER_REQUEST weighted pixels (``ImagesTooLarge``, 413, ``photos_too_large``);
    a picture refused on its own is refused before any other is decoded. Uploads must be seekable
    (Django's are): each is read twice, its header first. Errors name ``<field>.<index>``.
    """
    costs = [
        image_decode_cost(upload, field=f"{field}.{index}", max_edge=max_edge)
        for index, upload in enumerate(uploads)
    ]
    if sum(costs) > MAX_DECODED_PIXELS_PER_REQUEST:
        raise ImagesTooLarge(_TOO_COSTLY_TOGETHER_MESSAGE, field=field)
    return [
        image_sanitise(upload, field=f"{field}.{index}", max_edge=max_edge, thumbnail_edge=thumbnail_edge)
        for index, upload in enumerate(uploads)
    ]


def image_decode_cost(
    upload: UploadedFile | BinaryIO, *, field: str = "image", max_edge: int = MAX_EDGE
) -> int:
    """The weighted pixels decoding this picture would cost, judged from its header; refuses it as
    ``image_sanitise`` would when it is too large, of another format or unreadable in its header."""
    _pillow_load()
    data = _read_bounded(upload, field=field)
    with _bombs_refused():
        _picture, cost = _prepared(data, field=field, max_edge=max_edge)
    return cost


def image_sanitise(
    upload: UploadedFile | BinaryIO,
    *,
    field: str = "image",
    max_edge: int = MAX_EDGE,
    thumbnail_edge: int | None = None,
) -> SanitisedImage:
    """Turn one uploaded picture into a publishable JPEG (and its thumbnail), or refuse it.

    Guarantees:
    - The format is decided by the decoded content, never by file name or the client's content type:
      JPEG, PNG, WebP and HEIC/HEIF are accepted; anything else (including content that is no image at
      all, a text file named ``.jpg``) raises DomainError ``unsupported_photo``.
    - More than MAX_UPLOAD_BYTES raises ``photo_too_large`` before anything is decoded (at most
      MAX_UPLOAD_BYTES + 1 bytes are read); so does an image of more than MAX_PIXELS pixels, or one whose
      decoding would cost more than MAX_DECODED_PIXELS weighted pixels, judged from its header before
      the pixels are decoded.
    - A damaged or truncated file of an accepted format raises ``invalid_photo``.
    - Every error carries ``field``, e.g. ``"photos.2"`` for the third photo of a request.
    - The result is turned upright by its EXIF orientation, scaled down (never up) to ``max_edge`` (and
      ``thumbnail_edge`` for the thumbnail) on the long edge, flattened onto white if it had transparency,
      converted to sRGB if it carried a colour profile, and encoded as a progressive JPEG that carries
      no metadata.

    A seekable upload is read from its start. Cost: the JPEG decode and the resize dominate. A JPEG
    large enough is decoded by libjpeg at a reduced scale (``Image.draft``), never below ``max_edge``:
    that halves the work for a 48-MP photo but cannot help a 12-MP one (4000 px / 2 < 2048 px).
    """
    _pillow_load()
    data = _read_bounded(upload, field=field)
    with _bombs_refused():
        picture = _decode(data, field=field, max_edge=max_edge)
    return _publishable(picture, max_edge=max_edge, thumbnail_edge=thumbnail_edge)


@contextlib.contextmanager
def _bombs_refused() -> Iterator[None]:
    from PIL import Image

    with warnings.catch_warnings():
        # Pillow's own decompression-bomb guard only warns between its limit and twice that; here a
        # warning is a refusal. Our MAX_PIXELS check is stricter still; this is the second fence.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _read_bounded(upload: UploadedFile | BinaryIO, *, field: str) -> bytes:
    declared_size = getattr(upload, "size", None)
    if isinstance(declared_size, int) and declared_size > MAX_UPLOAD_BYTES:
        raise DomainError(_TOO_LARGE_MESSAGE, code="photo_too_large", field=field)
    if upload.seekable():
        upload.seek(0)
    chunks: list[bytes] = []
    remaining = MAX_UPLOAD_BYTES + 1
    while remaining > 0:
        # A raw stream may return less than asked for; only b"" means the end.
        chunk = upload.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(_TOO_LARGE_MESSAGE, code="photo_too_large", field=field)
    return data


def _decode(data: bytes, *, field: str, max_edge: int) -> Image.Image:
    """Open twice: ``verify()`` leaves an image unusable, so the pixels come from a second open."""
    from PIL import Image

    try:
        probe = _open(data, field=field)
        _refuse_too_many_pixels(probe, field=field)
        probe.verify()
        picture, _cost = _prepared(data, field=field, max_edge=max_edge)
        picture.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DomainError(_TOO_MANY_PIXELS_MESSAGE, code="photo_too_large", field=field) from error
    except _DECODE_ERRORS as error:
        # ImageFile.LOAD_TRUNCATED_IMAGES stays False, so a cut-off file ends up here.
        raise DomainError(_INVALID_MESSAGE, code="invalid_photo", field=field) from error
    return picture


def _prepared(data: bytes, *, field: str, max_edge: int) -> tuple[Image.Image, int]:
    """The photo opened (its header read, nothing decoded) and set to decode at the scale it will be used
    at, with what decoding it will cost; refused if that is too much."""
    from PIL import Image

    try:
        picture = _open(data, field=field)
        _refuse_too_many_pixels(picture, field=field)
        full_size = picture.size
        if (
            picture.format in _JPEG_FORMATS
            and (target := _draft_size(full_size, max_edge=max_edge)) is not None
        ):
            picture.draft("RGB", target)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DomainError(_TOO_MANY_PIXELS_MESSAGE, code="photo_too_large", field=field) from error
    except _DECODE_ERRORS as error:
        raise DomainError(_INVALID_MESSAGE, code="invalid_photo", field=field) from error
    cost = _decode_cost(picture, full_size=full_size)
    if cost > MAX_DECODED_PIXELS:
        raise DomainError(_TOO_COSTLY_MESSAGE, code="photo_too_large", field=field)
    return picture, cost


def _refuse_too_many_pixels(picture: Image.Image, *, field: str) -> None:
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise DomainError(_TOO_MANY_PIXELS_MESSAGE, code="photo_too_large", field=field)


def _decode_cost(picture: Image.Image, *, full_size: tuple[int, int]) -> int:
    """Weighted pixels (see MAX_DECODED_PIXELS) of an opened, prepared, not yet decoded picture."""
    width, height = picture.size  # after draft(): the size it will be decoded at
    cost = float(width * height)
    if picture.format == "WEBP":
        cost *= _WEBP_WEIGHT
    elif _has_alpha(picture):
        cost *= _ALPHA_WEIGHT
    if picture.format in _JPEG_FORMATS and picture.info.get("progressive"):
        cost += full_size[0] * full_size[1] * _PROGRESSIVE_JPEG_FULL_SIZE_WEIGHT
    return math.ceil(cost)


def _has_alpha(picture: Image.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in picture.info


def _open(data: bytes, *, field: str) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data), formats=_DECODERS)
    except UnidentifiedImageError as error:
        # Pillow says the same for "no image at all" and "a JPEG cut off inside its header".
        if _announces_accepted_format(data):
            raise DomainError(_INVALID_MESSAGE, code="invalid_photo", field=field) from error
        raise DomainError(_UNSUPPORTED_MESSAGE, code="unsupported_photo", field=field) from error
    if image.format not in _ACCEPTED_FORMATS:
        raise DomainError(_UNSUPPORTED_MESSAGE, code="unsupported_photo", field=field)
    return image


def _announces_accepted_format(data: bytes) -> bool:
    """The file's signature is one of ours: JPEG, PNG, WebP or HEIF."""
    return (
        data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS)
    )


def _draft_size(size: tuple[int, int], *, max_edge: int) -> tuple[int, int] | None:
    """The size the photo will be scaled to; libjpeg then decodes at the smallest scale not below it."""
    width, height = size
    scale = max_edge / max(width, height)
    if scale >= 1:
        return None
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _publishable(picture: Image.Image, *, max_edge: int, thumbnail_edge: int | None) -> SanitisedImage:
    from PIL import Image

    clean = _clean_rgb(picture, max_edge=max_edge)
    thumbnail = None
    if thumbnail_edge is not None:
        small = clean.copy()
        small.thumbnail((thumbnail_edge, thumbnail_edge), Image.Resampling.LANCZOS)
        thumbnail = _jpeg(small)
    return SanitisedImage(
        data=_jpeg(clean),
        content_type=JPEG_CONTENT_TYPE,
        width=clean.width,
        height=clean.height,
        thumbnail=thumbnail,
    )


def _clean_rgb(picture: Image.Image, *, max_edge: int) -> Image.Image:
    """The picture at most ``max_edge`` px, upright, sRGB, flattened onto white, with no metadata."""
    from PIL import Image

    icc_profile = picture.info.get("icc_profile")
    working = _rgb_or_rgba(picture)
    working.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    _turn_upright(working)
    if isinstance(icc_profile, bytes) and icc_profile:
        working = _to_srgb(working, icc_profile)
    # A fresh image carries no info dict: Pillow copies ``info`` through convert/resize and its JPEG
    # encoder writes ``info["comment"]`` of the image it saves, so nothing of the upload may reach it.
    transparent = working.mode == "RGBA"
    # Uninitialised when opaque: the paste covers every pixel, a white fill would cost 10 ms in vain.
    clean = Image.new("RGB", working.size, _WHITE if transparent else None)
    clean.paste(working, mask=working if transparent else None)
    return clean


def _rgb_or_rgba(picture: Image.Image) -> Image.Image:
    """Convert before resizing: palette images resize with nearest-neighbour, RGBA premultiplied."""
    if picture.mode.startswith("I;16"):
        # 16-bit grey: Pillow's direct conversion clips everything above 255 to white.
        picture = picture.convert("I").point(lambda value: value / 256).convert("L")
    if _has_alpha(picture):
        return picture.convert("RGBA") if picture.mode != "RGBA" else picture
    return picture.convert("RGB") if picture.mode != "RGB" else picture


def _turn_upright(working: Image.Image) -> None:
    from PIL import ImageOps

    # Unreadable EXIF: the pixels are still a usable photo, shown as stored.
    with contextlib.suppress(*_DECODE_ERRORS):
        ImageOps.exif_transpose(working, in_place=True)


def _to_srgb(working: Image.Image, icc_profile: bytes) -> Image.Image:
    """Dropping a profile without converting would dull an iPhone's Display P3 photo's colours."""
    from PIL import ImageCms

    try:
        embedded = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        # Most photos say sRGB already; converting sRGB to sRGB would cost a 12-MP photo 45 ms.
        if embedded.profile.xcolor_space.strip() != "RGB" or "sRGB" in (
            embedded.profile.profile_description or ""
        ):
            return working
        transform = ImageCms.buildTransform(embedded, _srgb_profile(), working.mode, working.mode)
        return transform.apply(working)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken profile: keep the pixels as they are rather than refuse the photo.
        return working


def _jpeg(image: Image.Image, *, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    # No exif/icc_profile/comment arguments: the encoder writes only the JFIF header and the picture.
    image.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()


# --- Pictures that must fit a size in bytes (push images)

_IMAGE_FORMATS_MESSAGE = _("Images must be JPEG, PNG or WebP.")
_IMAGE_TOO_LARGE_TO_FIT = _("The image cannot be compressed to the size allowed.")
_FIT_QUALITIES = (85, 78, 70, 62, 55)


def image_fit(
    upload: UploadedFile | BinaryIO,
    *,
    field: str,
    max_edge: int,
    max_bytes: int,
    formats: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP"}),
) -> SanitisedImage:
    """A JPEG of at most ``max_edge`` px on the long edge and at most ``max_bytes`` bytes, or a refusal.

    The guarantees of ``image_sanitise`` (format decided by the content, size and pixel limits judged
    before decoding, upright, sRGB, flattened onto white, no metadata), and: only ``formats`` are accepted
    (``unsupported_image``; "MPO" counts as JPEG); the quality is lowered step by step, then the edge,
    until the JPEG fits; a picture that does not fit even then raises ``image_too_large``.
    """
    from PIL import Image

    _pillow_load()
    data = _read_bounded(upload, field=field)
    with _bombs_refused():
        picture = _decode(data, field=field, max_edge=max_edge)
        kind = "JPEG" if picture.format in _JPEG_FORMATS else picture.format
        if kind not in formats:
            raise DomainError(_IMAGE_FORMATS_MESSAGE, code="unsupported_image", field=field)
        clean = _clean_rgb(picture, max_edge=max_edge)
    edge = max_edge
    while edge >= 200:
        if max(clean.size) > edge:
            clean.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        for quality in _FIT_QUALITIES:
            encoded = _jpeg(clean, quality=quality)
            if len(encoded) <= max_bytes:
                return SanitisedImage(
                    data=encoded, content_type=JPEG_CONTENT_TYPE, width=clean.width, height=clean.height
                )
        edge = int(edge * 0.75)
    raise DomainError(_IMAGE_TOO_LARGE_TO_FIT, code="image_too_large", field=field)
