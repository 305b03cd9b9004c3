"""The Rekognition Custom Labels export: `exports/rekognition/{train,test}.manifest`.

Every line is one Rekognition imports (the fields AWS documents as required, checked here by a
checker written from the documentation, not from the writer); an image past a documented limit
is left out and counted by reason; our train split is Rekognition's training set, val and test
its test set; the same input gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from export_builders import (
    BASE,
    ExportWorkspace,
    VideoExportWorkspace,
    export_entry,
    image_path,
    manifest_lines,
    manifest_text,
)
from gt2yolo.exports import rekognition
from gt2yolo.exports.formats import ExportContext, ExportFormat
from gt2yolo.exports.rekognition import RekognitionWriter
from gt2yolo.split import Split
from gt2yolo.storage import LocalStorage
from gt2yolo.task_types import LabelTask
from gt_builders import box, line, ref
from task_builders import PETS, classification_record, multilabel_record
from video_builders import tracked

REKOGNITION = ExportFormat.REKOGNITION
TRAIN, TEST = "train.manifest", "test.manifest"
DETECTION_TYPE = "groundtruth/object-detection"
CLASSIFICATION_TYPE = "groundtruth/image-classification"
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

# --- the documented line shape, as a checker (md-create-manifest-file-object-detection.md,
# md-create-manifest-file-classification.md, limits.md of the Custom Labels developer guide) --


def _metadata_problems(name: str, meta: Any) -> list[str]:
    problems = []
    if not isinstance(meta, dict):
        return [f"{name}-metadata is not an object"]
    if meta.get("human-annotated") not in ("yes", "no"):
        problems.append(f"{name}-metadata: human-annotated must be yes or no")
    if not isinstance(meta.get("creation-date"), str) or not DATE.match(meta["creation-date"]):
        problems.append(f"{name}-metadata: creation-date missing or not a date")
    if "job-name" in meta and not isinstance(meta["job-name"], str):
        problems.append(f"{name}-metadata: job-name not a string")
    return problems


def _size_problems(name: str, size: dict[str, Any]) -> list[str]:
    width, height = size["width"], size["height"]
    problems = []
    if min(width, height) < 64 or max(width, height) > 4096:
        problems.append(f"{name}: image of {width}x{height} outside 64..4096 px")
    if max(width, height) > 20 * min(width, height):
        problems.append(f"{name}: aspect ratio over 20:1")
    return problems


def _annotation_problems(
    name: str, annotation: Any, class_map: dict[str, Any], size: dict[str, Any]
) -> list[str]:
    fields = ("class_id", "top", "left", "width", "height")
    a = annotation
    if not isinstance(a, dict) or not all(isinstance(a.get(k), int | float) for k in fields):
        return [f"{name}: an annotation lacks class_id, top, left, width or height"]
    problems = []
    if str(a["class_id"]) not in class_map:
        problems.append(f"{name}: class_id {a['class_id']} not in class-map")
    starts = a["left"] >= 0 and a["top"] >= 0 and a["width"] > 0 and a["height"] > 0
    ends = a["left"] + a["width"] <= size["width"] and a["top"] + a["height"] <= size["height"]
    if not (starts and ends):
        problems.append(f"{name}: a box off the image")
    return problems


def _box_problems(name: str, value: Any, meta: dict[str, Any]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name} is not an object"]
    sizes = value.get("image_size")
    if not (isinstance(sizes, list) and len(sizes) == 1 and isinstance(sizes[0], dict)):
        return [f"{name}: image_size must be a one-element array"]
    size = sizes[0]
    if not all(isinstance(size.get(k), int) for k in ("width", "height", "depth")):
        return [f"{name}: image_size needs integer width, height and depth"]
    problems = _size_problems(name, size)
    annotations = value.get("annotations")
    if not isinstance(annotations, list):
        return [*problems, f"{name}: annotations must be an array"]
    if len(annotations) > 50:
        problems.append(f"{name}: more than 50 boxes")
    class_map = meta.get("class-map")
    if not isinstance(class_map, dict):
        problems.append(f"{name}-metadata: class-map missing")
        class_map = {}
    objects = meta.get("objects")
    if not isinstance(objects, list) or len(objects) != len(annotations):
        problems.append(f"{name}-metadata: objects must match annotations one for one")
    for annotation in annotations:
        problems.extend(_annotation_problems(name, annotation, class_map, size))
    return problems


def _label_problems(name: str, value: Any, meta: dict[str, Any]) -> list[str]:
    problems = [] if isinstance(value, int) else [f"{name}: the value must be an integer"]
    confidence = meta.get("confidence")
    if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        problems.append(f"{name}-metadata: confidence must be in 0..1")
    if not isinstance(meta.get("class-name"), str) or not meta["class-name"]:
        problems.append(f"{name}-metadata: class-name missing")
    return problems


def line_problems(entry: dict[str, Any]) -> list[str]:
    """What AWS's documentation says a Custom Labels line must have that this one lacks."""
    source = entry.get("source-ref")
    if not isinstance(source, str) or not re.fullmatch(r"s3://[^/]+/.+", source):
        return ["source-ref missing or not s3://BUCKET/OBJECT_PATH"]
    attributes = [k for k in entry if k != "source-ref" and not k.endswith("-metadata")]
    if not attributes:
        return ["no label attribute"]
    problems = []
    labels = 0
    for name in attributes:
        meta = entry.get(f"{name}-metadata")
        problems.extend(_metadata_problems(name, meta))
        if not isinstance(meta, dict):
            continue
        if meta.get("type") == DETECTION_TYPE:
            problems.extend(_box_problems(name, entry[name], meta))
        elif meta.get("type") == CLASSIFICATION_TYPE:
            problems.extend(_label_problems(name, entry[name], meta))
            labels += 1
        else:
            problems.append(f"{name}-metadata: type {meta.get('type')!r} is neither kind")
    orphans = [k for k in entry if k.endswith("-metadata") and k[: -len("-metadata")] not in entry]
    problems.extend(f"{k} has no label attribute" for k in orphans)
    if labels > 50:
        problems.append("more than 50 labels")
    return problems


