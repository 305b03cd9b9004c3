"""An image's size from its first bytes (gt2yolo.image_header): what Pillow reads, as displayed.

PNG, JPEG, GIF, BMP and WebP sizes equal Pillow's; a JPEG's EXIF orientation 5 to 8 (a rotated
photo) swaps width and height as viewers do. Anything else, or a header cut short, is
UnknownImageSize and nothing else: never a wrong size, never another exception.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import pytest
from gt2yolo.image_header import HEAD_BYTES, UnknownImageSize, image_size
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps


def _saved(image: Image.Image, format_: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format_, **params)
    return out.getvalue()


def _top_down_bmp(image: Image.Image) -> bytes:
    """A BMP whose rows run top to bottom: a negative height in its header."""
    data = bytearray(_saved(image, "BMP"))
    (height,) = struct.unpack("<i", data[22:26])
    rows = len(data) - 54
    stride = rows // height
    pixels = b"".join(
        data[54 + row * stride : 54 + (row + 1) * stride] for row in reversed(range(height))
    )
    return bytes(data[:22] + struct.pack("<i", -height) + data[26:54] + pixels)


# name -> (image mode, encoder); each encoder is one header layout image_size reads.
FORMATS: dict[str, tuple[str, Callable[[Image.Image], bytes]]] = {
    "png": ("RGB", lambda i: _saved(i, "PNG")),
    "png-palette": ("P", lambda i: _saved(i, "PNG")),
    "png-grey-16": ("I;16", lambda i: _saved(i, "PNG")),
    "jpeg": ("RGB", lambda i: _saved(i, "JPEG")),
    "jpeg-progressive": ("RGB", lambda i: _saved(i, "JPEG", progressive=True)),
    "jpeg-grey": ("L", lambda i: _saved(i, "JPEG")),
    "gif": ("P", lambda i: _saved(i, "GIF")),
    "bmp": ("RGB", lambda i: _saved(i, "BMP")),
    "bmp-top-down": ("RGB", _top_down_bmp),
    "webp-lossy": ("RGB", lambda i: _saved(i, "WEBP", lossless=False)),  # VP8
    "webp-lossless": ("RGB", lambda i: _saved(i, "WEBP", lossless=True)),  # VP8L
    "webp-extended": ("RGBA", lambda i: _saved(i, "WEBP", lossless=False)),  # VP8X
}


def _pillow_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("size", [(1, 1), (37, 91), (300, 17), (4000, 3)])
def test_the_size_of_each_format_is_pillows(name: str, size: tuple[int, int]) -> None:
    # Given an image of the format and size
    mode, encode = FORMATS[name]
    data = encode(Image.new(mode, size))

    # When reading its size from the first bytes
    # Then it is the size Pillow reads from the whole file
    assert _pillow_size(data) == size
    assert image_size(data[:HEAD_BYTES]) == size


def test_webp_variants_are_the_three_header_layouts() -> None:
    # The WebP cases above cover each chunk image_size reads: lossy, lossless, extended
    chunks = {
        n: FORMATS[n][1](Image.new(FORMATS[n][0], (8, 8)))[12:16] for n in FORMATS if "webp" in n
    }
    assert chunks == {"webp-lossy": b"VP8 ", "webp-lossless": b"VP8L", "webp-extended": b"VP8X"}


def _exif_jpeg(size: tuple[int, int], orientation: int, byte_order: str) -> bytes:
    """A JPEG with an EXIF block (big- or little-endian TIFF) holding only the orientation."""
    order = ">" if byte_order == "MM" else "<"
    tiff = byte_order.encode() + struct.pack(order + "HI", 42, 8)
    tiff += struct.pack(order + "H", 1) + struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(order + "I", 0)
    app1 = b"Exif\x00\x00" + tiff
    plain = _saved(Image.new("RGB", size), "JPEG")
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[2:]


@pytest.mark.parametrize("byte_order", ["MM", "II"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_5_to_8_swaps_width_and_height_as_displayed(
    orientation: int, byte_order: str
) -> None:
    # Given a 60x20 JPEG whose EXIF says how to turn it
    data = _exif_jpeg((60, 20), orientation, byte_order)

    # When reading its size
    size = image_size(data)

    # Then it is the size once turned (as Pillow's exif_transpose, browsers and Ultralytics)
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get(0x0112) == orientation
        assert size == ImageOps.exif_transpose(image).size
    assert size == ((20, 60) if orientation in (5, 6, 7, 8) else (60, 20))


def test_pillows_own_exif_orientation_is_read() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _saved(Image.new("RGB", (60, 20)), "JPEG", exif=exif.tobytes())
    assert image_size(data) == (20, 60)


def test_a_jpeg_frame_after_64_kib_of_metadata_is_within_the_head_bytes() -> None:
    # Given a JPEG whose frame header follows the largest segment a JPEG can hold
    plain = _saved(Image.new("RGB", (33, 44)), "JPEG")
    app2 = b"\xff\xe2\xff\xff" + b"\x00" * 0xFFFD
    data = plain[:2] + app2 + plain[2:]

    # When reading its first HEAD_BYTES
    # Then the size is found
    assert image_size(data[:HEAD_BYTES]) == (33, 44) == _pillow_size(data)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_a_header_cut_short_is_unknown_never_a_wrong_size(name: str) -> None:
    # Given every prefix of an image file
    mode, encode = FORMATS[name]
    data = encode(Image.new(mode, (123, 45)))

    # When reading the size from each
    # Then each either gives the true size or raises UnknownImageSize; the shortest do not know
    for end in range(min(len(data), 400)):
        try:
            assert image_size(data[:end]) == (123, 45)
        except UnknownImageSize:
            continue
    with pytest.raises(UnknownImageSize):
        image_size(data[:6])


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"hello, world",
        b"II*\x00\x08\x00\x00\x00",  # TIFF
        b"%PDF-1.7\n",
        b"\x00\x00\x00\x1cftypavif",  # AVIF
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x00\x00\x00\x00\x05",  # width 0
        b"GIF89a\x05\x00\x00\x00",  # height 0
        b"RIFF\x00\x00\x00\x00WEBPVP8Q" + b"\x00" * 20,  # an unknown WebP chunk
        b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 20,  # scan data before any frame header
        b"\xff\xd8\x00\x00\x00\x00",  # no marker where one must be
    ],
)
def test_unknown_formats_and_impossible_headers_are_unknown_image_size(head: bytes) -> None:
    with pytest.raises(UnknownImageSize):
        image_size(head)


MAGICS = [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00\x40Exif\x00\x00MM",
          b"\xff\xd8\xff\xe1\x00\x40Exif\x00\x00II", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8X",
          b"RIFF\x00\x00\x00\x00WEBPVP8L", b"RIFF\x00\x00\x00\x00WEBPVP8 "]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    head=st.sampled_from(MAGICS).flatmap(lambda magic: st.binary(max_size=200).map(magic.__add__))
)
def test_any_bytes_give_a_positive_size_or_unknown_image_size_and_nothing_else(head: bytes) -> None:
    try:
        width, height = image_size(head)
    except UnknownImageSize:
        return
    assert width > 0 and height > 0
