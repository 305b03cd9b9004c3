"""Where a frame of a sequence sits: read by the YOLO writer and the exports alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FrameRow:
    """Where a frame of a sequence sits: its sequence folder, number and MOT frame."""

    sequence: str
    sequence_ref: str
    number: int
    mot_frame: int
