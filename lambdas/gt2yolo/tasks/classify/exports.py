"""The classification task's export writers: each image's labels, as the class list kept them.

A row is `{"file_name": <the image's dataset key>, "labels": [dataset class ids], "multilabel"}`;
an image whose every label was dropped (or a multi-label image without one) has no labels, and
the formats that need one leave it out and count it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gt2yolo.exports.rekognition import RekognitionWriter
from gt2yolo.exports.sagemaker import SageMakerWriter
from gt2yolo.exports.writer import ExportWriter
from gt2yolo.records import ClassifiedImage, ImageClass
from gt2yolo.split import Split


class ClassifyRows(ExportWriter):
    """The record method the classification pass calls, making one row (`emit`)."""

    def add_classified(
        self, image: ClassifiedImage, key: str, split: Split, kept: Sequence[tuple[int, ImageClass]]
    ) -> None:
        """`kept`: (dataset class id, label) of the image's classes in the class list."""
        labels = list(dict.fromkeys(class_id for class_id, _ in kept))
        self.emit(split, {"file_name": key, "labels": labels, "multilabel": image.multilabel})


class RekognitionClassifyWriter(ClassifyRows, RekognitionWriter):
    """Rekognition Custom Labels image-level lines: one attribute pair per label."""


class SageMakerClassifyWriter(ClassifyRows, SageMakerWriter):
    """Image Classification augmented-manifest lines: `class` an id, or a list of ids."""
