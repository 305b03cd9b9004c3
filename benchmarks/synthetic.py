"""Synthetic Ground Truth bounding-box output manifests, byte-identical for a given seed.

The lines follow the documented output format (see the reference notes): `source-ref` under a
few folders, `<attr>` with `image_size` and `annotations`, `<attr>-metadata` with `objects`,
a sparse `class-map`, `type`, `human-annotated`, `creation-date` and `job-name`. The label
attribute deliberately differs from the job name, as it may in real jobs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Bump when the line layout changes: cached manifests are keyed on it.
GENERATOR_VERSION = 1

LABEL_ATTRIBUTE = "vehicle-boxes"
JOB_NAME = "labeling-job/street-vehicles-2024-06"
BUCKET = "acme-perception-raw"
CLASSES = ("car", "truck", "bus", "motorcycle", "bicycle", "pedestrian", "traffic light")
CAMERAS = ("cam-north", "cam-south", "cam-east", "cam-west")
DAYS = ("2024-06-01", "2024-06-02", "2024-06-03")
IMAGE_SIZES = ((1920, 1080), (1280, 720), (1024, 768), (640, 480))
MAX_BOXES = 6
MIN_BOX_PIXELS = 4
START = datetime(2024, 6, 4, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class SyntheticJob:
    """What a contender needs to know about a generated manifest."""

    manifest: Path
    label_config: Path
    label_attribute: str
    lines: int


def label_config_document() -> dict[str, object]:
    """The job's label category config: class ids follow this order."""
    return {"document-version": "2018-11-28", "labels": [{"label": name} for name in CLASSES]}


def manifest_line(rng: random.Random, index: int) -> dict[str, object]:
    """One labeled image with 1 to 6 boxes, all inside the image (every contender keeps them)."""
    width, height = rng.choice(IMAGE_SIZES)
    annotations = [_box(rng, width, height) for _ in range(rng.randint(1, MAX_BOXES))]
    # Ground Truth's class-map lists only the classes present on the line, keys as strings.
    class_map = {str(a["class_id"]): CLASSES[a["class_id"]] for a in annotations}
    folder = f"{rng.choice(CAMERAS)}/{rng.choice(DAYS)}"
    created = START + timedelta(seconds=index * 7, microseconds=rng.randrange(1_000_000))
    return {
        "source-ref": f"s3://{BUCKET}/fleet/frames/{folder}/frame_{index:07d}.jpg",
        LABEL_ATTRIBUTE: {
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": annotations,
        },
        f"{LABEL_ATTRIBUTE}-metadata": {
            "objects": [{"confidence": round(rng.uniform(0.5, 0.99), 2)} for _ in annotations],
            "class-map": class_map,
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "job-name": JOB_NAME,
        },
    }


def _box(rng: random.Random, image_width: int, image_height: int) -> dict[str, int]:
    width = rng.randint(MIN_BOX_PIXELS, image_width // 2)
    height = rng.randint(MIN_BOX_PIXELS, image_height // 2)
    return {
        "class_id": rng.randrange(len(CLASSES)),
        "left": rng.randint(0, image_width - width),
        "top": rng.randint(0, image_height - height),
        "width": width,
        "height": height,
    }


def write_manifest(path: Path, lines: int, seed: int) -> None:
    """Write `lines` JSON Lines records; the same (lines, seed) always gives the same bytes."""
    rng = random.Random(seed)
    encode = json.JSONEncoder(separators=(",", ":")).encode  # compact, as Ground Truth writes
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="\n") as stream:
        for index in range(lines):
            stream.write(encode(manifest_line(rng, index)) + "\n")
    partial.replace(path)  # an interrupted run never leaves a truncated manifest in the cache


def synthetic_job(folder: Path, lines: int, seed: int) -> SyntheticJob:
    """The cached manifest for (lines, seed), generated on first use."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / f"gt-v{GENERATOR_VERSION}-{lines}-seed{seed}.manifest"
    if not manifest.is_file():
        write_manifest(manifest, lines, seed)
    config = folder / "label-config.json"
    config.write_text(json.dumps(label_config_document(), indent=2) + "\n", encoding="utf-8")
    return SyntheticJob(manifest, config, LABEL_ATTRIBUTE, lines)
