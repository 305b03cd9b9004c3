"""The two reference converters, run as `python -m benchmarks.contenders NAME MANIFEST OUT ATTR`.

Each runs in its own process so that its peak RSS and wall time are its own.
- baseline: the seed blog's algorithm (a pandas table of all boxes, then for each image a
  selection from the whole table and one file write): quadratic in the number of images.
- floor: the least any converter must do in plain CPython: parse each line, write one label
  file per image with normalized boxes. No validation, clamping, split, tables or report.
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


CONTENDERS: dict[str, Callable[[Path, Path, str], None]] = {"floor": floor, "baseline": baseline}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in CONTENDERS:
        print(f"usage: {{{','.join(CONTENDERS)}}} MANIFEST OUT ATTRIBUTE", file=sys.stderr)
        return 2
    name, manifest, out, attribute = argv
    CONTENDERS[name](Path(manifest), Path(out), attribute)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
