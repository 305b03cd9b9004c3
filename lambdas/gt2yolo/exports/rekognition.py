"""Rekognition Custom Labels: `exports/rekognition/train.manifest` and `test.manifest`.

Rekognition trains from one training and one test dataset, each made from one "SageMaker Ground
Truth format" manifest (JSON Lines, one image a line). Our train split is its training set; our
val and test splits together are its test set (val lines first, then test lines, whatever order
the records came in: a fan-out's merge and one pass write the same bytes).

    {"source-ref":"s3://b/p/images/train/a.jpg",
     "bounding-box":{"image_size":[{"width":640,"height":480,"depth":3}],
                     "annotations":[{"class_id":0,"left":1,"top":2,"width":3,"height":4}]},
     "bounding-box-metadata":{"objects":[{"confidence":1}],"class-map":{"0":"cat"},
                              "type":"groundtruth/object-detection","human-annotated":"yes",
                              "creation-date":"...","job-name":"gt2yolo"}}
    {"source-ref":"...","image-class":1,"image-class-metadata":{"confidence":1,
     "class-name":"cat",...,"type":"groundtruth/image-classification"}}

Multi-label images have one attribute pair per label (`image-class-0`, `image-class-1`, ...),
the shape Rekognition documents for several image-level labels.

No line Rekognition would refuse is written: an image past one of its documented limits is left
out and counted in report.json (`exports.rekognition.excluded`, by reason). What the rows cannot
tell (the image file's size, 15 MB at most) is listed as `unchecked`.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from enum import StrEnum
from typing import IO, Any

from gt2yolo.exports.formats import ExportFormat
from gt2yolo.exports.lines import (
    BOX_ATTRIBUTE,
    CLASSIFICATION_TYPE,
    DETECTION_TYPE,
    HUMAN_ANNOTATED,
    JOB_NAME,
    SOURCE_REF,
    ManifestFile,
    box_attribute,
    class_map,
    image_labels,
    is_classification,
    is_detection_row,
    line_bytes,
    png_or_jpeg,
)
from gt2yolo.exports.writer import ExportWriter, json_text
from gt2yolo.split import Split

TRAIN_MANIFEST = "train.manifest"
TEST_MANIFEST = "test.manifest"
MANIFEST_OF = {Split.TRAIN: TRAIN_MANIFEST, Split.VAL: TEST_MANIFEST, Split.TEST: TEST_MANIFEST}
CLASS_ATTRIBUTE = "image-class"
# The rows of a manifest's later splits wait in memory up to this size, then on local disk.
SPOOL_BYTES = 16 * 1024 * 1024

# Rekognition Custom Labels' documented limits (guidelines and quotas; manifest validation).
MIN_SIDE = 64  # px, each side
MAX_SIDE = 4096
MAX_ASPECT_RATIO = 20  # long side : short side
MAX_BOXES = 50  # per image
MAX_LABELS_PER_IMAGE = 50
# At most 250 labels per manifest: the dataset's first 250 class ids are exported, an image
# naming a later one is left out (the same rule whatever the order or split of the images).
MAX_DATASET_LABELS = 250
MAX_LINES = 250_000  # per manifest
MAX_BYTES = 10**9  # 1 GB per manifest, read as 10^9 bytes (the smaller reading)
MAX_TEST_IMAGES_PER_LABEL = 1000
MIN_DETECTION_LABELS = 1
MIN_CLASSIFICATION_LABELS = 2
MIN_LABEL_OVERLAP = 0.5
# Never checked from the rows: the image file's size (15 MB at most).
UNCHECKED = ["file_size"]
# Classification rows carry no pixel size.
UNCHECKED_CLASSIFICATION = ["file_size", "image_size", "aspect_ratio"]


class Exclusion(StrEnum):
    """Why an image is not in a Rekognition manifest (report.json `excluded`)."""

    UNSUPPORTED_FORMAT = "unsupported_format"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_TOO_LARGE = "image_too_large"
    ASPECT_RATIO = "aspect_ratio"
    TOO_MANY_BOXES = "too_many_boxes"
    TOO_MANY_LABELS = "too_many_labels"
    NO_LABELS = "no_labels"
    TOO_MANY_DATASET_LABELS = "too_many_dataset_labels"
    MANIFEST_FULL = "manifest_full"


def size_refusal(width: int, height: int) -> Exclusion | None:
    short, long = min(width, height), max(width, height)
    if short < MIN_SIDE:
        return Exclusion.IMAGE_TOO_SMALL
    if long > MAX_SIDE:
        return Exclusion.IMAGE_TOO_LARGE
    if long > MAX_ASPECT_RATIO * short:
        return Exclusion.ASPECT_RATIO
    return None


def refusal(row: dict[str, Any]) -> Exclusion | None:
    """The first documented limit an image's row is past, or None: a line Rekognition takes."""
    if not png_or_jpeg(row["file_name"]):
        return Exclusion.UNSUPPORTED_FORMAT
    labels = image_labels(row)
    found = _image_refusal(row) if is_detection_row(row) else _labels_refusal(labels)
    if found is None and labels and labels[-1] >= MAX_DATASET_LABELS:
        return Exclusion.TOO_MANY_DATASET_LABELS
    return found


