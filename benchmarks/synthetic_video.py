"""A synthetic video object tracking job in a mirror folder, byte-identical for a given seed.

`DIR/<bucket>/<key>` as `gt2yolo convert --s3-mirror DIR` reads it, in Ground Truth's layout
(as `samples/video.py` writes its small sample): per sequence the frames
`<image bucket>/traffic/<sequence>/frame_0001.jpeg`, the input sequence file
(`groundtruth/input/traffic/<sequence>.json`, `frame-no` 1-based) and one consolidated
`SeqLabel.json` (`frame-no` 0-based, frames without a box left out); and one output manifest
per size: the first N lines of the same job, so every size reads the same files.

Each sequence has 3 to 6 tracks (car, person, bicycle, truck) that enter, move with a little
jitter and leave; some run past the frame edge (clamped boxes). About 3 boxes a frame.
Frames are small JPEGs (320x240, or 400x300 every other sequence) drawn from a pool of 8 per
size: the converter reads each frame's header and copies its bytes, never decodes it, so what
the pixels show does not matter and encoding 30,000 distinct frames would only slow `make bench`.
"""

from __future__ import annotations

import io
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABEL_ATTRIBUTE = "traffic-ref"  # video jobs' LabelAttributeName ends in `-ref`
JOB_NAME = "traffic-tracking-2024-06"
OUTPUT_BUCKET = "acme-labeling-output"
IMAGE_BUCKET = "acme-dashcam-frames"
DATASET = "traffic"
CLASSES = ("car", "person", "bicycle", "truck")
FRAME_SIZES = ((320, 240), (400, 300))  # by sequence, in turn
POOL = 8  # distinct JPEGs per frame size
FIRST_TIMESTAMP = 1717491600  # 2024-06-04T09:00:00Z
FPS = 10
TRACKS = (3, 6)


@dataclass(frozen=True)
class VideoJob:
    """One size of the generated job: the first `sequences` lines of its manifest."""

    manifest: Path
    mirror: Path
    label_config: Path
    label_attribute: str
    sequences: int
    frames_per_sequence: int

    @property
    def frames(self) -> int:
        return self.sequences * self.frames_per_sequence

    @property
    def output_manifest_uri(self) -> str:
        return f"s3://{OUTPUT_BUCKET}/{JOB_NAME}/manifests/output/{self.manifest.name}"


def sequence_name(index: int) -> str:
    return f"drive-{index + 1:03d}"


def frame_name(index: int) -> str:
    """Ground Truth's own 1-based frame file name for the 0-based frame `index`."""
    return f"frame_{index + 1:04d}.jpeg"


