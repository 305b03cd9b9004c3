"""Typed records between the manifest reader and the writers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    MISSING_IMAGE_SIZE = "missing_image_size"
    INVALID_IMAGE_SIZE = "invalid_image_size"
    INVALID_ANNOTATION = "invalid_annotation"
    IMAGE_NOT_FOUND = "image_not_found"


class BoxDrop(StrEnum):
    """Why a box of an accepted line is not in the YOLO label file."""

    CLASS_NOT_IN_CONFIG = "class_not_in_config"
    UNKNOWN_CLASS_ID = "unknown_class_id"
    ZERO_SIZE = "zero_size"
    OUTSIDE_IMAGE = "outside_image"
    DUPLICATE = "duplicate_box"


@dataclass(frozen=True, slots=True)
class LineOrigin:
    """Where a record came from: manifest name and 1-based line number."""

    manifest: str
    line: int


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


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """One manifest line that yields no image, with the reason and a human-readable detail."""

    reason: LineRejection
    detail: str
    origin: LineOrigin
    source_ref: str | None = None


@dataclass(frozen=True, slots=True)
class YoloBox:
    """A box after the rules: class id in the dataset's class list, normalized centre and size."""

    class_id: int
    cx: float
    cy: float
    w: float
    h: float
