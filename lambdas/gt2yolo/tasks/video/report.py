"""Video frames: report.json's `video` section of a detection dataset, and what the pass
counts for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gt2yolo.report import Reader, TaskCounts, TaskSection


@dataclass
class VideoCounts(TaskCounts):
    kind: ClassVar[str] = "video"

    sequences: int = 0  # converted sequences
    boxes_outside_sequence: int = 0  # on frames the sequence file does not list
    invalid_boxes: int = 0
    frames_skipped_by_step: int = 0
    tracks: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "sequences": self.sequences,
            "boxes_outside_sequence": self.boxes_outside_sequence,
            "invalid_boxes": self.invalid_boxes,
            "frames_skipped_by_step": self.frames_skipped_by_step,
            "tracks": self.tracks,
        }

    def absorb(self, counts: Mapping[str, Any]) -> None:
        self.sequences += counts["sequences"]
        self.boxes_outside_sequence += counts["boxes_outside_sequence"]
        self.invalid_boxes += counts["invalid_boxes"]
        self.frames_skipped_by_step += counts["frames_skipped_by_step"]
        self.tracks += counts["tracks"]


@dataclass(frozen=True)
class VideoSection(TaskSection):
    """A detection dataset of video frames, split by sequence."""

    task: ClassVar[str] = "detect"
    key: ClassVar[str] = "video"

    tracking: bool = False
    sequences: int | None = None  # None: not stated (the page counts images.csv's)
    frames: int = 0
    frame_step: int = 1
    frames_skipped_by_step: int = 0
    tracks: int | None = None  # None: not stated (the page compares nothing)
    boxes_outside_sequence: int = 0
    invalid_boxes: int = 0
    split_by: str = "sequence"

    @classmethod
    def of(cls, counts: VideoCounts, tracking: bool, frames: int, frame_step: int) -> VideoSection:
        return cls(
            tracking, counts.sequences, frames, frame_step, counts.frames_skipped_by_step,
            counts.tracks, counts.boxes_outside_sequence, counts.invalid_boxes,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "tracking": self.tracking,
            "sequences": self.sequences,
            "frames": self.frames,
            "frame_step": self.frame_step,
            "frames_skipped_by_step": self.frames_skipped_by_step,
            "tracks": self.tracks,
            "boxes_outside_sequence": self.boxes_outside_sequence,
            "invalid_boxes": self.invalid_boxes,
            "split_by": self.split_by,
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> VideoSection:
        read = Reader(document, "report.json video")
        return cls(
            tracking=read.flag("tracking"),
            sequences=read.optional_count("sequences"),
            frames=read.count("frames"),
            frame_step=read.count("frame_step", 1),
            frames_skipped_by_step=read.count("frames_skipped_by_step"),
            tracks=read.optional_count("tracks"),
            boxes_outside_sequence=read.count("boxes_outside_sequence"),
            invalid_boxes=read.count("invalid_boxes"),
            split_by=read.text("split_by", "sequence"),
        )
