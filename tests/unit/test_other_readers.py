"""Independent YOLO readers find every image, its label file and every kept box.

Besides the Ultralytics loader rules (test_ultralytics_reading.py), two libraries read the
datasets as their users would:
- Roboflow `supervision` (`DetectionDataset.from_yolo`): lists one folder without recursing and
  takes `<annotations folder>/<image stem>.txt`, so it reads the flat layout.
- lightly-ai `labelformat` (`YOLOv8ObjectDetectionInput`): resolves `train:` against the yaml's
  folder when `path:` is absent, walks the images folder recursively and takes the label at the
  same relative path under `labels/`, so it reads the folder layout.
Both need the images themselves (they read their sizes): the CLI copies generated 500x400
images with `--images-from`, as a user with a synced bucket would.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from gt2yolo_cli.main import main
from gt_builders import PREFIX, box, label_config, line, ref
from PIL import Image

WIDTH, HEIGHT = 500, 400
CLASSES = ["cat", "dog"]
# Keys that collide (extension, case), nest, hold spaces, non-ASCII, the flat escapes, dots.
DRAWN: dict[str, list[dict[str, Any]]] = {
    "x.jpg": [box(0, 10, 20, 30, 40)],
    "x.png": [box(1, 100, 100, 50, 60)],
    "Cat.jpg": [box(0, 70, 70, 10, 10)],
    "cat.jpg": [box(1, 80, 80, 20, 20), box(0, 450, 350, 100, 100)],  # the second clamped
    "a/b/x.jpg": [box(1, 0, 0, 500, 400)],
    "été/chat noir.jpeg": [box(0, 200, 100, 20, 20)],
    "100%/p%2Fq.png": [box(1, 11, 11, 11, 11)],
    "site/images/photo.png": [box(0, 1, 1, 2, 2)],
    ".cache/hidden.jpg": [box(1, 50, 50, 50, 50)],
    "background.jpg": [],
}
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def _convert(tmp_path: Path, layout: str) -> Path:
    """Generated images in a synced-bucket folder, a manifest over them, `gt2yolo convert`."""
    synced = tmp_path / "synced"
    for key in DRAWN:
        image = synced / key
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (WIDTH, HEIGHT), "gray").save(image, _FORMATS[image.suffix.lower()])
    manifest = tmp_path / "output.manifest"
    manifest.write_text("".join(line(ref(k), b) + "\n" for k, b in DRAWN.items()), "utf-8")
    config = tmp_path / "data.json"
    config.write_bytes(label_config(*CLASSES))
    out = tmp_path / "dataset"
    status = main([
        "convert", str(manifest), "--out", str(out), "--label-config", str(config),
        "--images-from", str(synced), "--val-fraction", "0", "--layout", layout, "--no-progress",
    ])  # fmt: skip
    assert status == 0
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == len(DRAWN)
    assert report["images_per_split"] == {"train": len(DRAWN)}
    return out


def _source_keys(dataset: Path) -> dict[str, str]:
    """Image path relative to images/train/ -> its key in DRAWN, from images.csv."""
    with (dataset / "images.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    return {
        row["image"].removeprefix("images/train/"): row["source_ref"].removeprefix(PREFIX + "/")
        for row in rows
    }


def _expected(key: str) -> list[tuple[int, float, float, float, float]]:
    """The drawn boxes of an image as (class, x0, y0, x1, y1), clamped to the image."""
    kept = []
    for b in DRAWN[key]:
        x0, y0 = max(b["left"], 0), max(b["top"], 0)
        x1, y1 = min(b["left"] + b["width"], WIDTH), min(b["top"] + b["height"], HEIGHT)
        kept.append((b["class_id"], x0, y0, x1, y1))
    return sorted(kept)


def _same_boxes(
    got: list[tuple[int, float, float, float, float]],
    want: list[tuple[int, float, float, float, float]],
) -> bool:
    return len(got) == len(want) and all(
        g[0] == w[0] and all(abs(a - b) <= 1 for a, b in zip(g[1:], w[1:], strict=True))
        for g, w in zip(sorted(got), want, strict=True)
    )


# supervision warns that it uses its NumPy fallback without opencv-python: enough to read labels.
@pytest.mark.filterwarnings("ignore:OpenCV:UserWarning")
def test_supervision_reads_every_image_and_box_of_the_flat_layout(tmp_path: Path) -> None:
    import supervision as sv  # here, not at the top: its import takes a second or two

    # Given a dataset in the flat layout (no folder below images/train/ and labels/train/)
    dataset = _convert(tmp_path, "flat")
    sources = _source_keys(dataset)
    assert all("/" not in name for name in sources)

    # When supervision loads it
    loaded = sv.DetectionDataset.from_yolo(
        images_directory_path=str(dataset / "images/train"),
        annotations_directory_path=str(dataset / "labels/train"),
        data_yaml_path=str(dataset / "data.yaml"),
    )

    # Then it has the classes, every image (none skipped) and every image's boxes in pixels
    assert loaded.classes == CLASSES
    assert len(loaded) == len(DRAWN)
    for path, _, detections in loaded:
        key = sources[Path(path).name]
        boxes = [
            (int(c), *(float(v) for v in xyxy))
            for xyxy, c in zip(detections.xyxy, detections.class_id, strict=True)
        ]
        assert _same_boxes(boxes, _expected(key)), key


def test_labelformat_reads_every_image_and_box_of_the_folder_layout(tmp_path: Path) -> None:
    from labelformat import formats

    # Given a dataset in the folder layout, data.yaml without path:
    dataset = _convert(tmp_path, "folders")
    sources = _source_keys(dataset)
    assert any("/" in name for name in sources)

    # When labelformat's YOLOv8 reader loads its train split
    reader = formats.YOLOv8ObjectDetectionInput(
        input_file=dataset / "data.yaml", input_split="train"
    )
    labels = list(reader.get_labels())

    # Then it has the classes and every image (a missing label file would skip one)
    assert [c.name for c in reader.get_categories()] == CLASSES
    assert sorted(label.image.filename for label in labels) == sorted(sources)
    for label in labels:
        assert (label.image.width, label.image.height) == (WIDTH, HEIGHT)
        boxes = [
            (o.category.id, o.box.xmin, o.box.ymin, o.box.xmax, o.box.ymax) for o in label.objects
        ]
        # And every box, back in pixels
        assert _same_boxes(boxes, _expected(sources[label.image.filename])), label.image.filename
