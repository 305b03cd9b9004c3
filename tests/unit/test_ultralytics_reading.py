"""Reading the dataset the way Ultralytics does finds every image's label file and every box.

The loader steps mirrored here (ultralytics/data/utils.py, ultralytics/data/base.py):
- data.yaml: `path` (or the yaml's folder), `train`/`val` resolved against it.
- A `.txt` list: `read().strip().splitlines()`; a line starting with `./` has `./` replaced by the
  list's folder (most versions replace *every* `./` of the line); only image extensions kept.
- Label path: `sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"` with sa=/images/, sb=/labels/.
- Label rows: `class cx cy w h`, all values in [0, 1] or the whole image is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from gt_builders import Workspace, box, line, ref

IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}

# Awkward but legal S3 keys: the failure modes of the scripts this project replaces.
DRAWN: dict[str, list[dict[str, Any]]] = {
    "a/x.jpg": [box(0, 10, 20, 30, 40), box(1, 100, 100, 50, 60)],
    "b/x.jpg": [box(1, 0, 0, 500, 400)],
    "img.v2.final.jpg": [box(0, 450, 350, 100, 100)],  # clamped
    "site/images/photo.png": [box(0, 1, 1, 2, 2)],  # inner images folder
    "images/top.jpeg": [box(1, 5, 5, 5, 5)],
    "été/chat noir.JPG": [box(0, 200, 100, 20, 20)],
    "Acme Inc./v1.0/shot.webp": [box(1, 30, 30, 30, 30)],  # "./" inside the path
    "labels/x.jpg": [box(0, 40, 40, 40, 40)],
    "background.jpg": [],
    "all-outside.jpg": [box(0, 900, 900, 10, 10)],
}


def img2label_paths(img_paths: list[str]) -> list[str]:
    """Ultralytics' label path for image paths: last /images/ -> /labels/, extension -> .txt."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return [sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt" for x in img_paths]


def image_files(list_file: Path) -> list[str]:
    """Ultralytics' image list reading (replace-all variant of the `./` expansion)."""
    entries = list_file.read_text(encoding="utf-8").strip().splitlines()
    parent = str(list_file.parent) + os.sep
    files = [x.replace("./", parent) if x.startswith("./") else x for x in entries]
    return sorted(x.replace("/", os.sep) for x in files if x.split(".")[-1].lower() in IMG_FORMATS)


def read_labels(label_file: str) -> list[tuple[int, float, float, float, float]]:
    rows = [x.split() for x in Path(label_file).read_text().strip().splitlines() if len(x)]
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows]


def test_ultralytics_finds_every_label_file_and_recovers_every_kept_box(
    workspace: Workspace,
) -> None:
    # Given a manifest over awkward keys, in a 500x400 image each
    lines = [line(ref(path), boxes) for path, boxes in DRAWN.items()]
    dataset = workspace.convert(
        lines, classes=["cat", "dog"], val=0.3, dataset_root=str(workspace.out)
    )
    data = yaml.safe_load(dataset.text("data.yaml"))
    root = Path(data["path"])

    # When reading every image list as Ultralytics does
    found: dict[str, list[tuple[int, float, float, float, float]]] = {}
    for split in ("train", "val"):
        images = image_files((root / data[split]).resolve())
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
