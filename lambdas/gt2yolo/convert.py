"""The conversion: manifests -> survey (pass 1) -> names -> records -> rules -> writers (pass 2).

Memory stays flat at any manifest size: lines are streamed twice, images are handled in small
batches, and the only per-image state is the survey's 8-byte digest of each natural label path
(freed before pass 2). Only images whose names collide are held, by the naming pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gt2yolo.classes import ClassList
from gt2yolo.errors import ConversionError
from gt2yolo.geometry import MIN_NORMALIZED_SIZE, clamp_box, normalize
from gt2yolo.manifest import LineRules, ManifestSource, numbered_lines, parse_line
from gt2yolo.names import NaturalNames, OnDuplicate, decide_names
from gt2yolo.paths import (
    NAME_MAX,
    S3_SCHEME,
    Layout,
    dataset_path,
    flat_path,
    label_path,
    longest_name,
    plain_key,
    source_ref_segments,
)
from gt2yolo.records import (
    BoxDrop,
    LabeledImage,
    LineOrigin,
    LineRejection,
    RejectedLine,
    YoloBox,
    slot_setters,
)
from gt2yolo.report import ConversionReport
from gt2yolo.split import Split, SplitFractions, assign_split
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey import Survey, survey_manifests
from gt2yolo.task_types import LabelTask
from gt2yolo.writers import BoxOutcome, DatasetWriter, KeptBoxes, image_key, label_key

# progress(phase, lines): phase is "survey" (pass 1) or "convert" (pass 2).
Progress = Callable[[str, int], None]
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class ConversionOptions:
    label_attribute: str | None = None
    class_list: ClassList | None = None
    verification_attribute: str | None = None
    accepted_verdicts: frozenset[str] = field(default_factory=lambda: frozenset({"good"}))
    fractions: SplitFractions = field(default_factory=SplitFractions)
    layout: Layout = Layout.FOLDERS
    on_duplicate: OnDuplicate = OnDuplicate.ERROR
    image_batch_size: int = 64
    # The labeling job's task, when known (DescribeLabelingJob); else the lines' metadata say.
    task: LabelTask | None = None
    # Segmentation: outline simplification (pixels) and the smallest region kept (square pixels).
    polygon_tolerance: float = 1.0
    min_region_area: float = 4.0
    # Video frames: keep every Nth frame of each sequence (by frame number).
    frame_step: int = 1
    # The dataset version this conversion writes (published datasets): named in report.json.
    version: str | None = None
    # Labels so far of a job still in progress (a live dataset): report.json says so.
    partial: bool = False

    def line_rules(
        self,
        label_attribute: str,
        classes: ClassList | None = None,
        task: LabelTask = LabelTask.BOUNDING_BOX,
    ) -> LineRules:
        """`classes`: the survey's class list; when derived from the lines' class-maps (no
        label config), a line whose class-map disagrees with it is rejected."""
        derived = classes if classes is not None and classes.from_class_maps else None
        return LineRules(
            label_attribute, self.verification_attribute, self.accepted_verdicts,
            derived_classes=derived, task=task,
        )  # fmt: skip


@dataclass(frozen=True)
class ConversionResult:
    report: dict[str, Any]
    survey: Survey


@dataclass(frozen=True, slots=True)
class _Placed:
    """An accepted image and where it goes in the dataset."""

    image: Any  # the task's record: LabeledImage, SegmentedImage, ClassifiedImage
    path: str
    label: str
    split: Split
    folder: str = ""  # image classification: the class folder the image goes into

    def __init__(self, image: Any, path: str, label: str, split: Split, folder: str = "") -> None:
        # Direct slot stores, as in records.DrawnBox: one of these is made per accepted line.
        _placed_image(self, image)
        _placed_path(self, path)
        _placed_label(self, label)
        _placed_split(self, split)
        _placed_folder(self, folder)


_placed_image, _placed_path, _placed_label, _placed_split, _placed_folder = slot_setters(
    _Placed, "image", "path", "label", "split", "folder"
)


def convert_manifests(
    sources: Sequence[ManifestSource],
    storage: Storage,
    options: ConversionOptions,
    images: ImageSink | None = None,
    progress: Progress | None = None,
    objects: SourceObjects | None = None,
) -> ConversionResult:
    """Convert manifests into one dataset; raise ConversionError for unusable input.

    `objects` reads what lines refer to besides images (segmentation masks, image headers)."""
    if not sources:
        raise ConversionError("no manifest given")
    _require_unique_names(sources)
    survey = survey_and_name(sources, options, progress)
    run = conversion_pass(survey, options, storage, images, objects)
    run.check_ready()
    with run.open_writer(storage, options.fractions.splits()) as writer:
        run.writer = writer
        for source in sources:
            run.convert_source(source, progress)
        storage.flush()
        report = run.finish()
        writer.write_summary(survey.class_list.names, options.fractions.splits(), report)
        storage.flush()
    _raise_for_unusable(run.report)
    return ConversionResult(report, survey)


def survey_and_name(
    sources: Sequence[ManifestSource],
    options: ConversionOptions,
    progress: Progress | None = None,
    surveyed: Sequence[ManifestSource] | None = None,
) -> Survey:
    """Pass 1, then names for the images whose label paths would collide: all decided before the
    first file is written. `surveyed`: the sources as the survey reads them (a fan-out's plan
    notes its cuts while they stream)."""
    natural = NaturalNames()
    survey = survey_manifests(
        surveyed or sources, options.label_attribute, options.class_list, progress,
        natural=natural, task=options.task,
    )  # fmt: skip
    rules = options.line_rules(survey.label_attribute, survey.class_list, survey.task)
    names = decide_names(sources, rules, survey.common_folder, natural, options.on_duplicate)
    return replace(survey, names=names)


def _require_unique_names(sources: Sequence[ManifestSource]) -> None:
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConversionError(f"the same manifest is given twice: {names}")


def conversion_pass(
    survey: Survey,
    options: ConversionOptions,
    storage: Storage,
    images: ImageSink | None,
    objects: SourceObjects | None = None,
) -> _Pass:
    """The pass of the survey's task: its reader's records through its YOLO writer."""
    if survey.task is LabelTask.BOUNDING_BOX:
        return _Pass(survey, options, storage, images)
    if survey.task is LabelTask.SEMANTIC_SEGMENTATION:
        from gt2yolo.yolo_segment import SegmentPass  # imports OpenCV: only for masks

        return SegmentPass(survey, options, storage, images, objects)
    if survey.task.video:
        from gt2yolo.yolo_video import VideoPass

        return VideoPass(survey, options, storage, images, objects)
    from gt2yolo.yolo_classify import ClassifyPass

    return ClassifyPass(survey, options, storage, images)


class _Pass:
    """State of the conversion pass: the survey's answers, counters, the writer.

    This is the bounding-box pass; the other tasks' passes (yolo_segment, yolo_classify) replace
    the writer and how an accepted image is written, and share everything else."""

    def __init__(
        self, survey: Survey, options: ConversionOptions, storage: Storage, images: ImageSink | None
    ) -> None:
        self.survey = survey
        self.options = options
        self.storage = storage
        self.images = images
        self.rules = options.line_rules(survey.label_attribute, survey.class_list, survey.task)
        # The common folder as the start of a source-ref (segments as they stand).
        self._common_ref = S3_SCHEME + "".join(s + "/" for s in survey.common_folder)
        self.writer: DatasetWriter
        self.renamed = survey.names.renamed
        self.dropped = survey.names.dropped
        self.report = ConversionReport(
            label_attribute=survey.label_attribute,
            class_source=survey.class_list.source,
            classes=survey.class_list.names,
            common_prefix="s3://" + "".join(s + "/" for s in survey.common_folder),
            split_fractions={"val": options.fractions.val, "test": options.fractions.test},
            warnings=[*survey.class_list.warnings, *_name_warnings(survey)],
            task=str(survey.task.yolo_task),
        )

    def open_writer(self, storage: Storage, splits: Sequence[Split], **part: Any) -> DatasetWriter:
        """The task's writer; `part`: a fan-out chunk's tables_prefix and header."""
        return DatasetWriter(storage, splits, **part)

    def check_ready(self) -> None:
        """Raise ConversionError before anything is written if the pass lacks an input."""

    def convert_source(self, source: ManifestSource, progress: Progress | None) -> None:
        counts = self.report.manifest(source.name)
        batch: list[_Placed] = []
        for origin, raw in numbered_lines(source):
            counts.lines += 1
            record = parse_line(raw, origin, self.rules)
            if self.dropped and not isinstance(record, RejectedLine):
                record = self._unless_dropped(record)
            placed = record if isinstance(record, RejectedLine) else self._place(record)
            if isinstance(placed, RejectedLine):
                # Written batches first: rejected.jsonl stays in line order whatever the batch
                # (or fan-out chunk) boundaries are.
                self._write_batch(batch)
                batch = []
                self._reject(placed)
            else:
                batch.append(placed)
                if len(batch) >= self.options.image_batch_size:
                    self._write_batch(batch)
                    batch = []
            if progress and counts.lines % PROGRESS_EVERY == 0:
                progress("convert", PROGRESS_EVERY)
        self._write_batch(batch)
        if progress:
            progress("convert", counts.lines % PROGRESS_EVERY)

    def _unless_dropped(self, image: Any) -> Any:
        origin = image.origin
        detail = self.dropped.get((origin.manifest, origin.line))
        if detail is None:
            return image
        return RejectedLine(LineRejection.DUPLICATE_SOURCE_REF, detail, origin, image.source_ref)

    def _place(self, image: Any) -> _Placed | RejectedLine:
        source_ref = image.source_ref
        path = self.renamed.get(source_ref) if self.renamed else None
        if path is None:
            common = self._common_ref
            if source_ref.startswith(common) and plain_key(source_ref[_SCHEME_LENGTH:]):
                # What dataset_path gives for such a key, without splitting and joining it.
                path = source_ref[len(common) :]
            else:
                segments = image.segments or source_ref_segments(source_ref)
                path = dataset_path(segments, self.survey.common_folder)
        if self.options.layout is Layout.FLAT:
            path = flat_path(path)
        label = label_path(path)
        too_long = longest_name(path, label)
        if too_long is not None:
            # Refused before its image is copied or its label written: nothing half of it stays.
            # unsafe_path, as for source-refs too long to hold; the detail never the whole path
            detail = f"a dataset file or folder name of {too_long} bytes (at most {NAME_MAX})"
            return RejectedLine(LineRejection.UNSAFE_PATH, detail, image.origin, image.source_ref)
        split = assign_split(image.source_ref, self.options.fractions)
        return _Placed(image, path, label, split)

    def _image_key(self, placed: _Placed) -> str:
        return image_key(placed.split, placed.path)

    def _write_batch(self, batch: list[_Placed]) -> None:
        failures = self._copy_images(batch)
        for placed in batch:
            if failures and (key := self._image_key(placed)) in failures:
                self._reject(RejectedLine(
                    LineRejection.IMAGE_NOT_FOUND, failures[key], placed.image.origin,
                    placed.image.source_ref,
                ))  # fmt: skip
            else:
                self._accept(placed)

    def _copy_images(self, batch: list[_Placed]) -> dict[str, str]:
        if self.images is None or not batch:
            return {}
        items = [(p.image.source_ref, self._image_key(p)) for p in batch]
        return dict(self.images.copy_batch(items))

    def _accept(self, placed: _Placed) -> None:
        image = placed.image
        classes = self.survey.class_list
        kept = kept_boxes(image, classes)
        outcomes: list[BoxOutcome] = []
        try:
            if kept is None or not self.writer.add_kept_image(
                image, placed.path, placed.label, placed.split, kept
            ):
                # A box clamped or dropped, or a field csv must quote: the general path.
                kept = None
                outcomes = evaluate_boxes(image, classes)
                self.writer.add_image(image, placed.path, placed.label, placed.split, outcomes)
        except _NAME_CLASHES as exc:
            # A folder can't hold a file and a folder of one name: `a/d.txt` (the label of
            # a/d.jpg) and `a/d.txt/` (of a/d.txt/x.jpg). The label file is written first, so
            # nothing else of this image is. (S3 keys have no folders: no clash there.)
            label = label_key(placed.split, placed.label)
            detail = f"label file {label} clashes with another image's: {exc.strerror}"
            self._reject(
                RejectedLine(LineRejection.UNSAFE_PATH, detail, image.origin, image.source_ref)
            )
            return
        if kept is None:
            self._count_image(placed, outcomes)
        else:
            self._count_kept(placed, kept.class_ids)

    def _count_image(self, placed: _Placed, outcomes: Sequence[BoxOutcome]) -> None:
        report = self.report
        kept = clamped = 0
        per_class = report.boxes_per_class
        for outcome in outcomes:
            yolo = outcome.yolo
            if yolo is not None:
                kept += 1
                per_class[yolo.class_id] += 1
                if outcome.status == "clamped":
                    clamped += 1
            else:
                report.dropped_boxes[BoxDrop(outcome.status.removeprefix("dropped:"))] += 1
        report.clamped_boxes += clamped
        self._count_totals(placed, kept)

    def _count_kept(self, placed: _Placed, class_ids: list[int]) -> None:
        """_count_image of an image whose every box was kept as drawn (convert.kept_boxes)."""
        per_class = self.report.boxes_per_class
        for class_id in class_ids:
            per_class[class_id] += 1
        self._count_totals(placed, len(class_ids))

    def _count_totals(self, placed: _Placed, kept: int) -> None:
        report = self.report
        report.images += 1
        report.manifest(placed.image.origin.manifest).images += 1
        report.boxes += kept
        report.background_images += not kept
        report.images_per_split[placed.split] += 1
        report.boxes_per_split[placed.split] += kept

    def _reject(self, rejection: RejectedLine) -> None:
        self.report.rejected[rejection.reason] += 1
        self.report.manifest(rejection.origin.manifest).rejected += 1
        self.writer.add_rejection(rejection)

    def finish(self) -> dict[str, Any]:
        document = self.report.as_dict()
        names = self.survey.names
        document["renamed_images"] = len(names.renamed)
        document["layout"] = str(self.options.layout)
        if self.options.version is not None:  # absent locally: report.json stays as it was
            document["version"] = self.options.version
        if self.options.partial:
            # Only when true: every complete dataset's report.json stays as it was.
            document["partial"] = True
        return document


class _ReadingPass(_Pass):
    """A pass whose lines name files to read besides images: masks, sequence files."""

    # What the lines point at, for the error when there is nothing to read them with.
    reads = "these lines point at files"

    def __init__(
        self,
        survey: Survey,
        options: ConversionOptions,
        storage: Storage,
        images: ImageSink | None,
        objects: SourceObjects | None,
    ) -> None:
        super().__init__(survey, options, storage, images)
        self._objects = objects

    def check_ready(self) -> None:
        if self._objects is None:
            raise ConversionError(
                f"{self.reads}: give --s3-mirror DIR (a local sync of the buckets, "
                "DIR/<bucket>/<key>) or run with read access to S3"
            )

    @property
    def objects(self) -> SourceObjects:
        assert self._objects is not None, "check_ready() first"
        return self._objects


def _name_warnings(survey: Survey) -> list[str]:
    renamed = len(survey.names.renamed)
    if not renamed:
        return []
    return [
        f"{renamed} image(s) renamed <stem>~<n>: their label paths would have collided (ignoring "
        "case) with another image's; images.csv maps every source-ref to its files"
    ]


def evaluate_boxes(image: LabeledImage, classes: ClassList) -> list[BoxOutcome]:
    """Apply the box rules in order: class, then geometry, then duplicates within the image.

    The same rules as evaluate_box, clamp_box, normalize and yolo_line, inlined: this runs for
    every box, and calls and intermediate objects were half of the conversion's time. The
    arithmetic is the same expressions in the same order, so the results are bit for bit equal
    (tests/unit/test_box_fast_path.py holds it to evaluate_box).
    """
    outcomes: list[BoxOutcome] = []
    written: set[str] = set()
    image_width, image_height = image.width, image.height
    classify = classes.classify
    for drawn in image.boxes:
        category, class_id = classify(drawn.class_id, drawn.class_name)
        if isinstance(class_id, BoxDrop):
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[class_id]))
            continue
        left, top, width, height = drawn.left, drawn.top, drawn.width, drawn.height
        if width <= 0 or height <= 0:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.ZERO_SIZE]))
            continue
        right, bottom = left + width, top + height
        # min(max(v, 0.0), size) spelled out, 8 calls less a box: max(v, 0.0) is
        # `0.0 if v < 0.0 else v` and min(v, size) is `size if size < v else v` (the first of
        # equals wins, so -0.0 stays -0.0 as with max and min).
        x0 = 0.0 if left < 0.0 else left
        x0 = image_width if image_width < x0 else x0
        y0 = 0.0 if top < 0.0 else top
        y0 = image_height if image_height < y0 else y0
        x1 = 0.0 if right < 0.0 else right
        x1 = image_width if image_width < x1 else x1
        y1 = 0.0 if bottom < 0.0 else bottom
        y1 = image_height if image_height < y1 else y1
        if x1 <= x0 or y1 <= y0:
            beside = left >= image_width or top >= image_height or right <= 0 or bottom <= 0
            drop = BoxDrop.OUTSIDE_IMAGE if beside else BoxDrop.ZERO_SIZE
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[drop]))
            continue
        w, h = (x1 - x0) / image_width, (y1 - y0) / image_height
        if w < MIN_NORMALIZED_SIZE or h < MIN_NORMALIZED_SIZE:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.ZERO_SIZE]))
            continue
        cx, cy = (x0 + x1) / 2 / image_width, (y0 + y1) / 2 / image_height
        line = f"{class_id} {cx:.6g} {cy:.6g} {w:.6g} {h:.6g}"
        if line in written:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.DUPLICATE]))
            continue
        written.add(line)
        clamped = x0 != left or y0 != top or x1 != right or y1 != bottom
        yolo = YoloBox(class_id, cx, cy, w, h)
        outcomes.append(BoxOutcome(drawn, category, yolo, "clamped" if clamped else "kept", line))
    return outcomes


def kept_boxes(image: LabeledImage, classes: ClassList) -> KeptBoxes | None:
    """evaluate_boxes of the common image, whose every box is kept as drawn; None as soon as a
    box is not (a class or size dropped, a box reaching beyond the image, a duplicate line).

    A box inside the image is what clamping leaves it, so its corners are the drawn ones and
    the YOLO line is evaluate_boxes' expressions on them: bit for bit its line. None costs the
    rare image a second evaluation (by evaluate_boxes), never a different result.
    """
    lines: list[str] = []
    categories: list[str | None] = []
    class_ids: list[int] = []
    image_width, image_height = image.width, image.height
    classify = classes.classify
    for drawn in image.boxes:
        category, class_id = classify(drawn.class_id, drawn.class_name)
        if isinstance(class_id, BoxDrop):
            return None
        left, top = drawn.left, drawn.top
        right, bottom = left + drawn.width, top + drawn.height
        # Comparisons that a NaN fails, like a width or height of 0 or less: None for both.
        if not (0.0 <= left < right <= image_width and 0.0 <= top < bottom <= image_height):
            return None
        w, h = (right - left) / image_width, (bottom - top) / image_height
        if w < MIN_NORMALIZED_SIZE or h < MIN_NORMALIZED_SIZE:
            return None
        cx, cy = (left + right) / 2 / image_width, (top + bottom) / 2 / image_height
        line = f"{class_id} {cx:.6g} {cy:.6g} {w:.6g} {h:.6g}"
        if line in lines:  # a duplicate: a handful of boxes, so a list beats a set
            return None
        lines.append(line)
        categories.append(category)
        class_ids.append(class_id)
    return KeptBoxes(lines, categories, class_ids)


_DROPPED = {drop: f"dropped:{drop}" for drop in BoxDrop}
_SCHEME_LENGTH = len(S3_SCHEME)
_NAME_CLASHES = (FileExistsError, IsADirectoryError, NotADirectoryError)


def evaluate_box(drawn: Any, image: LabeledImage, classes: ClassList) -> BoxOutcome:
    """One box through the rules (class, geometry), without the duplicate rule: the reference."""
    category = classes.name_of(drawn.class_id, drawn.class_name)
    class_id = classes.resolve(drawn.class_id, drawn.class_name)
    if isinstance(class_id, BoxDrop):
        return BoxOutcome(drawn, category, None, f"dropped:{class_id}")
    box = clamp_box(drawn.left, drawn.top, drawn.width, drawn.height, image.width, image.height)
    if isinstance(box, BoxDrop):
        return BoxOutcome(drawn, category, None, f"dropped:{box}")
    yolo = normalize(box, class_id, image.width, image.height)
    return BoxOutcome(drawn, category, yolo, "clamped" if box.clamped else "kept")


def _raise_for_unusable(report: ConversionReport) -> None:
    for name, counts in report.manifests.items():
        if counts.images == 0:
            reasons = ", ".join(f"{k}: {v}" for k, v in report.rejected.most_common(3))
            raise ConversionError(
                f"{name}: not one of {counts.lines} lines converts ({reasons or 'empty manifest'}); "
                "see rejected.jsonl"
            )


__all__ = ["ConversionOptions", "ConversionResult", "LineOrigin", "convert_manifests"]
