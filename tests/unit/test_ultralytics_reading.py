"""Reading the dataset the way Ultralytics does finds every image's label file and every box.

The loader steps mirrored here (ultralytics/data/utils.py, ultralytics/data/base.py):
- data.yaml: `path`, or when absent the yaml's folder; `train`/`val` resolved against it.
- A folder: `glob.glob(f"{folder}/**/*.*", recursive=True)` (hidden files and folders skipped).
- A `.txt` list: `read().strip().splitlines()`; a line starting with `./` has `./` replaced by the
  list's folder (most versions replace *every* `./` of the line).
- Either way only image extensions are kept (`x.rpartition(".")[-1].lower()`).
- Label path: `sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"` with sa=/images/, sb=/labels/.
- Label rows: `class cx cy w h`, all values in [0, 1] or the whole image is dropped.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from gt2yolo.paths import Layout
from gt_builders import Dataset, Workspace, box, line, ref

IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}

# Awkward but legal S3 keys: the failure modes of the scripts this project replaces.
DRAWN: dict[str, list[dict[str, Any]]] = {
    "a/x.jpg": [box(0, 10, 20, 30, 40), box(1, 100, 100, 50, 60)],
    "b/x.jpg": [box(1, 0, 0, 500, 400)],
    "b/x.png": [box(0, 60, 60, 60, 60)],  # another picture with b/x.jpg's stem
    "Cat.jpg": [box(0, 70, 70, 10, 10)],
    "cat.jpg": [box(1, 80, 80, 10, 10)],  # one file with Cat.jpg on macOS and Windows
    "img.v2.final.jpg": [box(0, 450, 350, 100, 100)],  # clamped
    "site/images/photo.png": [box(0, 1, 1, 2, 2)],  # inner images folder
    "images/top.jpeg": [box(1, 5, 5, 5, 5)],
    "été/chat noir.JPG": [box(0, 200, 100, 20, 20)],
    "Acme Inc./v1.0/shot.webp": [box(1, 30, 30, 30, 30)],  # "./" inside the path
    "labels/x.jpg": [box(0, 40, 40, 40, 40)],
    ".cache/hidden.jpg": [box(1, 50, 50, 50, 50)],  # hidden folder: glob skips it
    "a/.dot.png": [box(0, 90, 90, 9, 9)],  # hidden file
    "100%/p%2F.jpg": [box(1, 11, 11, 11, 11)],  # the flat layout's escape characters
    "background.jpg": [],
    "all-outside.jpg": [box(0, 900, 900, 10, 10)],
}


def img2label_paths(img_paths: list[str]) -> list[str]:
    """Ultralytics' label path for image paths: last /images/ -> /labels/, extension -> .txt."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return [sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt" for x in img_paths]


def get_img_files(path: Path) -> list[str]:
    """Ultralytics' BaseDataset.get_img_files for one folder or list file."""
    if path.is_dir():
        files = glob.glob(str(path / "**" / "*.*"), recursive=True)
    else:
        entries = path.read_text(encoding="utf-8").strip().splitlines()
        parent = str(path.parent) + os.sep
        files = [x.replace("./", parent) if x.startswith("./") else x for x in entries]
    return sorted(
        x.replace("/", os.sep) for x in files if x.rpartition(".")[-1].lower() in IMG_FORMATS
    )


def read_labels(label_file: str) -> list[tuple[int, float, float, float, float]]:
    rows = [x.split() for x in Path(label_file).read_text().strip().splitlines() if len(x)]
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows]


def _with_image_files(dataset: Dataset) -> Dataset:
    """Put a file where each image goes (what --images copy does), for folder reading."""
    for row in dataset.images:
        image = dataset.root / row["image"]
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(b"")
    return dataset


@pytest.mark.parametrize("layout", list(Layout))
@pytest.mark.parametrize("source", ["data.yaml", "lists"])
def test_ultralytics_finds_every_label_file_and_recovers_every_kept_box(
    workspace: Workspace, layout: Layout, source: str
) -> None:
    # Given a manifest over awkward keys, in a 500x400 image each, converted in a layout
    lines = [line(ref(path), boxes) for path, boxes in DRAWN.items()]
    dataset = _with_image_files(
        workspace.convert(lines, classes=["cat", "dog"], val=0.3, layout=layout)
    )
    data_yaml = dataset.root / "data.yaml"
    data = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    root = Path(data.get("path") or data_yaml.parent)  # absent: the yaml's folder
    entries = {split: data[split] for split in ("train", "val")}
    if source == "lists":  # what data.yaml named before, and what Darknet reads
        entries = {split: f"{split}.txt" for split in entries}

    # When reading every split as Ultralytics does
    found: dict[str, list[tuple[int, float, float, float, float]]] = {}
    for entry in entries.values():
        images = get_img_files((root / entry).resolve())
        for image, label in zip(images, img2label_paths(images), strict=True):
            # Then every label file exists where Ultralytics looks
            assert Path(label).is_file(), f"{image}: no label file at {label}"
            rows = read_labels(label)
            # And every value is in [0, 1]: Ultralytics would drop the whole image otherwise
            assert all(0 <= v <= 1 for row in rows for v in row[1:])
            found[Path(image).relative_to(root).as_posix()] = rows

    # And every accepted image is listed once, with every kept box recovered to the pixel
    by_image = {row["image"]: row["source_ref"] for row in dataset.images}
    assert set(found) == set(by_image)
    for image, rows in found.items():
        key = by_image[image].removeprefix(ref(""))
        expected = sorted(_expected_boxes(DRAWN[key]))
        recovered = sorted(_pixels(row) for row in rows)
        assert len(recovered) == len(expected), image
        for got, want in zip(recovered, expected, strict=True):
            assert got[0] == want[0]
            assert all(abs(g - w) <= 1 for g, w in zip(got[1:], want[1:], strict=True)), image
    assert dataset.report["boxes"] == sum(len(_expected_boxes(b)) for b in DRAWN.values())
    if layout is Layout.FLAT:  # no folder below images/<split>/ or labels/<split>/
        assert all(
            p.count("/") == 2 for p in dataset.files() if p.startswith(("images/", "labels/"))
        )


def _expected_boxes(drawn: list[dict[str, Any]]) -> list[tuple[int, float, float, float, float]]:
    """The drawn boxes clamped to the 500x400 image, those with area left."""
    kept = []
    for b in drawn:
        x0, y0 = max(b["left"], 0), max(b["top"], 0)
        x1, y1 = min(b["left"] + b["width"], 500), min(b["top"] + b["height"], 400)
        if x1 > x0 and y1 > y0:
            kept.append((b["class_id"], x0, y0, x1, y1))
    return kept


def _pixels(row: tuple[int, float, float, float, float]) -> tuple[int, float, float, float, float]:
    class_id, cx, cy, w, h = row
    return (
        class_id,
        (cx - w / 2) * 500,
        (cy - h / 2) * 400,
        (cx + w / 2) * 500,
        (cy + h / 2) * 400,
    )
