"""What a conversion is asked to do: the options every pass and the shared run read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gt2yolo.classes import ClassList
from gt2yolo.exports.formats import ExportFormat
from gt2yolo.manifest import LineRules, TaskReader
from gt2yolo.names import DUPLICATE_HINT, OnDuplicate
from gt2yolo.paths import Layout
from gt2yolo.report import CollectionFacts
from gt2yolo.split import Split, SplitFractions
from gt2yolo.task_types import LabelTask


@dataclass(frozen=True)
class ConversionOptions:
    label_attribute: str | None = None
    class_list: ClassList | None = None
    verification_attribute: str | None = None
    accepted_verdicts: frozenset[str] = field(default_factory=lambda: frozenset({"good"}))
    fractions: SplitFractions = field(default_factory=SplitFractions)
    layout: Layout = Layout.FOLDERS
    on_duplicate: OnDuplicate = OnDuplicate.ERROR
    image_batch_size: int = 64
    # The labeling job's task, when known (DescribeLabelingJob); else the lines' metadata say.
    task: LabelTask | None = None
    # Segmentation: outline simplification (pixels) and the smallest region kept (square pixels).
    polygon_tolerance: float = 1.0
    min_region_area: float = 4.0
    # Video frames: keep every Nth frame of each sequence (by frame number).
    frame_step: int = 1
    # The dataset version this conversion writes (published datasets): named in report.json.
    version: str | None = None
    # Labels so far of a job still in progress (a live dataset): report.json says so.
    partial: bool = False
    # An image's split where it is not its hash's (kept from an earlier version whose split
    # fractions differed): source-ref -> split.
    split_pins: Mapping[str, Split] | None = None
    # The common folder of an earlier version (segments, bucket first): kept while every image
    # lies below it, so the paths of its images do not move when new images sit deeper.
    earlier_common_folder: tuple[str, ...] | None = None
    # A collection's dataset: report.json's `collection` section (None: not written).
    collection: CollectionFacts | None = None
    # What the error for an image labeled on two lines (on_duplicate error) tells to do.
    duplicate_hint: str = DUPLICATE_HINT
    # Formats written beside the YOLO dataset (`exports/<format>/`), and the S3 folder their
    # image URIs start with (where the dataset is, or will be synced): formats.check_base.
    exports: tuple[ExportFormat, ...] = ()
    export_base: str | None = None

    def line_rules(
        self, label_attribute: str, classes: ClassList | None, task: LabelTask, reader: TaskReader
    ) -> LineRules:
        """`classes`: the survey's class list; when derived from the lines' class-maps (no
        label config), a line whose class-map disagrees with it is rejected. `reader`: the
        task's (from the task registry)."""
        derived = classes if classes is not None and classes.from_class_maps else None
        return LineRules(
            label_attribute, self.verification_attribute, self.accepted_verdicts,
            derived_classes=derived, task=task, reader=reader,
        )  # fmt: skip
