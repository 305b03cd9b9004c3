"""Ultralytics itself reads a gt2yolo dataset, then trains one epoch on it.

    build/tools/ultralytics/bin/python verify/ultralytics_check.py --task detect demo-output/demo-shapes

Run by `make verify` in its own venv (requirements-verify.txt), never by `make test`. The dataset
is loaded with Ultralytics' own readers: `check_det_dataset` and `YOLODataset` for detect and
segment (data.yaml), `check_cls_dataset` and `ClassificationDataset` for classify (split/class
folders). Every image of images.csv must come back, none dropped as corrupt, with every row of
its label file (detect, segment) or in its class folder (classify). Then a YOLO11n built from its
yaml (no weights: they would need the internet) trains one epoch at a small size on the CPU.
Exits 1 with the differences listed when Ultralytics sees another dataset than our files say.

The dataset is copied to a temporary folder first: Ultralytics writes `*.cache` files next to
the labels (classify: next to the split folders) and rewrites a truncated JPEG in place.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("detect", "segment", "classify")
MODEL_YAML = {
    "detect": "yolo11n.yaml",
    "segment": "yolo11n-seg.yaml",
    "classify": "yolo11n-cls.yaml",
}
# Small enough for a CPU epoch in seconds; detect and segment need a multiple of the stride (32).
IMGSZ = {"detect": 64, "segment": 64, "classify": 32}
SPLITS = ("train", "val", "test")
# images.csv columns a classification dataset may name its class in (the folder is Ultralytics').
CLASS_COLUMNS = ("class", "category", "class_name")
# images.csv columns that count an image's label rows (the first present is compared).
COUNT_COLUMNS = {"detect": ("boxes",), "segment": ("polygons", "instances")}


class Mismatch(Exception):
    """Ultralytics sees another dataset than our files describe."""


@dataclass
class Expected:
    """What our files say one image holds: its split, label file and the class of every row."""

    split: str
    label: str = ""
    classes: list[int] = field(default_factory=list)
    class_name: str = ""


@dataclass
class Found:
    """What Ultralytics read for one image."""

    classes: list[int]
    segments: int = 0
    class_name: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--task",
        required=True,
        choices=(*TASKS, "report"),
        help="the YOLO task; 'report': the dataset's report.json says (no 'task' key: detect)",
    )
    parser.add_argument("dataset", type=Path, help="a dataset folder written by gt2yolo")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--no-train", action="store_true", help="only the reading checks")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and run")
    args = parser.parse_args(argv)
    dataset: Path = args.dataset.resolve()
    task = task_of(dataset) if args.task == "report" else str(args.task)
    if task == "classify" and is_multilabel(dataset):
        return check_multilabel(dataset)
    work = Path(tempfile.mkdtemp(prefix="gt2yolo-verify-"))
    try:
        return verify(dataset, task, work, epochs=0 if args.no_train else args.epochs)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def task_of(dataset: Path) -> str:
    report = json.loads((dataset / "report.json").read_text(encoding="utf-8"))
    task = str(report.get("task", "detect"))
    if task not in TASKS:
        raise SystemExit(f"{dataset}/report.json: task {task!r} is none of {', '.join(TASKS)}")
    return task


def is_multilabel(dataset: Path) -> bool:
    report = json.loads((dataset / "report.json").read_text(encoding="utf-8"))
    return bool((report.get("classification") or {}).get("multilabel"))


def check_multilabel(dataset: Path) -> int:
    """Ultralytics has no multi-label classifier: each image must pass its image check, and
    labels.csv must hold exactly images.csv's images with one 0/1 column per class."""
    from ultralytics.data.utils import verify_image

    print(f"== {dataset.name} (classify, multi-label: no Ultralytics trainer)", flush=True)
    images = [row["image"] for row in read_images_csv(dataset, ("image",))]
    with (dataset / "labels.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    classes = read_classes(dataset)
    problems = []
    if [row["image"] for row in rows] != images:
        problems.append("labels.csv does not list images.csv's images in order")
    for row in rows:
        if any(row.get(name) not in ("0", "1") for name in classes):
            problems.append(f"{row['image']}: labels.csv row is not one 0/1 per class")
    for image in images:
        (_, _), found, corrupt, message = verify_image(((str(dataset / image), 0), ""))
        if not found or corrupt:
            problems.append(f"{image}: {message or 'not found'}")
    if problems:
        print(f"FAIL {dataset}:\n" + "\n".join(f"  {p}" for p in problems))
        return 1
    print(f"ok   {dataset.name}: {len(images)} images pass Ultralytics' image check, labels.csv "
          f"has {len(classes)} 0/1 columns")  # fmt: skip
    return 0


def verify(dataset: Path, task: str, work: Path, epochs: int) -> int:
    print(f"== {dataset.name} ({task})", flush=True)
    copy = work / dataset.name
    shutil.copytree(dataset, copy)
    offline(work / "config")
    started = time.monotonic()
    try:
        counts = check_classify(copy) if task == "classify" else check_yolo(copy, task)
    except Mismatch as mismatch:
        said = str(mismatch).replace(str(copy), str(dataset))  # Ultralytics names the copy
        print(f"FAIL {dataset}: Ultralytics reads another dataset than our files say:\n{said}")
        return 1
    checked = time.monotonic()
    print(f"ok   {dataset.name}: Ultralytics read {counts} ({checked - started:.1f} s)", flush=True)
    if epochs:
        try:
            train(copy, task, work / "runs", epochs, counts_train=counts.train)
        except Mismatch as mismatch:
            print(f"FAIL {dataset}: training: {mismatch}")
            return 1
        print(
            f"ok   {dataset.name}: trained {epochs} epoch(s) ({time.monotonic() - checked:.1f} s)"
        )
    return 0


def offline(config_dir: Path) -> None:
    """Keep Ultralytics off the network and out of the user's settings, before it is imported.

    YOLO_OFFLINE makes its online check false (no analytics, no hub). check_det_dataset always
    looks for Arial.ttf (for plot labels) and else downloads it: a local font under that name in
    the config folder answers it. AMP's check (which downloads yolo11n.pt) runs only on a GPU.
    """
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    fonts = config_dir / "Ultralytics"
    fonts.mkdir(parents=True, exist_ok=True)
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        shutil.copyfile(dejavu, fonts / name)


@dataclass
class Counts:
    images: int = 0
    instances: int = 0
    train: int = 0
    per_split: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        splits = ", ".join(f"{split} {n}" for split, n in self.per_split.items())
        instances = f", {self.instances} instances" if self.instances else ""
        return f"{self.images} images{instances} ({splits}), as our files say"


# --- detect and segment ---------------------------------------------------------------------


def check_yolo(root: Path, task: str) -> Counts:
    from ultralytics.cfg import get_cfg
    from ultralytics.data.utils import check_det_dataset

    data: dict[str, Any] = check_det_dataset(str(root / "data.yaml"))
    problems = compare_names(read_classes(root), list(data["names"].values()), "data.yaml names")
    expected = expected_yolo(root, task, problems)
    cfg = get_cfg(overrides={"task": task, "imgsz": IMGSZ[task]})
    counts = Counts()
    for split in SPLITS:
        wanted = {image: e for image, e in expected.items() if e.split == split}
        if not data.get(split):
            problems += [f"{image}: split {split} is not in data.yaml" for image in sorted(wanted)]
            continue
        found = read_yolo_split(root, data, split, task, cfg, wanted, problems)
        problems += compare(found, wanted, task)
        counts.per_split[split] = len(found)
        counts.images += len(found)
        counts.instances += sum(len(f.classes) for f in found.values())
    if problems:
        raise Mismatch("\n".join(f"  {p}" for p in problems))
    counts.train = counts.per_split.get("train", 0)
    return counts


def expected_yolo(root: Path, task: str, problems: list[str]) -> dict[str, Expected]:
    """images.csv's images, each with every row of its label file; every label file must be one's.

    images.csv's count of an image's instances, where it has one, must be its label file's rows.
    """
    expected: dict[str, Expected] = {}
    for row in read_images_csv(root, ("image", "label", "split")):
        label = root / row["label"]
        rows = label.read_text(encoding="utf-8").split("\n") if label.is_file() else []
        classes = [int(float(line.split()[0])) for line in rows if line.strip()]
        expected[row["image"]] = Expected(row["split"], row["label"], classes)
        column = next((c for c in COUNT_COLUMNS[task] if row.get(c)), "")
        if column and int(row[column]) != len(classes):
            problems.append(
                f"{row['image']}: {column} {row[column]} in images.csv, {len(classes)} rows"
            )
    referenced = {e.label for e in expected.values()}
    for label in sorted((root / "labels").rglob("*.txt")):
        name = label.relative_to(root).as_posix()
        if name not in referenced:
            problems.append(f"{name}: a label file of no image in images.csv")
    return expected


def read_yolo_split(
    root: Path,
    data: dict[str, Any],
    split: str,
    task: str,
    cfg: Any,
    wanted: dict[str, Expected],
    problems: list[str],
) -> dict[str, Found]:
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import img2label_paths, load_dataset_cache_file

    try:
        dataset = YOLODataset(
            img_path=data[split], imgsz=cfg.imgsz, augment=False, hyp=cfg, prefix=f"{split}: ",
            data=data, task=task,
        )  # fmt: skip
    except (FileNotFoundError, RuntimeError, ValueError) as error:
        raise Mismatch(f"  {split}: Ultralytics could not load it: {error}") from error
    cache = load_dataset_cache_file(Path(dataset.label_files[0]).parent.with_suffix(".cache"))
    _found, _missing, _empty, corrupt, _total = cache["results"]
    problems += [f"{split}: Ultralytics says: {msg}" for msg in cache["msgs"]]
    if corrupt:
        problems.append(f"{split}: Ultralytics ignored {corrupt} image(s) as corrupt")
    found: dict[str, Found] = {}
    for label in dataset.labels:
        image = Path(label["im_file"]).relative_to(root).as_posix()
        ours = wanted.get(image)
        if ours is not None:
            where = Path(img2label_paths([label["im_file"]])[0]).relative_to(root).as_posix()
            if where != ours.label:
                problems.append(
                    f"{image}: Ultralytics reads its labels from {where}, not {ours.label}"
                )
        classes = [int(c) for c in label["cls"].reshape(-1)]
        found[image] = Found(classes, segments=len(label["segments"]))
    return found


def compare(found: dict[str, Found], wanted: dict[str, Expected], task: str) -> list[str]:
    problems = [
        f"{image}: in images.csv, not read by Ultralytics" for image in wanted.keys() - found.keys()
    ]
    problems += [
        f"{image}: read by Ultralytics, not in images.csv" for image in found.keys() - wanted.keys()
    ]
    for image in sorted(found.keys() & wanted.keys()):
        ours, theirs = wanted[image], found[image]
        if Counter(theirs.classes) != Counter(ours.classes):
            problems.append(
                f"{image}: {len(ours.classes)} rows of classes {sorted(ours.classes)} in {ours.label}, "
                f"Ultralytics read {len(theirs.classes)}: {sorted(theirs.classes)}"
            )
        polygons = len(theirs.classes) if task == "segment" else 0
        if theirs.segments != polygons:
            problems.append(
                f"{image}: Ultralytics read {theirs.segments} polygons for a {task} dataset "
                f"of {len(theirs.classes)} rows ({ours.label})"
            )
        if ours.class_name and theirs.class_name != ours.class_name:
            problems.append(
                f"{image}: class {ours.class_name} in images.csv, {theirs.class_name} in Ultralytics"
            )
    return sorted(problems)


# --- classify -------------------------------------------------------------------------------


def check_classify(root: Path) -> Counts:
    from ultralytics.cfg import get_cfg
    from ultralytics.data.utils import check_cls_dataset

    data: dict[str, Any] = check_cls_dataset(str(root))
    names: dict[int, str] = data["names"]
    ours = read_classes(root)
    problems = compare_names(ours, list(names.values()), "class folders of train/", order=False)
    expected = expected_classify(root)
    cfg = get_cfg(overrides={"task": "classify", "imgsz": IMGSZ["classify"]})
    counts = Counts()
    for split in SPLITS:
        wanted = {image: e for image, e in expected.items() if e.split == split}
        if data.get(split) is None:
            problems += [
                f"{image}: Ultralytics finds no {split}/ folder" for image in sorted(wanted)
            ]
            continue
        found = read_classify_split(root, Path(data[split]), split, cfg, names, problems)
        problems += compare(found, wanted, "classify")
        counts.per_split[split] = len(found)
        counts.images += len(found)
    if problems:
        raise Mismatch("\n".join(f"  {p}" for p in problems))
    counts.train = counts.per_split.get("train", 0)
    return counts


def expected_classify(root: Path) -> dict[str, Expected]:
    """images.csv's images: `<split>/<class>/...`, the class cross-checked with a class column."""
    expected: dict[str, Expected] = {}
    for row in read_images_csv(root, ("image",)):
        parts = Path(row["image"]).parts
        if len(parts) < 3:
            raise Mismatch(f"  {row['image']}: not <split>/<class>/<image> (images.csv)")
        split, folder = parts[0], parts[1]
        if row.get("split", split) != split:
            raise Mismatch(
                f"  {row['image']}: split {row['split']} in images.csv, {split} by its folder"
            )
        column = next((row[c] for c in CLASS_COLUMNS if row.get(c)), folder)
        if column != folder:
            raise Mismatch(
                f"  {row['image']}: class {column} in images.csv, {folder} by its folder"
            )
        expected[row["image"]] = Expected(split, class_name=folder)
    return expected


def read_classify_split(
    root: Path, folder: Path, split: str, cfg: Any, names: dict[int, str], problems: list[str]
) -> dict[str, Found]:
    from ultralytics.data.dataset import ClassificationDataset

    folders = sorted(p.name for p in folder.iterdir() if p.is_dir())
    empty = [name for name in folders if not any(map(is_image, (folder / name).rglob("*")))]
    # gt2yolo gives every class of the job a folder in every split (a `.keep` in it), so that
    # Ultralytics numbers the classes alike whatever a split holds; a folder holding anything
    # else but no image is a defect.
    kept = [name for name in empty if {p.name for p in (folder / name).iterdir()} == {".keep"}]
    problems += [
        f"{split}/{name}/: a class folder with no image" for name in empty if name not in kept
    ]
    if kept:
        print(f"note {split}/: classes without an image here (by design): {', '.join(kept)}")
        if not _torchvision_reads_empty_folders():
            # torchvision < 0.18 refuses an empty class folder (newer ones read it, as
            # Ultralytics asks with allow_empty=True): this copy drops them to read the rest.
            for name in kept:
                shutil.rmtree(folder / name)
    problems += [
        f"{split}/{name}/: a class that train/ has not"
        for name in folders
        if name not in names.values()
    ]
    missing = sorted(set(names.values()) - set(folders))
    if missing and split != "train":  # only Ultralytics' log line: worth saying, not failing on
        print(f"note {split}/ has no folder for {', '.join(missing)}")
    try:
        dataset = ClassificationDataset(str(folder), cfg, augment=False, prefix=split, names=names)
    except (FileNotFoundError, RuntimeError) as error:  # torchvision < 0.18: an empty class folder
        raise Mismatch("\n".join(f"  {p}" for p in [*problems, f"{split}: {error}"])) from error
    found: dict[str, Found] = {}
    for file, index, *_ in dataset.samples:
        image = Path(file).relative_to(root).as_posix()
        found[image] = Found([], class_name=names[int(index)])
    return found


def _torchvision_reads_empty_folders() -> bool:
    import torchvision

    major, minor = (int(part) for part in torchvision.__version__.split(".")[:2])
    return (major, minor) >= (0, 18)


# --- both -----------------------------------------------------------------------------------


def is_image(path: Path) -> bool:
    from ultralytics.data.utils import IMG_FORMATS

    return path.is_file() and path.suffix[1:].lower() in IMG_FORMATS


def read_images_csv(root: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with (root / "images.csv").open(encoding="utf-8", newline="") as table:
        rows = list(csv.DictReader(table))
    absent = [c for c in columns if rows and c not in rows[0]]
    if absent or not rows:
        raise Mismatch(f"  images.csv: no rows, or no column {', '.join(absent)}")
    return rows


def read_classes(root: Path) -> list[str]:
    return [line for line in (root / "classes.txt").read_text(encoding="utf-8").split("\n") if line]


def compare_names(ours: list[str], theirs: list[str], where: str, order: bool = True) -> list[str]:
    if ours == theirs:
        return []
    if set(ours) != set(theirs):
        return [f"classes.txt {ours} and Ultralytics' {where} {theirs} differ"]
    if order:
        return [f"classes.txt {ours} and Ultralytics' {where} {theirs} differ in order"]
    # Classification: Ultralytics numbers the sorted folder names; the model carries those names.
    print(f"note classes.txt order {ours}, Ultralytics' class indices follow {theirs}")
    return []


def train(root: Path, task: str, runs: Path, epochs: int, counts_train: int) -> None:
    from ultralytics import YOLO

    model = YOLO(MODEL_YAML[task])
    model.train(
        data=str(root if task == "classify" else root / "data.yaml"),
        epochs=epochs, imgsz=IMGSZ[task], batch=8, device="cpu", workers=0,
        pretrained=False, amp=False, plots=False, verbose=False, seed=0,
        project=str(runs), name=task, exist_ok=True,
    )  # fmt: skip
    trainer = model.trainer
    trained = len(trainer.train_loader.dataset)
    if trained != counts_train:
        raise Mismatch(f"the trainer loaded {trained} train images, our files say {counts_train}")
    loss = {name: float(value) for name, value in (trainer.tloss or {}).items()}
    if not loss or not all(math.isfinite(value) for value in loss.values()):
        raise Mismatch(f"the epoch's loss is not finite: {loss}")
    if not Path(trainer.last).is_file():
        raise Mismatch(f"no weights written at {trainer.last}")


if __name__ == "__main__":
    sys.exit(main())
