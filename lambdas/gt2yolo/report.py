"""Counts of everything that happened, for report.json: nothing is dropped without a number."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gt2yolo.records import BoxDrop, LineRejection


@dataclass
class ManifestCounts:
    lines: int = 0
    images: int = 0
    rejected: int = 0


@dataclass
class ConversionReport:
    """Running totals; `as_dict` is the report.json document."""

    label_attribute: str = ""
    class_source: str = ""
    classes: tuple[str, ...] = ()
    images: int = 0
    boxes: int = 0
    background_images: int = 0
    clamped_boxes: int = 0
    rejected: Counter[LineRejection] = field(default_factory=Counter)
    dropped_boxes: Counter[BoxDrop] = field(default_factory=Counter)
    boxes_per_class: Counter[int] = field(default_factory=Counter)
    images_per_split: Counter[str] = field(default_factory=Counter)
    boxes_per_split: Counter[str] = field(default_factory=Counter)
    manifests: dict[str, ManifestCounts] = field(default_factory=dict)
    common_prefix: str = ""
    split_fractions: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The YOLO task (detect, segment, classify) and what only some tasks count.
    task: str = "detect"
    extra: Counter[str] = field(default_factory=Counter)

    def manifest(self, name: str) -> ManifestCounts:
        # Not setdefault: that would build a ManifestCounts on every call (one per image).
        counts = self.manifests.get(name)
        if counts is None:
            counts = self.manifests[name] = ManifestCounts()
        return counts

    def counters(self) -> dict[str, Any]:
        """The running totals as JSON: what a fan-out chunk hands to the merge."""
        return {
            "images": self.images,
            "boxes": self.boxes,
            "background_images": self.background_images,
            "clamped_boxes": self.clamped_boxes,
            "rejected": {str(k): v for k, v in self.rejected.items()},
            "dropped_boxes": {str(k): v for k, v in self.dropped_boxes.items()},
            "boxes_per_class": {str(k): v for k, v in self.boxes_per_class.items()},
            "images_per_split": dict(self.images_per_split),
            "boxes_per_split": dict(self.boxes_per_split),
            "manifests": [
                [name, m.lines, m.images, m.rejected] for name, m in self.manifests.items()
            ],
            "extra": dict(self.extra),
        }

    def absorb(self, counters: dict[str, Any]) -> None:
        """Add a chunk's `counters()`; absorbing chunks in manifest order keeps report.json's order."""
        self.images += counters["images"]
        self.boxes += counters["boxes"]
        self.background_images += counters["background_images"]
        self.clamped_boxes += counters["clamped_boxes"]
        self.rejected.update({LineRejection(k): v for k, v in counters["rejected"].items()})
        self.dropped_boxes.update({BoxDrop(k): v for k, v in counters["dropped_boxes"].items()})
        self.boxes_per_class.update({int(k): v for k, v in counters["boxes_per_class"].items()})
        self.images_per_split.update(counters["images_per_split"])
        self.boxes_per_split.update(counters["boxes_per_split"])
        self.extra.update(counters.get("extra", {}))
        for name, lines, images, rejected in counters["manifests"]:
            counts = self.manifest(name)
            counts.lines += lines
            counts.images += images
            counts.rejected += rejected

    @property
    def lines(self) -> int:
        return sum(m.lines for m in self.manifests.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "boxes": self.boxes,
            "background_images": self.background_images,
            "lines": self.lines,
            "rejected_lines": sum(self.rejected.values()),
            "rejected": {str(k): v for k, v in sorted(self.rejected.items())},
            "dropped_boxes": {str(k): v for k, v in sorted(self.dropped_boxes.items())},
            "clamped_boxes": self.clamped_boxes,
            "classes": list(self.classes),
            "class_source": self.class_source,
            "boxes_per_class": {
                name: self.boxes_per_class[i] for i, name in enumerate(self.classes)
            },
            "images_per_split": dict(sorted(self.images_per_split.items())),
            "boxes_per_split": dict(sorted(self.boxes_per_split.items())),
            "label_attribute": self.label_attribute,
            "common_prefix": self.common_prefix,
            "split_fractions": self.split_fractions,
            "manifests": [
                {"manifest": name, "lines": m.lines, "images": m.images, "rejected": m.rejected}
                for name, m in self.manifests.items()
            ],
            "warnings": self.warnings,
            "task": self.task,
        }