def manifest_problems(lines: Sequence[dict[str, Any]]) -> list[str]:
    problems = [f"line {n}: {p}" for n, e in enumerate(lines, 1) for p in line_problems(e)]
    buckets = {e["source-ref"].split("/")[2] for e in lines if "source-ref" in e}
    if len(buckets) > 1:
        problems.append(f"images in several buckets: {sorted(buckets)}")
    return problems


# --- conversions ------------------------------------------------------------------------------


def _detection_lines(count: int) -> list[str]:
    return [
        line(ref(f"cam{i % 3}/img{i}.jpg"), [box(i % 4), box((i + 1) % 4, left=480, width=90)])
        for i in range(count)
    ]


def _classification_lines(workspace: ExportWorkspace, count: int) -> list[str]:
    lines = []
    for i in range(count):
        source = workspace.image(ref(f"shelter/{i}.jpg"))
        lines.append(json.dumps(classification_record(source, i % 3, PETS[i % 3])))
    return lines


def _multilabel_lines(workspace: ExportWorkspace, count: int) -> list[str]:
    lines = []
    for i in range(count):
        source = workspace.image(ref(f"tags/{i}.png"))
        lines.append(json.dumps(multilabel_record(source, sorted({i % 4, (i + 2) % 4}))))
    return lines


@pytest.mark.parametrize("kind", ["detection", "classification", "multilabel"])
def test_every_line_has_the_fields_rekognition_documents_as_required(
    tmp_path: Path, kind: str
) -> None:
    # Given a dataset of the kind, in all three splits
    workspace = ExportWorkspace(tmp_path)
    if kind == "detection":
        lines = _detection_lines(30)
    elif kind == "classification":
        lines = _classification_lines(workspace, 30)
    else:
        lines = _multilabel_lines(workspace, 30)

    # When converting it with the Rekognition export
    dataset = workspace.convert(lines, classes=PETS, val=0.3, test=0.2, images=False)

    # Then both manifests' lines have every required field, under one bucket, and are many
    train, test = (manifest_lines(dataset, REKOGNITION, n) for n in (TRAIN, TEST))
    assert train and test
    assert manifest_problems([*train, *test]) == []
    assert len(train) + len(test) == dataset.report["images"]


