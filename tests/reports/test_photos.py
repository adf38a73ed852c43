"""The photo pipeline: what reaches the public is upright, small enough and carries nothing of the uploader.

Pure functions: no database. Every image is made here (tests/reports/images.py).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pillow_heif
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image, ImageFile

from casapp.errors import DomainError
from reports.photos import (
    MAX_DECODED_PIXELS,
    MAX_DECODED_PIXELS_PER_REQUEST,
    MAX_EDGE,
    MAX_UPLOAD_BYTES,
    THUMBNAIL_EDGE,
    PhotosTooLarge,
    ProcessedPhoto,
    photo_decode_cost,
    photo_process,
    photos_process,
)
from tests.reports import images
from tests.reports.images import assert_colour, assert_no_metadata, opened

FIELD = "photos.2"


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """12 MP, landscape pixels with EXIF orientation 6 (the phone was held upright), GPS and all.

    Without sensor noise: making a noisy one costs 1.5 s, and these tests are about geometry and metadata.
    """
    return images.phone_jpeg((4000, 3000), orientation=6, noise=False)


@pytest.fixture(scope="module")
def processed_phone_photo(phone_photo: bytes) -> ProcessedPhoto:
    return photo_process(io.BytesIO(phone_photo), field=FIELD)


def refused(upload: bytes | io.IOBase | SimpleUploadedFile) -> DomainError:
    stream = io.BytesIO(upload) if isinstance(upload, bytes) else upload
    with pytest.raises(DomainError) as caught:
        photo_process(stream, field=FIELD)
    assert caught.value.field == FIELD
    assert caught.value.status == 400
    return caught.value


# --- phone photos -----------------------------------------------------------------------------------


def test_phone_photo_input_carries_what_a_phone_writes(phone_photo: bytes) -> None:
    """Guards the test data: without GPS in the input, the stripping tests would prove nothing."""
    source = Image.open(io.BytesIO(phone_photo))
    exif = source.getexif()
    assert exif[ExifTags.Base.Make] == images.PHONE_MAKE
    assert exif[ExifTags.Base.Orientation] == 6
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == images.LATITUDE
    assert {"xmp", "comment", "icc_profile"} <= set(source.info)


def test_phone_photo_loses_all_metadata(processed_phone_photo: ProcessedPhoto) -> None:
    assert_no_metadata(processed_phone_photo.image)
    assert_no_metadata(processed_phone_photo.thumbnail)


def test_phone_photo_is_turned_upright_and_scaled_down(processed_phone_photo: ProcessedPhoto) -> None:
    photo = processed_phone_photo
    assert (photo.width, photo.height) == (1536, 2048)
    image = opened(photo.image)
    assert image.size == (1536, 2048)
    assert image.info.get("progressive")
    # Orientation 6 means "turn 90° clockwise": the stored top-left corner is shown top right,
    # the stored top-right corner bottom right. A mirror or a wrong turn puts them elsewhere.
    assert_colour(image.getpixel((1536 - 60, 60)), images.RED)
    assert_colour(image.getpixel((1536 - 60, 2048 - 60)), images.BLUE)
    assert_colour(image.getpixel((60, 60)), images.GREY, tolerance=40)
    assert_colour(image.getpixel((60, 2048 - 60)), images.GREY, tolerance=40)

    thumbnail = opened(photo.thumbnail)
    assert thumbnail.size == (300, 400)
    assert_colour(thumbnail.getpixel((300 - 10, 10)), images.RED)


def test_small_photo_is_not_enlarged() -> None:
    photo = photo_process(io.BytesIO(images.phone_jpeg((640, 480), orientation=None, noise=False)))
    assert (photo.width, photo.height) == (640, 480)
    assert opened(photo.image).size == (640, 480)
    assert opened(photo.thumbnail).size == (THUMBNAIL_EDGE, 300)
    assert_no_metadata(photo.image)


def test_48_megapixel_jpeg_is_decoded_at_reduced_scale_without_losing_size() -> None:
    """Image.draft decodes at 1/2 here (4032 px); the result still has the full MAX_EDGE."""
    photo = photo_process(io.BytesIO(images.phone_jpeg((8064, 6048), orientation=None, noise=False)))
    assert (photo.width, photo.height) == (MAX_EDGE, 1536)
    image = opened(photo.image)
    assert_colour(image.getpixel((40, 40)), images.RED)
    assert_colour(image.getpixel((MAX_EDGE - 40, 40)), images.BLUE)


def test_multi_picture_jpeg_from_a_phone_is_accepted() -> None:
    """Pillow calls a JPEG with appended pictures (depth map, preview) "MPO"; it is still a JPEG."""
    first = images.marked_picture((800, 600), noise=False)
    depth_map = Image.new("RGB", (400, 300), "white")
    mpo = images.encoded(first, "MPO", save_all=True, append_images=[depth_map])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    photo = photo_process(io.BytesIO(mpo))
    assert (photo.width, photo.height) == (800, 600)
    assert_colour(opened(photo.image).getpixel((40, 40)), images.RED)


# --- other formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_png_is_flattened_on_white(mode: str) -> None:
    picture = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    picture.paste((200, 0, 0, 255), (0, 0, 300, 400))  # left half opaque, right half transparent
    params = {}
    if mode == "LA":
        picture = picture.convert("LA")
    elif mode == "P":
        # A palette image whose colour 0 (black) is the transparent one, as GIF-era tools write them.
        picture = Image.new("P", (600, 400), 0)
        picture.putpalette([0, 0, 0, 200, 0, 0])
        picture.paste(1, (0, 0, 300, 400))
        params["transparency"] = 0
    png = images.encoded(picture, "PNG", **params)
    assert Image.open(io.BytesIO(png)).mode == mode
    photo = photo_process(io.BytesIO(png))
    image = opened(photo.image)
    assert image.mode == "RGB"
    assert_colour(image.getpixel((550, 200)), (255, 255, 255))
    expected_left = (60, 60, 60) if mode == "LA" else (200, 0, 0)  # LA is grey: L of (200, 0, 0)
    assert_colour(image.getpixel((50, 200)), expected_left)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_become_rgb(mode: str) -> None:
    picture = images.marked_picture((400, 300), noise=False).convert(mode)
    photo = photo_process(io.BytesIO(images.encoded(picture, "JPEG")))
    image = opened(photo.image)
    assert image.mode == "RGB"
    assert_colour(image.getpixel((200, 150)), images.GREY, tolerance=20)


def test_sixteen_bit_grey_png_keeps_its_tones() -> None:
    """Pillow's own I;16 → RGB conversion would clip every tone above 255 to white."""
    picture = Image.new("I;16", (300, 200), 32768)
    photo = photo_process(io.BytesIO(images.encoded(picture, "PNG")))
    assert_colour(opened(photo.image).getpixel((150, 100)), (128, 128, 128))


