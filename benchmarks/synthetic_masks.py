"""A synthetic semantic segmentation job in a mirror folder, byte-identical for a given seed.

Run in its own process by `mask_job.mask_jobs`, so the runner never loads OpenCV, numpy or
Pillow: a child's peak RSS on Linux includes its parent's at the fork.

`DIR/<bucket>/<key>` as `gt2yolo convert --s3-mirror DIR` reads it: 640x480 masks where Ground
Truth writes consolidated masks, a tiny JPEG of the same size per image (its header is what the
converter checks the mask's size against; `--images skip`, so it is never copied), and one
manifest per size: the first N lines of the same job, so every size reads the same masks.

A street scene per mask, painted in layers so later shapes cover earlier ones: road and
sidewalks, buildings, jagged vegetation, cars (some with a window cut out: a hole), people,
bicycles (two rings: holes), traffic signs, and now and then a speck below the minimum area:
4 to 22 polygons a mask (mean 12). Masks are palette PNGs (Pillow), RGB PNGs (OpenCV) and a few
RGBA PNGs with unlabeled pixels transparent, all three as real jobs hold them.
"""

from __future__ import annotations

import io
import json
import random
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.mask_job import LABEL_ATTRIBUTE, MIRROR, label_config_path, manifest_path

JOB_NAME = "street-scenes-2024-06"
OUTPUT_BUCKET = "acme-labeling-output"
IMAGE_BUCKET = "acme-perception-raw"
WIDTH, HEIGHT = 640, 480
# Ground Truth's label colors (its UI palette, in label order) and white for unlabeled pixels.
CLASSES = (
    ("road", "#2ca02c"), ("sidewalk", "#1f77b4"), ("building", "#ff7f0e"),
    ("vegetation", "#d62728"), ("car", "#9467bd"), ("person", "#8c564b"),
    ("bicycle", "#e377c2"), ("traffic sign", "#7f7f7f"),
)  # fmt: skip
BACKGROUND = "#ffffff"
ROAD, SIDEWALK, BUILDING, VEGETATION, CAR, PERSON, BICYCLE, SIGN = range(1, 9)
CAMERAS = ("cam-north", "cam-south", "cam-east", "cam-west")