def test_the_line_checker_finds_each_missing_required_field() -> None:
    # Given a valid detection line and a valid image-level line
    boxes = {
        "source-ref": "s3://b/images/a.png",
        "bounding-box": {
            "image_size": [{"width": 640, "height": 480, "depth": 3}],
            "annotations": [{"class_id": 1, "top": 251, "left": 399, "width": 155, "height": 101}],
        },
        "bounding-box-metadata": {
            "objects": [{"confidence": 1}], "class-map": {"1": "Echo Dot"},
            "type": DETECTION_TYPE, "human-annotated": "yes",
            "creation-date": "2013-11-18T02:53:27", "job-name": "my job",
        },
    }  # fmt: skip
    label = {
        "source-ref": "s3://b/images/sunrise.png",
        "scene": 1,
        "scene-metadata": {
            "confidence": 1, "class-name": "Sunrise", "human-annotated": "yes",
            "creation-date": "2020-03-06T17:46:39.176", "type": CLASSIFICATION_TYPE,
        },
    }  # fmt: skip
    assert line_problems(boxes) == [] and line_problems(label) == []

    # When any required field is taken out; Then the checker names a problem
    required = [
        ("source-ref",), ("bounding-box-metadata",), ("bounding-box", "image_size"),
        ("bounding-box", "annotations"), ("bounding-box-metadata", "objects"),
        ("bounding-box-metadata", "class-map"), ("bounding-box-metadata", "type"),
        ("bounding-box-metadata", "creation-date"), ("bounding-box-metadata", "human-annotated"),
    ]  # fmt: skip
    for path in required:
        broken = json.loads(json.dumps(boxes))
        parent = broken if len(path) == 1 else broken[path[0]]
        del parent[path[-1]]
        assert line_problems(broken), path
    for field in ("confidence", "class-name", "creation-date", "human-annotated", "type"):
        broken = json.loads(json.dumps(label))
        del broken["scene-metadata"][field]
        assert line_problems(broken), field
    # And a box off the image or an image too small is a problem too
    off = json.loads(json.dumps(boxes))
    off["bounding-box"]["annotations"][0]["left"] = 600
    small = json.loads(json.dumps(boxes))
    small["bounding-box"]["image_size"][0]["height"] = 63
    assert line_problems(off) and line_problems(small)


def test_train_is_the_training_manifest_and_val_then_test_the_test_manifest(
    tmp_path: Path,
) -> None:
    # Given detection images spread over train, val and test
    workspace = ExportWorkspace(tmp_path)

    # When converting them with the export
    dataset = workspace.convert(_detection_lines(40), val=0.3, test=0.3, images=False)

    # Then train.manifest holds the train images, test.manifest the val images, then the test ones
    train, test = (manifest_lines(dataset, REKOGNITION, n) for n in (TRAIN, TEST))
    splits = [image_path(e["source-ref"]).split("/")[1] for e in test]
    assert {image_path(e["source-ref"]).split("/")[1] for e in train} == {"train"}
    assert splits == sorted(splits, key=["val", "test"].index) and set(splits) == {"val", "test"}
    # And each names an image of the dataset, with the counts report.json gives
    images = {row["image"] for row in dataset.images}
    assert {image_path(e["source-ref"]) for e in [*train, *test]} == images
    per_split = dataset.report["images_per_split"]
    files = export_entry(dataset, REKOGNITION)["files"]
    assert files["exports/rekognition/train.manifest"]["images"] == per_split["train"]
    assert files["exports/rekognition/test.manifest"] == {
        "images": per_split["val"] + per_split["test"], "labels": 4,
        "boxes": 2 * (per_split["val"] + per_split["test"]),
        "val_images": per_split["val"], "test_images": per_split["test"],
    }  # fmt: skip
    assert export_entry(dataset, REKOGNITION)["splits"] == {
        "train": TRAIN, "val": TEST, "test": TEST,
    }  # fmt: skip