def _jpeg_pool(rng: random.Random, size: tuple[int, int]) -> list[bytes]:
    from PIL import Image, ImageDraw  # here: the runner that measures children never loads it

    pool = []
    for _ in range(POOL):
        image = Image.new("RGB", size, (150, 170, 200))
        pen = ImageDraw.Draw(image)
        pen.rectangle((0, size[1] * 2 // 3, size[0] - 1, size[1] - 1), fill=(90, 90, 95))
        for _ in range(4):
            x, y = rng.randrange(size[0] - 40), rng.randrange(size[1] - 30)
            color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            pen.rectangle((x, y, x + rng.randint(10, 40), y + rng.randint(10, 30)), fill=color)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        pool.append(out.getvalue())
    return pool


def _object_id(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


def _tracks(rng: random.Random, size: tuple[int, int], frames: int) -> list[dict[str, Any]]:
    """A few objects, each present over a stretch of frames, moving across the picture."""
    width, height = size
    tracks = []
    for number in range(rng.randint(*TRACKS)):
        class_id = rng.randrange(len(CLASSES))
        span = rng.randint(frames // 3, frames)
        start = rng.randint(0, frames - span)
        w, h = rng.randint(width // 12, width // 4), rng.randint(height // 10, height // 3)
        x0, y0 = rng.uniform(-w / 4, width - w * 3 / 4), rng.uniform(0, height - h)
        dx, dy = rng.uniform(-0.4, 0.4), rng.uniform(-0.1, 0.1)
        name = f"{CLASSES[class_id]}:{number + 1}"
        tracks.append({"id": _object_id(rng), "name": name, "class": class_id,
                       "start": start, "end": start + span, "box": (x0, y0, w, h),
                       "move": (dx, dy)})  # fmt: skip
    return tracks


def _seq_label(rng: random.Random, tracks: list[dict[str, Any]], frames: int) -> bytes:
    entries = []
    for index in range(frames):
        boxes = []
        for track in tracks:
            if not track["start"] <= index < track["end"]:
                continue
            x0, y0, w, h = track["box"]
            dx, dy = track["move"]
            step = index - track["start"]
            boxes.append({
                "height": h, "width": w, "top": round(y0 + dy * step + rng.uniform(-1, 1)),
                "left": round(x0 + dx * step + rng.uniform(-1, 1)),
                "class-id": str(track["class"]), "label-category-attributes": {},
                "object-id": track["id"], "object-name": track["name"],
            })  # fmt: skip
        if boxes:  # Ground Truth lists only the frames a worker annotated
            entries.append({"frame-no": index, "frame": frame_name(index),
                            "annotations": boxes, "frame-attributes": {}})  # fmt: skip
    return json.dumps({"tracking-annotations": entries}).encode()


def _sequence_file(seq_no: int, prefix: str, frames: int) -> bytes:
    return json.dumps({
        "seq-no": seq_no, "prefix": prefix, "number-of-frames": frames,
        "frames": [{"frame-no": i + 1, "frame": frame_name(i),
                    "unix-timestamp": FIRST_TIMESTAMP + 3600 * seq_no + i / FPS}
                   for i in range(frames)],
    }).encode()  # fmt: skip


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def video_jobs(folder: Path, sizes: list[int], frames: int, seed: int) -> list[VideoJob]:
    """Write the job for max(sizes) sequences of `frames` frames under `folder`; one manifest per
    size (its first lines)."""
    rng = random.Random(seed)
    mirror = folder / "mirror"
    output = mirror / OUTPUT_BUCKET
    pools = [_jpeg_pool(rng, size) for size in FRAME_SIZES]
    inputs = f"groundtruth/input/{DATASET}/"
    metadata = {"class-map": {str(i): name for i, name in enumerate(CLASSES)},
                "job-name": f"labeling-job/{JOB_NAME}", "human-annotated": "yes",
                "creation-date": "2024-06-05T10:00:00.000000",
                "type": "groundtruth/video-object-tracking"}  # fmt: skip
    lines = []
    for n in range(max(sizes)):
        name, size = sequence_name(n), FRAME_SIZES[n % len(FRAME_SIZES)]
        pool = pools[n % len(FRAME_SIZES)]
        frames_folder = mirror / IMAGE_BUCKET / DATASET / name
        frames_folder.mkdir(parents=True, exist_ok=True)
        for index in range(frames):
            (frames_folder / frame_name(index)).write_bytes(pool[rng.randrange(POOL)])
        prefix = f"s3://{IMAGE_BUCKET}/{DATASET}/{name}/"
        _write(output / f"{inputs}{name}.json", _sequence_file(n + 1, prefix, frames))
        seqlabel = f"{JOB_NAME}/annotations/consolidated-annotation/output/{n}/SeqLabel.json"
        _write(output / seqlabel, _seq_label(rng, _tracks(rng, size, frames), frames))
        lines.append(json.dumps({
            "source-ref": f"s3://{OUTPUT_BUCKET}/{inputs}{name}.json",
            LABEL_ATTRIBUTE: f"s3://{OUTPUT_BUCKET}/{seqlabel}",
            f"{LABEL_ATTRIBUTE}-metadata": metadata,
        }) + "\n")  # fmt: skip
    config = folder / "label-config.json"
    config.write_text(json.dumps({"document-version": "2020-03-01",
                                  "labels": [{"label": c} for c in CLASSES]}) + "\n")  # fmt: skip
    jobs = video_job_paths(folder, sizes, frames)
    for job in jobs:
        _write(job.manifest, "".join(lines[: job.sequences]).encode())
    return jobs


def video_job_paths(folder: Path, sizes: list[int], frames: int) -> list[VideoJob]:
    """Where `video_jobs` writes each size's job (nothing is read or written)."""
    mirror = folder / "mirror"
    manifests = mirror / OUTPUT_BUCKET / JOB_NAME / "manifests" / "output"
    config = folder / "label-config.json"
    return [
        VideoJob(manifests / f"output-{n}.manifest", mirror, config, LABEL_ATTRIBUTE, n, frames)
        for n in sorted(set(sizes))
    ]


if __name__ == "__main__":
    # `python -m benchmarks.synthetic_video DIR SIZES FRAMES SEED`: the runner generates the job
    # in a child, since a child's ru_maxrss starts from its parent's RSS (Pillow, 30k writes).
    folder, sizes, frame_count, seed = sys.argv[1:5]
    video_jobs(Path(folder), [int(n) for n in sizes.split(",")], int(frame_count), int(seed))
