"""report.html: one self-contained page about a dataset and its labelers.

Self-contained means nothing is fetched: styles inline, charts inline SVG, preview thumbnails
embedded as `data:` URIs (the page works when mailed or downloaded alone), each linking to its
full-size JPEG under `previews/` (works next to the dataset). A Content-Security-Policy that
allows only inline styles and data: images makes any stray reference fail closed, offline.
Every user-provided string (class names, worker ids, file names, details) is escaped.

The sections follow report.json's `task`: detection and segmentation datasets share theirs
(labels per class, per image, their sizes, splits), named for boxes or for polygons and regions;
classification datasets get theirs from `classify_sections`. A detection dataset of video frames
(report.json has a `video` section) adds its sequences and tracks (`video_sections`) and shows
its previews by sequence.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

from gt2yolo.insights import classify_sections, video_sections
from gt2yolo.insights.charts import Bar, Series, bar_chart, column_chart, stacked_chart
from gt2yolo.insights.colors import PALETTE, name_color
from gt2yolo.insights.dataset import dataset_task
from gt2yolo.insights.markup import code, count_tiles, note_paragraphs, section, swatch, table
from gt2yolo.insights.stats import COCO_LABELS, SIZE_LABELS, DatasetStats
from gt2yolo.insights.video import VideoStats, video_facts
from gt2yolo.insights.workers import DailyCount, WorkerSummary
from gt2yolo.task_types import YoloTask

REPORT_HTML = "report.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
REJECTED_SHOWN = 200

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#fff}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1dc}main{padding:8px 28px 40px;max-width:1180px}
section{margin-top:26px}h2{font-size:18px;border-bottom:2px solid #e3e7ee;padding-bottom:4px}
.counts{display:flex;flex-wrap:wrap;gap:10px}.count{border:1px solid #e3e7ee;border-radius:6px;
padding:8px 14px;min-width:110px}.count b{display:block;font-size:22px}
.count span{color:#5b6575;font-size:12px}.grid{display:flex;flex-wrap:wrap;gap:26px}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e3e7ee;
padding:4px 10px;text-align:left;vertical-align:top}td.n,th.n{text-align:right}
.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;width:244px}
figure img{width:240px;border:2px solid #e3e7ee;border-radius:4px}figure.flagged img{
border-color:#d9822b}figcaption{font-size:12px;word-break:break-all}.flag{color:#b35c00}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;
vertical-align:-1px}.note{color:#5b6575}
"""


@dataclass(frozen=True)
class PreviewTile:
    image: str  # images/<split>/<path>, as in images.csv
    link: str  # previews/<split>/<path stem>.jpg, relative to the page
    thumbnail: bytes  # JPEG
    boxes: int
    clamped: int
    dropped: int
    note: str | None = None
    label_problem: bool = False  # the label file is missing or unreadable
    classes: tuple[str, ...] | None = None  # classification: the image's class names
    tracks: tuple[int | None, ...] | None = None  # video frames: each box's track id, if any
    sequence: str | None = None  # video frames: the frame's sequence
    frame_number: int | None = None  # ... and its number there


@dataclass(frozen=True)
class WorkerSection:
    summaries: Sequence[WorkerSummary]
    daily: Sequence[DailyCount]
    location: str
    unreadable_files: int = 0
    shared_objects: int = 0  # objects answered by several workers
    compared_objects: int = 0  # of those, with consolidated boxes to compare against
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class PageData:
    title: str
    report: dict[str, Any]  # report.json
    stats: DatasetStats
    rejected: Sequence[dict[str, Any]] = ()  # the first REJECTED_SHOWN entries
    rejected_total: int = 0
    previews: Sequence[PreviewTile] = ()
    flagged_not_drawn: int = 0
    workers: WorkerSection | None = None
    workers_note: str = "No worker responses were given."
    notes: Sequence[str] = field(default_factory=tuple)
    video: VideoStats | None = None  # video frames: numbers per sequence and track
    sequence_previews: Sequence[PreviewTile] = ()  # video frames: a few frames per sequence
    sequences_not_drawn: int = 0

    @property
    def task(self) -> YoloTask:
        return dataset_task(self.report)

    @property
    def frames(self) -> bool:
        """A detection dataset of video frames."""
        return self.task is YoloTask.DETECT and video_facts(self.report) is not None

    @property
    def words(self) -> ShapeWords:
        return POLYGON_WORDS if self.task is YoloTask.SEGMENT else BOX_WORDS


