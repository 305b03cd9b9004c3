"""Properties of the COCO export over random bounding-box jobs: it is the YOLO dataset again.

For any job (image sizes, boxes out of frame, of zero size, duplicated, of classes the label
config lacks or the class-map does not name, background images, lines the rules reject), the
COCO files of a conversion hold the images of each split images.csv lists, each box the label
file's line, and as many boxes per class as report.json counts. A fan-out of the same input
writes the same COCO bytes as the single pass.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.exports.formats import ExportFormat
from gt2yolo.fanout import Chunk, FanOutPlan, convert_chunk, finalize, plan_fan_out
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage
from gt_builders import Dataset, box, label_config, record, ref
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

NAMES = ("cat", "dog", "bird", "fish")
UNNAMED = 7  # a class id the class-map does not name
CONFIGS = (None, ("dog", "cat", "bird"))  # the manifests' classes, or a config without fish
FOLDERS = ("", "cam 1/", "été/", "100%/", "a/b/")
EXTENSIONS = (".jpg", ".JPG", ".png", ".jpeg")
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def _box(draw: st.DrawFn, width: int, height: int) -> dict[str, Any]:
    """A box anywhere near the image: inside, crossing an edge, outside, of zero size."""
    class_id = draw(st.sampled_from([0, 1, 2, 3, 3, UNNAMED]))
    left = draw(st.integers(-width // 2, width + 5))
    top = draw(st.integers(-height // 2, height + 5))
    w = draw(st.one_of(st.just(0), st.integers(0, width + 10)))
    h = draw(st.one_of(st.just(0), st.integers(0, height + 10)))
    if draw(st.booleans()):  # fractional pixels, as some tools write them
        left, top = left + 0.25, top + 0.5
    return box(class_id, left, top, w, h)


@st.composite
def _line(draw: st.DrawFn, index: int) -> str:
    width = draw(st.integers(1, 400))
    height = draw(st.integers(1, 400))
    boxes = draw(st.lists(_box(width, height), max_size=4))
    if boxes and draw(st.booleans()):
        boxes.append(dict(draw(st.sampled_from(boxes))))  # a duplicate
    class_map = {str(b["class_id"]): NAMES[b["class_id"]] for b in boxes if b["class_id"] < 4}
    folder = draw(st.sampled_from(FOLDERS))
    extension = draw(st.sampled_from(EXTENSIONS))
    source = ref(f"{folder}img {index}{extension}")
    kind = draw(st.sampled_from(["labeled"] * 6 + ["no size", "cut short"]))
    if kind == "no size":  # rejected: Ground Truth always writes image_size
        return json.dumps(record(source, boxes, width=None, height=height, class_map=class_map))
    text = json.dumps(record(source, boxes, width=width, height=height, class_map=class_map))
    return text[: len(text) // 2] if kind == "cut short" else text  # rejected: not JSON


@st.composite
def _job(draw: st.DrawFn) -> tuple[list[str], tuple[str, ...] | None]:
    """A manifest's lines (a first image every config accepts) and the label config."""
    count = draw(st.integers(0, 7))
    lines = [json.dumps(record(ref("first.jpg"), [box(0)]))]
    lines.extend(draw(_line(i)) for i in range(count))
    return lines, draw(st.sampled_from(CONFIGS))


def _options(classes: tuple[str, ...] | None) -> ConversionOptions:
    return ConversionOptions(
        class_list=None
        if classes is None
        else class_list_from_label_config(label_config(*classes), "data.json"),
        fractions=SplitFractions(val=0.3, test=0.2),
        exports=(ExportFormat.COCO,),
    )


def _write(path: Path, lines: list[str]) -> LocalManifest:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
    return LocalManifest(path)


