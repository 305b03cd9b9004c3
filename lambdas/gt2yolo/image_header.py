"""An image's size from the first bytes of its file: no decoding, a ranged GET is enough.

PNG, JPEG, GIF, BMP and WebP. JPEG sizes are as displayed: an EXIF orientation of 5 to 8 (a
rotated photo) swaps width and height, as browsers (the labeling UI) and Ultralytics do.
"""

from __future__ import annotations

import struct

# Enough for nearly every file: JPEG's SOF follows its EXIF block (at most 64 KiB).
HEAD_BYTES = 128 * 1024


class UnknownImageSize(ValueError):
    """The bytes hold no size this module can read (another format, or cut short)."""


def image_size(head: bytes) -> tuple[int, int]:
    """(width, height) from the file's first bytes; UnknownImageSize otherwise."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        return _positive(*struct.unpack(">II", head[16:24]))
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return _positive(*struct.unpack("<HH", head[6:10]))
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return _positive(width, abs(height))
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    raise UnknownImageSize("not a PNG, JPEG, GIF, BMP or WebP header")


def _positive(width: int, height: int) -> tuple[int, int]:
    if width <= 0 or height <= 0:
        raise UnknownImageSize(f"size {width}x{height}")
    return width, height


# Start-of-frame markers (baseline, progressive, lossless, ...); not DHT (C4), JPG (C8), DAC (CC).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_size(head: bytes) -> tuple[int, int]:
    position = 2
    orientation = 1
    while position + 4 <= len(head):
        if head[position] != 0xFF:
            raise UnknownImageSize(f"no JPEG marker at byte {position}")
        marker = head[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", head[position + 2 : position + 4])
        segment = head[position + 4 : position + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            orientation = _exif_orientation(segment[6:]) or orientation
        if marker in _SOF:
            if len(segment) < 5:
                break
            height, width = struct.unpack(">HH", segment[1:5])
            width, height = _positive(width, height)
            return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        if marker == 0xDA:  # start of scan: no frame header before it
            break
        position += 2 + length
    raise UnknownImageSize("no JPEG frame header in the first bytes")


def _exif_orientation(tiff: bytes) -> int | None:
    """Tag 0x0112 of IFD0, or None."""
    if tiff[:2] == b"II":
        order = "<"
    elif tiff[:2] == b"MM":
        order = ">"
    else:
        return None
    try:
        (offset,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        for entry in range(count):
            start = offset + 2 + entry * 12
            tag, kind = struct.unpack(order + "HH", tiff[start : start + 4])
            if tag == 0x0112 and kind == 3:  # SHORT
                (value,) = struct.unpack(order + "H", tiff[start + 8 : start + 10])
                return int(value)
    except struct.error:
        return None
    return None


def _webp_size(head: bytes) -> tuple[int, int]:
    kind = head[12:16]
    if kind == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return _positive(width & 0x3FFF, height & 0x3FFF)
    if kind == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return _positive((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return _positive(width, height)
    raise UnknownImageSize("a WebP header this reader does not know")
