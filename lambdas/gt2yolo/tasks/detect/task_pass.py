"""The detection pass: each accepted image's boxes through the box rules into its writers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from gt2yolo.exports.formats import ExportFormat
from gt2yolo.passes import Exporters, Placed, TaskPass
from gt2yolo.records import BoxStatus, LineRejection, RejectedLine
from gt2yolo.split import Split
from gt2yolo.storage import Storage
from gt2yolo.tasks.detect.exports import (
    CocoDetectWriter,
    RekognitionDetectWriter,
    SageMakerDetectWriter,
)
from gt2yolo.tasks.detect.rules import evaluate_boxes, kept_boxes
from gt2yolo.tasks.detect.yolo import BoxOutcome, DetectWriter
from gt2yolo.writers import label_key

_NAME_CLASHES = (FileExistsError, IsADirectoryError, NotADirectoryError)


class DetectPass(TaskPass[DetectWriter]):
    exporters: ClassVar[Exporters] = {
        ExportFormat.COCO: CocoDetectWriter,
        ExportFormat.REKOGNITION: RekognitionDetectWriter,
        ExportFormat.SAGEMAKER: SageMakerDetectWriter,
    }

    def open_writers(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> list[DetectWriter]:
        return [DetectWriter(storage, splits, tables_prefix=tables_prefix, header=header)]

    def _accept(self, placed: Placed) -> None:
        image = placed.image
        classes = self.survey.class_list
        kept = kept_boxes(image, classes)
        outcomes: list[BoxOutcome] | None = None
        try:
            for writer in self.writers:
                if (
                    kept is not None
                    and outcomes is None
                    and writer.add_kept_image(image, placed.path, placed.label, placed.split, kept)
                ):
                    continue
                # A box clamped or dropped, or a field csv must quote: the general path.
                if outcomes is None:
                    outcomes = evaluate_boxes(image, classes)
                writer.add_image(image, placed.path, placed.label, placed.split, outcomes)
        except _NAME_CLASHES as exc:
            # A folder can't hold a file and a folder of one name: `a/d.txt` (the label of
            # a/d.jpg) and `a/d.txt/` (of a/d.txt/x.jpg). The label file is written first, so
            # nothing else of this image is. (S3 keys have no folders: no clash there.)
            label = label_key(placed.split, placed.label)
            detail = f"label file {label} clashes with another image's: {exc.strerror}"
            self._reject(
                RejectedLine(LineRejection.UNSAFE_PATH, detail, image.origin, image.source_ref)
            )
            return
        if outcomes is not None:
            self._count_image(placed, outcomes)
        else:
            assert kept is not None
            self._count_kept(placed, kept.class_ids)

    def _count_image(self, placed: Placed, outcomes: Sequence[BoxOutcome]) -> None:
        report = self.report
        kept = clamped = 0
        per_class = report.boxes_per_class
        for outcome in outcomes:
            yolo = outcome.yolo
            if yolo is not None:
                kept += 1
                per_class[yolo.class_id] += 1
                if outcome.status is BoxStatus.CLAMPED:
                    clamped += 1
            else:
                report.dropped_boxes[outcome.status.drop] += 1
        report.clamped_boxes += clamped
        self._count_totals(placed, kept)

    def _count_kept(self, placed: Placed, class_ids: list[int]) -> None:
        """_count_image of an image whose every box was kept as drawn (rules.kept_boxes)."""
        per_class = self.report.boxes_per_class
        for class_id in class_ids:
            per_class[class_id] += 1
        self._count_totals(placed, len(class_ids))