def _coco(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """Split -> its parsed exports/coco/<split>.json."""
    folder = dataset.root / "exports/coco"
    return {path.stem: json.loads(path.read_text("utf-8")) for path in folder.glob("*.json")}


def _coco_bytes(root: Path) -> dict[str, bytes]:
    folder = root / "exports"
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _events(report: dict[str, Any], rows: dict[str, dict[str, str]]) -> None:
    """What an example exercised (pytest --hypothesis-show-statistics)."""
    for name, happened in {
        "rejected line": report["rejected_lines"] > 0,
        "dropped box": bool(report["dropped_boxes"]),
        "clamped box": report["clamped_boxes"] > 0,
        "background image": any(row["boxes"] == "0" for row in rows.values()),
        "several splits": len([n for n in report["images_per_split"].values() if n]) > 1,
    }.items():
        if happened:
            event(name)
    for reason in report["dropped_boxes"]:
        event(f"dropped box: {reason}")


@SETTINGS
@given(job=_job())
def test_coco_holds_the_yolo_datasets_images_boxes_and_class_counts(
    tmp_path_factory: pytest.TempPathFactory, job: tuple[list[str], tuple[str, ...] | None]
) -> None:
    # Given a random bounding-box job
    lines, classes = job
    root = tmp_path_factory.mktemp("job")
    manifest = _write(root / "output.manifest", lines)

    # When converting it with the COCO export
    convert_manifests([manifest], LocalStorage(root / "dataset"), _options(classes))
    dataset = Dataset(root / "dataset")
    report = dataset.report
    files = _coco(dataset)
    rows = {row["image"]: row for row in dataset.images}
    _events(report, rows)

    # Then each split's file holds the images images.csv gives that split, of their sizes
    for split, document in files.items():
        images = {image["file_name"]: image for image in document["images"]}
        assert len(images) == len(document["images"])
        assert set(images) == {key for key, row in rows.items() if row["split"] == split}
        for key, image in images.items():
            assert (image["width"], image["height"]) == (
                int(rows[key]["width"]),
                int(rows[key]["height"]),
            )
    assert set(report["images_per_split"]) <= set(files)

    # And each image's annotations are its label file's lines: class + 1, the box normalized
    # within 1e-4
    per_class: Counter[str] = Counter()
    for split, document in files.items():
        by_image: dict[int, list[dict[str, Any]]] = {}
        for annotation in document["annotations"]:
            by_image.setdefault(annotation["image_id"], []).append(annotation)
        for image in document["images"]:
            width, height = image["width"], image["height"]
            label = dataset.text(rows[image["file_name"]]["label"]).splitlines()
            annotations = by_image.get(image["id"], [])
            assert len(annotations) == len(label), image["file_name"]
            for annotation, text in zip(annotations, label, strict=True):
                fields = text.split()
                assert annotation["category_id"] == int(fields[0]) + 1
                left, top, w, h = (float(v) for v in annotation["bbox"])
                got = ((left + w / 2) / width, (top + h / 2) / height, w / width, h / height)
                want = [float(v) for v in fields[1:]]
                assert all(abs(a - b) <= 1e-4 for a, b in zip(got, want, strict=True))
                assert annotation["area"] == pytest.approx(w * h)
                per_class[report["classes"][annotation["category_id"] - 1]] += 1

        # And report.json counts what the file holds
        counts = report["exports"]["coco"]["files"][f"exports/coco/{split}.json"]
        assert counts == {"images": len(document["images"]),
                          "annotations": len(document["annotations"])}  # fmt: skip

    # And the boxes per class are report.json's
    assert per_class == Counter({k: v for k, v in report["boxes_per_class"].items() if v})
    assert sum(per_class.values()) == report["boxes"]


def _fan_out(
    manifest: LocalManifest, out: Path, options: ConversionOptions, chunk_bytes: int
) -> FanOutPlan:
    """The chunks (in reverse: they run in parallel) and the merge, the plan through JSON."""
    plan = FanOutPlan.from_json(plan_fan_out([manifest], options, chunk_bytes).to_json())
    storage = LocalStorage(out)
    for item in reversed([c.as_item() for c in plan.chunks]):
        convert_chunk(
            plan, Chunk.from_item(json.loads(json.dumps(item))), manifest, storage, options
        )
    finalize(plan, storage, storage, options)
    return plan


@SETTINGS
@given(job=_job(), chunk_bytes=st.sampled_from([1, 150, 600, 2500]))
def test_a_fan_out_writes_the_coco_files_of_the_single_pass(
    tmp_path_factory: pytest.TempPathFactory,
    job: tuple[list[str], tuple[str, ...] | None],
    chunk_bytes: int,
) -> None:
    # Given a random bounding-box job
    lines, classes = job
    root = tmp_path_factory.mktemp("fan")
    manifest = _write(root / "output.manifest", lines)

    # When converting it in one pass and through a fan-out of small chunks
    convert_manifests([manifest], LocalStorage(root / "single"), _options(classes))
    _fan_out(manifest, root / "fanned", _options(classes), chunk_bytes)

    # Then the COCO files are the same bytes, and report.json says the same of them
    single, fanned = _coco_bytes(root / "single"), _coco_bytes(root / "fanned")
    assert sorted(single) == sorted(fanned)
    assert any(key.endswith("/train.json") for key in single)
    assert fanned == single
    reports = [Dataset(root / name).report["exports"] for name in ("single", "fanned")]
    assert reports[0] == reports[1]