Canvas = npt.NDArray[np.uint8]  # (HEIGHT, WIDTH) of palette indexes, 0 = background


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = int(hex_color[1:], 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


PALETTE = np.array([_rgb(BACKGROUND), *(_rgb(color) for _, color in CLASSES)], dtype=np.uint8)


def color_map() -> dict[str, dict[str, object]]:
    entries: dict[str, dict[str, object]] = {
        "0": {"class-name": "BACKGROUND", "hex-color": BACKGROUND, "confidence": 0.81}
    }
    for key, (name, color) in enumerate(CLASSES, start=1):
        entries[str(key)] = {"class-name": name, "hex-color": color, "confidence": 0.81}
    return entries


def _jagged(
    rng: random.Random, cx: int, cy: int, radius: int, corners: int
) -> npt.NDArray[np.int32]:
    """A polygon around (cx, cy) whose corners lie at random angles and distances."""
    points = []
    for angle in sorted(rng.uniform(0, 2 * np.pi) for _ in range(corners)):
        x = cx + radius * rng.uniform(0.5, 1.0) * np.cos(angle)
        y = cy + radius * rng.uniform(0.5, 1.0) * np.sin(angle)
        points.append((x, y))
    return np.array(points, dtype=np.int32)


def paint_scene(rng: random.Random) -> Canvas:
    """One mask's class indexes, drawn without anti-aliasing (masks hold exact colors)."""
    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    horizon = rng.randint(HEIGHT // 3, HEIGHT // 2)
    _paint_street(rng, canvas, horizon)
    _paint_objects(rng, canvas, horizon)
    if rng.random() < 0.2:  # a 2x2 speck: dropped as a small region
        x, y = rng.randint(0, WIDTH - 3), rng.randint(0, HEIGHT - 3)
        canvas[y : y + 2, x : x + 2] = PERSON
    return canvas


def _paint_street(rng: random.Random, canvas: Canvas, horizon: int) -> None:
    """Road, sidewalks, buildings and vegetation: large regions, jagged outlines."""
    left, right = rng.randint(100, 280), rng.randint(360, 540)
    road = [[left, horizon], [right, horizon], [WIDTH - 1, HEIGHT - 1], [0, HEIGHT - 1]]
    cv2.fillPoly(canvas, [np.array(road, dtype=np.int32)], ROAD)
    for side in range(rng.randint(1, 2)):
        x, reach = (0, 60) if side == 0 else (WIDTH - 1, -60)
        walk = [[x, horizon + 10], [x + reach, horizon + 10], [x, HEIGHT - 40]]
        cv2.fillPoly(canvas, [np.array(walk, dtype=np.int32)], SIDEWALK)
    for _ in range(rng.randint(1, 3)):
        w, h = rng.randint(40, 160), rng.randint(60, horizon)
        x = rng.randint(0, WIDTH - w - 1)
        cv2.rectangle(canvas, (x, horizon - h), (x + w, horizon), BUILDING, -1)
    for _ in range(rng.randint(0, 3)):
        cx, cy = rng.randint(0, WIDTH), rng.randint(0, horizon)
        blob = _jagged(rng, cx, cy, rng.randint(20, 60), rng.randint(8, 20))
        cv2.fillPoly(canvas, [blob], VEGETATION)


def _paint_objects(rng: random.Random, canvas: Canvas, horizon: int) -> None:
    """Cars (some with a window: a hole), people, bicycles (rings), traffic signs."""
    for _ in range(rng.randint(1, 4)):
        w, h = rng.randint(30, 120), rng.randint(20, 70)
        x, y = rng.randint(0, WIDTH - w - 1), rng.randint(horizon, HEIGHT - h - 1)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), CAR, -1)
        if rng.random() < 0.3 and w > 40 and h > 30:  # a window showing the sky: a hole
            cv2.rectangle(canvas, (x + 8, y + 6), (x + w - 8, y + h // 2), 0, -1)
    for _ in range(rng.randint(0, 3)):
        cx, cy = rng.randint(10, WIDTH - 11), rng.randint(horizon - 20, HEIGHT - 30)
        axes = (rng.randint(4, 10), rng.randint(12, 30))
        cv2.ellipse(canvas, (cx, cy), axes, 0, 0, 360, PERSON, -1)
    for _ in range(rng.randint(0, 1)):
        cx, cy = rng.randint(30, WIDTH - 80), rng.randint(horizon + 20, HEIGHT - 30)
        r = rng.randint(8, 16)
        for wheel in (cx, cx + 3 * r):
            cv2.circle(canvas, (wheel, cy), r, BICYCLE, 3)
    for _ in range(rng.randint(0, 2)):
        cx, cy = rng.randint(10, WIDTH - 11), rng.randint(10, horizon)
        cv2.circle(canvas, (cx, cy), rng.randint(5, 12), SIGN, -1 if rng.random() < 0.7 else 3)


def encode_mask(canvas: Canvas, variant: str) -> bytes:
    if variant == "palette":
        image = Image.frombytes("P", (WIDTH, HEIGHT), canvas.tobytes())
        image.putpalette(PALETTE.tobytes())
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()
    bgr = PALETTE[canvas][:, :, ::-1]
    if variant == "rgba":  # unlabeled pixels transparent (their RGB white)
        alpha = np.where(canvas == 0, 0, 255).astype(np.uint8)
        bgr = np.dstack([bgr, alpha])
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
    assert ok
    return encoded.tobytes()


def _variant(index: int) -> str:
    return ("palette", "rgb", "palette", "rgb", "rgba")[index % 5]


def write_job(mirror: Path, images: int, seed: int) -> list[str]:
    """Masks, images and label config under `mirror`; the manifest lines, in order."""
    rng = random.Random(seed)
    prefix = f"{JOB_NAME}/annotations/consolidated-annotation/output"
    masks = mirror / OUTPUT_BUCKET / prefix
    masks.mkdir(parents=True, exist_ok=True)
    ok, jpeg = cv2.imencode(".jpg", np.full((HEIGHT, WIDTH, 3), 128, dtype=np.uint8))
    assert ok
    colors = color_map()
    lines = []
    for index in range(images):
        camera = CAMERAS[index % len(CAMERAS)]
        image_key = f"fleet/frames/{camera}/frame_{index:06d}.jpg"
        image_path = mirror / IMAGE_BUCKET / image_key
        image_path.parent.mkdir(parents=True, exist_ok=True)
        image_path.write_bytes(jpeg.tobytes())
        mask_name = f"{index}_2024-06-04T09:30:{index % 60:02d}.000Z.png"
        (masks / mask_name).write_bytes(encode_mask(paint_scene(rng), _variant(index)))
        lines.append(json.dumps({
            "source-ref": f"s3://{IMAGE_BUCKET}/{image_key}",
            f"{LABEL_ATTRIBUTE}-ref": f"s3://{OUTPUT_BUCKET}/{prefix}/{mask_name}",
            f"{LABEL_ATTRIBUTE}-ref-metadata": {
                "internal-color-map": colors, "type": "groundtruth/semantic-segmentation",
                "human-annotated": "yes", "creation-date": "2024-06-04T09:30:00.000000",
                "job-name": f"labeling-job/{JOB_NAME}",
            },
        }, separators=(",", ":")))  # fmt: skip
    return lines


def write_jobs(folder: Path, sizes: list[int], seed: int) -> None:
    """The job at its largest size under `folder`, and a manifest of the first N lines per size."""
    lines = write_job(folder / MIRROR, max(sizes), seed)
    labels = [{"label": name} for name, _ in CLASSES]
    document = {"document-version": "2018-11-28", "labels": labels}
    label_config_path(folder).write_text(json.dumps(document) + "\n", encoding="utf-8")
    for size in sizes:
        text = "".join(line + "\n" for line in lines[:size])
        manifest_path(folder, size).write_text(text, encoding="utf-8")


if __name__ == "__main__":  # python -m benchmarks.synthetic_masks FOLDER SEED SIZE...
    write_jobs(Path(sys.argv[1]), [int(size) for size in sys.argv[3:]], int(sys.argv[2]))
