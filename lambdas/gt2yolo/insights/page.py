"""report.html: one self-contained page about a dataset and its labelers.

Self-contained means nothing is fetched: styles inline, charts inline SVG, preview thumbnails
embedded as `data:` URIs (the page works when mailed or downloaded alone), each linking to its
full-size JPEG under `previews/` (works next to the dataset). A Content-Security-Policy that
allows only inline styles and data: images makes any stray reference fail closed, offline.
Every user-provided string (class names, worker ids, file names, details) is escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

from gt2yolo.insights.charts import Bar, Series, bar_chart, column_chart, stacked_chart
from gt2yolo.insights.colors import PALETTE, name_color
from gt2yolo.insights.stats import COCO_LABELS, SIZE_LABELS, DatasetStats
from gt2yolo.insights.workers import DailyCount, WorkerSummary

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


def render_page(data: PageData) -> str:
    sections = [
        _counts(data),
        _classes(data),
        _boxes(data),
        _splits(data),
        _rejections(data),
        _labelers(data),
        _gallery(data),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)} - gt2yolo report</title><style>{_STYLE}</style></head>"
        f"<body><header><h1>{escape(data.title)}</h1><p>YOLO dataset report by gt2yolo: "
        f"label attribute {_code(str(data.report.get('label_attribute', '')))}, classes from "
        f"{escape(str(data.report.get('class_source', '')))}</p></header><main>"
        + "".join(sections)
        + "".join(f'<p class="note">{escape(note)}</p>' for note in data.notes)
        + "</main></body></html>\n"
    )


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> str:
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(v))}</td>' if i in numeric else f"<td>{_cell(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Html(str):
    """Markup built here (already escaped), as opposed to user text."""


def _cell(value: Any) -> str:
    return str(value) if isinstance(value, Html) else escape(str(value))


def _counts(data: PageData) -> str:
    r = data.report
    counts = [
        ("images", r.get("images", 0)), ("boxes", r.get("boxes", 0)),
        ("classes", len(r.get("classes", []))),
        ("background images", r.get("background_images", 0)),
        ("manifest lines", r.get("lines", 0)), ("rejected lines", r.get("rejected_lines", 0)),
        ("clamped boxes", r.get("clamped_boxes", 0)),
        ("dropped boxes", sum(r.get("dropped_boxes", {}).values())),
    ]  # fmt: skip
    tiles = "".join(
        f'<div class="count" data-count="{escape(name)}"><b>{value}</b>'
        f"<span>{escape(name)}</span></div>"
        for name, value in counts
    )
    return _section("counts", "Counts", f'<div class="counts">{tiles}</div>')


def _swatch(name: str, color: str | None = None) -> Html:
    fill = color or name_color(name)
    return Html(f'<span class="swatch" style="background:{fill}"></span>{escape(name)}')


def worker_colors(worker_ids: Sequence[str]) -> dict[str, str]:
    """Workers by their sorted id: on one page, telling workers apart in the stacked chart
    matters more than a worker keeping a color across reports (which class colors do)."""
    return {w: PALETTE[i % len(PALETTE)] for i, w in enumerate(sorted(worker_ids))}


def _classes(data: PageData) -> str:
    per_class: dict[str, int] = data.report.get("boxes_per_class", {})
    bars = [Bar(name, count, name_color(name)) for name, count in per_class.items()]
    rows = [(i, _swatch(name), count) for i, (name, count) in enumerate(per_class.items())]
    body = (
        f'<div class="grid">{bar_chart("Boxes per class", bars)}'
        f"{_table(('id', 'class', 'boxes'), rows, {0, 2})}</div>"
    )
    return _section("classes", "Boxes per class", body)


def _boxes(data: PageData) -> str:
    stats = data.stats
    per_image = column_chart(
        "Boxes per image", [Bar(label, n) for label, n in stats.per_image_histogram()], 520
    )
    sizes = column_chart(
        "Box size: square root of the box's share of the image area",
        [Bar(label, stats.relative_sizes[label], "#6a8d3a") for label in SIZE_LABELS],
        520,
    )
    coco = _table(
        ("COCO size", "boxes"), [(label, stats.coco_sizes[label]) for label in COCO_LABELS], {1}
    )
    body = (
        f'<div class="grid"><div><h3>Boxes per image</h3>{per_image}</div>'
        f"<div><h3>Box size (side relative to the image)</h3>{sizes}</div>"
        f"<div><h3>Box size in pixels</h3>{coco}<p class=note>small &lt; 32&times;32 &le; "
        "medium &lt; 96&times;96 &le; large</p></div></div>"
    )
    return _section("boxes", "Boxes per image and box sizes", body)


def _splits(data: PageData) -> str:
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
    table = _table(("split", "images", "share", "boxes", "boxes/image"), rows, {1, 2, 3, 4})
    return _section("splits", "Split balance", f'<div class="grid">{chart}{table}</div>')


def _rejections(data: PageData) -> str:
    reasons: dict[str, int] = data.report.get("rejected", {})
    dropped: dict[str, int] = data.report.get("dropped_boxes", {})
    parts = []
    if reasons:
        parts.append(_table(("rejected lines: reason", "lines"), list(reasons.items()), {1}))
    if dropped:
        parts.append(_table(("dropped boxes: reason", "boxes"), list(dropped.items()), {1}))
    listing = ""
    if data.rejected:
        rows = [
            (e.get("manifest", ""), e.get("line", ""), e.get("reason", ""), e.get("detail", ""),
             e.get("source_ref") or "")
            for e in data.rejected
        ]  # fmt: skip
        listing = _table(("manifest", "line", "reason", "detail", "source-ref"), rows, {1})
        if data.rejected_total > len(data.rejected):
            more = data.rejected_total - len(data.rejected)
            listing += f'<p class="note">{more} more in rejected.jsonl.</p>'
    if not parts:
        return _section("rejected", "Rejected lines", "<p>Every manifest line converted.</p>")
    return _section(
        "rejected",
        "Rejected lines and dropped boxes",
        f'<div class="grid">{"".join(parts)}</div>{listing}',
    )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _labelers(data: PageData) -> str:
    section = data.workers
    if section is None or not section.summaries:
        note = data.workers_note if section is None else "No readable worker responses."
        return _section("labelers", "Labelers", f'<p class="note">{escape(note)}</p>')
    workers = section.summaries
    color = worker_colors([w.worker_id for w in workers])
    rows = [
        (_swatch(w.worker_id, color[w.worker_id]), w.answers, w.boxes, _seconds(w.median_seconds),
         _seconds(w.mean_seconds), f"{w.first_day} .. {w.last_day}", w.agreement.compared_answers,
         w.agreement.matched_boxes, w.agreement.missed_boxes, w.agreement.extra_boxes,
         "" if w.agreement.mean_iou is None else f"{w.agreement.mean_iou:.3f}")
        for w in workers
    ]  # fmt: skip
    table = _table(
        ("worker", "answers", "boxes", "median s", "mean s", "UTC days", "compared",
         "matched", "missed", "extra", "mean IoU"),
        rows, set(range(1, 11)) - {5},
    )  # fmt: skip
    days = sorted({d.day for d in section.daily})
    series = [
        Series(w.worker_id, color[w.worker_id], tuple(
            sum(d.answers for d in section.daily if d.day == day and d.worker_id == w.worker_id)
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
    agreement = bar_chart(
        "Mean IoU with the consolidated boxes",
        [Bar(w.worker_id, w.agreement.mean_iou or 0, color[w.worker_id],
             "n/a" if w.agreement.mean_iou is None else f"{w.agreement.mean_iou:.3f}")
         for w in workers],
        460,
    )  # fmt: skip
    notes = [
        f"Worker responses: {section.location}.",
        f"{section.shared_objects} objects were answered by several workers; "
        f"{section.compared_objects} of them were compared with their consolidated boxes "
        "(boxes matched per class, highest IoU first, IoU at least 0.5).",
        *section.notes,
    ]
    if section.unreadable_files:
        notes.append(f"{section.unreadable_files} worker-response files could not be read.")
    body = (
        f'{table}<div class="grid"><div><h3>Answers per day</h3>{daily}</div>'
        f"<div><h3>Active time</h3>{timing}</div><div><h3>Agreement</h3>{agreement}</div></div>"
        + "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    )
    return _section("labelers", "Labelers", body)


def _gallery(data: PageData) -> str:
    if not data.previews:
        return _section("previews", "Previews", '<p class="note">No previews.</p>')
    classes = data.report.get("classes", [])
    legend = " ".join(_swatch(name) for name in classes)
    tiles = "".join(_tile(tile) for tile in data.previews)
    intro = (
        f"<p>Boxes read back from the written YOLO label files. Legend: {legend}. Orange "
        "frames: images with clamped or dropped boxes. Click a picture for full size.</p>"
    )
    if data.flagged_not_drawn:
        intro += (
            f'<p class="note">{data.flagged_not_drawn} more images with clamped or dropped '
            "boxes are not drawn (limit); images.csv lists them.</p>"
        )
    return _section("previews", "Previews", f'{intro}<div class="gallery">{tiles}</div>')


def _tile(tile: PreviewTile) -> str:
    flags = []
    if tile.clamped:
        flags.append(f"{tile.clamped} clamped")
    if tile.dropped:
        flags.append(f"{tile.dropped} dropped")
    caption = escape(tile.image.split("/", 2)[-1]) + f" &middot; {escape(tile.image.split('/')[1])}"
    caption += f" &middot; {tile.boxes} boxes"
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
