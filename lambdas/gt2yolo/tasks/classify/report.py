"""Classification: report.json's `classification` section, and what the pass counts for it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gt2yolo.report import Reader, TaskCounts, TaskSection


@dataclass
class ClassifyCounts(TaskCounts):
    kind: ClassVar[str] = "classify"

    images_per_class: Counter[int] = field(default_factory=Counter)  # by class id
    dropped_labels: Counter[str] = field(default_factory=Counter)  # by BoxDrop

    def as_json(self) -> dict[str, Any]:
        return {
            "images_per_class": {str(k): v for k, v in self.images_per_class.items()},
            "dropped_labels": {str(k): v for k, v in self.dropped_labels.items()},
        }

    def absorb(self, counts: Mapping[str, Any]) -> None:
        self.images_per_class.update({int(k): v for k, v in counts["images_per_class"].items()})
        self.dropped_labels.update(counts["dropped_labels"])


@dataclass(frozen=True)
class ClassifySection(TaskSection):
    task: ClassVar[str] = "classify"
    key: ClassVar[str] = "classification"

    multilabel: bool = False
    images_per_class: dict[str, int] = field(default_factory=dict)  # by name, in class order
    # Single-label only (None for multi-label): each class's folder, and its Ultralytics id.
    class_folders: dict[str, str] | None = None
    ultralytics_class_ids: dict[str, int] | None = None
    dropped_labels: dict[str, int] = field(default_factory=dict)  # by BoxDrop, sorted
    images_without_class: int = 0

    @classmethod
    def of(
        cls,
        counts: ClassifyCounts,
        names: Sequence[str],
        folders: Sequence[str | None],
        multilabel: bool,
        images_without_class: int,
    ) -> ClassifySection:
        """`folders`: each class's folder, None for a class without one (a name too long)."""
        placed = [(f, name) for f, name in zip(folders, names, strict=True) if f is not None]
        return cls(
            multilabel=multilabel,
            images_per_class={name: counts.images_per_class[i] for i, name in enumerate(names)},
            class_folders=None if multilabel else {name: folder for folder, name in placed},
            # Ultralytics numbers classes by their sorted folder names under train/.
            ultralytics_class_ids=None
            if multilabel
            else {name: i for i, (_, name) in enumerate(sorted(placed))},
            dropped_labels={str(k): v for k, v in sorted(counts.dropped_labels.items())},
            images_without_class=images_without_class,
        )

    def images_of(self, name: str) -> int:
        """Images of the class (0 for a class the report does not count)."""
        return self.images_per_class.get(name, 0)

    def folder_of(self, name: str) -> str:
        """Single-label: the class's folder ("" when not stated)."""
        return (self.class_folders or {}).get(name, "")

    def ultralytics_id_of(self, name: str) -> int | str:
        """Single-label: the class's Ultralytics id ("" when not stated)."""
        return (self.ultralytics_class_ids or {}).get(name, "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "multilabel": self.multilabel,
            "images_per_class": dict(self.images_per_class),
            "class_folders": None if self.class_folders is None else dict(self.class_folders),
            "ultralytics_class_ids": None
            if self.ultralytics_class_ids is None
            else dict(self.ultralytics_class_ids),
            "dropped_labels": dict(self.dropped_labels),
            "images_without_class": self.images_without_class,
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> ClassifySection:
        read = Reader(document, "report.json classification")
        return cls(
            multilabel=read.flag("multilabel"),
            images_per_class=read.counts("images_per_class"),
            class_folders=read.optional_texts("class_folders"),
            ultralytics_class_ids=read.optional_counts("ultralytics_class_ids"),
            dropped_labels=read.counts("dropped_labels"),
            images_without_class=read.count("images_without_class"),
        )
