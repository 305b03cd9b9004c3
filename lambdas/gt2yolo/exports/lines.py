"""What the two manifest exports (Rekognition Custom Labels, SageMaker built-in algorithms)
share: JSON Lines files, one image a line, naming each image by its S3 URI (`source-ref`), in
the shape of Ground Truth's own output lines.

Each line is one JSON object with a top-level `source-ref`, so a published version's copy can
name each image where that version stores it by rewriting the lines one by one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from gt2yolo.task_types import LabelTask, YoloTask

SOURCE_REF = "source-ref"
# Both services read PNG and JPEG only; the name's extension is all the rows know of the file.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEPTH = 3  # image_size's depth: required by both, used by neither (3-channel images)
JOB_NAME = "gt2yolo"
HUMAN_ANNOTATED = "yes"
DETECTION_TYPE = "groundtruth/object-detection"
CLASSIFICATION_TYPE = "groundtruth/image-classification"
BOX_ATTRIBUTE = "bounding-box"


def is_classification(task: LabelTask) -> bool:
    return task.yolo_task is YoloTask.CLASSIFY


def png_or_jpeg(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def is_detection_row(row: dict[str, Any]) -> bool:
    """A row of boxes (detection images, video frames); the others hold image labels."""
    return "boxes" in row


def image_labels(row: dict[str, Any]) -> list[int]:
    """The dataset class ids a row names, each once, in id order (the same set, the same line)."""
    if is_detection_row(row):
        return sorted({int(b["class_id"]) for b in row["boxes"]})
    return sorted({int(i) for i in row["labels"]})


def box_attribute(row: dict[str, Any]) -> dict[str, Any]:
    """Ground Truth's bounding-box label attribute: the image size and each box in pixels."""
    return {
        "image_size": [{"width": row["width"], "height": row["height"], "depth": DEPTH}],
        "annotations": [
            {"class_id": b["class_id"], "left": b["bbox"][0], "top": b["bbox"][1],
             "width": b["bbox"][2], "height": b["bbox"][3]}
            for b in row["boxes"]
        ],
    }  # fmt: skip


def class_map(ids: Iterable[int], classes: Sequence[str]) -> dict[str, str]:
    """The class-map of a line: the ids it uses -> their names (as Ground Truth writes it)."""
    return {str(i): classes[i] for i in ids}


@dataclass
class ManifestFile:
    """One manifest being written: what it holds so far."""

    stream: TextIO
    lines: int = 0
    bytes: int = 0
    boxes: int = 0
    images_per_label: Counter[int] = field(default_factory=Counter)

    def write(self, line: str, labels: Iterable[int], boxes: int = 0) -> None:
        self.stream.write(line + "\n")
        self.lines += 1
        self.bytes += line_bytes(line)
        self.boxes += boxes
        self.images_per_label.update(labels)


def line_bytes(line: str) -> int:
    """A line's size in the file, its newline included."""
    return len(line.encode("utf-8", "surrogatepass")) + 1
