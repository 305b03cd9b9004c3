"""The dataset's files: exact names, the blog's annot.csv columns, Ultralytics' data.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from gt2yolo.split import Split
from gt2yolo.writers import data_yaml
from gt_builders import Dataset, Workspace, box, line, ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SUMMARY_FILES = {
    "data.yaml", "obj.data", "classes.txt", "annot.csv", "images.csv", "train.txt", "val.txt",
    "report.json", "rejected.jsonl",
}  # fmt: skip
BLOG_COLUMNS = [
    "img_file", "category", "box_left", "box_top", "box_height", "box_width", "img_width",
    "img_height",
]  # fmt: skip


def _small_dataset(workspace: Workspace) -> Dataset:
    lines = [
        line(ref("a/x.jpg"), [box(0, 111, 134, 61, 128), box(1, 10.5, 0, 20, 30)], confidences=[0.8, 0.25]),
        line(ref("b/y.jpg"), []),
        json.dumps({"source-ref": ref("c/never-labeled.jpg")}),
    ]  # fmt: skip
    return workspace.convert(lines, classes=["cat", "dog"], val=0.0, label_attribute="boxes")


def test_the_dataset_has_exactly_the_documented_file_names(workspace: Workspace) -> None:
    # Given a manifest with a labeled, a background and an unlabeled image
    # When converting without images
    dataset = _small_dataset(workspace)

    # Then the summary files and one label file per accepted image exist, and nothing else
    assert dataset.files() == SUMMARY_FILES | {"labels/train/a/x.txt", "labels/train/b/y.txt"}


def test_a_background_image_gets_an_empty_label_file(workspace: Workspace) -> None:
    # Given an image without boxes
    # When converting
    dataset = _small_dataset(workspace)

    # Then its label file exists and is empty (Darknet needs one for every image), it is listed,
    # and it is counted as a background image
    assert dataset.text("labels/train/b/y.txt") == ""
    assert "./images/train/b/y.jpg" in dataset.text("train.txt").splitlines()
    assert dataset.report["background_images"] == 1


def test_an_image_whose_boxes_are_all_dropped_still_gets_its_label_file(
    workspace: Workspace,
) -> None:
    # Given an image whose only box lies outside it
    lines = [line(ref("a.jpg"), [box(left=9000)])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then it becomes a background image rather than disappearing
    assert dataset.text("labels/train/a.txt") == ""
    assert dataset.report["background_images"] == 1


def test_annot_csv_starts_with_the_blog_columns_then_the_extra_columns(
    workspace: Workspace,
) -> None:
    # Given a converted dataset
    dataset = _small_dataset(workspace)

    # When reading annot.csv's header
    header = dataset.text("annot.csv").splitlines()[0].split(",")

    # Then the blog's eight columns come first, in its order, then ours
    assert header[:8] == BLOG_COLUMNS
    assert header[8:12] == ["class_id", "source_ref", "split", "confidence"]


def test_annot_csv_has_one_row_per_drawn_box_with_values_as_drawn(workspace: Workspace) -> None:
    # Given a line with two boxes (one with a fractional left) and a background line
    dataset = _small_dataset(workspace)

    # When reading annot.csv
    rows = dataset.annot

    # Then each drawn box is one row, with the labelers' pixel values, image size and extras
    assert [{k: r[k] for k in [*BLOG_COLUMNS, "class_id", "split", "confidence"]} for r in rows] == [
        {"img_file": "a/x.jpg", "category": "cat", "box_left": "111", "box_top": "134",
         "box_height": "128", "box_width": "61", "img_width": "500", "img_height": "400",
         "class_id": "0", "split": "train", "confidence": "0.8"},
        {"img_file": "a/x.jpg", "category": "dog", "box_left": "10.5", "box_top": "0",
         "box_height": "30", "box_width": "20", "img_width": "500", "img_height": "400",
         "class_id": "1", "split": "train", "confidence": "0.25"},
    ]  # fmt: skip
    assert {r["source_ref"] for r in rows} == {ref("a/x.jpg")}


def test_annot_csv_lists_dropped_boxes_with_their_reason_and_no_class_id(
    workspace: Workspace,
) -> None:
    # Given a box outside the image
    lines = [line(ref("a.jpg"), [box(left=9000)])]

    # When converting
    row = workspace.convert(lines, classes=["cat"]).annot[0]

    # Then its row keeps the drawn values, names the reason and has no class id
    assert (row["box_left"], row["status"], row["class_id"]) == (
        "9000",
        "dropped:outside_image",
        "",
    )


def test_images_csv_has_one_row_per_accepted_image(workspace: Workspace) -> None:
    # Given a converted dataset
    dataset = _small_dataset(workspace)

    # When reading images.csv
    rows = dataset.images

    # Then accepted images appear once with paths relative to the dataset root
    assert list(rows[0])[:7] == [
        "source_ref",
        "image",
        "label",
        "split",
        "width",
        "height",
        "boxes",
    ]
    assert [(r["source_ref"], r["image"], r["label"], r["split"], r["width"], r["height"], r["boxes"]) for r in rows] == [
        (ref("a/x.jpg"), "images/train/a/x.jpg", "labels/train/a/x.txt", "train", "500", "400", "2"),
        (ref("b/y.jpg"), "images/train/b/y.jpg", "labels/train/b/y.txt", "train", "500", "400", "0"),
    ]  # fmt: skip
    assert (rows[0]["manifest"], rows[0]["line"]) == (
        str(workspace.tmp_path / "job1/output.manifest"),
        "1",
    )


def test_data_yaml_is_ultralytics_format_with_split_folders(workspace: Workspace) -> None:
    # Given a dataset
    lines = [line(ref("a.jpg"), [box()])]
    dataset = workspace.convert(lines, classes=["zebra", "apple"])

    # When data.yaml is parsed as Ultralytics does (yaml.safe_load)
    document = yaml.safe_load(dataset.text("data.yaml"))

    # Then train and val are the split's image folders, names keyed by class id
    assert (document["train"], document["val"]) == ("images/train", "images/val")
    assert document["names"] == {0: "zebra", 1: "apple"}
    assert document["nc"] == 2


def test_data_yaml_has_no_path_so_a_copied_dataset_reads_its_own_files(
    workspace: Workspace,
) -> None:
    # Given a dataset converted locally (an absolute path would send a copy to the original)
    dataset = workspace.convert([line(ref("a.jpg"), [box()])])

    # When data.yaml is parsed
    document = yaml.safe_load(dataset.text("data.yaml"))

    # Then there is no path key: Ultralytics and labelformat use the yaml's folder
    assert "path" not in document
    assert "/" + str(workspace.tmp_path).strip("/") not in dataset.text("data.yaml")


def test_obj_data_is_darknet_format(workspace: Workspace) -> None:
    # Given a dataset with three classes and a test split
    lines = [line(ref(f"{i}.jpg"), [box()]) for i in range(20)]
    dataset = workspace.convert(lines, classes=["zebra", "apple", "cat"], test=0.2)

    # When obj.data is read as Darknet does (key = value lines)
    entries = dict(
        (part.strip() for part in row.split("=", 1))
        for row in dataset.text("obj.data").splitlines()
    )

    # Then it names the class count, the train and valid lists, the names file and backup/
    assert entries == {
        "classes": "3", "train": "train.txt", "valid": "val.txt", "names": "classes.txt",
        "backup": "backup/",
    }  # fmt: skip
    assert dataset.text("classes.txt") == "zebra\napple\ncat\n"


def test_data_yaml_of_a_dataset_without_classes_has_empty_names_not_null(
    workspace: Workspace,
) -> None:
    # Given background images only, and no class-map or config to name any class
    dataset = workspace.convert([line(ref("a.jpg"), [], class_map=None)], label_attribute="boxes")

    # When data.yaml is parsed
    document = yaml.safe_load(dataset.text("data.yaml"))

    # Then names is an empty mapping (a bare `names:` would be null) and nc is 0
    assert (document["names"], document["nc"]) == ({}, 0)
    assert dataset.text("classes.txt") == ""


AWKWARD_NAMES = [
    'say "hi"', "a: b", "key: {x}", "#hash", "- dash", "yes", "null", "1.5", "it's", "back\\slash",
    "猫", "chat noir", "🐱 cat", "tab\tinside", "[list]", "&anchor", "*alias", "!tag", "%pct",
    "@at", "`tick`", "|pipe", ">fold", " lead", "trail ", "~", "x\x7fdel", "c1\x9bchar",
]  # fmt: skip


def test_class_names_with_quotes_colons_and_unicode_survive_data_yaml(
    workspace: Workspace,
) -> None:
    # Given class names YAML would misread unquoted
    lines = [line(ref("a.jpg"), [box()], class_map={"0": AWKWARD_NAMES[0]})]

    # When converting with them as the config
    dataset = workspace.convert(lines, classes=AWKWARD_NAMES)

    # Then data.yaml parses back to exactly those names, in order, and classes.txt too
    assert yaml.safe_load(dataset.text("data.yaml"))["names"] == dict(enumerate(AWKWARD_NAMES))
    assert dataset.text("classes.txt").split("\n")[:-1] == AWKWARD_NAMES


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5, unique=True))
def test_any_one_line_class_name_survives_data_yaml(names: list[str]) -> None:
    # Given any class names that fit on one line (what the config accepts)
    names = [n for n in names if n.strip() and n.splitlines() == [n]] or ["cat"]

    # When data.yaml is written
    document = yaml.safe_load(data_yaml(names, [Split.TRAIN, Split.VAL]))

    # Then the names parse back unchanged
    assert document["names"] == dict(enumerate(names))


def test_classes_txt_has_one_name_per_line_in_id_order(workspace: Workspace) -> None:
    # Given a config
    dataset = workspace.convert([line(ref("a.jpg"), [box()])], classes=["zebra", "apple", "cat"])

    # When reading classes.txt (Darknet's obj.names)
    # Then it lists the names in id order, one per line
    assert dataset.text("classes.txt") == "zebra\napple\ncat\n"


def test_image_lists_name_every_image_of_their_split_relative_to_the_dataset(
    workspace: Workspace,
) -> None:
    # Given 50 images split into train and val
    lines = [line(ref(f"f/{i}.jpg"), [box()]) for i in range(50)]

    # When converting
    dataset = workspace.convert(lines)

    # Then each list holds `./images/<split>/<path>` for exactly its split's images
    for split in ("train", "val"):
        listed = dataset.text(f"{split}.txt").splitlines()
        expected = ["./" + r["image"] for r in dataset.images if r["split"] == split]
        assert listed == expected
        assert all(entry.startswith(f"./images/{split}/") for entry in listed)
        assert len(listed) == dataset.report["images_per_split"][split]


def test_report_json_counts_everything(workspace: Workspace) -> None:
    # Given a dataset with kept, dropped, clamped boxes and a rejected line
    lines = [
        line(ref("a.jpg"), [box(0), box(1, left=-5), box(0, left=9000)]),
        line(ref("b.jpg"), []),
        "not json",
    ]

    # When converting
    report = workspace.convert(lines, classes=["cat", "dog"], val=0.0).report

    # Then report.json holds the documented keys with their counts
    assert {
        k: report[k]
        for k in ["images", "boxes", "rejected", "dropped_boxes", "clamped_boxes", "classes",
                  "boxes_per_class"]
    } == {
        "images": 2, "boxes": 2, "rejected": {"malformed_json": 1},
        "dropped_boxes": {"outside_image": 1}, "clamped_boxes": 1, "classes": ["cat", "dog"],
        "boxes_per_class": {"cat": 1, "dog": 1},
    }  # fmt: skip
    assert report["images_per_split"]["train"] == 2
    assert report["images_per_split"].get("val", 0) == 0


def test_report_json_says_partial_only_for_the_labels_so_far_of_a_job_in_progress(
    workspace: Workspace, tmp_path: Path
) -> None:
    # Given one manifest converted as a complete dataset and as a partial (live) one
    manifest = workspace.manifest([line(ref("a.jpg"), [box(0)]), line(ref("b.jpg"), [])])
    complete = workspace.convert(manifest, classes=["cat", "dog"]).report
    workspace.out = tmp_path / "live"
    report = workspace.convert(manifest, classes=["cat", "dog"], partial=True).report
    # Then only the partial report has the key, and it differs by that key alone
    assert "partial" not in complete
    assert report.pop("partial") is True
    assert report == complete


def test_nothing_is_written_outside_the_dataset_folder(workspace: Workspace) -> None:
    # Given a manifest with traversal attempts among good lines
    lines = [
        line(ref("a.jpg"), [box()]),
        line("s3://bucket/jobs/photos/../../../../escape.jpg", [box()]),
        line("s3://bucket/jobs/photos/%2e%2e/x.jpg", [box()]),
    ]
    before = {p for p in workspace.tmp_path.rglob("*")}

    # When converting
    dataset = workspace.convert(lines)

    # Then every new file is inside the dataset folder (or is the manifest)
    created = {p for p in workspace.tmp_path.rglob("*") if p.is_file()} - before
    outside = [p for p in created if not p.is_relative_to(dataset.root) and p.suffix != ".manifest"]
    assert outside == []
    assert dataset.report["rejected"] == {"unsafe_path": 1}
    assert not any(Path(p).name == "escape.txt" for p in workspace.tmp_path.rglob("*"))
