"""Reading image classification lines, single-label and multi-label.

Single label (`groundtruth/image-classification`):
    {"source-ref": "s3://b/a.jpg", "animal": 1,
     "animal-metadata": {"class-name": "dog", "confidence": 0.93, "type": "...", ...}}
Multi-label (`groundtruth/image-classification-multilabel`):
    {"source-ref": "s3://b/a.jpg", "tags": [0, 2],
     "tags-metadata": {"class-map": {"0": "cat", "2": "bird"},
                       "confidence-map": {"0": 0.9, "2": 0.7}, "type": "...", ...}}
The attribute's value is the class index (indices) in the job's label list; the metadata names
them. An empty multi-label list is an image the labelers gave no class.
"""

from __future__ import annotations

from typing import Any

from gt2yolo.excerpts import shown
from gt2yolo.manifest import METADATA_SUFFIX
from gt2yolo.manifest import confidence as _confidence
from gt2yolo.records import ClassifiedImage, ImageClass, LineOrigin, LineRejection, Rejected

MAX_LABELS_PER_IMAGE = 1000


def _class_index(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1_000_000:
        raise Rejected(LineRejection.INVALID_ANNOTATION, f"{where} is {shown(value)}, not a class")
    return value


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() and "\n" not in value else None


class SingleLabelReader:
    def read(
        self,
        record: dict[str, Any],
        source_ref: str,
        segments: tuple[str, ...],
        origin: LineOrigin,
        attribute: str,
    ) -> ClassifiedImage:
        class_id = _class_index(record[attribute], f'"{attribute}"')
        metadata = record.get(attribute + METADATA_SUFFIX)
        metadata = metadata if isinstance(metadata, dict) else {}
        label = ImageClass(
            class_id, _name(metadata.get("class-name")), _confidence(metadata.get("confidence"))
        )
        return ClassifiedImage(source_ref, (label,), False, origin, segments)

    def class_map(
        self, record: dict[str, Any], attribute: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        value, name = record.get(attribute), metadata.get("class-name")
        if isinstance(value, bool) or not isinstance(value, int) or _name(name) is None:
            return None
        return {str(value): name}


class MultiLabelReader:
    def read(
        self,
        record: dict[str, Any],
        source_ref: str,
        segments: tuple[str, ...],
        origin: LineOrigin,
        attribute: str,
    ) -> ClassifiedImage:
        values = record[attribute]
        if not isinstance(values, list) or len(values) > MAX_LABELS_PER_IMAGE:
            raise Rejected(
                LineRejection.INVALID_ANNOTATION, f'"{attribute}" is {shown(values)}, not a list'
            )
        metadata = record.get(attribute + METADATA_SUFFIX)
        metadata = metadata if isinstance(metadata, dict) else {}
        names = metadata.get("class-map")
        names = names if isinstance(names, dict) else {}
        confidences = metadata.get("confidence-map")
        confidences = confidences if isinstance(confidences, dict) else {}
        labels: dict[int, ImageClass] = {}
        for position, value in enumerate(values):
            class_id = _class_index(value, f'"{attribute}"[{position}]')
            key = str(class_id)
            # A class listed twice is one label.
            labels.setdefault(
                class_id,
                ImageClass(class_id, _name(names.get(key)), _confidence(confidences.get(key))),
            )
        return ClassifiedImage(source_ref, tuple(labels.values()), True, origin, segments)

    def class_map(
        self, record: dict[str, Any], attribute: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        names = metadata.get("class-map")
        return names if isinstance(names, dict) and names else None


SINGLE_LABEL_READER = SingleLabelReader()
MULTILABEL_READER = MultiLabelReader()
