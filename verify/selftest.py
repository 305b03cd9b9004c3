"""The check of ultralytics_check.py can fail: broken copies of a detect dataset must fail it.

    build/tools/ultralytics/bin/python verify/selftest.py demo-output/demo-shapes

Run by `make verify` before the real datasets. From one detect dataset it derives a segment
dataset (every box as its 4-corner polygon) and a classify dataset (each image in the folder of
its first box's class), checks that each passes, then breaks copies the ways Ultralytics drops
or misreads data, or our tables disagree with our files (a corrupt image, a duplicate row, a
label file of no image, a miscounted image, a box row among polygons, an odd number of
coordinates, a class only in val, an empty class folder) and checks that each break fails.
The good segment and classify datasets also train one epoch.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

CHECK = Path(__file__).with_name("ultralytics_check.py")


def main() -> int:
    source = Path(sys.argv[1]).resolve()
    work = Path(tempfile.mkdtemp(prefix="gt2yolo-selftest-"))
    try:
        return run_cases(source, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_cases(source: Path, work: Path) -> int:
    segment = as_segment(source, work / "segment")
    classify = as_classify(source, work / "classify")
    cases: list[tuple[str, str, Path, Callable[[Path], None] | None, bool]] = [
        ("detect as written", "detect", source, None, True),
        ("detect, a corrupt image", "detect", source, corrupt_first_image, False),
        ("detect, a duplicate row", "detect", source, duplicate_first_row, False),
        ("detect, a label file of no image", "detect", source, orphan_label, False),
        ("detect, images.csv counts another number", "detect", source, miscount_boxes, False),
        ("detect read as segment", "segment", source, None, False),
        ("segment as derived", "segment", segment, None, True),
        ("segment, a box row among polygons", "segment", segment, box_among_polygons, False),
        ("segment, an odd number of coordinates", "segment", segment, odd_coordinates, False),
        ("classify as derived", "classify", classify, None, True),
        ("classify, a class only in val", "classify", classify, class_only_in_val, False),
        ("classify, an empty class folder", "classify", classify, empty_class_folder, False),
    ]
    failures = 0
    for number, (name, task, dataset, breaks, passes) in enumerate(cases):
        copy = work / f"case-{number}" / dataset.name
        shutil.copytree(dataset, copy)
        if breaks:
            breaks(copy)
        train = passes and task != "detect"  # the demo's detect datasets train in `make verify`
        args = [sys.executable, str(CHECK), "--task", task, str(copy)]
        result = subprocess.run(
            args if train else [*args, "--no-train"], capture_output=True, text=True, check=False
        )
        if (result.returncode == 0) != passes:
            failures += 1
            print(
                f"FAIL selftest {name}: exit {result.returncode}, expected {'0' if passes else '1'}"
            )
            print(result.stdout[-3000:], result.stderr[-3000:])
        else:
            verdict = "passes" if passes else "fails: " + first_problem(result.stdout)
            print(f"ok   selftest {name} {verdict}", flush=True)
    return 1 if failures else 0


def first_problem(stdout: str) -> str:
    lines = stdout.split("\n")
    return next((line.strip() for line in lines if line.startswith("  ")), lines[-2:][0])


# --- datasets derived from a detect dataset ---------------------------------------------------


def as_segment(source: Path, root: Path) -> Path:
    shutil.copytree(source, root)
    for label in (root / "labels").rglob("*.txt"):
        polygons = []
        for row in label.read_text(encoding="utf-8").split("\n"):
            if row.strip():
                cls, x, y, w, h = row.split()
                left, top = float(x) - float(w) / 2, float(y) - float(h) / 2
                right, bottom = float(x) + float(w) / 2, float(y) + float(h) / 2
                corners = (left, top, right, top, right, bottom, left, bottom)
                polygons.append(" ".join([cls, *(f"{c:g}" for c in corners)]))
        label.write_text("".join(f"{p}\n" for p in polygons), encoding="utf-8")
    data = root / "data.yaml"
    data.write_text(data.read_text(encoding="utf-8") + "task: segment\n", encoding="utf-8")
    return root


def as_classify(source: Path, root: Path) -> Path:
    """`<split>/<class>/<image>`: each image with a box, in its first box's class."""
    classes = (source / "classes.txt").read_text(encoding="utf-8").split()
    root.mkdir(parents=True)
    shutil.copyfile(source / "classes.txt", root / "classes.txt")
    rows = []
    with (source / "images.csv").open(encoding="utf-8", newline="") as table:
        for row in csv.DictReader(table):
            label = source / row["label"]
            first = label.read_text(encoding="utf-8").split()[:1] if label.is_file() else []
            if first:
                name = Path(row["image"]).relative_to(f"images/{row['split']}").as_posix()
                image = f"{row['split']}/{classes[int(first[0])]}/{name.replace('/', '_')}"
                (root / image).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / row["image"], root / image)
                rows.append({"image": image, "split": row["split"]})
    with (root / "images.csv").open("w", encoding="utf-8", newline="") as table:
        writer = csv.DictWriter(table, fieldnames=["image", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return root


# --- breaks -----------------------------------------------------------------------------------


def first_label_with_rows(root: Path) -> Path:
    return next(p for p in sorted((root / "labels").rglob("*.txt")) if p.stat().st_size)


def corrupt_first_image(root: Path) -> None:
    image = next(p for p in sorted((root / "images").rglob("*")) if p.is_file())
    image.write_bytes(b"not an image")


def duplicate_first_row(root: Path) -> None:
    """images.csv counts the duplicate too: only Ultralytics' reading can tell."""
    label = first_label_with_rows(root)
    rows = label.read_text(encoding="utf-8")
    label.write_text(rows + rows.split("\n")[0] + "\n", encoding="utf-8")
    count_more_boxes(root, label.relative_to(root).as_posix())


def orphan_label(root: Path) -> None:
    (root / "labels" / "train" / "no-such-image.txt").write_text("0 0.5 0.5 0.1 0.1\n")


def miscount_boxes(root: Path) -> None:
    count_more_boxes(root, first_label_with_rows(root).relative_to(root).as_posix())


def count_more_boxes(root: Path, label: str) -> None:
    table = root / "images.csv"
    with table.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    row = next(r for r in rows if r["label"] == label)
    row["boxes"] = str(int(row["boxes"]) + 1)
    with table.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def box_among_polygons(root: Path) -> None:
    label = first_label_with_rows(root)
    label.write_text(label.read_text(encoding="utf-8") + "0 0.5 0.5 0.1 0.1\n", encoding="utf-8")


def odd_coordinates(root: Path) -> None:
    label = first_label_with_rows(root)
    rows = label.read_text(encoding="utf-8").split("\n")
    rows[0] += " 0.5"
    label.write_text("\n".join(rows), encoding="utf-8")


def class_only_in_val(root: Path) -> None:
    image = next(p for p in sorted((root / "val").rglob("*")) if p.is_file())
    moved = root / "val" / "only-in-val" / image.name
    moved.parent.mkdir()
    image.rename(moved)
    rewrite_images_csv(root, image.relative_to(root).as_posix(), moved.relative_to(root).as_posix())


def empty_class_folder(root: Path) -> None:
    (root / "train" / "no-images").mkdir()
    with (root / "classes.txt").open("a", encoding="utf-8") as classes:
        classes.write("no-images\n")


def rewrite_images_csv(root: Path, old: str, new: str) -> None:
    table = root / "images.csv"
    table.write_text(table.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