@dataclass(frozen=True)
class ShapeWords:
    """How the page names a dataset's labels: boxes (detect), or polygons of regions (segment)."""

    shapes: str  # what a label file's rows are
    region: str  # what one of them outlines, for its size
    regions: str  # ... and for the counts and the drops
    kind: str  # the dataset, in the header

    @property
    def dropped(self) -> str:
        return f"dropped {self.regions}"


BOX_WORDS = ShapeWords("boxes", "box", "boxes", "YOLO dataset")
POLYGON_WORDS = ShapeWords("polygons", "region", "regions", "YOLO segmentation dataset")


def render_page(data: PageData) -> str:
    if data.task is YoloTask.CLASSIFY:
        parts: Sequence[Callable[[PageData], str]] = (
            classify_sections.counts, classify_sections.classes, classify_sections.labels,
            classify_sections.splits, _dropped_labels, _labelers, _gallery,
        )  # fmt: skip
        kind = classify_sections.kind(data.report)
    elif data.frames:
        parts = (
            _counts, video_sections.sequences, video_sections.tracks, _classes, _boxes, _splits,
            _rejections, _labelers, _frames_gallery,
        )  # fmt: skip
        kind = video_sections.KIND
    else:
        parts = (_counts, _classes, _boxes, _splits, _rejections, _labelers, _gallery)
        kind = data.words.kind
    sections = [part(data) for part in parts]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)} - gt2yolo report</title><style>{_STYLE}</style></head>"
        f"<body><header><h1>{escape(data.title)}</h1><p>{escape(kind)} report by gt2yolo: "
        f"label attribute {code(str(data.report.get('label_attribute', '')))}, classes from "
        f"{escape(str(data.report.get('class_source', '')))}</p></header><main>"
        + "".join(sections)
        + note_paragraphs(data.notes)
        + "</main></body></html>\n"
    )


def _counts(data: PageData) -> str:
    r, words = data.report, data.words
    if data.task is YoloTask.SEGMENT:
        changed = ("regions with holes", r.get("segmentation", {}).get("regions_with_holes", 0))
    else:
        changed = ("clamped boxes", r.get("clamped_boxes", 0))
    return count_tiles([
        ("images", r.get("images", 0)), (words.shapes, r.get("boxes", 0)),
        ("classes", len(r.get("classes", []))),
        ("background images", r.get("background_images", 0)),
        ("manifest lines", r.get("lines", 0)), ("rejected lines", r.get("rejected_lines", 0)),
        changed, (words.dropped, sum(r.get("dropped_boxes", {}).values())),
        *_video_counts(data),
    ])  # fmt: skip


def _video_counts(data: PageData) -> list[tuple[str, Any]]:
    facts = video_facts(data.report) if data.frames else None
    if facts is None:
        return []
    counts: list[tuple[str, Any]] = [("sequences", facts.get("sequences", 0))]
    if facts.get("tracking"):
        counts.append(("tracks", facts.get("tracks", 0)))
    return counts


def worker_colors(worker_ids: Sequence[str]) -> dict[str, str]:
    """Workers by their sorted id: on one page, telling workers apart in the stacked chart
    matters more than a worker keeping a color across reports (which class colors do)."""
    return {w: PALETTE[i % len(PALETTE)] for i, w in enumerate(sorted(worker_ids))}


