"""Manifest builders and a small workspace for the unit suite (fixtures in conftest.py).

Lines are built from the documented output-manifest format (see the Ground Truth reference):
`source-ref`, `<attr>` with `image_size` and `annotations`, and `<attr>-metadata` with
`objects`, `class-map` and `type`. The workspace converts them with the pure core into a local
folder and reads the produced dataset back.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import ConversionError, ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.names import OnDuplicate
from gt2yolo.paths import Layout
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage

PREFIX = "s3://bucket/jobs/photos"
NAMES = ("cat", "dog", "bird", "fish")
DETECTION = "groundtruth/object-detection"
VERIFICATION = "groundtruth/label-verification"
_DERIVE = object()  # class_map default: a sparse map derived from the boxes, as Ground Truth writes


def ref(path: str) -> str:
    """A source-ref under the common test prefix: ref("a/x.jpg") -> s3://bucket/jobs/photos/a/x.jpg."""
    return f"{PREFIX}/{path}"


def box(
    class_id: Any = 0, left: Any = 10, top: Any = 20, width: Any = 30, height: Any = 40
) -> dict[str, Any]:
    """One `annotations` entry: integer pixels, top-left corner."""
    return {"class_id": class_id, "left": left, "top": top, "width": width, "height": height}


def record(
    source_ref: str,
    boxes: Sequence[Mapping[str, Any]] = (),
    attr: str = "boxes",
    width: Any = 500,
    height: Any = 400,
    class_map: Any = _DERIVE,
    extra_attrs: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    confidences: Sequence[float] | None = None,
) -> dict[str, Any]:
    """A bounding-box output-manifest line as a dict.

    `class_map=None` leaves the class-map out; `metadata` adds keys to `<attr>-metadata`;
    `extra_attrs` adds top-level keys (other jobs' attributes in a chain, pass-through keys).
    """
    if class_map is _DERIVE:
        class_map = {str(b["class_id"]): NAMES[b["class_id"]] for b in boxes}
    meta: dict[str, Any] = {
        "objects": [{"confidence": c} for c in (confidences or [0.0] * len(boxes))],
        "type": DETECTION,
        "human-annotated": "yes",
        "creation-date": "2018-10-18T22:18:13.527256",
        "job-name": "labeling-job/identify-pets",
    }
    if class_map is not None:
        meta["class-map"] = class_map
    meta.update(metadata or {})
    result: dict[str, Any] = {
        "source-ref": source_ref,
        attr: {
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": [dict(b) for b in boxes],
        },
        f"{attr}-metadata": meta,
    }
    result.update(extra_attrs or {})
    return result


def line(source_ref: str, boxes: Sequence[Mapping[str, Any]] = (), **kwargs: Any) -> str:
    """One manifest line (JSON text) for `record(...)`."""
    return json.dumps(record(source_ref, boxes, **kwargs))


def verification(attr: str, verdict: str) -> dict[str, Any]:
    """A label-verification job's attribute pair, as chained onto a bounding-box line."""
    return {
        attr: 0 if verdict == "good" else 1,
        f"{attr}-metadata": {"class-name": verdict, "confidence": 0.9, "type": VERIFICATION},
    }


def label_config(*names: str) -> bytes:
    """Ground Truth's label category config (annotation-tool/data.json)."""
    return json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": n} for n in names]}
    ).encode()


@dataclass
class Dataset:
    """A produced dataset folder, read back for assertions."""

    root: Path

    def text(self, key: str) -> str:
        return (self.root / key).read_text(encoding="utf-8")

    def json(self, key: str) -> Any:
        return json.loads(self.text(key))

    @property
    def report(self) -> dict[str, Any]:
        return dict(self.json("report.json"))

    @property
    def rejected(self) -> list[dict[str, Any]]:
        return [json.loads(row) for row in self.text("rejected.jsonl").splitlines()]

    def csv_rows(self, key: str) -> list[dict[str, str]]:
        with (self.root / key).open(encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream))

    @property
    def images(self) -> list[dict[str, str]]:
        return self.csv_rows("images.csv")

    @property
    def annot(self) -> list[dict[str, str]]:
        return self.csv_rows("annot.csv")

    def image_row(self, source_ref: str) -> dict[str, str]:
        rows = [r for r in self.images if r["source_ref"] == source_ref]
        assert len(rows) == 1, f"{source_ref} has {len(rows)} rows in images.csv"
        return rows[0]

    def label_rows(self, source_ref: str) -> list[list[str]]:
        """The label file of an image, split into `class cx cy w h` fields."""
        return [row.split() for row in self.text(self.image_row(source_ref)["label"]).splitlines()]

    def files(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}


class Workspace:
    """Writes manifests into a temporary folder and converts them with the core."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.out = tmp_path / "dataset"
        self._count = 0

    def manifest(self, lines: Sequence[str] | str, name: str | None = None) -> Path:
        self._count += 1
        path = self.tmp_path / (name or f"job{self._count}/output.manifest")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = lines if isinstance(lines, str) else "".join(f"{entry}\n" for entry in lines)
        path.write_text(text, encoding="utf-8")
        return path

    def convert(
        self,
        *manifests: Sequence[str] | Path,
        label_attribute: str | None = None,
        classes: Sequence[str] | None = None,
        val: float = 0.2,
        test: float = 0.0,
        verification_attribute: str | None = None,
        accept: Sequence[str] = ("good",),
        layout: Layout = Layout.FOLDERS,
        on_duplicate: OnDuplicate = OnDuplicate.ERROR,
        partial: bool = False,
    ) -> Dataset:
        paths = [m if isinstance(m, Path) else self.manifest(m) for m in manifests]
        options = ConversionOptions(
            label_attribute=label_attribute,
            class_list=None
            if classes is None
            else class_list_from_label_config(label_config(*classes), "data.json"),
            verification_attribute=verification_attribute,
            accepted_verdicts=frozenset(accept),
            fractions=SplitFractions(val=val, test=test),
            layout=layout,
            on_duplicate=on_duplicate,
            partial=partial,
        )
        convert_manifests([LocalManifest(p) for p in paths], LocalStorage(self.out), options)
        return Dataset(self.out)

    def fail(self, *manifests: Sequence[str] | Path, **kwargs: Any) -> tuple[str, Dataset]:
        """Convert expecting a ConversionError; its message and whatever was written."""
        with pytest.raises(ConversionError) as caught:
            self.convert(*manifests, **kwargs)
        return str(caught.value), Dataset(self.out)


__all__ = [
    "DETECTION", "NAMES", "PREFIX", "VERIFICATION", "Dataset", "Workspace", "box", "label_config",
    "line", "record", "ref", "verification",
]  # fmt: skip