def test_webp_with_gps_is_accepted_and_stripped() -> None:
    picture = images.marked_picture((1200, 900), noise=False)
    webp = images.encoded(picture, "WEBP", quality=90, exif=images.phone_exif(orientation=6))
    photo = photo_process(io.BytesIO(webp))
    assert (photo.width, photo.height) == (900, 1200)
    assert_colour(opened(photo.image).getpixel((900 - 40, 40)), images.RED)
    assert_no_metadata(photo.image)


def test_heic_from_an_iphone_is_accepted_turned_upright_and_stripped() -> None:
    if not pillow_heif.libheif_info()["HEIF"]:
        pytest.skip("this libheif build has no HEVC encoder, so no HEIC can be made for the test")
    picture = images.marked_picture((800, 600), noise=False)
    # As bytes: pillow-heif reads the orientation for the HEIF rotation box only from EXIF bytes
    # (an Image.Exif object is stored, but its orientation silently ignored).
    heic = images.encoded(picture, "HEIF", quality=90, exif=images.phone_exif(orientation=6).tobytes())
    assert Image.open(io.BytesIO(heic)).format == "HEIF"
    photo = photo_process(SimpleUploadedFile("IMG_0001.HEIC", heic, content_type="image/heic"))
    assert (photo.width, photo.height) == (600, 800)
    image = opened(photo.image)
    assert_colour(image.getpixel((600 - 40, 40)), images.RED)
    assert_colour(image.getpixel((600 - 40, 800 - 40)), images.BLUE)
    assert_no_metadata(photo.image)


