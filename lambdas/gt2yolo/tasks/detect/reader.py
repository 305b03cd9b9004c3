"""Reading bounding-box lines (`groundtruth/object-detection`): the image size and drawn boxes.

{"source-ref": "s3://b/a.jpg",
 "boxes": {"image_size": [{"width": 640, "height": 480, "depth": 3}],
           "annotations": [{"class_id": 0, "left": 10, "top": 20, "width": 30, "height": 40}]},
 "boxes-metadata": {"class-map": {"0": "cat"}, "objects": [{"confidence": 0.9}],
                    "type": "groundtruth/object-detection", ...}}
"""

from __future__ import annotations

import math
from typing import Any

from gt2yolo.excerpts import shown
from gt2yolo.manifest import METADATA_SUFFIX
from gt2yolo.manifest import confidence as _confidence
from gt2yolo.manifest import is_number as _is_number
from gt2yolo.records import DrawnBox, LabeledImage, LineOrigin, LineRejection, Rejected

_Reject = Rejected
# An image size the fast path takes as is; larger ints (beyond float range) take the checked path.
_FAST_INT_LIMIT = 2**53


class BoxReader:
    """A bounding-box line -> a LabeledImage (its boxes as drawn, before any box rule)."""

    def read(
        self,
        record: dict[str, Any],
        source_ref: str,
        segments: tuple[str, ...],
        origin: LineOrigin,
        attribute: str,
    ) -> LabeledImage:
        annotation = record[attribute]
        if not isinstance(annotation, dict):
            raise _Reject(
                LineRejection.INVALID_ANNOTATION, f'"{attribute}" is not a box annotation'
            )
        width, height = _image_size(annotation)
        metadata = record.get(attribute + METADATA_SUFFIX)
        metadata = metadata if isinstance(metadata, dict) else {}
        boxes = _drawn_boxes(annotation, metadata)
        return LabeledImage(source_ref, width, height, boxes, origin, segments)

    def class_map(
        self, record: dict[str, Any], attribute: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        class_map = metadata.get("class-map")
        return class_map if isinstance(class_map, dict) and class_map else None


def _image_size(annotation: dict[str, Any]) -> tuple[int, int]:
    sizes = annotation.get("image_size")
    # Fast path: the size as Ground Truth writes it, positive JSON integers (bool is not `int`).
    if type(sizes) is list:
        size = sizes[0] if sizes else None
        if type(size) is dict:
            width, height = size.get("width"), size.get("height")
            if (
                type(width) is int
                and type(height) is int
                and 0 < width < _FAST_INT_LIMIT
                and 0 < height < _FAST_INT_LIMIT
            ):
                return width, height
    return _checked_image_size(sizes)


def _checked_image_size(sizes: Any) -> tuple[int, int]:
    if not sizes:
        raise _Reject(LineRejection.MISSING_IMAGE_SIZE, "no image_size: box sizes can't be scaled")
    size = sizes[0] if isinstance(sizes, list) else None
    if not isinstance(size, dict):
        raise _Reject(LineRejection.INVALID_IMAGE_SIZE, f"image_size is {shown(sizes)}")
    width, height = size.get("width"), size.get("height")
    if not (_is_positive_int(width) and _is_positive_int(height)):
        raise _Reject(
            LineRejection.INVALID_IMAGE_SIZE, f"width={shown(width)} height={shown(height)}"
        )
    assert isinstance(width, int | float) and isinstance(height, int | float)
    return int(width), int(height)


def _is_positive_int(value: object) -> bool:
    if not _is_number(value):
        return False
    assert isinstance(value, int | float)
    return value > 0 and float(value).is_integer()


def _drawn_boxes(annotation: dict[str, Any], metadata: dict[str, Any]) -> tuple[DrawnBox, ...]:
    entries = annotation.get("annotations")
    if not isinstance(entries, list):
        raise _Reject(LineRejection.INVALID_ANNOTATION, 'no "annotations" list')
    class_map = metadata.get("class-map")
    class_map = class_map if isinstance(class_map, dict) else {}
    objects = metadata.get("objects")
    objects = objects if isinstance(objects, list) else []
    boxes: list[DrawnBox] = []
    for i, entry in enumerate(entries):
        extra = objects[i] if i < len(objects) else None
        fast = _fast_drawn_box(entry, class_map, extra) if type(entry) is dict else None
        boxes.append(fast or _drawn_box(i, entry, class_map, extra))
    return tuple(boxes)


def _fast_drawn_box(
    entry: dict[str, Any], class_map: dict[str, Any], extra: object
) -> DrawnBox | None:
    """_drawn_box for the common entry (JSON integers only), with fewer checks; None otherwise."""
    try:  # subscripts, not .get(): the fields are nearly always there, and a call costs more
        class_id, left, top = entry["class_id"], entry["left"], entry["top"]
        width, height = entry["width"], entry["height"]
    except KeyError:
        return None
    # `type(x) is int` excludes bool, which _class_id and _number refuse.
    if not (
        type(class_id) is int
        and class_id >= 0
        and type(left) is int
        and type(top) is int
        and type(width) is int
        and type(height) is int
    ):
        return None
    name = class_map.get(str(class_id))
    confidence = extra.get("confidence") if type(extra) is dict else None
    if type(confidence) is not float or not math.isfinite(confidence):
        confidence = _confidence(confidence)
    try:
        return DrawnBox(
            class_id,
            name if type(name) is str else None,
            float(left),
            float(top),
            float(width),
            float(height),
            confidence,
        )
    except OverflowError:  # an integer beyond float range: the checked reading refuses it
        return None


def _drawn_box(position: int, entry: object, class_map: dict[str, Any], extra: object) -> DrawnBox:
    if not isinstance(entry, dict):
        raise _Reject(LineRejection.INVALID_ANNOTATION, f"annotation {position} is not an object")
    class_id = _class_id(entry.get("class_id"), position)
    numbers = [_number(entry, key, position) for key in ("left", "top", "width", "height")]
    name = class_map.get(str(class_id))
    confidence = extra.get("confidence") if isinstance(extra, dict) else None
    return DrawnBox(
        class_id=class_id,
        class_name=name if isinstance(name, str) else None,
        left=numbers[0],
        top=numbers[1],
        width=numbers[2],
        height=numbers[3],
        confidence=_confidence(confidence),
    )


def _class_id(value: object, position: int) -> int:
    # Image jobs write an int; video jobs a string: accept both spellings of a non-negative id.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        try:
            return int(value)
        except ValueError:  # more digits than int() reads: no class has such an id
            pass
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _Reject(
        LineRejection.INVALID_ANNOTATION, f"annotation {position}: class_id {shown(value)}"
    )


def _number(entry: dict[str, Any], key: str, position: int) -> float:
    value = entry.get(key)
    if not _is_number(value):
        raise _Reject(
            LineRejection.INVALID_ANNOTATION, f"annotation {position}: {key}={shown(value)}"
        )
    assert isinstance(value, int | float)
    return float(value)


READER = BoxReader()
