"""Pixel boxes -> normalized YOLO boxes.

Clamp to the image in pixels first, then normalize: Ultralytics drops a *whole image* when one
label value lies outside [-0.01, 1.01], so an out-of-bounds box must never reach a label file.
"""

from __future__ import annotations

from dataclasses import dataclass

from gt2yolo.records import BoxDrop, YoloBox

# Trainers read label values as 32-bit floats (Ultralytics, Darknet): a normalized size below
# float32's smallest positive value would be read as 0.
MIN_NORMALIZED_SIZE = 2.0**-149


@dataclass(frozen=True, slots=True)
class ClampedBox:
    """Corners (x0, y0, x1, y1) in pixels inside the image, and whether clamping moved any."""

    x0: float
    y0: float
    x1: float
    y1: float
    clamped: bool


def clamp_box(
    left: float, top: float, width: float, height: float, image_width: int, image_height: int
) -> ClampedBox | BoxDrop:
    """Clamp a drawn box to the image, or say why no area is left.

    `zero_size`: no width or height as drawn, or too little to survive floating point: a width
    of 1e-320 vanishes in `left + width`, or its normalized size reads as 0 to a trainer.
    `outside_image`: the box lies beside the image, or only touches its edge.
    """
    if width <= 0 or height <= 0:
        return BoxDrop.ZERO_SIZE
    right, bottom = left + width, top + height
    x0 = min(max(left, 0.0), image_width)
    y0 = min(max(top, 0.0), image_height)
    x1 = min(max(right, 0.0), image_width)
    y1 = min(max(bottom, 0.0), image_height)
    if x1 <= x0 or y1 <= y0:
        beside = left >= image_width or top >= image_height or right <= 0 or bottom <= 0
        return BoxDrop.OUTSIDE_IMAGE if beside else BoxDrop.ZERO_SIZE
    w, h = (x1 - x0) / image_width, (y1 - y0) / image_height  # as normalize computes them
    if w < MIN_NORMALIZED_SIZE or h < MIN_NORMALIZED_SIZE:
        return BoxDrop.ZERO_SIZE
    clamped = (x0, y0, x1, y1) != (left, top, right, bottom)
    return ClampedBox(x0, y0, x1, y1, clamped)


def normalize(box: ClampedBox, class_id: int, image_width: int, image_height: int) -> YoloBox:
    """Centre and size as fractions of the image: every value in [0, 1] for a clamped box."""
    return YoloBox(
        class_id=class_id,
        cx=(box.x0 + box.x1) / 2 / image_width,
        cy=(box.y0 + box.y1) / 2 / image_height,
        w=(box.x1 - box.x0) / image_width,
        h=(box.y1 - box.y0) / image_height,
    )


def format_value(value: float) -> str:
    """Six significant digits, as Ultralytics writes its own labels (`%g`)."""
    return f"{value:.6g}"


def yolo_line(box: YoloBox) -> str:
    """One label-file row: `class cx cy w h`."""
    return (
        f"{box.class_id} {format_value(box.cx)} {format_value(box.cy)} "
        f"{format_value(box.w)} {format_value(box.h)}"
    )