def test_heic_is_accepted_in_a_fresh_process_that_never_imported_pillow_heif(tmp_path) -> None:
    # Pillow and pillow-heif load on the first photo (a push worker never processes one): in a process
    # where nothing registered the HEIF opener yet, the pipeline must register it itself.
    if not pillow_heif.libheif_info()["HEIF"]:
        pytest.skip("this libheif build has no HEVC encoder, so no HEIC can be made for the test")
    heic_path = tmp_path / "IMG_0002.HEIC"
    heic_path.write_bytes(images.encoded(images.marked_picture((400, 300), noise=False), "HEIF"))
    script = (
        "import sys, django; django.setup()\n"
        "assert 'pillow_heif' not in sys.modules and 'PIL' not in sys.modules, 'imported too early'\n"
        "from reports.photos import photo_process\n"
        f"photo = photo_process(open({str(heic_path)!r}, 'rb'))\n"
        "print(photo.width, photo.height)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter with a fixed script
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "casapp.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["400", "300"]


def test_format_is_decided_by_content_not_by_name_or_content_type() -> None:
    png = images.encoded(images.marked_picture((500, 400), noise=False), "PNG")
    upload = SimpleUploadedFile("photo.jpg", png, content_type="image/jpeg")
    photo = photo_process(upload)
    assert (photo.width, photo.height) == (500, 400)


def test_broken_colour_profile_does_not_cost_the_photo() -> None:
    picture = images.marked_picture((400, 300), noise=False)
    jpeg = images.encoded(picture, "JPEG", icc_profile=b"not a profile at all")
    photo = photo_process(io.BytesIO(jpeg))
    assert_no_metadata(photo.image)
    assert_colour(opened(photo.image).getpixel((20, 20)), images.RED)


def test_colours_are_converted_to_srgb_before_the_profile_is_dropped() -> None:
    """An iPhone's Display P3 photo shown without its profile looks dull; here the effect is drastic."""
    picture = images.marked_picture((400, 300), noise=False)
    jpeg = images.encoded(picture, "JPEG", icc_profile=images.swapped_primaries_profile())
    photo = photo_process(io.BytesIO(jpeg))
    assert_no_metadata(photo.image)
    image = opened(photo.image)
    assert_colour(image.getpixel((20, 20)), images.BLUE, tolerance=40)
    assert_colour(image.getpixel((400 - 20, 20)), images.RED, tolerance=40)


def test_seekable_upload_is_read_from_its_start() -> None:
    """Django's form validation may have read the upload already."""
    stream = io.BytesIO(images.phone_jpeg((400, 300), orientation=None, noise=False))
    stream.read()
    assert photo_process(stream).width == 400


# --- refusals ---------------------------------------------------------------------------------------


def _gif() -> bytes:
    return images.encoded(Image.new("P", (50, 50)), "GIF")


def _avif() -> bytes:
    return images.encoded(Image.new("RGB", (50, 50), images.RED), "AVIF")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"Schlagloch in der Wittener Strasse, bitte reparieren.\n", id="text"),
        pytest.param(SVG, id="svg"),
        pytest.param(PDF, id="pdf"),
        pytest.param(b"", id="empty"),
        pytest.param(_gif(), id="gif"),
        pytest.param(images.encoded(Image.new("RGB", (50, 50)), "BMP"), id="bmp"),
        pytest.param(images.encoded(Image.new("RGB", (50, 50)), "TIFF"), id="tiff"),
        pytest.param(_avif(), id="avif"),
    ],
)
def test_anything_but_jpeg_png_webp_heic_is_unsupported(content: bytes) -> None:
    """Content that is not an image at all counts as unsupported too, even when named .jpg."""
    error = refused(SimpleUploadedFile("IMG_0001.jpg", content, content_type="image/jpeg"))
    assert error.code == "unsupported_photo"
    with translation.override("en"):
        assert str(error.detail) == "Photos must be JPEG, PNG, WebP or HEIC."


