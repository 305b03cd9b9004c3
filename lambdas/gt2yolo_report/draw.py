"""Boxes drawn onto an image with Pillow: a full-size preview and a thumbnail, both JPEG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from gt2yolo.insights.colors import name_color, rgb, text_on
from gt2yolo.insights.dataset import to_pixels
from gt2yolo.records import YoloBox
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

# Previews are for looking, not training: a bounded size keeps them light in S3 and the page.
MAX_SIDE = 1600
THUMBNAIL_SIDE = 320
BLANK = (200, 200, 200)


@dataclass(frozen=True)
class Drawn:
    full: bytes
    thumbnail: bytes
    note: str | None  # why the picture is not the real image, if it is not


def draw_preview(
    image: bytes | None,
    size: tuple[int, int],
    boxes: Sequence[YoloBox],
    names: Sequence[str],
) -> Drawn:
    """Draw normalized YOLO boxes (as a trainer reads them) with their class names.

    Without a readable image (e.g. a dataset converted with `--images skip`) the boxes go on a
    blank canvas of the size in images.csv: the geometry is still checked.
    """
    picture, note = _open(image, size)
    scale = min(1.0, MAX_SIDE / max(picture.size))
    if scale < 1.0:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    pen = ImageDraw.Draw(picture)
    thickness = max(2, round(min(picture.size) / 200))
    font = ImageFont.load_default(size=max(12, min(picture.size) // 28))
    for box in boxes:
        name = names[box.class_id] if 0 <= box.class_id < len(names) else f"id {box.class_id}"
        _draw_box(pen, picture.size, box, name, thickness, font)
    thumbnail = picture.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return Drawn(_jpeg(picture, 85), _jpeg(thumbnail, 72), note)


def _open(image: bytes | None, size: tuple[int, int]) -> tuple[Image.Image, str | None]:
    if image is None:
        return Image.new("RGB", size, BLANK), "image not in the dataset: boxes on a blank canvas"
    try:
        opened = Image.open(io.BytesIO(image))
        # Trainers (Ultralytics) apply the EXIF orientation before using the labels.
        return ImageOps.exif_transpose(opened).convert("RGB"), None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return Image.new("RGB", size, BLANK), f"image unreadable ({exc}): boxes on a blank canvas"


def _draw_box(
    pen: ImageDraw.ImageDraw,
    size: tuple[int, int],
    box: YoloBox,
    name: str,
    thickness: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    color = rgb(name_color(name))
    ink = text_on(name_color(name))
    x0, y0, x1, y1 = to_pixels(box, *size)
    pen.rectangle((x0, y0, x1, y1), outline=color, width=thickness)
    left, top, right, bottom = pen.textbbox((0, 0), name, font=font)
    width, height = right - left + 6, bottom - top + 4
    # The name sits above the box, or inside it when the box touches the top edge.
    y = y0 - height if y0 - height >= 0 else y0
    pen.rectangle((x0, y, x0 + width, y + height), fill=color)
    pen.text((x0 + 3 - left, y + 2 - top), name, fill=ink, font=font)


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # 4:4:4: chroma subsampling would smear thin colored box edges into the background.
    picture.save(out, "JPEG", quality=quality, optimize=True, subsampling=0)
    return out.getvalue()
