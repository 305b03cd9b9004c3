"""Video frame jobs for the unit suite: sequence files, SeqLabel.json files and their lines.

Built from the documented formats (/work/notes/video-facts.md): an output line per sequence whose
`source-ref` is the input sequence file (`prefix`, `frames` with `frame-no` and `frame`) and whose
`<attr>` is the job's SeqLabel.json (`tracking-annotations` or `detection-annotations`: one entry
per labeled frame with `frame-no`, `frame` and `annotations`). The workspace writes them, and a
JPEG per frame, into a local S3 mirror and converts with the core reading from it.
"""

from __future__ import annotations

import configparser
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gt2yolo import ConversionOptions
from gt2yolo.paths import Layout
from gt_builders import Dataset
from task_builders import MirrorWorkspace, jpeg

from samples.detection import SampleJob

FRAMES = "s3://frames/clips"  # the frames of sequence <name> are under FRAMES/<name>/
INPUTS = "s3://bucket/input"  # the input sequence files: INPUTS/<name>.json
SEQLABELS = "s3://bucket/jobs/traffic/annotations/consolidated-annotation/output"
ATTR = "traffic-ref"  # a video job's LabelAttributeName ends in -ref
TRACKING = "groundtruth/video-object-tracking"
DETECTION = "groundtruth/video-object-detection"
CLASSES = ("car", "person", "bicycle")  # the job's label config, in order
SIZE = (64, 48)


def frame_name(number: int) -> str:
    """Ground Truth's own frame files: frame_0001.jpeg, ..."""
    return f"frame_{number:04d}.jpeg"


def frame_entries(count: int, first: int = 1, as_text: bool = False) -> list[dict[str, Any]]:
    """A sequence file's `frames`: `count` frames numbered from `first`, named frame_0001.jpeg..
    in the same order (`as_text`: numbers as digit strings, as some files have them)."""
    return [
        {"frame-no": str(first + i) if as_text else first + i, "frame": frame_name(i + 1)}
        for i in range(count)
    ]


def tracked(
    class_id: Any, left: Any, top: Any, width: Any, height: Any, object_id: str | None = None
) -> dict[str, Any]:
    """One SeqLabel box: pixels, top-left corner; `object_id` for a tracking job."""
    box: dict[str, Any] = {
        "height": height, "width": width, "top": top, "left": left, "class-id": str(class_id),
        "label-category-attributes": {},
    }  # fmt: skip
    if object_id is not None:
        box["object-id"] = object_id
        box["object-name"] = f"{object_id}:1"
    return box


def labeled(
    name: str | None, boxes: Sequence[Mapping[str, Any]], number: Any = None
) -> dict[str, Any]:
    """One SeqLabel entry: the frame's file name (None: left out), its number, its boxes."""
    entry: dict[str, Any] = {"annotations": [dict(b) for b in boxes], "frame-attributes": {}}
    if number is not None:
        entry["frame-no"] = number
    if name is not None:
        entry["frame"] = name
    return entry