def test_truncated_jpeg_is_invalid() -> None:
    small = images.phone_jpeg((800, 600), orientation=None)
    assert refused(small[: len(small) // 2]).code == "invalid_photo"


def test_jpeg_cut_inside_its_header_is_invalid_not_unsupported(phone_photo: bytes) -> None:
    assert refused(phone_photo[:200]).code == "invalid_photo"


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "HEIF"])
def test_truncated_file_of_an_accepted_format_is_invalid(image_format: str) -> None:
    data = images.encoded(images.marked_picture((300, 200)), image_format)
    assert refused(data[: len(data) // 2]).code == "invalid_photo"


def test_png_with_broken_checksum_is_invalid() -> None:
    data = bytearray(images.encoded(images.marked_picture((300, 200), noise=False), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # a flipped byte inside the compressed pixels
    assert refused(bytes(data)).code == "invalid_photo"


def test_truncated_images_are_not_loaded_leniently() -> None:
    """The pipeline relies on Pillow refusing cut-off files; a global switch would silently allow them."""
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- size limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(20000, 20000, id="400MP-beyond-pillow-error-limit"),
        pytest.param(10000, 10000, id="100MP-pillow-warns"),
        pytest.param(8000, 7000, id="56MP-only-our-limit"),
    ],
)
def test_decompression_bomb_is_too_large(width: int, height: int) -> None:
    bomb = images.png_bomb(width, height)
    assert len(bomb) < 100_000
    error = refused(bomb)
    assert error.code == "photo_too_large"
    with translation.override("en"):
        assert str(error.detail) == "A photo may have at most 50 megapixels."


def test_decompression_bomb_is_refused_where_warnings_are_ignored() -> None:
    """pytest turns RuntimeWarnings into errors; production does not. The pipeline must not rely on it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert refused(images.png_bomb(10000, 10000)).code == "photo_too_large"


def _padded_jpeg(total: int) -> bytes:
    """A valid JPEG followed by zeros (decoders stop at its end marker), exactly ``total`` bytes long."""
    jpeg = images.phone_jpeg((400, 300), orientation=None, noise=False)
    return jpeg + b"\0" * (total - len(jpeg))


def test_upload_over_15_mb_is_too_large() -> None:
    error = refused(_padded_jpeg(MAX_UPLOAD_BYTES + 1))
    assert error.code == "photo_too_large"
    with translation.override("en"):
        assert str(error.detail) == "A photo may be at most 15 MB."


def test_upload_of_exactly_15_mb_is_accepted() -> None:
    assert photo_process(io.BytesIO(_padded_jpeg(MAX_UPLOAD_BYTES))).width == 400


def test_uploaded_file_over_15_mb_is_refused_by_its_size() -> None:
    upload = SimpleUploadedFile("IMG_0001.jpg", _padded_jpeg(MAX_UPLOAD_BYTES + 1), content_type="image/jpeg")
    assert refused(upload).code == "photo_too_large"


class EndlessStream(io.RawIOBase):
    """A client that never stops sending, in short reads like a socket; counts what was taken."""

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        size = min(len(buffer), 64 * 1024)
        buffer[:size] = b"\xff" * size
        self.taken += size
        return size


def test_at_most_one_byte_over_the_limit_is_read() -> None:
    stream = EndlessStream()
    assert refused(stream).code == "photo_too_large"
    assert stream.taken == MAX_UPLOAD_BYTES + 1


# --- what decoding costs: per photo and per request ---------------------------------------------------


def test_49_megapixel_png_is_refused_quickly_before_it_is_decoded() -> None:
    """Under the 50-MP header limit, but decoding it took ~1 s and ~260 MB: the decode bound refuses it."""
    bomb = images.png_bomb(7000, 7000)
    assert len(bomb) < 100_000
    started = time.process_time()

    error = refused(bomb)

    assert time.process_time() - started < 0.3
    assert error.code == "photo_too_large"
    with translation.override("en"):
        assert str(error.detail) == (
            "This photo is too large to process: at most 25 megapixels "
            "(fewer for WebP and transparent pictures)."
        )
    with translation.override("de"):
        assert str(error.detail).startswith("Dieses Foto ist zu groß")


def test_24_megapixel_photo_is_within_the_bound_at_full_size() -> None:
    # A recent iPhone's default (5712 x 4284) is decoded at full size; it must still pass.
    assert photo_decode_cost(io.BytesIO(images.png_bomb(5712, 4284))) == 5712 * 4284 <= MAX_DECODED_PIXELS


def test_large_jpeg_costs_the_size_it_is_decoded_at() -> None:
    # libjpeg decodes at 1/2 here: 2100 x 50 is the smallest power-of-two scale not below 2048 px.
    jpeg = images.encoded(Image.new("L", (4200, 100), 128), "JPEG")
    progressive = images.encoded(Image.new("L", (4200, 100), 128), "JPEG", progressive=True)

    assert photo_decode_cost(io.BytesIO(jpeg)) == 2100 * 50
    # A progressive JPEG keeps the coefficients of the full picture while it is decoded.
    assert photo_decode_cost(io.BytesIO(progressive)) == 2100 * 50 + round(4200 * 100 * 0.3)


def test_webp_and_transparent_pictures_cost_more_per_pixel() -> None:
    opaque = images.encoded(Image.new("RGB", (100, 100), images.RED), "PNG")
    transparent = images.encoded(Image.new("RGBA", (100, 100), (*images.RED, 128)), "PNG")
    webp = images.encoded(Image.new("RGB", (100, 100), images.RED), "WEBP")

    assert photo_decode_cost(io.BytesIO(opaque)) == 10_000
    assert photo_decode_cost(io.BytesIO(transparent)) == 16_000
    assert photo_decode_cost(io.BytesIO(webp)) == 23_000


def test_five_phone_photos_of_12_megapixels_fit_into_one_request() -> None:
    # An iPhone's 12-MP photo (4032 x 3024); a 50-MP phone JPEG (8160 x 6120) is decoded at 4080 x 3060.
    assert MAX_DECODED_PIXELS_PER_REQUEST >= 5 * 4032 * 3024
    assert MAX_DECODED_PIXELS_PER_REQUEST >= 5 * 4080 * 3060


def test_several_large_but_allowed_photos_are_refused_together_before_any_is_decoded() -> None:
    each = images.png_bomb(6000, 4000)  # 24 MP: each alone is allowed
    assert photo_decode_cost(io.BytesIO(each)) <= MAX_DECODED_PIXELS
    started = time.process_time()

    with pytest.raises(PhotosTooLarge) as caught:
        photos_process([io.BytesIO(each) for _ in range(3)])

    assert time.process_time() - started < 0.3
    assert caught.value.status == 413
    assert caught.value.code == "photos_too_large"
    assert caught.value.field == "photos"
    with translation.override("en"):
        assert "64 megapixels" in str(caught.value.detail)


def test_a_photo_refused_on_its_own_is_refused_before_others_are_decoded() -> None:
    photos = [io.BytesIO(images.png_bomb(4000, 3000)), io.BytesIO(images.png_bomb(7000, 7000))]
    started = time.process_time()

    with pytest.raises(DomainError) as caught:
        photos_process(photos)

    assert time.process_time() - started < 0.3
    assert (caught.value.code, caught.value.field) == ("photo_too_large", "photos.1")


def test_photos_within_the_budget_are_all_processed() -> None:
    photos = [io.BytesIO(images.encoded(Image.new("RGB", (300, 200), images.BLUE), "PNG")) for _ in range(2)]

    processed = photos_process(photos)

    assert [(photo.width, photo.height) for photo in processed] == [(300, 200), (300, 200)]
