"""Labels drawn onto an image with Pillow: a full-size preview and a thumbnail, both JPEG.

One drawing per YOLO task: boxes (detect), polygons filled translucent and outlined
(segment), the image's class names (classify). Each label in its class's color, with its name.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from gt2yolo.insights.colors import name_color, rgb, text_on
from gt2yolo.insights.dataset import YoloPolygon, to_pixels
from gt2yolo.records import YoloBox
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

# Previews are for looking, not training: a bounded size keeps them light in S3 and the page.
MAX_SIDE = 1600
THUMBNAIL_SIDE = 320
BLANK = (200, 200, 200)
# Polygon fill opacity: the image stays visible under the region.
FILL_ALPHA = 96
# Classification images have no size in the tables: a missing one is drawn at this size.
BLANK_SIZE = (320, 240)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


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
    texts: Sequence[str] | None = None,
) -> Drawn:
    """Draw normalized YOLO boxes (as a trainer reads them) with their class names, or with
    `texts` (one per box, e.g. `car #3` for a track), always in their class's color.

    Without a readable image (e.g. a dataset converted with `--images skip`) the boxes go on a
    blank canvas of the size in images.csv: the geometry is still checked.
    """
    picture, note = _open(image, size, "boxes")
    pen, thickness, font = _tools(picture)
    for index, box in enumerate(boxes):
        name = _name(names, box.class_id)
        text = texts[index] if texts is not None and index < len(texts) else name
        _draw_box(pen, picture.size, box, name, thickness, font, text)
    return _drawn(picture, note)


def draw_polygons(
    image: bytes | None,
    size: tuple[int, int],
    polygons: Sequence[YoloPolygon],
    names: Sequence[str],
) -> Drawn:
    """Draw normalized YOLO polygons: filled translucent, outlined, named, in class colors.

    Filled even-odd (Pillow's rule, as Ultralytics rasterizes them): a hole joined to its
    outline by a zero-width cut stays unfilled, exactly as a trainer sees it.
    """
    picture, note = _open(image, size, "polygons")
    width, height = picture.size
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    fill = ImageDraw.Draw(overlay)
    shapes = []
    for polygon in polygons:
        name = _name(names, polygon.class_id)
        points = [(x * width, y * height) for x, y in polygon.points]
        fill.polygon(points, fill=(*rgb(name_color(name)), FILL_ALPHA))
        shapes.append((name, points))
    picture = Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB")
    pen, thickness, font = _tools(picture)
    for name, points in shapes:
        pen.line([*points, points[0]], fill=rgb(name_color(name)), width=thickness)
    for name, points in shapes:  # names last: no outline crosses them
        top = min(points, key=lambda p: (p[1], p[0]))
        _draw_name(pen, name, top, font, above=True)
    return _drawn(picture, note)


def draw_classes(image: bytes | None, names: Sequence[str]) -> Drawn:
    """The image with its class names (none: `no class`) stacked in its top-left corner."""
    picture, note = _open(image, BLANK_SIZE, "class names")
    pen, _thickness, font = _tools(picture)
    y = 0.0
    for name in names or ["no class"]:
        y = _draw_name(pen, name, (0.0, y), font, above=False) + 1
    return _drawn(picture, note)


def _tools(picture: Image.Image) -> tuple[ImageDraw.ImageDraw, int, Font]:
    pen = ImageDraw.Draw(picture)
    thickness = max(2, round(min(picture.size) / 200))
    font = ImageFont.load_default(size=max(12, min(picture.size) // 28))
    return pen, thickness, font


def _name(names: Sequence[str], class_id: int) -> str:
    return names[class_id] if 0 <= class_id < len(names) else f"id {class_id}"


def _drawn(picture: Image.Image, note: str | None) -> Drawn:
    thumbnail = picture.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return Drawn(_jpeg(picture, 85), _jpeg(thumbnail, 72), note)


def _open(image: bytes | None, size: tuple[int, int], what: str) -> tuple[Image.Image, str | None]:
    """The image, EXIF-oriented and at most MAX_SIDE, or a blank canvas saying why."""
    picture, note = _decoded(image, size, what)
    scale = min(1.0, MAX_SIDE / max(picture.size))
    if scale < 1.0:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    return picture, note


def _decoded(
    image: bytes | None, size: tuple[int, int], what: str
) -> tuple[Image.Image, str | None]:
    blank = f"{what} on a blank canvas"
    if image is None:
        return Image.new("RGB", size, BLANK), f"image not in the dataset: {blank}"
    try:
        opened = Image.open(io.BytesIO(image))
        # Trainers (Ultralytics) apply the EXIF orientation before using the labels.
        return ImageOps.exif_transpose(opened).convert("RGB"), None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return Image.new("RGB", size, BLANK), f"image unreadable ({exc}): {blank}"


def _draw_box(
    pen: ImageDraw.ImageDraw,
    size: tuple[int, int],
    box: YoloBox,
    name: str,
    thickness: int,
    font: Font,
    text: str,
) -> None:
    color = rgb(name_color(name))
    x0, y0, x1, y1 = to_pixels(box, *size)
    pen.rectangle((x0, y0, x1, y1), outline=color, width=thickness)
    _draw_name(pen, name, (x0, y0), font, above=True, text=text)


def _draw_name(
    pen: ImageDraw.ImageDraw,
    name: str,
    at: tuple[float, float],
    font: Font,
    above: bool,
    text: str | None = None,
) -> float:
    """The name (or `text`) on a tag of the class's color at `at` (its top-left corner), or
    just above it when there is room; returns the tag's bottom."""
    x0, y0 = at
    text = name if text is None else text
    left, top, right, bottom = pen.textbbox((0, 0), text, font=font)
    width, height = right - left + 6, bottom - top + 4
    # Above the box, or inside it when the box touches the top edge.
    y = y0 - height if above and y0 - height >= 0 else y0
    pen.rectangle((x0, y, x0 + width, y + height), fill=rgb(name_color(name)))
    pen.text((x0 + 3 - left, y + 2 - top), text, fill=text_on(name_color(name)), font=font)
    return y + height


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # 4:4:4: chroma subsampling would smear thin colored box edges into the background.
    picture.save(out, "JPEG", quality=quality, optimize=True, subsampling=0)
    return out.getvalue()
