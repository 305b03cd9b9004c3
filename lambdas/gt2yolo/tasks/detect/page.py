"""The page's sections for a dataset of shapes: boxes (detection) or polygons of regions
(segmentation). Both show labels per class, per image, their sizes and the splits, named for
their shapes (`PageData.words`); segmentation adds its holes from report.json's `segmentation`.
"""

from __future__ import annotations

from typing import Any

from gt2yolo.insights.charts import Bar, bar_chart, column_chart
from gt2yolo.insights.colors import name_color
from gt2yolo.insights.markup import count_tiles, note_paragraphs, section, swatch, table
from gt2yolo.insights.parts import PageData, PageSections, gallery, labelers, rejections_section
from gt2yolo.insights.stats import COCO_LABELS, SIZE_LABELS
from gt2yolo.tasks.segment.report import SegmentSection


def _segmentation(data: PageData) -> SegmentSection | None:
    section = data.report.section
    return section if isinstance(section, SegmentSection) else None


def shape_tiles(data: PageData) -> list[tuple[str, Any]]:
    r, words = data.report, data.words
    segmentation = _segmentation(data)
    if segmentation is not None:
        changed: tuple[str, Any] = ("regions with holes", segmentation.regions_with_holes)
    else:
        changed = ("clamped boxes", r.clamped_boxes)
    return [
        ("images", r.images), (words.shapes, r.boxes), ("classes", len(r.classes)),
        ("background images", r.background_images), ("manifest lines", r.lines),
        ("rejected lines", r.rejected_lines), changed,
        (words.dropped, sum(r.dropped_boxes.values())),
    ]  # fmt: skip


def counts(data: PageData) -> str:
    return count_tiles(shape_tiles(data))


def classes(data: PageData) -> str:
    shapes = data.words.shapes
    per_class = data.report.boxes_per_class
    bars = [Bar(name, count, name_color(name)) for name, count in per_class.items()]
    rows = [(i, swatch(name), count) for i, (name, count) in enumerate(per_class.items())]
    title = f"{shapes.capitalize()} per class"
    body = (
        f'<div class="grid">{bar_chart(title, bars)}'
        f"{table(('id', 'class', shapes), rows, {0, 2})}</div>"
    )
    return section("classes", title, body)


def boxes(data: PageData) -> str:
    stats, words = data.stats, data.words
    shapes, region = words.shapes, words.region
    per_image = column_chart(
        f"{shapes.capitalize()} per image",
        [Bar(label, n) for label, n in stats.per_image_histogram()],
        520,
    )
    sizes = column_chart(
        f"{region.capitalize()} size: square root of the {region}'s share of the image area",
        [Bar(label, stats.relative_sizes[label], "#6a8d3a") for label in SIZE_LABELS],
        520,
    )
    rows = [(label, stats.coco_sizes[label]) for label in COCO_LABELS]
    coco = table(("COCO size", words.regions), rows, {1})
    segmentation = _segmentation(data)
    pixels = "Box size in pixels" if segmentation is None else "Region area in pixels"
    body = (
        f'<div class="grid"><div><h3>{shapes.capitalize()} per image</h3>{per_image}</div>'
        f"<div><h3>{region.capitalize()} size (side relative to the image)</h3>{sizes}</div>"
        f"<div><h3>{pixels}</h3>{coco}<p class=note>small &lt; 32&times;32 &le; "
        "medium &lt; 96&times;96 &le; large</p></div></div>"
    )
    if segmentation is not None:
        body += _holes(data, segmentation)
        return section("polygons", "Polygons per image and region sizes", body)
    return section("boxes", "Boxes per image and box sizes", body)


def _stated(value: float | None) -> str:
    return "?" if value is None else str(value)


def _holes(data: PageData, seg: SegmentSection) -> str:
    return note_paragraphs([
        f"Region sizes are the regions' own areas (holes excluded), as COCO measures them. "
        f"{seg.regions_with_holes} polygons have holes cut in "
        f"({data.stats.images_with_holes} images); {seg.small_holes_filled} holes "
        "below the minimum region area were filled.",
        f"Outlines simplified to within {_stated(seg.polygon_tolerance_px)} px; regions "
        f"under {_stated(seg.min_region_area_px)} square px dropped (small_region).",
    ])  # fmt: skip


def splits(data: PageData) -> str:
    shapes = data.words.shapes
    report = data.report
    images = report.images_per_split
    total = sum(images.values()) or 1
    rows = [
        (
            split,
            n,
            f"{n / total:.0%}",
            report.boxes_in(split),
            f"{report.boxes_in(split) / max(n, 1):.2f}",
        )
        for split, n in images.items()
    ]
    chart = bar_chart(
        "Images per split",
        [Bar(split, n, name_color(split), f"{n} ({n / total:.0%})") for split, n in images.items()],
        460,
        80,
    )
    headers = ("split", "images", "share", shapes, f"{shapes}/image")
    return section(
        "splits",
        "Split balance",
        f'<div class="grid">{chart}{table(headers, rows, {1, 2, 3, 4})}</div>',
    )


def rejections(data: PageData) -> str:
    return rejections_section(data, data.words.dropped, list(data.report.dropped_boxes.items()))


def shapes_intro(data: PageData, legend: str) -> str:
    if _segmentation(data) is not None:
        read = "Polygons read back from the written YOLO label files, filled translucent"
        changed = "dropped regions"
    else:
        read = "Boxes read back from the written YOLO label files"
        changed = "clamped or dropped boxes"
    intro = (
        f"<p>{read}. Legend: {legend}. Orange frames: images with {changed}. Click a picture "
        "for full size.</p>"
    )
    if data.flagged_not_drawn:
        intro += (
            f'<p class="note">{data.flagged_not_drawn} more images with {changed} are not '
            "drawn (limit); images.csv lists them.</p>"
        )
    return intro


def previews(data: PageData) -> str:
    return gallery(data, shapes_intro)


def _kind(data: PageData) -> str:
    return data.words.kind


SECTIONS = PageSections(_kind, (counts, classes, boxes, splits, rejections, labelers, previews))
