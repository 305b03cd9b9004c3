"""Reading a written dataset back: report.json, images.csv, annot.csv, rejected.jsonl, labels.

Everything here reads what the writers wrote (never the manifest), so what the report shows is
what a training run will see. Tables are streamed: annot.csv of a million boxes never sits in
memory.

One reader per YOLO task (report.json's `task`), to one row type: a detection image's boxes, a
segmentation image's polygons (the same columns, named for regions) and a classification
image's classes all become an `ImageRow`; annot.csv's boxes and regions an `AnnotRow`. A
dataset of video frames adds columns (the frame's sequence and number, a box's track id): read
when present, None when not, so a detection dataset without them reads as it always did.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gt2yolo.errors import ConversionError
from gt2yolo.records import YoloBox
from gt2yolo.task_types import YoloTask
from gt2yolo.writers import (
    ANNOT_CSV,
    CLASSES_TXT,
    IMAGES_CSV,
    LIST_SEPARATOR,
    REJECTED_JSONL,
    REPORT_JSON,
)


class DatasetFiles(Protocol):
    """Read-only view of a dataset root (a local folder or an S3 prefix)."""

    def read_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    def lines(self, key: str) -> Iterator[str]:
        """The object's text lines, streamed (nothing when it does not exist)."""
        ...

    def location(self, key: str = "") -> str: ...


class LocalDatasetFiles:
    """A dataset in a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"key {key!r} leaves the dataset folder")
        return self.root / key

    def read_bytes(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def lines(self, key: str) -> Iterator[str]:
        path = self._path(key)
        if not path.is_file():
            return
        with path.open(encoding="utf-8", newline="") as stream:
            yield from stream

    def location(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One image of the dataset: a row of images.csv (of annot.csv for classification).

    Segmentation: `boxes` counts the label file's polygons and `dropped_boxes` the dropped
    regions. Classification: no label file (`label` empty), no size (0 x 0); `classes` holds
    the image's class ids (None for the other tasks) and `boxes` their number.
    """

    source_ref: str
    image: str  # images/<split>/<path>; classification: <split>/<class folder>/<path>
    label: str  # labels/<split>/<path stem>.txt
    split: str
    width: int
    height: int
    boxes: int
    dropped_boxes: int
    clamped_boxes: int
    manifest: str
    line: int
    holes: int = 0  # segmentation: holes cut into the image's polygons
    classes: tuple[int, ...] | None = None
    sequence: str | None = None  # video frames: the sequence's folder
    frame_number: int | None = None  # ... and the frame's number in its sequence file

    @property
    def flagged(self) -> bool:
        """The conversion changed this image's boxes: worth a look."""
        return self.dropped_boxes > 0 or self.clamped_boxes > 0


@dataclass(frozen=True, slots=True)
class AnnotRow:
    """The columns of annot.csv the report uses: the box as drawn and what became of it."""

    source_ref: str
    category: str
    left: float
    top: float
    width: float
    height: float
    image_width: int
    image_height: int
    status: str  # kept | clamped | dropped:<reason>
    area: float | None = None  # segmentation: the region's own area (holes excluded)
    label: str = ""  # labels/<split>/<path stem>.txt
    sequence: str | None = None  # video frames: the frame's sequence
    frame_number: int | None = None
    track_id: int | None = None  # tracking jobs: the box's track, 1.. per sequence (kept boxes)

    @property
    def kept(self) -> bool:
        return not self.status.startswith("dropped")


@dataclass(frozen=True, slots=True)
class YoloPolygon:
    """A segmentation label row: class id and normalized (x, y) points, as a trainer reads it."""

    class_id: int
    points: tuple[tuple[float, float], ...]


def read_report_json(files: DatasetFiles) -> dict[str, Any]:
    raw = files.read_bytes(REPORT_JSON)
    if raw is None:
        raise ConversionError(f"no {REPORT_JSON} in {files.location()}: not a gt2yolo dataset")
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise ConversionError(f"{files.location(REPORT_JSON)} is not a JSON object")
    return document


def read_classes(files: DatasetFiles) -> list[str]:
    raw = files.read_bytes(CLASSES_TXT)
    return [] if raw is None else raw.decode("utf-8").splitlines()


def image_rows(files: DatasetFiles, task: YoloTask = YoloTask.DETECT) -> Iterator[ImageRow]:
    if task is YoloTask.SEGMENT:
        yield from _segmented_rows(files)
    elif task is YoloTask.CLASSIFY:
        yield from _classified_rows(files)
    else:
        yield from _detected_rows(files)