def _image_refusal(row: dict[str, Any]) -> Exclusion | None:
    """A detection image's size and boxes (at most 50 boxes: so at most 50 labels, too)."""
    too_big = size_refusal(int(row["width"]), int(row["height"]))
    if too_big is None and len(row["boxes"]) > MAX_BOXES:
        return Exclusion.TOO_MANY_BOXES
    return too_big


def _labels_refusal(labels: list[int]) -> Exclusion | None:
    """An image-level line names at least one label, at most 50."""
    if not labels:
        return Exclusion.NO_LABELS
    if len(labels) > MAX_LABELS_PER_IMAGE:
        return Exclusion.TOO_MANY_LABELS
    return None


class RekognitionWriter(ExportWriter):
    """The Rekognition manifests of any task's rows (a task's subclass makes the rows)."""

    format = ExportFormat.REKOGNITION

    def open_files(self) -> None:
        self._files = {name: ManifestFile(self.open_stream(name))
                       for name in (TRAIN_MANIFEST, TEST_MANIFEST)}  # fmt: skip
        self._written: Counter[Split] = Counter()
        self._unchecked_size = 0
        # One pass hands val and test records over as the manifests list them; a merge, split by
        # split. So only a manifest's first split is written as it comes; the others wait here
        # (rows, not yet checked) and follow it in close_files.
        self._waiting: dict[Split, IO[str]] = {}
        first: set[str] = set()
        for split in self.splits:
            name = MANIFEST_OF[split]
            if name in first:
                self._waiting[split] = self._stack.enter_context(
                    tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by the writer's stack)
                        SPOOL_BYTES, "w+", encoding="utf-8", newline="\n"
                    )
                )
            first.add(name)

    def consume(self, split: Split, row: dict[str, Any]) -> None:
        waiting = self._waiting.get(split)
        if waiting is not None:
            waiting.write(json.dumps(row, separators=(",", ":")) + "\n")
        else:
            self._take(split, row)

    def _take(self, split: Split, row: dict[str, Any]) -> None:
        reason = refusal(row)
        if reason is None:
            labels = image_labels(row)
            line = self._line(row, labels)
            file = self._files[MANIFEST_OF[split]]
            if file.lines >= MAX_LINES or file.bytes + line_bytes(line) > MAX_BYTES:
                reason = Exclusion.MANIFEST_FULL
            else:
                file.write(line, labels, len(row.get("boxes", ())))
                self._written[split] += 1
                self._unchecked_size += not is_detection_row(row)
        if reason is not None:
            self.summary.excluded[reason] += 1

    def _line(self, row: dict[str, Any], labels: list[int]) -> str:
        line: dict[str, Any] = {SOURCE_REF: self.context.uri(row["file_name"])}
        if is_detection_row(row):
            line[BOX_ATTRIBUTE] = box_attribute(row)
            line[BOX_ATTRIBUTE + "-metadata"] = {
                "objects": [{"confidence": 1} for _ in row["boxes"]],
                "class-map": class_map(labels, self.context.classes),
                "type": DETECTION_TYPE,
                **self._provenance(),
            }
        elif row.get("multilabel"):
            for n, class_id in enumerate(labels):
                line.update(self._image_class(f"{CLASS_ATTRIBUTE}-{n}", class_id))
        else:
            line.update(self._image_class(CLASS_ATTRIBUTE, labels[0]))
        return json_text(line)

    def _image_class(self, attribute: str, class_id: int) -> dict[str, Any]:
        """An image-level label's attribute pair (its value is not read: any integer)."""
        metadata = {
            "confidence": 1,
            "class-name": self.context.classes[class_id],
            "type": CLASSIFICATION_TYPE,
            **self._provenance(),
        }
        return {attribute: 1, attribute + "-metadata": metadata}

    def _provenance(self) -> dict[str, str]:
        return {
            "human-annotated": HUMAN_ANNOTATED,
            "creation-date": self.context.created,
            "job-name": JOB_NAME,
        }

    def close_files(self) -> None:
        for split, waiting in self._waiting.items():
            waiting.seek(0)
            for text in waiting:
                self._take(split, json.loads(text))
        classification = is_classification(self.context.task)
        for name, file in self._files.items():
            counts = {"images": file.lines, "labels": len(file.images_per_label)}
            if not classification:
                counts["boxes"] = file.boxes
            for split in self.splits:
                if MANIFEST_OF[split] == name:
                    counts[f"{split}_images"] = self._written[split]
            self.summary.files[self.key(name)] = counts
        self.summary.facts.update({
            "splits": {str(s): MANIFEST_OF[s] for s in self.splits},
            "label_attribute": CLASS_ATTRIBUTE if classification else BOX_ATTRIBUTE,
            "unchecked": UNCHECKED_CLASSIFICATION if classification else UNCHECKED,
            "size_unchecked_images": self._unchecked_size,
        })  # fmt: skip
        self.summary.warnings.extend(self._warnings(classification))

    def _warnings(self, classification: bool) -> list[str]:
        train, test = self._files[TRAIN_MANIFEST], self._files[TEST_MANIFEST]
        needed = MIN_CLASSIFICATION_LABELS if classification else MIN_DETECTION_LABELS
        kind = "a classification" if classification else "a detection"
        warnings = [
            f"{name} holds {len(file.images_per_label)} label(s): Rekognition needs at least "
            f"{needed} in {kind} dataset"
            for name, file in ((TRAIN_MANIFEST, train), (TEST_MANIFEST, test))
            if file.lines and len(file.images_per_label) < needed
        ]
        if not test.lines:
            warnings.append(
                f"{TEST_MANIFEST} is empty (no val or test images): give the project a test "
                "dataset by splitting the training one (DistributeDatasetEntries)"
            )
        warnings.extend(_overlap_warnings(train, test))
        crowded = sorted(
            self.context.classes[i]
            for i, n in test.images_per_label.items()
            if n > MAX_TEST_IMAGES_PER_LABEL
        )
        if crowded:
            warnings.append(
                f"{TEST_MANIFEST}: label(s) {', '.join(crowded)} in more than "
                f"{MAX_TEST_IMAGES_PER_LABEL} images, the most a test dataset's label may have"
            )
        return warnings


def _overlap_warnings(train: ManifestFile, test: ManifestFile) -> list[str]:
    """Rekognition refuses a test set whose labels are mostly not in training: at least 50% of
    overlap, (labels in both) / (training labels). Both shares are checked."""
    trained, tested = set(train.images_per_label), set(test.images_per_label)
    if not trained or not tested:
        return []
    common = len(trained & tested)
    if min(common / len(trained), common / len(tested)) >= MIN_LABEL_OVERLAP:
        return []
    return [
        f"only {common} label(s) are in both manifests ({len(trained)} in {TRAIN_MANIFEST}, "
        f"{len(tested)} in {TEST_MANIFEST}): Rekognition needs an overlap of at least "
        f"{MIN_LABEL_OVERLAP:.0%}"
    ]


__all__ = ["Exclusion", "RekognitionWriter", "refusal"]
