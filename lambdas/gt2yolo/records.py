"""Typed records between the manifest reader and the writers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class LineRejection(StrEnum):
    """Why a manifest line produced no image. Counted in report.json, listed in rejected.jsonl."""

    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_SOURCE_REF = "missing_source_ref"
    INVALID_SOURCE_REF = "invalid_source_ref"
    UNSAFE_PATH = "unsafe_path"
    NOT_LABELED = "not_labeled"
    FAILED_OBJECT = "failed_object"
    NOT_VERIFIED = "not_verified"
    VERIFICATION_REJECTED = "verification_rejected"
    CLASS_MAP_CONFLICT = "class_map_conflict"
    MISSING_IMAGE_SIZE = "missing_image_size"
    INVALID_IMAGE_SIZE = "invalid_image_size"
    INVALID_ANNOTATION = "invalid_annotation"
    IMAGE_NOT_FOUND = "image_not_found"
    # The label attribute's metadata type names another task than the dataset's (a dataset
    # holds one task: the job's, else that of most lines).
    WRONG_TASK = "wrong_task"
    # The same source-ref on another accepted line, kept by --on-duplicate first|last.
    DUPLICATE_SOURCE_REF = "duplicate_source_ref"
    # Semantic segmentation: the line's mask (`<attr>` is its s3:// URI) cannot become polygons.
    MASK_NOT_FOUND = "mask_not_found"
    MASK_UNREADABLE = "mask_unreadable"
    MASK_SIZE_MISMATCH = "mask_size_mismatch"
    MASK_UNKNOWN_COLORS = "mask_unknown_colors"
    # Image classification: the image's one class is not in the dataset's class list.
    UNKNOWN_CLASS = "unknown_class"
    # Video frames: a line's sequence file or SeqLabel.json, or one frame of it.
    SEQUENCE_NOT_FOUND = "sequence_not_found"
    SEQUENCE_INVALID = "sequence_invalid"
    SEQ_LABELS_NOT_FOUND = "seq_labels_not_found"
    SEQ_LABELS_INVALID = "seq_labels_invalid"
    FRAME_NOT_FOUND = "frame_not_found"
    FRAME_UNREADABLE = "frame_unreadable"


class BoxDrop(StrEnum):
    """Why a box of an accepted line is not in the YOLO label file."""

    CLASS_NOT_IN_CONFIG = "class_not_in_config"
    UNKNOWN_CLASS_ID = "unknown_class_id"
    ZERO_SIZE = "zero_size"
    OUTSIDE_IMAGE = "outside_image"
    DUPLICATE = "duplicate_box"
    # Segmentation: a region enclosing less than the minimum area, or nothing once simplified.
    SMALL_REGION = "small_region"


class BoxStatus(StrEnum):
    """What the rules made of a box (or a segmentation region): annot.csv's `status`."""

    KEPT = "kept"
    CLAMPED = "clamped"
    DROPPED_CLASS_NOT_IN_CONFIG = "dropped:class_not_in_config"
    DROPPED_UNKNOWN_CLASS_ID = "dropped:unknown_class_id"
    DROPPED_ZERO_SIZE = "dropped:zero_size"
    DROPPED_OUTSIDE_IMAGE = "dropped:outside_image"
    DROPPED_DUPLICATE = "dropped:duplicate_box"
    DROPPED_SMALL_REGION = "dropped:small_region"

    @staticmethod
    def dropped(drop: BoxDrop) -> BoxStatus:
        """The status of a box dropped for `drop`."""
        return _DROPPED_STATUS[drop]

    @property
    def drop(self) -> BoxDrop:
        """Why a dropped box was dropped (KeyError for a kept or clamped one)."""
        return _DROP_OF[self]


# Every BoxDrop has its status (a missing one fails here, at import).
_DROPPED_STATUS = {drop: BoxStatus(f"dropped:{drop}") for drop in BoxDrop}
_DROP_OF = {status: drop for drop, status in _DROPPED_STATUS.items()}