def _detected_rows(files: DatasetFiles) -> Iterator[ImageRow]:
    for row in csv.DictReader(files.lines(IMAGES_CSV)):
        yield ImageRow(
            source_ref=row["source_ref"], image=row["image"], label=row["label"],
            split=row["split"], width=int(row["width"]), height=int(row["height"]),
            boxes=int(row["boxes"]), dropped_boxes=int(row["dropped_boxes"]),
            clamped_boxes=int(row["clamped_boxes"]), manifest=row["manifest"],
            line=int(row["line"]), sequence=row.get("sequence") or None,
            frame_number=_optional_int(row.get("frame_number")),
        )  # fmt: skip


def _segmented_rows(files: DatasetFiles) -> Iterator[ImageRow]:
    for row in csv.DictReader(files.lines(IMAGES_CSV)):
        yield ImageRow(
            source_ref=row["source_ref"], image=row["image"], label=row["label"],
            split=row["split"], width=int(row["width"]), height=int(row["height"]),
            boxes=int(row["polygons"]), dropped_boxes=int(row["dropped_regions"]),
            clamped_boxes=0, manifest=row["manifest"], line=int(row["line"]),
            holes=int(row["holes"]),
        )  # fmt: skip


def _classified_rows(files: DatasetFiles) -> Iterator[ImageRow]:
    """From annot.csv, one row per image: its `class_id` column lists the ids unambiguously
    (images.csv lists names, and a class name may hold the list separator)."""
    for row in csv.DictReader(files.lines(ANNOT_CSV)):
        ids = tuple(int(i) for i in row["class_id"].split(LIST_SEPARATOR) if i)
        yield ImageRow(
            source_ref=row["source_ref"], image=row["img_file"], label="", split=row["split"],
            width=0, height=0, boxes=len(ids), dropped_boxes=0, clamped_boxes=0,
            manifest=row["manifest"], line=int(row["line"]), classes=ids,
        )  # fmt: skip


def annot_rows(files: DatasetFiles) -> Iterator[AnnotRow]:
    """Boxes (detection) or regions (segmentation: `area` too); classification has none."""
    for row in csv.DictReader(files.lines(ANNOT_CSV)):
        area = row.get("area")
        yield AnnotRow(
            source_ref=row["source_ref"], category=row["category"],
            left=float(row["box_left"]), top=float(row["box_top"]),
            width=float(row["box_width"]), height=float(row["box_height"]),
            image_width=int(row["img_width"]), image_height=int(row["img_height"]),
            status=row["status"], area=None if area is None else float(area),
            label=row.get("label") or "", sequence=row.get("sequence") or None,
            frame_number=_optional_int(row.get("frame_number")),
            track_id=_optional_int(row.get("track_id")),
        )  # fmt: skip


def _optional_int(value: str | None) -> int | None:
    """A column that only some datasets have, or that is empty on some rows."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


def rejected_lines(files: DatasetFiles) -> Iterator[dict[str, Any]]:
    for text in files.lines(REJECTED_JSONL):
        if text.strip():
            entry = json.loads(text)
            if isinstance(entry, dict):
                yield entry


def parse_label_file(text: str) -> list[YoloBox]:
    """A YOLO label file read back as a trainer reads it: `class cx cy w h` per row."""
    boxes = []
    for number, row in enumerate(text.splitlines(), start=1):
        values = row.split()
        if not values:
            continue
        if len(values) != 5:
            raise ValueError(f"label row {number} has {len(values)} values, not 5: {row!r}")
        cx, cy, w, h = (float(v) for v in values[1:])
        boxes.append(YoloBox(int(values[0]), cx, cy, w, h))
    return boxes


def parse_polygon_file(text: str) -> list[YoloPolygon]:
    """A YOLO segmentation label file read back: `class x1 y1 x2 y2 ...` (3 points or more)."""
    polygons = []
    for number, row in enumerate(text.splitlines(), start=1):
        values = row.split()
        if not values:
            continue
        if len(values) < 7 or len(values) % 2 == 0:
            raise ValueError(
                f"label row {number} has {len(values)} values, not a class and 3 or more "
                f"x y pairs: {row[:80]!r}"
            )
        coordinates = [float(v) for v in values[1:]]
        points = tuple(zip(coordinates[::2], coordinates[1::2], strict=True))
        polygons.append(YoloPolygon(int(values[0]), points))
    return polygons


def to_pixels(box: YoloBox, width: int, height: int) -> tuple[float, float, float, float]:
    """Normalized centre/size -> pixel corners (x0, y0, x1, y1)."""
    x0 = (box.cx - box.w / 2) * width
    y0 = (box.cy - box.h / 2) * height
    return x0, y0, x0 + box.w * width, y0 + box.h * height