def test_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    # Given one manifest of detection images converted twice, into two folders
    workspace = ExportWorkspace(tmp_path)
    manifest = workspace.manifest(_detection_lines(25))
    first = workspace.convert(manifest, val=0.3, test=0.2, images=False, out=tmp_path / "a")
    second = workspace.convert(manifest, val=0.3, test=0.2, images=False, out=tmp_path / "b")

    # Then the manifests are the same bytes, and their lines plain compact JSON
    for name in (TRAIN, TEST):
        text = manifest_text(first, REKOGNITION, name)
        assert text and text == manifest_text(second, REKOGNITION, name)
        assert all(json.dumps(json.loads(t), separators=(",", ":"), ensure_ascii=False) == t
                   for t in text.splitlines())  # fmt: skip


def test_a_multilabel_image_has_one_attribute_pair_per_label(tmp_path: Path) -> None:
    # Given a multi-label image with dog and bird, and a single-label image of a cat
    workspace = ExportWorkspace(tmp_path)
    tags = workspace.image(ref("tags/a.jpg"))
    pet = workspace.image(ref("pets/b.jpg"))
    multi = workspace.convert([json.dumps(multilabel_record(tags, [2, 0]))], classes=PETS,
                              images=False, out=tmp_path / "multi")  # fmt: skip
    single = workspace.convert([json.dumps(classification_record(pet, 1, "cat"))],
                               classes=PETS, images=False, out=tmp_path / "single")  # fmt: skip

    # Then the multi-label line has image-class-0 and image-class-1, one label each (id order)
    (entry,) = manifest_lines(multi, REKOGNITION, TRAIN)
    assert sorted(entry) == [
        "image-class-0", "image-class-0-metadata", "image-class-1", "image-class-1-metadata",
        "source-ref",
    ]  # fmt: skip
    assert entry["image-class-0-metadata"]["class-name"] == "dog"
    assert entry["image-class-1-metadata"]["class-name"] == "bird"
    # And the single-label line one image-class pair naming its class
    (entry,) = manifest_lines(single, REKOGNITION, TRAIN)
    assert sorted(entry) == ["image-class", "image-class-metadata", "source-ref"]
    assert entry["image-class"] == 1
    assert entry["image-class-metadata"]["class-name"] == "cat"
    assert entry["image-class-metadata"]["type"] == CLASSIFICATION_TYPE
    assert entry["source-ref"] == BASE + "train/cat/b.jpg"


def test_an_image_without_label_is_excluded_as_no_labels_and_size_is_unchecked(
    tmp_path: Path,
) -> None:
    # Given multi-label images, one labeled with nothing
    workspace = ExportWorkspace(tmp_path)
    lines = _multilabel_lines(workspace, 3)
    lines.append(json.dumps(multilabel_record(workspace.image(ref("tags/none.jpg")), [])))

    # When converting them
    dataset = workspace.convert(lines, classes=PETS, images=False)

    # Then the unlabeled one is left out as no_labels (the YOLO dataset still has it)
    entry = export_entry(dataset, REKOGNITION)
    assert entry["excluded"] == {"no_labels": 1}
    assert dataset.report["images"] == 4
    assert len(manifest_lines(dataset, REKOGNITION, TRAIN)) == 3
    # And what classification rows cannot tell is said: no pixel size was checked
    assert entry["unchecked"] == ["file_size", "image_size", "aspect_ratio"]
    assert entry["size_unchecked_images"] == 3


def test_detection_lists_only_the_file_size_as_unchecked(tmp_path: Path) -> None:
    dataset = ExportWorkspace(tmp_path).convert(_detection_lines(3), images=False)
    entry = export_entry(dataset, REKOGNITION)
    assert entry["unchecked"] == ["file_size"]
    assert entry["size_unchecked_images"] == 0


def test_video_frames_are_image_lines_of_the_frames_in_the_dataset(tmp_path: Path) -> None:
    # Given a tracking job of one sequence, its frames 96x64 px
    workspace = VideoExportWorkspace(tmp_path)
    boxes = {i: [tracked(0, 5 + i, 5, 20, 20, object_id="car-1")] for i in range(3)}
    clip = workspace.clip("seq-a", boxes, size=(96, 64))

    # When converting it with the export
    dataset = workspace.convert([clip])

    # Then each kept frame is a detection line naming its image in the dataset
    lines = manifest_lines(dataset, REKOGNITION, TRAIN) + manifest_lines(dataset, REKOGNITION, TEST)
    assert len(lines) == 3 and manifest_problems(lines) == []
    for entry in lines:
        assert (dataset.root / image_path(entry["source-ref"])).is_file()
        assert entry["bounding-box-metadata"]["class-map"] == {"0": "car"}


