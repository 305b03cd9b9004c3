"""The conversion: manifests -> survey (pass 1) -> records -> rules -> writers (pass 2).

Memory stays flat at any manifest size: lines are streamed twice, images are handled in small
batches, and the only per-image state is an 8-byte digest used to find duplicate images.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from gt2yolo.classes import ClassList
from gt2yolo.errors import ConversionError
from gt2yolo.geometry import MIN_NORMALIZED_SIZE, clamp_box, normalize
from gt2yolo.manifest import LineRules, ManifestSource, numbered_lines, parse_line
from gt2yolo.paths import dataset_path, label_path, source_ref_segments
from gt2yolo.records import (
    BoxDrop,
    LabeledImage,
    LineOrigin,
    LineRejection,
    RejectedLine,
    YoloBox,
)
from gt2yolo.report import ConversionReport
from gt2yolo.split import Split, SplitFractions, assign_split
from gt2yolo.storage import ImageSink, Storage
from gt2yolo.survey import Survey, survey_manifests
from gt2yolo.writers import BoxOutcome, DatasetWriter, image_key, label_key

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
    # Absolute dataset folder for data.yaml's `path`; None for a dataset that will be downloaded.
    dataset_root: str | None = None
    image_batch_size: int = 64


@dataclass(frozen=True)
class ConversionResult:
    report: dict[str, Any]
    survey: Survey


@dataclass(frozen=True, slots=True)
class _Placed:
    """An accepted image and where it goes in the dataset."""

    image: LabeledImage
    path: str
    label: str
    split: Split


def convert_manifests(
    sources: Sequence[ManifestSource],
    storage: Storage,
    options: ConversionOptions,
    images: ImageSink | None = None,
    progress: Progress | None = None,
) -> ConversionResult:
    """Convert manifests into one dataset; raise ConversionError for unusable input."""
    if not sources:
        raise ConversionError("no manifest given")
    _require_unique_names(sources)
    survey = survey_manifests(sources, options.label_attribute, options.class_list, progress)
    run = _Pass(survey, options, storage, images)
    with DatasetWriter(storage, options.fractions.splits()) as writer:
        run.writer = writer
        for source in sources:
            run.convert_source(source, progress)
        storage.flush()
        duplicates = run.duplicates(sources)
        report = run.finish(duplicates)
        writer.write_summary(
            survey.class_list.names, options.fractions.splits(), options.dataset_root, report
        )
        storage.flush()
    _raise_for_unusable(run.report, duplicates)
    return ConversionResult(report, survey)


def _require_unique_names(sources: Sequence[ManifestSource]) -> None:
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConversionError(f"the same manifest is given twice: {names}")


class _Pass:
    """State of the conversion pass: counters, the digest array, the current batch."""

    def __init__(
        self, survey: Survey, options: ConversionOptions, storage: Storage, images: ImageSink | None
    ) -> None:
        self.survey = survey
        self.options = options
        self.storage = storage
        self.images = images
        classes = survey.class_list
        self.rules = LineRules(
            survey.label_attribute, options.verification_attribute, options.accepted_verdicts,
            derived_classes=classes if classes.from_class_maps else None,
        )  # fmt: skip
        self.writer: DatasetWriter
        self.digests = array("Q")
        self.report = ConversionReport(
            label_attribute=survey.label_attribute,
            class_source=survey.class_list.source,
            classes=survey.class_list.names,
            common_prefix="s3://" + "".join(s + "/" for s in survey.common_folder),
            split_fractions={"val": options.fractions.val, "test": options.fractions.test},
            warnings=list(survey.class_list.warnings),
        )

    def convert_source(self, source: ManifestSource, progress: Progress | None) -> None:
        counts = self.report.manifest(source.name)
        batch: list[_Placed] = []
        for origin, raw in numbered_lines(source):
            counts.lines += 1
            record = parse_line(raw, origin, self.rules)
            if isinstance(record, RejectedLine):
                # Written batches first: rejected.jsonl stays in line order whatever the batch
                # (or fan-out chunk) boundaries are.
                self._write_batch(batch)
                batch = []
                self._reject(record)
            else:
                batch.append(self._place(record))
                if len(batch) >= self.options.image_batch_size:
                    self._write_batch(batch)
                    batch = []
            if progress and counts.lines % PROGRESS_EVERY == 0:
                progress("convert", PROGRESS_EVERY)
        self._write_batch(batch)
        if progress:
            progress("convert", counts.lines % PROGRESS_EVERY)

    def _place(self, image: LabeledImage) -> _Placed:
        segments = image.segments or source_ref_segments(image.source_ref)
        path = dataset_path(segments, self.survey.common_folder)
        split = assign_split(image.source_ref, self.options.fractions)
        return _Placed(image, path, label_path(path), split)

    def _write_batch(self, batch: list[_Placed]) -> None:
        failures = self._copy_images(batch)
        for placed in batch:
            key = image_key(placed.split, placed.path)
            if key in failures:
                self._reject(RejectedLine(
                    LineRejection.IMAGE_NOT_FOUND, failures[key], placed.image.origin,
                    placed.image.source_ref,
                ))  # fmt: skip
            else:
                self._accept(placed)

    def _copy_images(self, batch: list[_Placed]) -> dict[str, str]:
        if self.images is None or not batch:
            return {}
        items = [(p.image.source_ref, image_key(p.split, p.path)) for p in batch]
        return dict(self.images.copy_batch(items))

    def _accept(self, placed: _Placed) -> None:
        image = placed.image
        outcomes = evaluate_boxes(image, self.survey.class_list)
        try:
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
        # The label path, not the image path: `x.jpg` and `x.png` would share `x.txt`.
        self.digests.append(path_digest(placed.label))
        self._count_image(placed, outcomes)

    def _count_image(self, placed: _Placed, outcomes: Sequence[BoxOutcome]) -> None:
        report = self.report
        kept = 0
        per_class = report.boxes_per_class
        for outcome in outcomes:
            if outcome.yolo is not None:
                kept += 1
                per_class[outcome.yolo.class_id] += 1
                report.clamped_boxes += outcome.status == "clamped"
            else:
                report.dropped_boxes[BoxDrop(outcome.status.removeprefix("dropped:"))] += 1
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

    def duplicates(self, sources: Sequence[ManifestSource]) -> dict[int, list[str]]:
        """Images that land on one label file, with every origin (a third pass, if any)."""
        repeated = repeated_digests(self.digests)
        if not repeated:
            return {}
        found: dict[int, list[str]] = {d: [] for d in repeated}
        for placed in self._accepted_again(sources):
            digest = path_digest(placed.label)
            if digest in found:
                origin = placed.image.origin
                found[digest].append(f"{placed.image.source_ref} ({origin.manifest}:{origin.line})")
        return found

    def _accepted_again(self, sources: Sequence[ManifestSource]) -> Iterator[_Placed]:
        for source in sources:
            for origin, raw in numbered_lines(source):
                record = parse_line(raw, origin, self.rules)
                if isinstance(record, LabeledImage):
                    yield self._place(record)

    def finish(self, duplicates: dict[int, list[str]]) -> dict[str, Any]:
        document = self.report.as_dict()
        document["duplicate_images"] = sorted(duplicates.values())
        return document


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
        yolo = YoloBox(class_id, (x0 + x1) / 2 / image_width, (y0 + y1) / 2 / image_height, w, h)
        line = f"{class_id} {yolo.cx:.6g} {yolo.cy:.6g} {yolo.w:.6g} {yolo.h:.6g}"
        if line in written:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.DUPLICATE]))
            continue
        written.add(line)
        clamped = x0 != left or y0 != top or x1 != right or y1 != bottom
        outcomes.append(BoxOutcome(drawn, category, yolo, "clamped" if clamped else "kept", line))
    return outcomes


_DROPPED = {drop: f"dropped:{drop}" for drop in BoxDrop}
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


# Digests are sorted in 256 slices by their top byte: sorting 1M at once would hold 1M Python
# ints (~40 MB) next to the 8 MB array; a slice holds ~1/256 of them.
_DIGEST_SLICES = 256
_SLICE_SHIFT = 56


def repeated_digests(digests: array[int]) -> set[int]:
    """The digests that occur more than once."""
    slices = [array("Q") for _ in range(_DIGEST_SLICES)]
    for digest in digests:
        slices[digest >> _SLICE_SHIFT].append(digest)
    repeated: set[int] = set()
    for part in slices:
        ordered = sorted(part)
        repeated.update(a for a, b in pairwise(ordered) if a == b)
    return repeated


def path_digest(path: str) -> int:
    # Case-folded: `A.jpg` and `a.jpg` are one file on macOS and Windows checkouts.
    return int.from_bytes(hashlib.blake2b(path.casefold().encode(), digest_size=8).digest(), "big")


def _raise_for_unusable(report: ConversionReport, duplicates: dict[int, list[str]]) -> None:
    if duplicates:
        shown = "; ".join(" and ".join(origins) for origins in list(duplicates.values())[:3])
        raise ConversionError(
            f"{len(duplicates)} image(s) appear twice (same label file): {shown}. "
            "Each image may be labeled once across the given manifests; see report.json"
        )
    for name, counts in report.manifests.items():
        if counts.images == 0:
            reasons = ", ".join(f"{k}: {v}" for k, v in report.rejected.most_common(3))
            raise ConversionError(
                f"{name}: not one of {counts.lines} lines converts ({reasons or 'empty manifest'}); "
                "see rejected.jsonl"
            )


__all__ = ["ConversionOptions", "ConversionResult", "LineOrigin", "convert_manifests"]
