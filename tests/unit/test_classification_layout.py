"""Image classification -> an Ultralytics classification dataset: folders are the labels.

Single label: `<split>/<class folder>/<image path>`, a folder for every class in every split,
classes.txt in the job's label-config order, and report.json telling the class ids Ultralytics
will use (its sorted folder names). Multi-label: `images/<split>/<path>` and labels.csv, one 0/1
column per class in label-config order.
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
from pathlib import Path

import pytest
from gt2yolo.paths import name_key
from gt2yolo.tasks.classify.yolo import class_folders
from gt_builders import Dataset, ref, verification
from hypothesis import given
from hypothesis import strategies as st
from task_builders import PETS, MirrorWorkspace, classification_record, multilabel_record


@pytest.fixture
def mirror(tmp_path: Path) -> MirrorWorkspace:
    return MirrorWorkspace(tmp_path)


def _lines(mirror: MirrorWorkspace, labels: dict[str, str | int]) -> list[str]:
    """Single-label lines, path -> class name (or a bare class index), their images mirrored."""
    lines = []
    for path, label in labels.items():
        source_ref = mirror.image(ref(path))
        if isinstance(label, int):
            record = classification_record(source_ref, label, None)
        else:
            record = classification_record(source_ref, (*PETS, label).index(label), label)
        lines.append(json.dumps(record))
    return lines


def _labels_csv(dataset: Dataset) -> list[list[str]]:
    return list(csv.reader(io.StringIO(dataset.text("labels.csv"))))


# --- single label -------------------------------------------------------------------------------


def test_single_label_images_land_in_split_class_folder_image_path(mirror: MirrorWorkspace) -> None:
    # Given a dog and a cat sharing a file name in two folders, and a bird
    lines = _lines(mirror, {"a/x.jpg": "dog", "b/x.jpg": "cat", "c/d/y.jpg": "bird"})

    # When converting, every image in train
    dataset = mirror.convert(lines, classes=PETS)

    # Then each image is copied to train/<class>/<its path below the common folder>
    expected = {"train/dog/a/x.jpg": "a/x.jpg", "train/cat/b/x.jpg": "b/x.jpg",
                "train/bird/c/d/y.jpg": "c/d/y.jpg"}  # fmt: skip
    for key, source in expected.items():
        assert (dataset.root / key).read_bytes() == mirror.path(ref(source)).read_bytes()
    assert {row["image"] for row in dataset.images} == set(expected)
    assert sorted(dataset.text("train.txt").splitlines()) == sorted(f"./{k}" for k in expected)
    # And there are no detection folders or files
    assert not (dataset.root / "images").exists() and not (dataset.root / "labels").exists()
    assert not (dataset.root / "data.yaml").exists()


def test_every_class_folder_exists_in_every_split_even_without_images(
    mirror: MirrorWorkspace,
) -> None:
    # Given 24 images of three classes, and a fourth class (fish) no image has
    lines = _lines(mirror, {f"p{i}.jpg": PETS[i % 3] for i in range(24)})

    # When converting into train, val and test
    dataset = mirror.convert(lines, classes=PETS, val=0.3, test=0.2)

    # Then every split holds a folder for every class, kept by an empty .keep file
    for split in ("train", "val", "test"):
        folders = {p.name for p in (dataset.root / split).iterdir() if p.is_dir()}
        assert folders == set(PETS), split
        for folder in PETS:
            assert (dataset.root / split / folder / ".keep").read_bytes() == b""
    assert [p.name for p in (dataset.root / "train/fish").iterdir()] == [".keep"]
    assert sum(dataset.report["images_per_split"].values()) == 24


def test_classes_txt_and_class_ids_follow_the_label_config_order(mirror: MirrorWorkspace) -> None:
    # Given a label config ordering dog, cat, bird, fish (not alphabetical)
    lines = _lines(mirror, {"a.jpg": "bird", "b.jpg": "dog", "c.jpg": "cat"})

    # When converting
    dataset = mirror.convert(lines, classes=PETS)

    # Then classes.txt keeps that order, and annot.csv's class ids are positions in it
    assert dataset.text("classes.txt") == "dog\ncat\nbird\nfish\n"
    assert {row["img_file"]: row["class_id"] for row in dataset.annot} == {
        "train/bird/a.jpg": "2", "train/dog/b.jpg": "0", "train/cat/c.jpg": "1",
    }  # fmt: skip


def test_annot_csv_holds_one_row_per_converted_image(mirror: MirrorWorkspace) -> None:
    # Given five labeled images and a line whose task failed
    lines = _lines(mirror, {f"{name}.jpg": "cat" for name in "abcde"})
    lines.append(
        json.dumps({"source-ref": ref("f.jpg"), "animal-metadata": {"failure-reason": "x"}})
    )

    # When converting
    dataset = mirror.convert(lines, classes=PETS)

    # Then annot.csv and images.csv have a row per converted image, in line order
    expected = [ref(f"{name}.jpg") for name in "abcde"]
    assert [row["source_ref"] for row in dataset.annot] == expected
    assert [row["source_ref"] for row in dataset.images] == expected
    assert [row["category"] for row in dataset.annot] == ["cat"] * 5
    assert dataset.report["rejected"] == {"failed_object": 1}


def test_report_counts_images_per_class_and_gives_ultralytics_sorted_folder_ids(
    mirror: MirrorWorkspace,
) -> None:
    # Given dogs, a cat and a bird, and no fish
    lines = _lines(mirror, {"a.jpg": "dog", "b.jpg": "dog", "c.jpg": "cat", "d.jpg": "bird"})

    # When converting
    dataset = mirror.convert(lines, classes=PETS)

    # Then report.json counts the images of each class, in label-config order
    section = dataset.report["classification"]
    assert section["images_per_class"] == {"dog": 2, "cat": 1, "bird": 1, "fish": 0}
    assert list(section["class_folders"]) == list(PETS)
    assert dataset.report["task"] == "classify"
    # And the ids Ultralytics gives are the positions of the sorted folder names under train/
    folders = sorted(p.name for p in (dataset.root / "train").iterdir() if p.is_dir())
    by_folder = {section["class_folders"][name]: name for name in PETS}
    assert section["ultralytics_class_ids"] == {by_folder[f]: i for i, f in enumerate(folders)}
    assert section["ultralytics_class_ids"] == {"bird": 0, "cat": 1, "dog": 2, "fish": 3}


@pytest.mark.parametrize(
    ("label", "named"),
    [("wolf", "class wolf (class_not_in_config)"), (9, "class id 9 (unknown_class_id)")],
)
def test_an_image_of_an_unknown_class_is_rejected_and_not_copied(
    mirror: MirrorWorkspace, label: str | int, named: str
) -> None:
    # Given a dog, and an image of a class the label config lacks (by name, or an unnamed index)
    lines = _lines(mirror, {"dog.jpg": "dog", "odd.jpg": label})

    # When converting
    dataset = mirror.convert(lines, classes=PETS)

    # Then the odd image is a counted unknown_class rejection naming its class, and no file
    (rejection,) = dataset.rejected
    assert (rejection["reason"], rejection["source_ref"]) == ("unknown_class", ref("odd.jpg"))
    assert named in rejection["detail"]
    assert not [name for name in dataset.files() if "odd" in name]
    assert (dataset.root / "train/dog/dog.jpg").is_file()


LONG_ASCII = "a" * 256  # 256 bytes
LONG_UTF8 = "猫" * 86  # 86 characters, 258 bytes of UTF-8
JUST_FITS = "é" * 127 + "x"  # 255 bytes


@pytest.mark.parametrize("long_name", [LONG_ASCII, LONG_UTF8], ids=["ascii", "utf-8"])
@pytest.mark.parametrize("from_config", [True, False], ids=["label-config", "lines"])
def test_a_class_whose_folder_name_is_too_long_rejects_its_lines_unsafe_path_and_the_run_goes_on(
    mirror: MirrorWorkspace, long_name: str, from_config: bool
) -> None:
    # Given a dog, a class whose name is over 255 bytes of UTF-8 and one of exactly 255
    names = (*PETS, long_name, JUST_FITS)
    lines = []
    for path, label in {"dog.jpg": "dog", "long.jpg": long_name, "fits.jpg": JUST_FITS}.items():
        record = classification_record(mirror.image(ref(path)), names.index(label), label)
        lines.append(json.dumps(record))

    # When converting, the long class named by the label config or only by the lines
    dataset = mirror.convert(lines, classes=names if from_config else None)

    # Then the long class's line is a counted unsafe_path rejection, and nothing of it is written
    (rejection,) = dataset.rejected
    assert (rejection["reason"], rejection["source_ref"]) == ("unsafe_path", ref("long.jpg"))
    assert "bytes (at most 255)" in rejection["detail"]
    assert dataset.report["rejected"] == {"unsafe_path": 1}
    assert not [name for name in dataset.files() if "long" in name or long_name[:10] in name]
    # And the others convert; the class keeps its id in classes.txt but has no folder
    assert (dataset.root / "train/dog/dog.jpg").is_file()
    assert (dataset.root / f"train/{JUST_FITS}/fits.jpg").is_file()
    classes = dataset.text("classes.txt").splitlines()
    assert long_name in classes and JUST_FITS in classes
    section = dataset.report["classification"]
    assert long_name not in section["class_folders"]
    assert long_name not in section["ultralytics_class_ids"]
    folders = sorted(p.name for p in (dataset.root / "train").iterdir() if p.is_dir())
    by_folder = {folder: name for name, folder in section["class_folders"].items()}
    assert section["ultralytics_class_ids"] == {by_folder[f]: i for i, f in enumerate(folders)}
    # And report.json warns, naming the class
    assert any("bytes (at most 255)" in w and long_name[:20] in w
               for w in dataset.report["warnings"])  # fmt: skip


def test_a_case_collision_suffix_that_makes_a_class_folder_too_long_rejects_its_lines(
    mirror: MirrorWorkspace,
) -> None:
    # Given two classes of 254 bytes equal ignoring case: the second's folder gets `~2`
    upper, lower = "A" * 254, "a" * 254
    lines = [
        json.dumps(classification_record(mirror.image(ref(f"{i}.jpg")), i, name))
        for i, name in enumerate([upper, lower])
    ]

    # When converting
    dataset = mirror.convert(lines, classes=(upper, lower))

    # Then the first converts and the second, whose folder would be 256 bytes, is rejected
    assert (dataset.root / f"train/{upper}/0.jpg").is_file()
    assert [(r["reason"], r["source_ref"]) for r in dataset.rejected] == [
        ("unsafe_path", ref("1.jpg"))
    ]


# --- class folders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "folders"),
    [
        (["a/b", "c\\d"], ["a%2Fb", "c%5Cd"]),
        ([".."], ["%2E%2E"]),
        (["."], ["%2E"]),
        ([".hidden"], ["%2Ehidden"]),
        (['a<b>c:d"e|f?g*h'], ["a%3Cb%3Ec%3Ad%22e%7Cf%3Fg%2Ah"]),
        (["tab\there", "bell\x07"], ["tab%09here", "bell%07"]),
        (["dog ", "dog."], ["dog%20", "dog%2E"]),
        (["50%", "50%25"], ["50%25", "50%2525"]),
        (["Cat", "cat", "CAT"], ["Cat", "cat~2", "CAT~3"]),
        (["ねこ", "golden retriever"], ["ねこ", "golden retriever"]),
        # Windows device names, with or without an extension, whatever their case
        (["CON", "nul.txt", "Com1", "LPT9"], ["%43ON", "%6Eul.txt", "%43om1", "%4CPT9"]),
        (["console", "com10"], ["console", "com10"]),
    ],
)
def test_class_folders_escape_what_no_folder_name_may_hold(
    names: list[str], folders: list[str]
) -> None:
    # Given class names that are unsafe or colliding as folder names
    # When naming their folders
    # Then they are escaped, or numbered when equal ignoring case, and safe names kept
    assert list(class_folders(names)) == folders


# Separators, Windows' reserved characters and control characters.
NO_FOLDER_CHARS = set('/\\<>:"|?*\x7f') | {chr(c) for c in range(32)}
_NAMES = st.lists(
    st.text(min_size=1, max_size=12).filter(lambda n: n.strip() and n.splitlines() == [n]),
    min_size=1, max_size=8, unique=True,
)  # fmt: skip


@given(names=_NAMES)
def test_class_folders_are_safe_and_distinct_ignoring_case_for_any_names(names: list[str]) -> None:
    folders = class_folders(names)
    assert len({name_key(f) for f in folders}) == len(names)
    for folder in folders:
        assert not set(folder) & NO_FOLDER_CHARS
        assert not folder.startswith(".") and not folder.endswith((" ", "."))


@given(names=st.lists(st.text(string.ascii_letters + "-_ ", min_size=1, max_size=8), max_size=6))
def test_class_folders_keep_plain_names_distinct_ignoring_case(names: list[str]) -> None:
    # Plain: letters, `-`, `_` and inner spaces, and not a Windows device name (CON, NUL, ...)
    plain = list({
        name_key(n): n for n in names
        if n.strip(" ") == n and n and not WINDOWS_DEVICE.fullmatch(n)
    }.values())  # fmt: skip
    assert list(class_folders(plain)) == plain


WINDOWS_DEVICE = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])", re.IGNORECASE)


# --- multi-label --------------------------------------------------------------------------------


def test_multilabel_images_go_to_images_split_and_labels_csv_has_a_0_1_column_per_class(
    mirror: MirrorWorkspace,
) -> None:
    # Given images with two classes (one listed twice), none, and one class
    chosen = {"a/x.jpg": [2, 0, 2], "b.jpg": [], "c.jpg": [1]}
    lines = [json.dumps(multilabel_record(mirror.image(ref(p)), ids)) for p, ids in chosen.items()]

    # When converting
    dataset = mirror.convert(lines, classes=PETS)

    # Then each image is under images/<split>/<path>, and labels.csv holds a row per image
    assert _labels_csv(dataset) == [
        ["image", "split", "dog", "cat", "bird", "fish"],
        ["images/train/a/x.jpg", "train", "1", "0", "1", "0"],
        ["images/train/b.jpg", "train", "0", "0", "0", "0"],
        ["images/train/c.jpg", "train", "0", "1", "0", "0"],
    ]
    for row in _labels_csv(dataset)[1:]:
        assert (dataset.root / row[0]).is_file()
    # And the image without a class is an image, counted as such; no class folders exist
    section = dataset.report["classification"]
    assert section["multilabel"] is True
    assert section["images_per_class"] == {"dog": 1, "cat": 1, "bird": 1, "fish": 0}
    assert section["images_without_class"] == 1
    assert not (dataset.root / "train").exists()
    assert [row["class_id"] for row in dataset.annot] == ["2;0", "", "1"]


def test_multilabel_without_label_config_takes_its_columns_from_the_class_maps(
    mirror: MirrorWorkspace,
) -> None:
    # Given no label config: sparse class-maps name ids 0, 2 and 1
    chosen = {"a.jpg": [0, 2], "b.jpg": [1]}
    lines = [json.dumps(multilabel_record(mirror.image(ref(p)), ids)) for p, ids in chosen.items()]

    # When converting
    dataset = mirror.convert(lines)

    # Then the columns follow the ids the class-maps give
    assert _labels_csv(dataset)[0] == ["image", "split", "dog", "cat", "bird"]
    assert _labels_csv(dataset)[1:] == [
        ["images/train/a.jpg", "train", "1", "0", "1"],
        ["images/train/b.jpg", "train", "0", "1", "0"],
    ]


def test_a_multilabel_class_missing_from_the_config_is_dropped_and_counted(
    mirror: MirrorWorkspace,
) -> None:
    # Given an image labeled dog and wolf, with a config that lacks wolf
    names = ("dog", "wolf")
    lines = [json.dumps(multilabel_record(mirror.image(ref("a.jpg")), [0, 1], names))]

    # When converting
    dataset = mirror.convert(lines, classes=PETS)

    # Then the image keeps dog only, and the dropped label is counted
    assert _labels_csv(dataset)[1] == ["images/train/a.jpg", "train", "1", "0", "0", "0"]
    assert dataset.report["classification"]["dropped_labels"] == {"class_not_in_config": 1}


# --- verification -------------------------------------------------------------------------------


@pytest.mark.parametrize("multilabel", [False, True])
def test_a_verification_job_filters_classification_lines_as_it_filters_boxes(
    mirror: MirrorWorkspace, multilabel: bool
) -> None:
    # Given classification lines verified by a chained job: every other verdict is bad
    lines = []
    for i in range(6):
        source_ref = mirror.image(ref(f"v{i}.jpg"))
        record = (
            multilabel_record(source_ref, [i % 3])
            if multilabel
            else classification_record(source_ref, i % 3, PETS[i % 3])
        )
        record.update(verification("check", "good" if i % 2 else "bad"))
        lines.append(json.dumps(record))

    # When converting with the verification attribute
    dataset = mirror.convert(lines, classes=PETS, verification_attribute="check")

    # Then only the lines verified good are images
    assert [row["source_ref"] for row in dataset.images] == [ref(f"v{i}.jpg") for i in (1, 3, 5)]
    assert dataset.report["rejected"] == {"verification_rejected": 3}
