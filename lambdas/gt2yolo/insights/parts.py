"""The page's shared building blocks: what a page is made of (`PageData`), how a kind of
dataset lays it out (`PageSections`), and the sections every task's page uses (rejections,
labelers, previews).

Each task's page sections (`gt2yolo/tasks/<task>/page.py`) import these;
`page` picks one `PageSections` by report.json's task section and renders it. Nothing here
imports the page or a task's sections.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

from gt2yolo.insights.charts import Bar, Series, bar_chart, stacked_chart
from gt2yolo.insights.colors import PALETTE
from gt2yolo.insights.markup import note_paragraphs, section, swatch, table
from gt2yolo.insights.stats import DatasetStats
from gt2yolo.insights.video import VideoStats
from gt2yolo.insights.workers import DailyCount, WorkerSummary
from gt2yolo.report import ReportDocument
from gt2yolo.task_types import YoloTask
from gt2yolo.tasks.segment.report import SegmentSection
from gt2yolo.tasks.video.report import VideoSection

REJECTED_SHOWN = 200


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
    report: ReportDocument  # report.json
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
        return YoloTask(self.report.task)

    @property
    def frames(self) -> bool:
        """A detection dataset of video frames."""
        return isinstance(self.report.section, VideoSection)

    @property
    def words(self) -> ShapeWords:
        return POLYGON_WORDS if isinstance(self.report.section, SegmentSection) else BOX_WORDS


Part = Callable[[PageData], str]


@dataclass(frozen=True)
class PageSections:
    """How the page shows one kind of dataset: its name in the header, its sections in order."""

    kind: Callable[[PageData], str]
    parts: tuple[Part, ...]


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


def worker_colors(worker_ids: Sequence[str]) -> dict[str, str]:
    """Workers by their sorted id: on one page, telling workers apart in the stacked chart
    matters more than a worker keeping a color across reports (which class colors do)."""
    return {w: PALETTE[i % len(PALETTE)] for i, w in enumerate(sorted(worker_ids))}


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
    reasons = data.report.rejected
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


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def labelers(data: PageData) -> str:
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


def legend(data: PageData) -> str:
    """The classes' swatches, in class order."""
    return " ".join(swatch(name) for name in data.report.classes)


def gallery(data: PageData, intro: Callable[[PageData, str], str]) -> str:
    """The preview sample, introduced by the task's words (`intro` of the page and a legend)."""
    if not data.previews:
        return section("previews", "Previews", '<p class="note">No previews.</p>')
    tiles = "".join(tile(preview, data.words.shapes) for preview in data.previews)
    text = intro(data, legend(data))
    unread = sum(preview.label_problem for preview in data.previews)
    if unread:
        text += (
            f'<p class="note"><span class="flag">{unread} drawn images have a missing or '
            "unreadable label file</span>: they are drawn without labels.</p>"
        )
    return section("previews", "Previews", f'{text}<div class="gallery">{tiles}</div>')


def tile(preview: PreviewTile, shapes: str) -> str:
    flags = []
    if preview.clamped:
        flags.append(f"{preview.clamped} clamped")
    if preview.dropped:
        flags.append(f"{preview.dropped} dropped")
    split, _, path = preview.image.removeprefix("images/").partition("/")
    caption = escape(path) + f" &middot; {escape(split)}"
    if preview.classes is not None:
        caption += " &middot; " + (" ".join(swatch(c) for c in preview.classes) or "no class")
    else:
        caption += f" &middot; {preview.boxes} {shapes}"
    if preview.frame_number is not None:
        caption += f" &middot; frame {preview.frame_number}"
    if preview.tracks:
        ids = ", ".join(str(t) for t in preview.tracks if t is not None)
        caption += f" &middot; tracks {escape(ids)}" if ids else ""
    if flags:
        caption += f' <span class="flag">{escape(", ".join(flags))}</span>'
    if preview.note:
        caption += f'<br><span class="note">{escape(preview.note)}</span>'
    source = "data:image/jpeg;base64," + base64.b64encode(preview.thumbnail).decode("ascii")
    href = escape(quote(preview.link, safe="/"))
    css = ' class="flagged"' if flags else ""
    return (
        f'<figure{css}><a href="{href}"><img src="{source}" alt="{escape(preview.image)}"></a>'
        f"<figcaption>{caption}</figcaption></figure>"
    )
