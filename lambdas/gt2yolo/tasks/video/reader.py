"""Reading video frame lines (object detection and tracking) and the two files each names.

A line of a video frame job is one sequence of frames:

    {"source-ref": "s3://b/input/traffic/seq-a.json",            # the input sequence file
     "traffic-ref": "s3://b/out/job/annotations/consolidated-annotation/output/0/SeqLabel.json",
     "traffic-ref-metadata": {"class-map": {"0": "car"}, "job-name": "labeling-job/job",
                              "type": "groundtruth/video-object-tracking", ...}}

The sequence file: {"seq-no": 1, "prefix": "s3://b/frames/seq-a/", "number-of-frames": 3,
"frames": [{"frame-no": 1, "frame": "frame_0001.jpeg", "unix-timestamp": ...}, ...]}.
SeqLabel.json: {"tracking-annotations" (or "detection-annotations"): [{"frame-no": 0,
"frame": "frame_0001.jpeg", "annotations": [{"left", "top", "width", "height", "class-id": "0",
"object-id": "<uuid>" (tracking), "object-name": "car:1", "label-category-attributes": {}}],
"frame-attributes": {}}]}.

What varies in real files, and what is done about it:
- `frame-no` is an int or a digit string (both read), and its base differs between the input
  (often 1-based) and SeqLabel.json (0-based): SeqLabel frames join the sequence's by their
  `frame` file name; by `frame-no` only when a SeqLabel frame has no name.
- Frames nobody labeled are not in SeqLabel.json: they are frames without boxes (background).
- A SeqLabel frame the sequence does not hold, or a box without a usable class or geometry:
  its boxes are counted (`video.boxes_outside_sequence`, dropped boxes) and not written.
- `prefix` without `s3://` (an AWS sample writes `bucket/key`) or without the trailing `/`.
- `number-of-frames` disagreeing with `frames`: the list decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gt2yolo.excerpts import shown
from gt2yolo.manifest import METADATA_SUFFIX
from gt2yolo.manifest import is_number as _is_number
from gt2yolo.records import DrawnBox, LineOrigin, LineRejection, Rejected, VideoSequence

ANNOTATION_KEYS = ("tracking-annotations", "detection-annotations")
MAX_FRAMES = 100_000  # a sequence of Ground Truth holds at most 2,000 frames; leave room


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a sequence: its number as the sequence gives it, its file, its URI."""

    number: int
    name: str
    uri: str
    timestamp: float | None = None  # `unix-timestamp`, when the sequence file gives one


@dataclass(frozen=True, slots=True)
class TrackedBox:
    """A box of a frame as drawn, with its track (object-id) when the job tracked objects."""

    box: DrawnBox
    object_id: str | None
    object_name: str | None


@dataclass(frozen=True)
class SequenceLabels:
    """SeqLabel.json's boxes by frame name, and the boxes of frames the sequence lacks."""

    boxes: dict[str, list[TrackedBox]]
    outside: int
    invalid: int


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def _prefix(value: object) -> str:
    if not isinstance(value, str) or not value.strip("/"):
        raise Rejected(LineRejection.SEQUENCE_INVALID, f"prefix is {shown(value)}")
    prefix = value if value.startswith("s3://") else "s3://" + value.lstrip("/")
    return prefix if prefix.endswith("/") else prefix + "/"


