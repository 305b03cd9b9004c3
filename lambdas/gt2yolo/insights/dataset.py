"""Reading a written dataset back: report.json, images.csv, annot.csv, rejected.jsonl, labels.

Everything here reads what the writers wrote (never the manifest), so what the report shows is
what a training run will see. Tables are streamed: annot.csv of a million boxes never sits in
memory.
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
from gt2yolo.writers import ANNOT_CSV, CLASSES_TXT, IMAGES_CSV, REJECTED_JSONL, REPORT_JSON


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
    """One row of images.csv."""

    source_ref: str
    image: str  # images/<split>/<path>
    label: str  # labels/<split>/<path stem>.txt
    split: str
    width: int
    height: int
    boxes: int
    dropped_boxes: int
    clamped_boxes: int
    manifest: str
    line: int

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

    @property
    def kept(self) -> bool:
        return not self.status.startswith("dropped")


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


def image_rows(files: DatasetFiles) -> Iterator[ImageRow]:
    for row in csv.DictReader(files.lines(IMAGES_CSV)):
        yield ImageRow(
            source_ref=row["source_ref"], image=row["image"], label=row["label"],
            split=row["split"], width=int(row["width"]), height=int(row["height"]),
            boxes=int(row["boxes"]), dropped_boxes=int(row["dropped_boxes"]),
            clamped_boxes=int(row["clamped_boxes"]), manifest=row["manifest"],
            line=int(row["line"]),
        )  # fmt: skip


def annot_rows(files: DatasetFiles) -> Iterator[AnnotRow]:
    for row in csv.DictReader(files.lines(ANNOT_CSV)):
        yield AnnotRow(
            source_ref=row["source_ref"], category=row["category"],
            left=float(row["box_left"]), top=float(row["box_top"]),
            width=float(row["box_width"]), height=float(row["box_height"]),
            image_width=int(row["img_width"]), image_height=int(row["img_height"]),
            status=row["status"],
        )  # fmt: skip


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


def to_pixels(box: YoloBox, width: int, height: int) -> tuple[float, float, float, float]:
    """Normalized centre/size -> pixel corners (x0, y0, x1, y1)."""
    x0 = (box.cx - box.w / 2) * width
    y0 = (box.cy - box.h / 2) * height
    return x0, y0, x0 + box.w * width, y0 + box.h * height
