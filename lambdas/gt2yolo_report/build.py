"""A written dataset (+ optional worker responses) -> previews/, workers CSVs and report.html.

Data flow: report.json -> worker responses (parsed, grouped by object) -> images.csv (stats,
preview sample, object index) -> annot.csv (box sizes, consolidated boxes of shared objects)
-> agreement -> previews drawn from the label files -> page. Shared by the Report Lambda and
`gt2yolo report`; storage and sources come in through the core's small interfaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from gt2yolo.insights.agreement import worker_agreement
from gt2yolo.insights.dataset import (
    DatasetFiles,
    ImageRow,
    annot_rows,
    image_rows,
    parse_label_file,
    read_classes,
    read_report_json,
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
from gt2yolo.insights.sampling import DEFAULT_FLAGGED_LIMIT, DEFAULT_SAMPLE, choose_previews
from gt2yolo.insights.stats import DatasetStats
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

from gt2yolo_report.draw import draw_preview

PREVIEWS_PREFIX = "previews/"
DRAW_THREADS = 4  # overlaps S3 reads of images; Pillow releases the GIL while coding JPEGs


@dataclass(frozen=True)
class ReportOptions:
    sample_size: int = DEFAULT_SAMPLE
    flagged_limit: int = DEFAULT_FLAGGED_LIMIT
    title: str | None = None


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
    """labels/<split>/a/x.txt -> previews/<split>/a/x.jpg (label paths are unique per dataset)."""
    return PREVIEWS_PREFIX + row.label.removeprefix("labels/").removesuffix(".txt") + ".jpg"


def build_report(
    files: DatasetFiles,
    out: Storage,
    responses: ResponseFiles | None = None,
    options: ReportOptions | None = None,
) -> ReportResult:
    options = options or ReportOptions()
    report = read_report_json(files)
    classes = list(report.get("classes") or read_classes(files))
    answers = read_responses(responses) if responses is not None else None
    scan = _ImageScan(answers)
    choice = choose_previews(
        scan.observe(image_rows(files)), options.sample_size, options.flagged_limit
    )
    consolidated = scan.consolidated_boxes(files)
    tiles = _draw_all(files, out, choice.images, classes)
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
    )
    out.write_bytes(REPORT_HTML, render_page(page).encode())
    out.flush()
    return ReportResult(
        report=out.location(REPORT_HTML),
        previews=len(tiles),
        workers=len(workers.summaries) if workers else 0,
        worker_answers=len(answers.answers) if answers else 0,
        compared_objects=workers.compared_objects if workers else 0,
        notes=list(workers.notes) if workers else [],
    )


def _title(files: DatasetFiles) -> str:
    return files.location().rstrip("/").rsplit("/", 1)[-1] or "dataset"


class _ImageScan:
    """State of the images.csv pass: numbers, and the rows of objects several workers shared.

    Worker responses name a dataset object by index, not by image. Without a mapping file in
    the job output, the index is taken as the line's position in the output manifest (which
    keeps the input manifest's order): line n is object n-1. That is checked: an object whose
    workers saw another image size than the line's image is not compared.
    """

    def __init__(self, answers: ResponseSet | None) -> None:
        self.stats = DatasetStats()
        self.by_object = answers.by_object() if answers else {}
        self.shared = shared_objects(self.by_object)
        self.rows: dict[str, ImageRow] = {}
        self.manifests: set[str] = set()
        self.mismatched = 0

    def observe(self, rows: Iterable[ImageRow]) -> Iterator[ImageRow]:
        for row in rows:
            self.stats.add_image(row)
            self.manifests.add(row.manifest)
            object_id = str(row.line - 1)
            if object_id in self.shared:
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
        mapped = self.rows if len(self.manifests) == 1 else {}
        wanted = {row.source_ref: object_id for object_id, row in mapped.items()}
        # An image without boxes is a valid consolidation too: every mapped object is present.
        boxes: dict[str, list[AnswerBox]] = {object_id: [] for object_id in mapped}
        for row in annot_rows(files):
            self.stats.add_box(row)
            if row.source_ref in wanted:
                boxes[wanted[row.source_ref]].append(
                    AnswerBox(row.category, row.left, row.top, row.width, row.height)
                )
        return boxes

    def notes(self) -> list[str]:
        notes = []
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
    files: DatasetFiles, out: Storage, rows: Sequence[ImageRow], classes: Sequence[str]
) -> list[PreviewTile]:
    def draw(row: ImageRow) -> tuple[ImageRow, bytes, PreviewTile]:
        label = files.read_bytes(row.label)
        boxes = parse_label_file(label.decode("utf-8")) if label is not None else []
        drawn = draw_preview(files.read_bytes(row.image), (row.width, row.height), boxes, classes)
        tile = PreviewTile(
            row.image, preview_key(row), drawn.thumbnail, len(boxes), row.clamped_boxes,
            row.dropped_boxes, drawn.note if label is not None else "label file missing",
        )  # fmt: skip
        return row, drawn.full, tile

    tiles = []
    with ThreadPoolExecutor(max_workers=DRAW_THREADS, thread_name_prefix="preview") as pool:
        for row, full, tile in pool.map(draw, rows):
            out.write_bytes(preview_key(row), full)  # here, not in the pool: one writer thread
            tiles.append(tile)
    return tiles
