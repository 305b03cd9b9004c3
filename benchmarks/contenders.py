"""The reference converters, run as `python -m benchmarks.contenders NAME MANIFEST DIR ATTR`.

Each runs in its own process so that its peak RSS and wall time are its own.
- baseline: the seed blog's algorithm (a pandas table of all boxes, then for each image a
  selection from the whole table and one file write): quadratic in the number of images.
- floor: the least any converter must do in plain CPython: parse each line, write one label
  file per image with normalized boxes. No validation, clamping, split, tables or report.
- mask-floor: the least any segmentation converter must do (DIR is the `--s3-mirror` folder,
  ATTR the line's mask attribute): per line, read its mask, decode it (cv2.imdecode) and find
  the contours of each class's pixels (cv2.inRange, cv2.findContours). One thread, writes
  nothing; prints the masks and contours found, which the runner checks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

BLOG_COLUMNS = [
    "img_file", "category", "box_left", "box_top", "box_height", "box_width", "img_width",
    "img_height",
]  # fmt: skip
YOLO_COLUMNS = ["int_category", "box_center_w", "box_center_h", "box_width", "box_height"]


def floor(manifest: Path, out: Path, attribute: str) -> None:
    labels = out / "labels"
    made: set[str] = set()
    with manifest.open("rb") as stream:
        for raw in stream:
            record = json.loads(raw)
            annotation = record[attribute]
            size = annotation["image_size"][0]
            body = "".join(
                _yolo_row(box, size["width"], size["height"]) for box in annotation["annotations"]
            )
            # bucket/key without the extension: folders kept, so no two images share a file.
            stem = record["source-ref"][len("s3://") :].rpartition(".")[0]
            folder, _, name = stem.rpartition("/")
            if folder not in made:
                os.makedirs(labels / folder, exist_ok=True)
                made.add(folder)
            with open(labels / folder / f"{name}.txt", "w", encoding="utf-8") as label:
                label.write(body)


def _yolo_row(box: dict[str, Any], width: int, height: int) -> str:
    # `%g` with 6 digits: the format any YOLO writer needs (Ultralytics writes its own so).
    cx = (box["left"] + box["width"] / 2) / width
    cy = (box["top"] + box["height"] / 2) / height
    w, h = box["width"] / width, box["height"] / height
    return f"{box['class_id']} {cx:.6g} {cy:.6g} {w:.6g} {h:.6g}\n"


def mask_floor(manifest: Path, mirror: Path, attribute: str) -> None:
    import cv2  # imported here: the box contenders must not pay for it
    import numpy as np

    masks = contours = 0
    with manifest.open("rb") as stream:
        for raw in stream:
            record = json.loads(raw)
            entries = record[f"{attribute}-metadata"]["internal-color-map"].values()
            # BGR, as OpenCV decodes; unlabeled (BACKGROUND) pixels need no outline.
            colors = [
                np.array([int(e["hex-color"][i : i + 2], 16) for i in (5, 3, 1)], np.uint8)
                for e in entries
                if e["class-name"] != "BACKGROUND"
            ]
            data = (mirror / record[attribute][len("s3://") :]).read_bytes()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot decode {record[attribute]}")
            for color in colors:
                binary = cv2.inRange(image, color, color)
                found, _ = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
                contours += len(found)
            masks += 1
    print(f"masks {masks} contours {contours}")


def baseline(manifest: Path, out: Path, attribute: str) -> None:
    import pandas as pd  # imported here: the floor must not pay for it

    table = pd.DataFrame(_blog_rows(manifest, attribute), columns=BLOG_COLUMNS)
    categories = sorted(table["category"].unique())  # the blog re-sorts the class names
    _blog_yolo_columns(table, categories)
    labels = out / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    for image_file in table["img_file"].unique():
        # The quadratic step, as in the blog: a scan of the whole table for every image.
        rows = table.loc[table.img_file == image_file]
        destination = labels / (image_file.split(".")[0] + ".txt")
        rows[YOLO_COLUMNS].to_csv(destination, header=False, index=False, sep=" ")


def _blog_rows(manifest: Path, attribute: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    with manifest.open(encoding="utf-8") as stream:
        for line in stream.readlines():  # the blog reads the whole manifest into memory
            record = json.loads(line)
            if attribute not in record:
                continue
            annotation = record[attribute]
            size = annotation["image_size"][0]
            class_map = record[f"{attribute}-metadata"]["class-map"]
            image_file = record["source-ref"].split("/")[-1]
            for box in annotation["annotations"]:
                rows.append([
                    image_file, class_map[str(box["class_id"])], box["left"], box["top"],
                    box["height"], box["width"], size["width"], size["height"],
                ])  # fmt: skip
    return rows


def _blog_yolo_columns(table: Any, categories: list[str]) -> None:
    table["int_category"] = table["category"].apply(categories.index)
    table["box_center_w"] = (table["box_left"] + table["box_width"] / 2) / table["img_width"]
    table["box_center_h"] = (table["box_top"] + table["box_height"] / 2) / table["img_height"]
    table["box_width"] = table["box_width"] / table["img_width"]
    table["box_height"] = table["box_height"] / table["img_height"]


CONTENDERS: dict[str, Callable[[Path, Path, str], None]] = {
    "floor": floor, "baseline": baseline, "mask-floor": mask_floor,
}  # fmt: skip


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in CONTENDERS:
        print(f"usage: {{{','.join(CONTENDERS)}}} MANIFEST DIR ATTRIBUTE", file=sys.stderr)
        return 2
    name, manifest, folder, attribute = argv
    CONTENDERS[name](Path(manifest), Path(folder), attribute)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