class Rejected(Exception):
    """Raised by a line reader: the line yields no image, for this reason (and detail)."""

    def __init__(self, reason: LineRejection, detail: str, other_task: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.other_task = other_task


@dataclass(frozen=True, slots=True)
class LineOrigin:
    """Where a record came from: manifest name and 1-based line number."""

    manifest: str
    line: int

    def __init__(self, manifest: str, line: int) -> None:
        # Direct slot stores, as in DrawnBox: one of these is made per line, in both passes.
        _origin_manifest(self, manifest)
        _origin_line(self, line)


@dataclass(frozen=True, slots=True)
class DrawnBox:
    """A box as the labelers drew it: integer-ish pixels, top-left corner, plus class info."""

    class_id: int
    class_name: str | None
    left: float
    top: float
    width: float
    height: float
    confidence: float | None

    def __init__(
        self,
        class_id: int,
        class_name: str | None,
        left: float,
        top: float,
        width: float,
        height: float,
        confidence: float | None,
    ) -> None:
        # The generated frozen __init__ stores each field through object.__setattr__, at twice
        # the cost of these direct slot stores; one of these is made per box of every line.
        _drawn_class_id(self, class_id)
        _drawn_class_name(self, class_name)
        _drawn_left(self, left)
        _drawn_top(self, top)
        _drawn_width(self, width)
        _drawn_height(self, height)
        _drawn_confidence(self, confidence)


@dataclass(frozen=True, slots=True)
class LabeledImage:
    """One accepted manifest line: an image and its boxes (possibly none: a background image)."""

    source_ref: str
    width: int
    height: int
    boxes: tuple[DrawnBox, ...]
    origin: LineOrigin
    # source_ref_segments(source_ref), computed once when the line is read; () if not given.
    segments: tuple[str, ...] = ()

    def __init__(
        self,
        source_ref: str,
        width: int,
        height: int,
        boxes: tuple[DrawnBox, ...],
        origin: LineOrigin,
        segments: tuple[str, ...] = (),
    ) -> None:
        # Direct slot stores, as in DrawnBox: one of these is made per accepted line.
        _image_source_ref(self, source_ref)
        _image_width(self, width)
        _image_height(self, height)
        _image_boxes(self, boxes)
        _image_origin(self, origin)
        _image_segments(self, segments)


@dataclass(frozen=True, slots=True)
class MaskColor:
    """One entry of a segmentation line's `internal-color-map`: a mask color and its class."""

    rgb: tuple[int, int, int]
    class_name: str
    # Ground Truth's name for unlabeled pixels; background is no class.
    background: bool


@dataclass(frozen=True, slots=True)
class SegmentedImage:
    """One accepted semantic segmentation line: the image, its mask and the mask's colors."""

    source_ref: str
    mask_ref: str
    colors: tuple[MaskColor, ...]
    origin: LineOrigin
    segments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageClass:
    """A class the labelers gave an image: the job's class index, its name, the confidence."""

    class_id: int
    class_name: str | None
    confidence: float | None


@dataclass(frozen=True, slots=True)
class ClassifiedImage:
    """One accepted image classification line: one class (single label) or any number."""

    source_ref: str
    classes: tuple[ImageClass, ...]
    multilabel: bool
    origin: LineOrigin
    segments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VideoSequence:
    """One accepted video frame line: the input sequence file and the job's SeqLabel.json."""

    source_ref: str  # the sequence file (frames' prefix and names)
    labels_ref: str  # SeqLabel.json
    class_names: tuple[tuple[int, str], ...]  # the line's class-map
    tracking: bool
    origin: LineOrigin
    segments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """One manifest line that yields no image, with the reason and a human-readable detail."""

    reason: LineRejection
    detail: str
    origin: LineOrigin
    source_ref: str | None = None
    # wrong_task: the type the line's metadata names (counted per type for report.json).
    other_task: str | None = None


@dataclass(frozen=True, slots=True)
class YoloBox:
    """A box after the rules: class id in the dataset's class list, normalized centre and size."""

    class_id: int
    cx: float
    cy: float
    w: float
    h: float

    def __init__(self, class_id: int, cx: float, cy: float, w: float, h: float) -> None:
        # Direct slot stores, as in DrawnBox: one of these is made per kept box.
        _yolo_class_id(self, class_id)
        _yolo_cx(self, cx)
        _yolo_cy(self, cy)
        _yolo_w(self, w)
        _yolo_h(self, h)


def slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot descriptors' __set__ of a slotted (frozen) dataclass, for a hand-written __init__."""
    return tuple(cls.__dict__[name].__set__ for name in names)


(
    _drawn_class_id, _drawn_class_name, _drawn_left, _drawn_top, _drawn_width, _drawn_height,
    _drawn_confidence,
) = slot_setters(
    DrawnBox, "class_id", "class_name", "left", "top", "width", "height", "confidence"
)  # fmt: skip
_yolo_class_id, _yolo_cx, _yolo_cy, _yolo_w, _yolo_h = slot_setters(
    YoloBox, "class_id", "cx", "cy", "w", "h"
)
_origin_manifest, _origin_line = slot_setters(LineOrigin, "manifest", "line")
(
    _image_source_ref, _image_width, _image_height, _image_boxes, _image_origin, _image_segments,
) = slot_setters(
    LabeledImage, "source_ref", "width", "height", "boxes", "origin", "segments"
)  # fmt: skip