def _classes(data: PageData) -> str:
    shapes = data.words.shapes
    per_class: dict[str, int] = data.report.get("boxes_per_class", {})
    bars = [Bar(name, count, name_color(name)) for name, count in per_class.items()]
    rows = [(i, swatch(name), count) for i, (name, count) in enumerate(per_class.items())]
    title = f"{shapes.capitalize()} per class"
    body = (
        f'<div class="grid">{bar_chart(title, bars)}'
        f"{table(('id', 'class', shapes), rows, {0, 2})}</div>"
    )
    return section("classes", title, body)


def _boxes(data: PageData) -> str:
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
    segment = data.task is YoloTask.SEGMENT
    pixels = "Region area in pixels" if segment else "Box size in pixels"
    body = (
        f'<div class="grid"><div><h3>{shapes.capitalize()} per image</h3>{per_image}</div>'
        f"<div><h3>{region.capitalize()} size (side relative to the image)</h3>{sizes}</div>"
        f"<div><h3>{pixels}</h3>{coco}<p class=note>small &lt; 32&times;32 &le; "
        "medium &lt; 96&times;96 &le; large</p></div></div>"
    )
    if segment:
        body += _holes(data)
        return section("polygons", "Polygons per image and region sizes", body)
    return section("boxes", "Boxes per image and box sizes", body)


def _holes(data: PageData) -> str:
    seg: dict[str, Any] = data.report.get("segmentation", {})
    return note_paragraphs([
        f"Region sizes are the regions' own areas (holes excluded), as COCO measures them. "
        f"{seg.get('regions_with_holes', 0)} polygons have holes cut in "
        f"({data.stats.images_with_holes} images); {seg.get('small_holes_filled', 0)} holes "
        "below the minimum region area were filled.",
        f"Outlines simplified to within {seg.get('polygon_tolerance_px', '?')} px; regions "
        f"under {seg.get('min_region_area_px', '?')} square px dropped (small_region).",
    ])  # fmt: skip


