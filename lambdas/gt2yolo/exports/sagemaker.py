"""SageMaker built-in algorithms (Object Detection, Image Classification) trained from augmented
manifests: `exports/sagemaker/train.manifest`, `validation.manifest` (our val split) and
`test.manifest` (only where the dataset has a test split).

    {"source-ref":"s3://b/p/images/train/a.jpg",
     "bounding-box":{"image_size":[{"width":640,"height":480,"depth":3}],
                     "annotations":[{"class_id":0,"left":1,"top":2,"width":3,"height":4}]},
     "bounding-box-metadata":{"class-map":{"0":"cat"},"type":"groundtruth/object-detection",...}}
    {"source-ref":"s3://b/p/train/cat/a.jpg","class":0}
    {"source-ref":"s3://b/p/images/train/b.jpg","class":[0,2]}

Class ids are the dataset's (0-based, consecutive: what both algorithms require). The
channel settings a training job needs (AttributeNames in this order, Pipe mode, RecordIO
wrapping, content type) and its hyperparameters from the data are report.json's
`exports.sagemaker` facts. Images the algorithms cannot read or learn from are left out and
counted: not PNG/JPEG, a detection image without boxes, a classification image without labels.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from gt2yolo.exports.formats import ExportContext, ExportFormat
from gt2yolo.exports.lines import (
    BOX_ATTRIBUTE,
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
    png_or_jpeg,
)
from gt2yolo.exports.writer import ExportWriter, json_text
from gt2yolo.split import Split
from gt2yolo.task_types import LabelTask

MANIFEST_OF = {
    Split.TRAIN: "train.manifest",
    Split.VAL: "validation.manifest",
    Split.TEST: "test.manifest",
}
CLASS_ATTRIBUTE = "class"
# The channel both algorithms need for an augmented manifest (their pages, "Train with
# Augmented Manifest Image Format").
CHANNEL = {
    "s3_data_type": "AugmentedManifestFile",
    "input_mode": "Pipe",
    "record_wrapping": "RecordIO",
    "content_type": "application/x-recordio",
}
# Multi-label classes as a list of ids (Ground Truth's "class-id" format) must be said so.
MULTILABEL_CONTENT_TYPE = "application/x-recordio; label-format=class-id"
# What the rows cannot tell: both algorithms read 3-channel images only.
UNCHECKED = ["image_channels"]


class Exclusion(StrEnum):
    """Why an image is not in a SageMaker manifest (report.json `excluded`)."""

    UNSUPPORTED_FORMAT = "unsupported_format"
    NO_BOXES = "no_boxes"
    NO_LABELS = "no_labels"


def refusal(row: dict[str, Any]) -> Exclusion | None:
    if not png_or_jpeg(row["file_name"]):
        return Exclusion.UNSUPPORTED_FORMAT
    if is_detection_row(row):
        # No AWS page says the Object Detection algorithm takes an image without boxes.
        return None if row["boxes"] else Exclusion.NO_BOXES
    return None if row["labels"] else Exclusion.NO_LABELS


def attribute_names(task: LabelTask) -> list[str]:
    """Channel AttributeNames, in the order the algorithms read them: the image first."""
    return [SOURCE_REF, CLASS_ATTRIBUTE if is_classification(task) else BOX_ATTRIBUTE]


class SageMakerWriter(ExportWriter):
    """The augmented manifests of any task's rows (a task's subclass makes the rows)."""

    format = ExportFormat.SAGEMAKER

    def open_files(self) -> None:
        self._files = {s: ManifestFile(self.open_stream(MANIFEST_OF[s])) for s in self.splits}
        self._max_boxes = 0

    def consume(self, split: Split, row: dict[str, Any]) -> None:
        reason = refusal(row)
        if reason is not None:
            self.summary.excluded[reason] += 1
            return
        labels = image_labels(row)
        line: dict[str, Any] = {SOURCE_REF: self.context.uri(row["file_name"])}
        boxes = 0
        if is_detection_row(row):
            boxes = len(row["boxes"])
            self._max_boxes = max(self._max_boxes, boxes)
            line[BOX_ATTRIBUTE] = box_attribute(row)
            line[BOX_ATTRIBUTE + "-metadata"] = {
                "class-map": class_map(labels, self.context.classes),
                "type": DETECTION_TYPE,
                "human-annotated": HUMAN_ANNOTATED,
                "creation-date": self.context.created,
                "job-name": JOB_NAME,
            }
        elif row.get("multilabel"):
            line[CLASS_ATTRIBUTE] = labels
        else:
            line[CLASS_ATTRIBUTE] = labels[0]
        self._files[split].write(json_text(line), labels, boxes)

    def close_files(self) -> None:
        detection = not is_classification(self.context.task)
        for split, file in self._files.items():
            counts = {"images": file.lines}
            if detection:
                counts["boxes"] = file.boxes
            self.summary.files[self.key(MANIFEST_OF[split])] = counts
        self.summary.facts.update(training_facts(self.context, self._files[Split.TRAIN].lines))
        if detection:
            self.summary.facts["max_boxes_per_image"] = self._max_boxes
        self.summary.warnings.extend(self._warnings())

    def _warnings(self) -> list[str]:
        empty = [MANIFEST_OF[s] for s in (Split.TRAIN, Split.VAL) if not self._files[s].lines]
        if not empty:
            return []
        return [
            f"{' and '.join(empty)} empty: the algorithms need both a train and a validation "
            "channel"
        ]


def training_facts(context: ExportContext, training_samples: int) -> dict[str, Any]:
    """What a training job over these manifests is configured with."""
    multilabel = context.task is LabelTask.IMAGE_CLASSIFICATION_MULTILABEL
    channel = dict(CHANNEL)
    if multilabel:
        channel["content_type"] = MULTILABEL_CONTENT_TYPE
    facts: dict[str, Any] = {
        "algorithm": "image-classification" if is_classification(context.task)
        else "object-detection",
        "attribute_names": attribute_names(context.task),
        "channel": channel,
        "num_classes": len(context.classes),
        "num_training_samples": training_samples,
        "unchecked": UNCHECKED,
    }  # fmt: skip
    if multilabel:
        facts["multi_label"] = 1
    return facts


__all__ = ["Exclusion", "SageMakerWriter", "attribute_names", "refusal"]
