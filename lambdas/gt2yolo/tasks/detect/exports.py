"""The detect task's export writers: each image's boxes, as the rules kept (and clamped) them.

Rows hold boxes in pixels `[left, top, width, height]` after the same clamping the YOLO label
file's box went through, with the dataset class id: the export and the label file describe one
box (a test holds them equal within 1e-4 of the image size).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gt2yolo.exports.coco import CocoWriter
from gt2yolo.exports.rekognition import RekognitionWriter
from gt2yolo.exports.sagemaker import SageMakerWriter
from gt2yolo.exports.writer import ExportWriter
from gt2yolo.records import BoxStatus, DrawnBox, LabeledImage
from gt2yolo.split import Split
from gt2yolo.tasks.detect.yolo import BoxOutcome, KeptBoxes
from gt2yolo.writers import image_key


def _plain(value: float) -> float | int:
    """A pixel value as JSON shows it: `111`, not `111.0`, where the labeler's value was whole."""
    whole = int(value)
    return whole if whole == value else value


def pixel_box(drawn: DrawnBox, width: int, height: int, clamped: bool) -> list[float | int]:
    """`[left, top, width, height]` of a kept box: as drawn, or clamped to the image as the
    rules clamp it (only then computed: left + width - left is not width in floating point)."""
    left, top, w, h = drawn.left, drawn.top, drawn.width, drawn.height
    if clamped:
        x0, y0 = min(max(left, 0.0), width), min(max(top, 0.0), height)
        x1, y1 = min(max(left + w, 0.0), width), min(max(top + h, 0.0), height)
        left, top, w, h = x0, y0, x1 - x0, y1 - y0
    return [_plain(left), _plain(top), _plain(w), _plain(h)]


def box_rows(image: LabeledImage, outcomes: Sequence[BoxOutcome]) -> list[dict[str, Any]]:
    """Each kept box of an image: its class id and pixel box."""
    rows = []
    for outcome in outcomes:
        if outcome.yolo is None:
            continue
        clamped = outcome.status is BoxStatus.CLAMPED
        box = pixel_box(outcome.drawn, image.width, image.height, clamped)
        rows.append({"class_id": outcome.yolo.class_id, "bbox": box})
    return rows


def kept_rows(image: LabeledImage, kept: KeptBoxes) -> list[dict[str, Any]]:
    """box_rows of an image whose every box was kept as drawn."""
    return [
        {"class_id": class_id, "bbox": pixel_box(drawn, image.width, image.height, False)}
        for drawn, class_id in zip(image.boxes, kept.class_ids, strict=True)
    ]


def image_row(image: LabeledImage, key: str, boxes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"file_name": key, "width": image.width, "height": image.height, "boxes": boxes}


class DetectRows(ExportWriter):
    """The record methods the detection pass calls, each making one row (`emit`)."""

    def add_image(
        self, image: LabeledImage, path: str, label: str, split: Split, boxes: Sequence[BoxOutcome]
    ) -> None:
        self.emit(split, image_row(image, image_key(split, path), box_rows(image, boxes)))

    def add_kept_image(
        self, image: LabeledImage, path: str, label: str, split: Split, kept: KeptBoxes
    ) -> bool:
        self.emit(split, image_row(image, image_key(split, path), kept_rows(image, kept)))
        return True


class CocoDetectWriter(DetectRows, CocoWriter):
    """COCO boxes: bbox and area (width x height) in pixels, no segmentation."""

    def consume(self, split: Split, row: dict[str, Any]) -> None:
        row["annotations"] = [
            {**b, "area": _area(b["bbox"])}
            for b in row.pop("boxes")  # a frame's: its track
        ]
        super().consume(split, row)


class RekognitionDetectWriter(DetectRows, RekognitionWriter):
    """Rekognition Custom Labels object-localization lines, the clamped boxes in pixels."""


class SageMakerDetectWriter(DetectRows, SageMakerWriter):
    """Object Detection augmented-manifest lines, the clamped boxes in pixels."""


def _area(bbox: list[Any]) -> float | int:
    return _plain(float(bbox[2]) * float(bbox[3]))
