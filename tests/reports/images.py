"""Test images made on the spot: phone photos with everything a phone writes into them, and hostile files."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
from PIL import ExifTags, Image, ImageCms

# The tests make HEIC files themselves; the app registers the opener only when it first processes a photo.
pillow_heif.register_heif_opener()

PHONE_MAKE = "Fairphone"
PHONE_MODEL = "FP5-Castrop-Test"
# Castrop-Rauxel's Marktplatz, as degrees, minutes, seconds.
LATITUDE = (51.0, 33.0, 12.5)
LONGITUDE = (7.0, 18.0, 45.25)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Erika Mustermann"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
COMMENT = b"taken by Erika Mustermann"
RED = (255, 0, 0)
BLUE = (0, 0, 255)
GREY = (128, 128, 128)


def phone_exif(*, orientation: int | None = None) -> Image.Exif:
    """What a phone camera writes: make, model, orientation, and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = PHONE_MAKE
    exif[ExifTags.Base.Model] = PHONE_MODEL
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: LONGITUDE,
    }
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def swapped_primaries_profile() -> bytes:
    """An RGB profile whose red is sRGB's blue and vice versa: converting to sRGB must swap them."""
    profile = bytearray(srgb_profile())
    (count,) = struct.unpack(">I", profile[128:132])
    entries = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile).replace("sRGB".encode("utf-16-be"), "swap".encode("utf-16-be"))


def marked_picture(size: tuple[int, int], *, noise: bool = True) -> Image.Image:
    """A grey picture, textured like a photo, with a red square top left and a blue one top right."""
    width = size[0]
    marker = marker_side(size)
    if noise:
        # Sensor-like noise makes the JPEG as costly to decode as a real photo of this size.
        channels = [Image.effect_noise(size, 24).point(lambda v: v // 2 + 64) for _ in range(3)]
        picture = Image.merge("RGB", channels)
    else:
        picture = Image.new("RGB", size, GREY)
    picture.paste(RED, (0, 0, marker, marker))
    picture.paste(BLUE, (width - marker, 0, width, marker))
    return picture


def marker_side(size: tuple[int, int]) -> int:
    """The side of the coloured squares in the corners: 375 px for a 4000 x 3000 photo."""
    return min(size) // 8


def phone_jpeg(
    size: tuple[int, int] = (4000, 3000), *, orientation: int | None = 6, noise: bool = True
) -> bytes:
    """A phone photo as stored: landscape pixels, turned by the EXIF orientation, with GPS and more."""
    buffer = io.BytesIO()
    marked_picture(size, noise=noise).save(
        buffer,
        format="JPEG",
        quality=90,
        exif=phone_exif(orientation=orientation),
        xmp=XMP,
        comment=COMMENT,
        icc_profile=srgb_profile(),
    )
    return buffer.getvalue()


def encoded(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of one colour: a few KB on disk, width x height pixels once decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none", then all pixels 0
    compressor = zlib.compressobj(9)
    rows_per_chunk = 256
    body = [compressor.compress(row * rows_per_chunk) for _ in range(height // rows_per_chunk)]
    body.append(compressor.compress(row * (height % rows_per_chunk)))
    body.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(body))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's segments up to the start of scan, e.g. 0xE0 for APP0 (JFIF)."""
    assert data[:2] == b"\xff\xd8"
    markers = []
    position = 2
    while position < len(data):
        assert data[position] == 0xFF
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
    return markers


# --- checks of stored photos

JFIF, DQT, DHT, SOF2, SOS = 0xE0, 0xDB, 0xC4, 0xC2, 0xDA


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def assert_no_metadata(data: bytes) -> None:
    image = opened(data)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(image.info)
    # Nothing before the picture but the JFIF header, quantisation and Huffman tables, the frame header.
    assert set(jpeg_segments(data)) <= {JFIF, DQT, DHT, SOF2, SOS}
    for needle in (b"Exif", PHONE_MAKE.encode(), PHONE_MODEL.encode(), b"Mustermann", b"xmp"):
        assert needle not in data


def assert_colour(actual: object, expected: tuple[int, int, int], *, tolerance: int = 12) -> None:
    assert isinstance(actual, tuple)
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (actual, expected)
