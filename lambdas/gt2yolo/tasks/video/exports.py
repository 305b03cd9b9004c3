"""The video task's export writers: each kept frame an image, its boxes those of a detection
image, with its sequence (COCO's video), frame number over the kept frames and track ids."""

from __future__ import annotations

from collections.abc import Sequence

from gt2yolo.exports.rekognition import RekognitionWriter
from gt2yolo.exports.sagemaker import SageMakerWriter
from gt2yolo.exports.writer import ExportWriter
from gt2yolo.records import LabeledImage
from gt2yolo.split import Split
from gt2yolo.tasks.detect.exports import CocoDetectWriter, box_rows, image_row
from gt2yolo.tasks.detect.yolo import BoxOutcome
from gt2yolo.tasks.video.frame_row import FrameRow
from gt2yolo.writers import image_key


class FrameRows(ExportWriter):
    """The record methods the video pass calls: a row per frame, no MOT files."""

    def add_frame(
        self,
        image: LabeledImage,
        path: str,
        label: str,
        split: Split,
        outcomes: Sequence[BoxOutcome],
        row: FrameRow,
        tracks: Sequence[tuple[int | None, str | None]],
    ) -> None:
        boxes = box_rows(image, outcomes)
        kept_tracks = [track for o, (track, _) in zip(outcomes, tracks, strict=True) if o.yolo]
        for box, track in zip(boxes, kept_tracks, strict=True):
            if track is not None:
                box["track"] = track
        frame = image_row(image, image_key(split, path), boxes)
        frame["video"] = row.sequence
        frame["frame_id"] = row.mot_frame - 1  # 0-based over the kept frames (COCO-VID)
        self.emit(split, frame)

    def add_mot(self, sequence: str, rows: Sequence[str], seqinfo: str) -> None:
        """MOT files are the YOLO dataset's; exports carry tracks in their own form."""


class CocoVideoWriter(FrameRows, CocoDetectWriter):
    """COCO of frames: images with video_id and frame_id, annotations with track_id."""


class RekognitionVideoWriter(FrameRows, RekognitionWriter):
    """Rekognition has no video training input: each kept frame is an image line."""


class SageMakerVideoWriter(FrameRows, SageMakerWriter):
    """Each kept frame an Object Detection image line (its sequence and tracks left out)."""


__all__ = [
    "CocoVideoWriter", "FrameRows", "RekognitionVideoWriter", "SageMakerVideoWriter",
]  # fmt: skip