def _splits(data: PageData) -> str:
    shapes = data.words.shapes
    images: dict[str, int] = data.report.get("images_per_split", {})
    boxes: dict[str, int] = data.report.get("boxes_per_split", {})
    total = sum(images.values()) or 1
    rows = [
        (
            split,
            n,
            f"{n / total:.0%}",
            boxes.get(split, 0),
            f"{boxes.get(split, 0) / max(n, 1):.2f}",
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


def rejected_listing(data: PageData) -> str:
    """The first rejected lines, one row each, and how many more rejected.jsonl holds."""
    if not data.rejected:
        return ""
    rows = [
        (e.get("manifest", ""), e.get("line", ""), e.get("reason", ""), e.get("detail", ""),
         e.get("source_ref") or "")
        for e in data.rejected
    ]  # fmt: skip
    listing = table(("manifest", "line", "reason", "detail", "source-ref"), rows, {1})
    if data.rejected_total > len(data.rejected):
        more = data.rejected_total - len(data.rejected)
        listing += f'<p class="note">{more} more in rejected.jsonl.</p>'
    return listing


def rejections_section(data: PageData, dropped_title: str, dropped_rows: Sequence[Any]) -> str:
    """Rejected lines by reason, the labels dropped from accepted lines by reason, the list."""
    reasons: dict[str, int] = data.report.get("rejected", {})
    parts = []
    if reasons:
        parts.append(table(("rejected lines: reason", "lines"), list(reasons.items()), {1}))
    if dropped_rows:
        what = dropped_title.rsplit(maxsplit=1)[-1]
        parts.append(table((f"{dropped_title}: reason", what), list(dropped_rows), {1}))
    if not parts:
        return section("rejected", "Rejected lines", "<p>Every manifest line converted.</p>")
    return section(
        "rejected",
        f"Rejected lines and {dropped_title}",
        f'<div class="grid">{"".join(parts)}</div>{rejected_listing(data)}',
    )


def _rejections(data: PageData) -> str:
    dropped: dict[str, int] = data.report.get("dropped_boxes", {})
    return rejections_section(data, data.words.dropped, list(dropped.items()))


def _dropped_labels(data: PageData) -> str:
    dropped: dict[str, int] = data.report.get("classification", {}).get("dropped_labels", {})
    return rejections_section(data, "dropped labels", list(dropped.items()))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _labelers(data: PageData) -> str:
    section_data = data.workers
    if section_data is None or not section_data.summaries:
        note = data.workers_note if section_data is None else "No readable worker responses."
        return section("labelers", "Labelers", f'<p class="note">{escape(note)}</p>')
    workers = section_data.summaries
    color = worker_colors([w.worker_id for w in workers])
    boxes = data.task is YoloTask.DETECT
    days = sorted({d.day for d in section_data.daily})
    series = [
        Series(w.worker_id, color[w.worker_id], tuple(
            sum(d.answers for d in section_data.daily
                if d.day == day and d.worker_id == w.worker_id)
            for day in days))
        for w in workers
    ]  # fmt: skip
    daily = stacked_chart("Answers per UTC day, by worker", [str(d) for d in days], series, 520)
    timing = bar_chart(
        "Median active seconds per answer",
        [Bar(w.worker_id, w.median_seconds or 0, color[w.worker_id],
             _seconds(w.median_seconds)) for w in workers],
        460,
    )  # fmt: skip
    charts = (
        f'<div class="grid"><div><h3>Answers per day</h3>{daily}</div>'
        f"<div><h3>Active time</h3>{timing}</div>"
    )
    texts = [f"Worker responses: {section_data.location}."]
    if boxes:
        agreement = bar_chart(
            "Mean IoU with the consolidated boxes",
            [Bar(w.worker_id, w.agreement.mean_iou or 0, color[w.worker_id],
                 "n/a" if w.agreement.mean_iou is None else f"{w.agreement.mean_iou:.3f}")
             for w in workers],
            460,
        )  # fmt: skip
        charts += f"<div><h3>Agreement</h3>{agreement}</div>"
        texts.append(
            f"{section_data.shared_objects} objects were answered by several workers; "
            f"{section_data.compared_objects} of them were compared with their consolidated "
            "boxes (boxes matched per class, highest IoU first, IoU at least 0.5)."
        )
    texts += section_data.notes
    if section_data.unreadable_files:
        texts.append(f"{section_data.unreadable_files} worker-response files could not be read.")
    body = _workers_table(workers, color, boxes) + charts + "</div>" + note_paragraphs(texts)
    return section("labelers", "Labelers", body)


def _workers_table(workers: Sequence[WorkerSummary], color: dict[str, str], boxes: bool) -> str:
    """Answers and active time per worker; for boxes, also how they match the consolidation."""
    if not boxes:
        times = [
            (swatch(w.worker_id, color[w.worker_id]), w.answers, _seconds(w.median_seconds),
             _seconds(w.mean_seconds), f"{w.first_day} .. {w.last_day}")
            for w in workers
        ]  # fmt: skip
        return table(("worker", "answers", "median s", "mean s", "UTC days"), times, {1, 2, 3})
    rows = [
        (swatch(w.worker_id, color[w.worker_id]), w.answers, w.boxes, _seconds(w.median_seconds),
         _seconds(w.mean_seconds), f"{w.first_day} .. {w.last_day}", w.agreement.compared_answers,
         w.agreement.matched_boxes, w.agreement.missed_boxes, w.agreement.extra_boxes,
         "" if w.agreement.mean_iou is None else f"{w.agreement.mean_iou:.3f}")
        for w in workers
    ]  # fmt: skip
    return table(
        ("worker", "answers", "boxes", "median s", "mean s", "UTC days", "compared",
         "matched", "missed", "extra", "mean IoU"),
        rows, set(range(1, 11)) - {5},
    )  # fmt: skip


def _gallery(data: PageData) -> str:
    if not data.previews:
        return section("previews", "Previews", '<p class="note">No previews.</p>')
    classes = data.report.get("classes", [])
    legend = " ".join(swatch(name) for name in classes)
    tiles = "".join(_tile(tile, data.words.shapes) for tile in data.previews)
    if data.task is YoloTask.CLASSIFY:
        intro = classify_sections.gallery_intro(data.report, legend)
    else:
        intro = _shapes_intro(data, legend)
    unread = sum(tile.label_problem for tile in data.previews)
    if unread:
        intro += (
            f'<p class="note"><span class="flag">{unread} drawn images have a missing or '
            "unreadable label file</span>: they are drawn without labels.</p>"
        )
    return section("previews", "Previews", f'{intro}<div class="gallery">{tiles}</div>')


def _frames_gallery(data: PageData) -> str:
    """A few frames of each sequence, evenly spaced, then the other frames whose boxes the
    rules changed."""
    if not data.previews and not data.sequence_previews:
        return section("previews", "Previews", '<p class="note">No previews.</p>')
    legend = " ".join(swatch(name) for name in data.report.get("classes", []))
    intro = (
        "<p>Boxes read back from the written YOLO label files, each named with its class and "
        f"its track id (<code>car #3</code>) when it has one. Legend: {legend}. Orange frames: "
        "frames with clamped or dropped boxes. Click a picture for full size.</p>"
    )
    unread = sum(tile.label_problem for tile in (*data.sequence_previews, *data.previews))
    if unread:
        intro += (
            f'<p class="note"><span class="flag">{unread} drawn frames have a missing or '
            "unreadable label file</span>: they are drawn without labels.</p>"
        )
    groups: dict[str, list[PreviewTile]] = {}
    for tile in data.sequence_previews:
        groups.setdefault(tile.sequence or "", []).append(tile)
    body = "".join(
        f'<h3>{escape(name)}</h3><div class="gallery">'
        + "".join(_tile(tile, "boxes") for tile in tiles) + "</div>"
        for name, tiles in groups.items()
    )  # fmt: skip
    if data.sequences_not_drawn:
        body += (
            f'<p class="note">{data.sequences_not_drawn} more sequences are not drawn (limit); '
            "images.csv lists their frames.</p>"
        )
    if data.previews:
        body += (
            "<h3>Other frames with clamped or dropped boxes</h3>"
            f'<div class="gallery">{"".join(_tile(tile, "boxes") for tile in data.previews)}</div>'
        )
    if data.flagged_not_drawn:
        body += (
            f'<p class="note">{data.flagged_not_drawn} more frames with clamped or dropped '
            "boxes are not drawn (limit); images.csv lists them.</p>"
        )
    return section("previews", "Previews by sequence", intro + body)


def _shapes_intro(data: PageData, legend: str) -> str:
    if data.task is YoloTask.SEGMENT:
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


def _tile(tile: PreviewTile, shapes: str) -> str:
    flags = []
    if tile.clamped:
        flags.append(f"{tile.clamped} clamped")
    if tile.dropped:
        flags.append(f"{tile.dropped} dropped")
    split, _, path = tile.image.removeprefix("images/").partition("/")
    caption = escape(path) + f" &middot; {escape(split)}"
    if tile.classes is not None:
        caption += " &middot; " + (" ".join(swatch(c) for c in tile.classes) or "no class")
    else:
        caption += f" &middot; {tile.boxes} {shapes}"
    if tile.frame_number is not None:
        caption += f" &middot; frame {tile.frame_number}"
    if tile.tracks:
        ids = ", ".join(str(t) for t in tile.tracks if t is not None)
        caption += f" &middot; tracks {escape(ids)}" if ids else ""
    if flags:
        caption += f' <span class="flag">{escape(", ".join(flags))}</span>'
    if tile.note:
        caption += f'<br><span class="note">{escape(tile.note)}</span>'
    source = "data:image/jpeg;base64," + base64.b64encode(tile.thumbnail).decode("ascii")
    href = escape(quote(tile.link, safe="/"))
    css = ' class="flagged"' if flags else ""
    return (
        f'<figure{css}><a href="{href}"><img src="{source}" alt="{escape(tile.image)}"></a>'
        f"<figcaption>{caption}</figcaption></figure>"
    )