class VideoWorkspace(MirrorWorkspace):
    """A mirror holding video frame jobs: sequence files, frames and SeqLabel.json files."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._labels = 0

    def sequence(
        self,
        name: str,
        frames: Sequence[Mapping[str, Any]] | int = 3,
        *,
        size: tuple[int, int] = SIZE,
        sizes: Mapping[str, tuple[int, int]] | None = None,
        prefix: Any = None,
        images: bool = True,
        stamps: Sequence[float | None] | None = None,
    ) -> str:
        """The sequence file INPUTS/<name>.json listing `frames` (an int: that many, numbered
        1..), and a JPEG per frame under FRAMES/<name>/ (`sizes` by frame name, else `size`).
        `prefix`: the prefix as the file writes it (default FRAMES/<name>/); `stamps`: the
        frames' unix-timestamps."""
        entries = frame_entries(frames) if isinstance(frames, int) else [dict(f) for f in frames]
        for entry, stamp in zip(entries, stamps or [], strict=False):
            entry["unix-timestamp"] = stamp
        if images:
            for entry in entries:
                width, height = (sizes or {}).get(entry["frame"], size)
                self.put(self.frame_uri(name, entry["frame"]), jpeg(width, height))
        document = {
            "seq-no": 1,
            "prefix": f"{FRAMES}/{name}/" if prefix is None else prefix,
            "number-of-frames": len(entries),
            "frames": entries,
        }
        return self.put(f"{INPUTS}/{name}.json", json.dumps(document).encode())

    @staticmethod
    def frame_uri(sequence: str, frame: str) -> str:
        return f"{FRAMES}/{sequence}/{frame}"

    def seq_labels(self, entries: Sequence[Mapping[str, Any]], tracking: bool = True) -> str:
        """A SeqLabel.json where Ground Truth writes it: .../output/<n>/SeqLabel.json."""
        key = "tracking-annotations" if tracking else "detection-annotations"
        uri = f"{SEQLABELS}/{self._labels}/SeqLabel.json"
        self._labels += 1
        return self.put(uri, json.dumps({key: [dict(e) for e in entries]}).encode())

    @staticmethod
    def video_line(
        sequence_ref: str,
        labels_ref: str,
        class_map: Mapping[str, str] | None = None,
        tracking: bool = True,
    ) -> str:
        """An output manifest line of a video frame job: one sequence."""
        return json.dumps({
            "source-ref": sequence_ref,
            ATTR: labels_ref,
            f"{ATTR}-metadata": {
                "class-map": dict(class_map or {"0": "car", "1": "person"}),
                "job-name": "labeling-job/traffic",
                "human-annotated": "yes",
                "creation-date": "2026-11-24T10:00:00.000000",
                "type": TRACKING if tracking else DETECTION,
            },
        })  # fmt: skip

    def clip(
        self,
        name: str,
        boxes: Mapping[int, Sequence[Mapping[str, Any]]],
        frames: int = 3,
        tracking: bool = True,
        **sequence: Any,
    ) -> str:
        """A sequence of `frames` frames (numbered 1.., named frame_0001.jpeg..) whose SeqLabel
        lists `boxes` by 0-based frame index, as Ground Truth numbers them; its manifest line."""
        sequence_ref = self.sequence(name, frames, **sequence)
        entries = [labeled(frame_name(i + 1), b, number=i) for i, b in sorted(boxes.items())]
        return self.video_line(sequence_ref, self.seq_labels(entries, tracking), tracking=tracking)

    def options(  # type: ignore[override]
        self,
        classes: Sequence[str] | None = CLASSES,
        frame_step: int = 1,
        layout: Layout = Layout.FOLDERS,
        **kwargs: Any,
    ) -> ConversionOptions:
        """The label config's classes (car, person, bicycle) unless told; `frame_step`, `layout`."""
        return replace(super().options(classes, **kwargs), frame_step=frame_step, layout=layout)


def mirror_sample(root: Path, *jobs: SampleJob) -> Path:
    """The jobs' buckets synced into `root`, as `aws s3 sync` lays them out: root/<bucket>/<key>."""
    for job in jobs:
        for bucket, objects in ((job.bucket, job.objects), (job.image_bucket, job.image_objects)):
            for key, data in objects.items():
                path = root / str(bucket) / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
    return root


def mot_rows(dataset: Dataset, sequence: str) -> list[list[str]]:
    """mot/<sequence>/gt/gt.txt split into its comma-separated columns."""
    return [row.split(",") for row in dataset.text(f"mot/{sequence}/gt/gt.txt").splitlines()]


def seqinfo(dataset: Dataset, sequence: str) -> Mapping[str, str]:
    """mot/<sequence>/seqinfo.ini's [Sequence] section, read with configparser as TrackEval
    reads it (values as written: a flat layout's names hold `%2F`)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep imDir, not imdir
    parser.read_string(dataset.text(f"mot/{sequence}/seqinfo.ini"))
    return dict(parser["Sequence"])


__all__ = [
    "ATTR", "CLASSES", "DETECTION", "FRAMES", "INPUTS", "SEQLABELS", "SIZE", "TRACKING",
    "VideoWorkspace", "frame_entries", "frame_name", "labeled", "mirror_sample", "mot_rows",
    "seqinfo", "tracked",
]  # fmt: skip
