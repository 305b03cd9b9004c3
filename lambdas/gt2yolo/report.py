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

    def manifest(self, name: str) -> ManifestCounts:
        return self.manifests.setdefault(name, ManifestCounts())

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
        }
