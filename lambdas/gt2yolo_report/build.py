"""A written dataset (+ optional worker responses) -> previews/, workers CSVs and report.html.

Data flow: report.json -> worker responses (parsed, grouped by object) -> images.csv (stats,
preview sample, object index) -> annot.csv (box sizes, consolidated boxes of shared objects)
-> agreement -> previews drawn from the label files -> page. Shared by the Report Lambda and
`gt2yolo report`; storage and sources come in through the core's small interfaces.

report.json's `task` picks the readers and the drawing: boxes (detect), polygons (segment),
class names (classify; its one table, annot.csv, gives both the images and their classes).
A dataset of video frames (report.json's `video`) also gets its numbers per sequence and per
track, and its previews are a few evenly spaced frames of each sequence (a second images.csv
pass, once each sequence's span is known) with each box's track id from annot.csv, plus the
frames whose boxes the rules changed. Worker agreement is measured for the boxes of image jobs
only; the other tasks' labelers (and video jobs', whose responses name a sequence, not a frame)
get their answer counts and times. A label file that is missing or unreadable is drawn as an empty label, noted on its
preview and counted, never fatal.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from gt2yolo.insights.agreement import worker_agreement
from gt2yolo.insights.dataset import (
    DatasetFiles,
    ImageRow,
    annot_rows,
    image_rows,
    parse_label_file,
    parse_polygon_file,
    read_classes,
    rejected_lines,
)
from gt2yolo.insights.page import (
    REJECTED_SHOWN,
    REPORT_HTML,
    PageData,
    PreviewTile,
    WorkerSection,
    render_page,
)
from gt2yolo.insights.report_file import read_report
from gt2yolo.insights.sampling import DEFAULT_FLAGGED_LIMIT, DEFAULT_SAMPLE, choose_previews
from gt2yolo.insights.stats import DatasetStats
from gt2yolo.insights.video import (
    FRAMES_PER_SEQUENCE,
    SEQUENCES_DRAWN,
    VideoStats,
    pick_frames,
    track_labels,
)
from gt2yolo.insights.workers import (
    WORKERS_CSV,
    WORKERS_DAILY_CSV,
    AnswerBox,
    ResponseFiles,
    ResponseSet,
    WorkerAnswer,
    daily_counts,
    read_responses,
    shared_objects,
    summarize_workers,
    workers_csv,
    workers_daily_csv,
)
from gt2yolo.storage import Storage
from gt2yolo.task_types import YoloTask
from gt2yolo.tasks.video.report import VideoSection

from gt2yolo_report.draw import Drawn, draw_classes, draw_polygons, draw_preview

PREVIEWS_PREFIX = "previews/"
DRAW_THREADS = 4  # overlaps S3 reads of images; Pillow releases the GIL while coding JPEGs
Shape = TypeVar("Shape")  # what a label file holds: YoloBox or YoloPolygon


@dataclass(frozen=True)
class ReportOptions:
    sample_size: int = DEFAULT_SAMPLE
    flagged_limit: int = DEFAULT_FLAGGED_LIMIT
    title: str | None = None
    frames_per_sequence: int = FRAMES_PER_SEQUENCE  # video frames: previews of each sequence
    sequences_drawn: int = SEQUENCES_DRAWN


@dataclass(frozen=True)
class ReportResult:
    report: str  # where report.html is
    previews: int
    workers: int
    worker_answers: int
    compared_objects: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "previews": self.previews,
            "workers": self.workers,
            "worker_answers": self.worker_answers,
            "compared_objects": self.compared_objects,
            "notes": self.notes,
        }


def preview_key(row: ImageRow) -> str:
    """labels/<split>/a/x.txt -> previews/<split>/a/x.jpg (label paths are unique per dataset).

    Classification has no label files: images/<split>/a/x.png (multi-label) or
    <split>/<class folder>/a/x.png -> previews/<split>/[<class folder>/]a/x.jpg (image stems
    are unique per dataset as label paths are).
    """
    if not row.label:
        stem = posixpath.splitext(row.image.removeprefix("images/"))[0]
        return PREVIEWS_PREFIX + stem + ".jpg"
    return PREVIEWS_PREFIX + row.label.removeprefix("labels/").removesuffix(".txt") + ".jpg"


def build_report(
    files: DatasetFiles,
    out: Storage,
    responses: ResponseFiles | None = None,
    options: ReportOptions | None = None,
) -> ReportResult:
    options = options or ReportOptions()
    report = read_report(files)
    task = YoloTask(report.task)
    classes = list(report.classes or read_classes(files))
    answers = read_responses(responses) if responses is not None else None
    frames = isinstance(report.section, VideoSection)
    scan = _ImageScan(answers, task, frames)
    choice = choose_previews(
        scan.observe(image_rows(files, task)),
        0 if frames else options.sample_size,  # frames: sampled by sequence instead
        options.flagged_limit,
    )
    picks = pick_frames(
        image_rows(files, task) if frames else (), scan.video, options.frames_per_sequence,
        options.sequences_drawn,
    )  # fmt: skip
    picked = {row.image for row in picks.frames}
    others = [row for row in choice.images if row.image not in picked]
    scan.box_tracks = {row.label: [] for row in (*picks.frames, *others)} if frames else {}
    consolidated = scan.consolidated_boxes(files)
    drawn_tiles = _draw_all(files, out, [*picks.frames, *others], classes, task, scan.box_tracks)
    sequence_tiles, tiles = drawn_tiles[: len(picks.frames)], drawn_tiles[len(picks.frames) :]
    workers = _workers(answers, scan, consolidated, responses)
    if workers is not None:
        out.write_bytes(WORKERS_CSV, workers_csv(workers.summaries).encode())
        out.write_bytes(WORKERS_DAILY_CSV, workers_daily_csv(workers.daily).encode())
    rejected = rejected_lines(files)
    shown = list(islice(rejected, REJECTED_SHOWN))
    page = PageData(
        title=options.title or _title(files),
        report=report,
        stats=scan.stats,
        rejected=shown,
        rejected_total=len(shown) + sum(1 for _ in rejected),
        previews=tiles,
        flagged_not_drawn=choice.flagged_not_drawn,
        workers=workers,
        video=scan.video if frames else None,
        sequence_previews=sequence_tiles,
        sequences_not_drawn=picks.sequences_not_drawn,
    )
    out.write_bytes(REPORT_HTML, render_page(page).encode())
    out.flush()
    notes = list(workers.notes) if workers else []
    unread = sum(tile.label_problem for tile in drawn_tiles)
    if unread:
        notes.append(f"{unread} drawn images have a missing or unreadable label file.")
    return ReportResult(
        report=out.location(REPORT_HTML),
        previews=len(drawn_tiles),
        workers=len(workers.summaries) if workers else 0,
        worker_answers=len(answers.answers) if answers else 0,
        compared_objects=workers.compared_objects if workers else 0,
        notes=notes,
    )


def _title(files: DatasetFiles) -> str:
    return files.location().rstrip("/").rsplit("/", 1)[-1] or "dataset"


class _ImageScan:
    """State of the images.csv pass: numbers, and the rows of objects several workers shared.

    Worker responses name a dataset object by index, not by image. Without a mapping file in
    the job output, the index is taken as the line's position in the output manifest (which
    keeps the input manifest's order): line n is object n-1. That is checked: an object whose
    workers saw another image size than the line's image is not compared. Only boxes of image
    jobs are compared: for the other tasks, and for video frames (a line is a whole sequence),
    no object is mapped.
    """

    def __init__(
        self, answers: ResponseSet | None, task: YoloTask = YoloTask.DETECT, frames: bool = False
    ) -> None:
        self.task = task
        self.frames = frames
        self.stats = DatasetStats()
        self.video = VideoStats()
        # Video frames: the drawn frames' kept boxes (class, track id), by label file.
        self.box_tracks: dict[str, list[tuple[str, int | None]]] = {}
        self.by_object = answers.by_object() if answers else {}
        self.shared = shared_objects(self.by_object)
        self.rows: dict[str, ImageRow] = {}
        self.manifests: set[str] = set()
        self.mismatched = 0

    def observe(self, rows: Iterable[ImageRow]) -> Iterator[ImageRow]:
        for row in rows:
            self.stats.add_image(row)
            self.video.add_image(row)
            self.manifests.add(row.manifest)
            object_id = str(row.line - 1)
            if object_id in self.shared and self.task is YoloTask.DETECT and not self.frames:
                if self._sizes_agree(self.by_object[object_id], row):
                    self.rows[object_id] = row
                else:
                    self.mismatched += 1
            yield row

    @staticmethod
    def _sizes_agree(answers: Sequence[WorkerAnswer], row: ImageRow) -> bool:
        sizes = {a.image_size for a in answers if a.image_size is not None}
        return sizes <= {(row.width, row.height)}

    def consolidated_boxes(self, files: DatasetFiles) -> dict[str, list[AnswerBox]]:
        """annot.csv pass: box sizes for the stats, and the boxes of the mapped objects."""
        if self.task is YoloTask.CLASSIFY:
            return {}  # annot.csv holds classes, read with the images
        mapped = self.rows if len(self.manifests) == 1 else {}
        wanted = {row.source_ref: object_id for object_id, row in mapped.items()}
        # An image without boxes is a valid consolidation too: every mapped object is present.
        boxes: dict[str, list[AnswerBox]] = {object_id: [] for object_id in mapped}
        for row in annot_rows(files):
            self.stats.add_box(row)
            self.video.add_box(row)
            if row.kept and row.label in self.box_tracks:
                self.box_tracks[row.label].append((row.category, row.track_id))
            if row.source_ref in wanted:
                boxes[wanted[row.source_ref]].append(
                    AnswerBox(row.category, row.left, row.top, row.width, row.height)
                )
        return boxes

    def notes(self) -> list[str]:
        notes = []
        if self.frames:
            notes.append(
                "Agreement with the consolidated boxes is not measured for video frames: a "
                "worker response names a sequence, not a frame."
            )
        elif self.task is not YoloTask.DETECT:
            notes.append(
                "Agreement with the consolidated labels is measured for bounding boxes only: "
                f"this is a {self.task} dataset."
            )
        if len(self.manifests) > 1:
            notes.append(
                "The dataset merges several manifests: worker responses cannot be matched to "
                "images by position, so agreement is not computed."
            )
        if self.mismatched:
            notes.append(
                f"{self.mismatched} shared objects were not compared: the image size the "
                "workers saw differs from the image at that manifest position."
            )
        return notes


def _workers(
    answers: ResponseSet | None,
    scan: _ImageScan,
    consolidated: dict[str, list[AnswerBox]],
    responses: ResponseFiles | None,
) -> WorkerSection | None:
    if answers is None or responses is None:
        return None
    agreement = worker_agreement(scan.by_object, consolidated)
    return WorkerSection(
        summaries=summarize_workers(answers.answers, agreement),
        daily=daily_counts(answers.answers),
        location=responses.location(),
        unreadable_files=len(answers.unreadable),
        shared_objects=len(scan.shared),
        compared_objects=len(consolidated),
        notes=scan.notes(),
    )


def _draw_all(
    files: DatasetFiles,
    out: Storage,
    rows: Sequence[ImageRow],
    classes: Sequence[str],
    task: YoloTask,
    box_tracks: dict[str, list[tuple[str, int | None]]] | None = None,
) -> list[PreviewTile]:
    draw = _drawer(files, classes, task, box_tracks or {})
    tiles = []
    with ThreadPoolExecutor(max_workers=DRAW_THREADS, thread_name_prefix="preview") as pool:
        for row, drawn, tile in pool.map(draw, rows):
            out.write_bytes(preview_key(row), drawn.full)  # here: one writer thread
            tiles.append(tile)
    return tiles


Drawer = Callable[[ImageRow], tuple[ImageRow, Drawn, PreviewTile]]


def _drawer(
    files: DatasetFiles,
    classes: Sequence[str],
    task: YoloTask,
    box_tracks: dict[str, list[tuple[str, int | None]]],
) -> Drawer:
    """row -> (row, drawn preview, its tile on the page), for the dataset's task; video
    frames' boxes named with their track ids (`box_tracks`, annot.csv's kept boxes)."""

    def classified(row: ImageRow) -> tuple[ImageRow, Drawn, PreviewTile]:
        names = tuple(classes[i] if 0 <= i < len(classes) else f"id {i}"
                      for i in row.classes or ())  # fmt: skip
        drawn = draw_classes(files.read_bytes(row.image), names)
        tile = PreviewTile(
            row.image, preview_key(row), drawn.thumbnail, len(names), 0, 0, drawn.note,
            classes=names,
        )  # fmt: skip
        return row, drawn, tile

    def labeled(row: ImageRow) -> tuple[ImageRow, Drawn, PreviewTile]:
        image, size = files.read_bytes(row.image), (row.width, row.height)
        tracks: tuple[int | None, ...] | None = None
        if task is YoloTask.SEGMENT:
            polygons, problem = _read_labels(files, row, parse_polygon_file)
            drawn, count = draw_polygons(image, size, polygons, classes), len(polygons)
        else:
            boxes, problem = _read_labels(files, row, parse_label_file)
            names = [classes[b.class_id] if 0 <= b.class_id < len(classes) else "" for b in boxes]
            tracked = (
                track_labels(names, box_tracks[row.label]) if row.label in box_tracks else None
            )
            texts, tracks = tracked if tracked is not None else (None, None)
            drawn, count = draw_preview(image, size, boxes, classes, texts), len(boxes)
        tile = PreviewTile(
            row.image, preview_key(row), drawn.thumbnail, count, row.clamped_boxes,
            row.dropped_boxes, problem or drawn.note, label_problem=problem is not None,
            tracks=tracks, sequence=row.sequence, frame_number=row.frame_number,
        )  # fmt: skip
        return row, drawn, tile

    return classified if task is YoloTask.CLASSIFY else labeled


def _read_labels(
    files: DatasetFiles, row: ImageRow, parse: Callable[[str], list[Shape]]
) -> tuple[list[Shape], str | None]:
    """The label file's boxes or polygons, and what is wrong with the file if anything is."""
    label = files.read_bytes(row.label)
    if label is None:
        return [], "label file missing"
    try:
        return parse(label.decode("utf-8")), None
    except ValueError as exc:  # UnicodeDecodeError too
        return [], f"label file unreadable: {exc}"