# --- the limits, at the writer: rows in, lines and counts out -----------------------------------


def _row(
    name: str = "images/train/a.jpg", width: int = 640, height: int = 480, boxes: int = 1,
    class_id: int = 0,
) -> dict[str, Any]:  # fmt: skip
    return {
        "file_name": name, "width": width, "height": height,
        "boxes": [{"class_id": class_id, "bbox": [1, 1, 10, 10]} for _ in range(boxes)],
    }  # fmt: skip


def _write(
    tmp_path: Path,
    rows: Sequence[tuple[Split, dict[str, Any]]],
    classes: Sequence[str] = PETS,
    task: LabelTask = LabelTask.BOUNDING_BOX,
    splits: Sequence[Split] = (Split.TRAIN, Split.VAL, Split.TEST),
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The rows through the writer: report.json's entry, and each manifest's lines."""
    storage = LocalStorage(tmp_path / "out")
    context = ExportContext(tuple(classes), task, tuple(splits), BASE)
    report: dict[str, Any] = {}
    with RekognitionWriter(storage, splits, context) as writer:
        for split, row in rows:
            writer.consume(split, row)
        writer.write_summary(classes, splits, report)
    folder = tmp_path / "out/exports/rekognition"
    texts = {n: (folder / n).read_text(encoding="utf-8").splitlines() for n in (TRAIN, TEST)}
    return report["exports"]["rekognition"], texts


LIMITS = [
    (_row(width=63, height=100), "image_too_small"),
    (_row(width=100, height=63), "image_too_small"),
    (_row(width=64, height=64), None),
    (_row(width=4096, height=4096), None),
    (_row(width=4097, height=200), "image_too_large"),
    (_row(width=200, height=4097), "image_too_large"),
    (_row(width=1280, height=64), None),  # 20:1
    (_row(width=1281, height=64), "aspect_ratio"),
    (_row(width=64, height=1281), "aspect_ratio"),
    (_row(boxes=50), None),
    (_row(boxes=51), "too_many_boxes"),
    (_row(boxes=0), None),  # Rekognition takes an image without boxes (0 at least)
    (_row("images/train/a.gif"), "unsupported_format"),
    (_row("images/train/a.webp"), "unsupported_format"),
    (_row("images/train/a.PNG"), None),
    (_row("images/train/a.jpeg"), None),
]


@pytest.mark.parametrize(("row", "reason"), LIMITS)
def test_an_image_past_a_documented_limit_is_excluded_and_counted(
    tmp_path: Path, row: dict[str, Any], reason: str | None
) -> None:
    # Given an ordinary image and one at a limit's boundary
    # When writing both
    entry, texts = _write(
        tmp_path, [(Split.TRAIN, _row("images/train/ok.jpg")), (Split.TRAIN, row)]
    )

    # Then one past the limit is left out and counted by its reason; one at it is written
    assert entry["excluded"] == ({reason: 1} if reason else {})
    assert len(texts[TRAIN]) == (1 if reason else 2)
    assert manifest_problems([json.loads(t) for t in texts[TRAIN]]) == []


def test_an_image_naming_a_class_past_the_first_250_is_excluded(tmp_path: Path) -> None:
    # Given a dataset of 251 classes: images of class 249 and of class 250
    classes = [f"class{i}" for i in range(251)]
    rows = [(Split.TRAIN, _row("images/train/a.jpg", class_id=249)),
            (Split.TRAIN, _row("images/train/b.jpg", class_id=250))]  # fmt: skip
    labels = [(Split.TRAIN, {"file_name": "train/c/x.jpg", "labels": [3, 250],
                             "multilabel": True})]  # fmt: skip

    # When writing them (boxes, and image-level labels)
    boxes, texts = _write(tmp_path / "boxes", rows, classes)
    tags, _ = _write(tmp_path / "tags", labels, classes, LabelTask.IMAGE_CLASSIFICATION_MULTILABEL)

    # Then the class-250 images are left out (the manifest holds at most 250 labels)
    assert boxes["excluded"] == {"too_many_dataset_labels": 1}
    assert [json.loads(t)["source-ref"] for t in texts[TRAIN]] == [BASE + "images/train/a.jpg"]
    assert tags["excluded"] == {"too_many_dataset_labels": 1}


def test_an_image_with_more_than_50_labels_is_excluded(tmp_path: Path) -> None:
    classes = [f"class{i}" for i in range(60)]
    rows = [(Split.TRAIN, {"file_name": f"images/train/{n}.jpg", "labels": list(range(n)),
                           "multilabel": True}) for n in (50, 51)]  # fmt: skip
    entry, texts = _write(tmp_path, rows, classes, LabelTask.IMAGE_CLASSIFICATION_MULTILABEL)
    assert entry["excluded"] == {"too_many_labels": 1}
    assert len(json.loads(texts[TRAIN][0])) == 1 + 2 * 50


def test_a_full_manifest_excludes_the_rest_val_lines_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a test manifest that holds 3 lines, and val and test images handed over interleaved
    monkeypatch.setattr(rekognition, "MAX_LINES", 3)
    rows = [(Split.TEST if i % 2 else Split.VAL, _row(f"images/x/{i}.jpg")) for i in range(6)]
    rows.append((Split.TRAIN, _row("images/train/a.jpg")))

    # When writing them
    entry, texts = _write(tmp_path, rows)

    # Then the val images come first, and those past the limit are counted manifest_full
    assert [json.loads(t)["source-ref"][-5:] for t in texts[TEST]] == ["0.jpg", "2.jpg", "4.jpg"]
    assert entry["excluded"] == {"manifest_full": 3}
    assert len(texts[TRAIN]) == 1


def test_a_manifest_stops_before_a_line_past_its_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a training manifest that holds the bytes of exactly two lines
    _write(tmp_path / "probe", [(Split.TRAIN, _row("images/train/0.jpg"))])
    line_size = len((tmp_path / "probe/out/exports/rekognition/train.manifest").read_bytes())
    monkeypatch.setattr(rekognition, "MAX_BYTES", 2 * line_size)

    # When writing three images whose lines have that size
    rows = [(Split.TRAIN, _row(f"images/train/{i}.jpg")) for i in range(3)]
    entry, texts = _write(tmp_path / "full", rows)

    # Then two are written, the third counted manifest_full
    assert len(texts[TRAIN]) == 2
    assert entry["excluded"] == {"manifest_full": 1}


# --- dataset-level warnings ---------------------------------------------------------------------


def test_a_classification_dataset_of_one_label_is_warned_of(tmp_path: Path) -> None:
    rows = [(split, {"file_name": f"{split}/dog/{split}.jpg", "labels": [0], "multilabel": False})
            for split in (Split.TRAIN, Split.VAL)]  # fmt: skip
    entry, _ = _write(tmp_path, rows, task=LabelTask.IMAGE_CLASSIFICATION)
    needs = "label(s): Rekognition needs at least 2 in a classification dataset"
    assert [w for w in entry["warnings"] if "at least 2" in w] == [
        f"train.manifest holds 1 {needs}",
        f"test.manifest holds 1 {needs}",
    ]


def test_test_labels_mostly_absent_from_training_are_warned_of(tmp_path: Path) -> None:
    # Given training images of class 0 only, test images of classes 1, 2, 3 (and 0)
    rows = [(Split.TRAIN, _row("images/train/a.jpg", class_id=0))]
    rows += [(Split.VAL, _row(f"images/val/{i}.jpg", class_id=i)) for i in range(4)]

    # When writing them
    entry, _ = _write(tmp_path, rows)

    # Then the overlap under 50% is said
    assert any("overlap of at least 50%" in w for w in entry["warnings"])
    # And a test set whose labels are all trained on is not
    fine, _ = _write(tmp_path / "fine", rows[:2])
    assert fine["warnings"] == []


def test_an_empty_test_manifest_is_warned_of(tmp_path: Path) -> None:
    entry, texts = _write(tmp_path, [(Split.TRAIN, _row())], splits=(Split.TRAIN, Split.VAL))
    assert texts[TEST] == []
    assert any("test.manifest is empty" in w for w in entry["warnings"])