def parse_sequence(data: bytes) -> list[Frame]:
    """The frames of an input sequence file, ordered by frame number; Rejected otherwise."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Rejected(LineRejection.SEQUENCE_INVALID, f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Rejected(LineRejection.SEQUENCE_INVALID, "not a JSON object")
    prefix = _prefix(document.get("prefix"))
    entries = document.get("frames")
    if not isinstance(entries, list) or not entries or len(entries) > MAX_FRAMES:
        raise Rejected(LineRejection.SEQUENCE_INVALID, "no frames list")
    frames: dict[str, Frame] = {}
    for position, entry in enumerate(entries):
        name = entry.get("frame") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or name.startswith("/") or "\x00" in name:
            raise Rejected(LineRejection.SEQUENCE_INVALID, f"frame {position}: {shown(entry)}")
        number = _number(entry.get("frame-no"))
        if name in frames:
            raise Rejected(LineRejection.SEQUENCE_INVALID, f"frame {shown(name)} listed twice")
        # A frame without a number keeps its place in the list.
        stamp = entry.get("unix-timestamp")
        stamp = float(stamp) if _is_number(stamp) else None
        frames[name] = Frame(position if number is None else number, name, prefix + name, stamp)
    return sorted(frames.values(), key=lambda frame: (frame.number, frame.name))


def parse_seq_labels(
    data: bytes, frames: list[Frame], class_names: dict[int, str]
) -> SequenceLabels:
    """SeqLabel.json's boxes, joined to the sequence's frames (by name, else by number)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Rejected(LineRejection.SEQ_LABELS_INVALID, f"not JSON: {exc}") from None
    entries = None
    if isinstance(document, dict):
        entries = next((document[k] for k in ANNOTATION_KEYS if k in document), None)
    if not isinstance(entries, list):
        raise Rejected(LineRejection.SEQ_LABELS_INVALID, f"no {' or '.join(ANNOTATION_KEYS)} list")
    by_name = {frame.name: frame for frame in frames}
    by_number = {frame.number: frame for frame in frames}
    boxes: dict[str, list[TrackedBox]] = {}
    outside = invalid = 0
    for entry in entries:
        if not isinstance(entry, dict):
            invalid += 1
            continue
        annotations = entry.get("annotations")
        annotations = annotations if isinstance(annotations, list) else []
        frame = _frame_of(entry, by_name, by_number)
        if frame is None:
            outside += len(annotations)
            continue
        for annotation in annotations:
            tracked = _tracked_box(annotation, class_names)
            if tracked is None:
                invalid += 1
            else:
                boxes.setdefault(frame.name, []).append(tracked)
    return SequenceLabels(boxes, outside, invalid)


def _frame_of(
    entry: dict[str, Any], by_name: dict[str, Frame], by_number: dict[int, Frame]
) -> Frame | None:
    name = entry.get("frame")
    if isinstance(name, str) and name:
        return by_name.get(name)
    number = _number(entry.get("frame-no"))
    return None if number is None else by_number.get(number)


def _tracked_box(annotation: object, class_names: dict[int, str]) -> TrackedBox | None:
    if not isinstance(annotation, dict):
        return None
    class_id = _number(annotation.get("class-id"))
    values = [annotation.get(key) for key in ("left", "top", "width", "height")]
    if class_id is None or not all(_is_number(v) for v in values):
        return None
    left, top, width, height = (float(v) for v in values)  # type: ignore[arg-type]
    box = DrawnBox(class_id, class_names.get(class_id), left, top, width, height, None)
    object_id = annotation.get("object-id")
    object_name = annotation.get("object-name")
    return TrackedBox(
        box,
        object_id if isinstance(object_id, str) and object_id else None,
        object_name if isinstance(object_name, str) else None,
    )


class VideoReader:
    def __init__(self, tracking: bool) -> None:
        self.tracking = tracking

    def read(
        self,
        record: dict[str, Any],
        source_ref: str,
        segments: tuple[str, ...],
        origin: LineOrigin,
        attribute: str,
    ) -> VideoSequence:
        labels_ref = record[attribute]
        if not isinstance(labels_ref, str) or not labels_ref.startswith("s3://"):
            raise Rejected(
                LineRejection.INVALID_ANNOTATION,
                f'"{attribute}" is {shown(labels_ref)}, not a SeqLabel.json URI',
            )
        metadata = record.get(attribute + METADATA_SUFFIX)
        names = self.class_map(record, attribute, metadata if isinstance(metadata, dict) else {})
        class_names = tuple(
            sorted(
                (number, name)
                for key, name in (names or {}).items()
                if (number := _number(key)) is not None and isinstance(name, str)
            )
        )
        return VideoSequence(source_ref, labels_ref, class_names, self.tracking, origin, segments)

    def class_map(
        self, record: dict[str, Any], attribute: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        names = metadata.get("class-map")
        return names if isinstance(names, dict) and names else None


DETECTION_READER = VideoReader(tracking=False)
TRACKING_READER = VideoReader(tracking=True)
