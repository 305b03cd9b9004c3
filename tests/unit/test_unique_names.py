"""Every distinct image converts: images that would share a label file get distinct names.

The rule (gt2yolo.names): images whose label paths are equal ignoring case form a group; ordered
by source-ref, the first keeps its path and each later one gets the first free `<stem>~<n>.<ext>`
(n = 2, 3, ...). Only the same source-ref on two labeled lines is an error, unless
`--on-duplicate first|last` keeps one line.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.names import OnDuplicate
from gt2yolo.paths import label_path, name_key, numbered_path
from gt2yolo.storage import LocalManifest, LocalStorage
from gt_builders import Dataset, Workspace, box, line, ref
from hypothesis import given, settings
from hypothesis import strategies as st


def _names(dataset: Dataset) -> dict[str, tuple[str, str]]:
    """source-ref -> (image, label) as images.csv records them."""
    return {row["source_ref"]: (row["image"], row["label"]) for row in dataset.images}


def test_images_differing_only_in_extension_both_convert_the_later_source_ref_numbered(
    workspace: Workspace,
) -> None:
    # Given x.jpg (a cat) and x.png (a dog), different pictures sharing the stem
    lines = [
        line(ref("a/x.png"), [box(1)]), line(ref("a/x.jpg"), [box(0)]), line(ref("b/y.jpg"), []),
    ]  # fmt: skip

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"], val=0.0)

    # Then x.jpg (first by source-ref) keeps its name and x.png becomes x~2.png with x~2.txt
    names = _names(dataset)
    assert names[ref("a/x.jpg")] == ("images/train/a/x.jpg", "labels/train/a/x.txt")
    assert names[ref("a/x.png")] == ("images/train/a/x~2.png", "labels/train/a/x~2.txt")
    # And each label file holds its own image's box
    assert dataset.label_rows(ref("a/x.jpg"))[0][0] == "0"
    assert dataset.label_rows(ref("a/x.png"))[0][0] == "1"
    assert dataset.report["renamed_images"] == 1
    assert any("renamed" in warning for warning in dataset.report["warnings"])


def test_images_differing_only_in_case_get_names_distinct_ignoring_case(
    workspace: Workspace,
) -> None:
    # Given Cat.jpg and cat.jpg: two files in S3, one file on macOS and Windows
    lines = [line(ref("cat.jpg"), [box(1)]), line(ref("Cat.jpg"), [box(0)])]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"], val=0.0)

    # Then "Cat.jpg" (C sorts before c) keeps its name and cat.jpg is numbered
    assert _names(dataset) == {
        ref("Cat.jpg"): ("images/train/Cat.jpg", "labels/train/Cat.txt"),
        ref("cat.jpg"): ("images/train/cat~2.jpg", "labels/train/cat~2.txt"),
    }


def test_an_image_without_extension_beside_one_with_an_extension_both_convert(
    workspace: Workspace,
) -> None:
    # Given z and z.jpg, which would both be labeled in z.txt
    lines = [line(ref("z.jpg"), [box(0)]), line(ref("z"), [box(1)])]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"], val=0.0)

    # Then z (shorter, so first) keeps its name and z.jpg is numbered
    assert _names(dataset) == {
        ref("z"): ("images/train/z", "labels/train/z.txt"),
        ref("z.jpg"): ("images/train/z~2.jpg", "labels/train/z~2.txt"),
    }


def test_files_in_folders_differing_only_in_case_are_told_apart(workspace: Workspace) -> None:
    # Given Cats/A.jpg and cats/a.jpg: one folder and one file on a case-insensitive disk
    lines = [line(ref("cats/a.jpg"), [box()]), line(ref("Cats/A.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then the later source-ref's file is numbered: the folders may merge, the files stay apart
    assert _names(dataset)[ref("cats/a.jpg")] == (
        "images/train/cats/a~2.jpg",
        "labels/train/cats/a~2.txt",
    )
    assert _names(dataset)[ref("Cats/A.jpg")][1] == "labels/train/Cats/A.txt"


def test_three_images_sharing_a_label_file_are_numbered_in_source_ref_order(
    workspace: Workspace,
) -> None:
    # Given three spellings of one label path
    lines = [line(ref(p), [box()]) for p in ("x.png", "X.gif", "x.jpg")]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then X.gif < x.jpg < x.png: the first keeps its name, the others get ~2 and ~3
    assert {r: image for r, (image, _) in _names(dataset).items()} == {
        ref("X.gif"): "images/train/X.gif",
        ref("x.jpg"): "images/train/x~2.jpg",
        ref("x.png"): "images/train/x~3.png",
    }


def test_a_numbered_name_skips_a_name_another_image_has(workspace: Workspace) -> None:
    # Given x.jpg and x.png, and an image that is really named x~2.jpg
    lines = [line(ref(p), [box()]) for p in ("x~2.jpg", "x.png", "x.jpg")]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then x.png takes x~3: x~2 belongs to the image that has it
    assert _names(dataset)[ref("x~2.jpg")][0] == "images/train/x~2.jpg"
    assert _names(dataset)[ref("x.png")][0] == "images/train/x~3.png"


def test_a_numbered_name_skips_a_name_a_rejected_line_would_have(workspace: Workspace) -> None:
    # Given x.jpg and x.png, and a never-labeled line for x~2.gif
    unlabeled = json.dumps({"source-ref": ref("x~2.gif")})
    lines = [line(ref("x.jpg"), [box()]), line(ref("x.png"), [box()]), unlabeled]

    # When converting
    dataset = workspace.convert(lines, val=0.0, label_attribute="boxes")

    # Then x.png takes x~3: names depend on the lines, not on which lines convert
    assert _names(dataset)[ref("x.png")][0] == "images/train/x~3.png"


def test_names_differing_only_in_unicode_normalization_are_told_apart(
    workspace: Workspace,
) -> None:
    # Given é composed and é decomposed: two S3 keys, one name on macOS
    composed, decomposed = "caf\u00e9.jpg", "cafe\u0301.jpg"
    lines = [line(ref(composed), [box()]), line(ref(decomposed), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then the decomposed one (U+0065 sorts before U+00E9) keeps its name, the composed one is
    # numbered
    names = _names(dataset)
    assert names[ref(decomposed)][0] == f"images/train/{decomposed}"
    assert names[ref(composed)][0] == "images/train/caf\u00e9~2.jpg"


def test_folders_renamed_for_yolo_loaders_that_meet_a_real_folder_are_told_apart(
    workspace: Workspace,
) -> None:
    # Given an inner images/ folder (renamed images_/) beside a real images_/ folder
    lines = [line(ref("s/images/x.jpg"), [box()]), line(ref("s/images_/x.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then both convert, the later source-ref numbered
    assert {image for image, _ in _names(dataset).values()} == {
        "images/train/images_/x.jpg",
        "images/train/images_/x~2.jpg",
    }


def test_a_rejected_line_does_not_take_a_name_from_an_image(workspace: Workspace) -> None:
    # Given x.jpg as a failed object and x.png labeled
    failed = json.dumps({"source-ref": ref("x.jpg"), "boxes-metadata": {"failure-reason": "x"}})
    lines = [failed, line(ref("x.png"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0, label_attribute="boxes")

    # Then x.png keeps its natural name: only images that convert share label files
    assert _names(dataset) == {ref("x.png"): ("images/train/x.png", "labels/train/x.txt")}
    assert dataset.report["renamed_images"] == 0


def test_names_do_not_depend_on_the_order_of_lines_or_manifests(tmp_path: Path) -> None:
    # Given colliding images spread over two manifests, in two different orders
    paths = ["x.jpg", "x.png", "X.JPG", "z", "z.jpg", "a/Y.jpg", "A/y.png", "x~2.jpg"]
    lines = [line(ref(p), [box()]) for p in paths]

    # When converting them in order, and reversed with the manifests swapped
    first = Workspace(tmp_path / "one").convert(lines[:4], lines[4:])
    second = Workspace(tmp_path / "two").convert(lines[4:][::-1], lines[:4][::-1])

    # Then every source-ref gets the same image and label path
    assert _names(first) == _names(second)
    assert len(_names(first)) == len(paths)


def test_the_same_source_ref_on_two_lines_is_an_error_before_any_file_is_written(
    workspace: Workspace,
) -> None:
    # Given the same image labeled by two jobs
    first = [line(ref("a.jpg"), [box()]), line(ref("dup.jpg"), [box()])]
    second = [line(ref("dup.jpg"), [box(left=50)])]

    # When converting both
    message, _ = workspace.fail(first, second)

    # Then the error names the image and both origins (manifest:line) and suggests the option
    assert ref("dup.jpg") in message
    assert "job1/output.manifest:2" in message
    assert "job2/output.manifest:1" in message
    assert "--on-duplicate" in message
    # And nothing was written: no half dataset to mistake for a whole one
    assert not workspace.out.exists()


@pytest.mark.parametrize(("policy", "kept_line"), [("first", 1), ("last", 3)])
def test_on_duplicate_keeps_one_line_of_a_source_ref_and_rejects_the_others(
    workspace: Workspace, policy: str, kept_line: int
) -> None:
    # Given x.jpg labeled on lines 1 and 3 with different boxes
    lines = [
        line(ref("x.jpg"), [box(0)]),
        line(ref("y.jpg"), [box()]),
        line(ref("x.jpg"), [box(1)]),
    ]

    # When converting with --on-duplicate first / last
    dataset = workspace.convert(
        lines, classes=["cat", "dog"], val=0.0, on_duplicate=OnDuplicate(policy)
    )

    # Then that line's image is in the dataset, once, and the other line is a counted rejection
    assert dataset.image_row(ref("x.jpg"))["line"] == str(kept_line)
    assert dataset.label_rows(ref("x.jpg"))[0][0] == ("0" if policy == "first" else "1")
    assert dataset.report["rejected"] == {"duplicate_source_ref": 1}
    (rejection,) = dataset.rejected
    assert rejection["line"] == 4 - kept_line
    assert f"output.manifest:{kept_line}" in rejection["detail"]
    assert policy in rejection["detail"]


def test_numbered_path_puts_the_number_before_the_last_extension_only() -> None:
    # Given image paths with several dots, none, and a dotted folder
    # When numbered
    # Then the number goes before the last extension of the file name, never into a folder,
    # and the extension is not repeated (Darknet replaces an extension where it first occurs)
    assert numbered_path("a/x.png", 2) == "a/x~2.png"
    assert numbered_path("img.v2.final.jpg", 3) == "img.v2.final~3.jpg"
    assert numbered_path("v1.2/z", 2) == "v1.2/z~2"
    assert label_path(numbered_path("a/x.png", 2)) == "a/x~2.txt"


def test_name_key_ignores_case_and_unicode_normalization() -> None:
    assert name_key("Cats/A.TXT") == name_key("cats/a.txt")
    assert name_key("caf\u00e9") == name_key("cafe\u0301") == name_key("CAF\u00c9")
    assert name_key("x.txt") != name_key("x~2.txt")


# The property: random sets of source-refs built to collide in stem, case and extension.
_FOLDERS = ["", "f/", "F/", "images/", "images_/", ".h/", "_.h/"]
_STEMS = ["x", "X", "x~2", "x.png", "caf\u00e9", "cafe\u0301", "CAF\u00c9", ".x", "_.x"]
_EXTENSIONS = ["", ".jpg", ".JPG", ".png", ".jpeg"]
_KEYS = st.builds(
    lambda folder, stem, extension: f"{folder}{stem}{extension}",
    st.sampled_from(_FOLDERS),
    st.sampled_from(_STEMS),
    st.sampled_from(_EXTENSIONS),
)


def _caseless(path: str) -> str:
    """Unicode's canonical caseless match, spelled out: NFD(casefold(NFD(path)))."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


def _ultralytics_label(image: str) -> str:
    """Ultralytics' img2label_paths: the last /images/ -> /labels/, the extension -> .txt."""
    path = "/" + image
    return ("/labels/".join(path.rsplit("/images/", 1))).rsplit(".", 1)[0][1:] + ".txt"


def _convert(out: Path, keys: list[str]) -> dict[str, tuple[str, str]]:
    manifest = out.with_suffix(".manifest")
    manifest.write_text("".join(line(ref(k), [box()]) + "\n" for k in keys), encoding="utf-8")
    convert_manifests([LocalManifest(manifest)], LocalStorage(out), ConversionOptions())
    return _names(Dataset(out))


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(_KEYS, min_size=1, max_size=12, unique=True), seed=st.integers(0, 2**16))
def test_any_colliding_source_refs_get_unique_ultralytics_compatible_order_free_names(
    tmp_path_factory: pytest.TempPathFactory, keys: list[str], seed: int
) -> None:
    root = tmp_path_factory.mktemp("names")
    shuffled = keys[:]
    random.Random(seed).shuffle(shuffled)

    # When converting the source-refs in two orders
    names = _convert(root / "a", keys)
    again = _convert(root / "b", shuffled)

    # Then every distinct image converts, under the same names in both orders
    assert set(names) == {ref(k) for k in keys}
    assert again == names
    labels = [label for _, label in names.values()]
    images = [image for image, _ in names.values()]
    # And label paths (so image paths too) are unique ignoring case and normalization
    assert len({_caseless(label) for label in labels}) == len(labels)
    assert len({_caseless(image) for image in images}) == len(images)
    # And each label path is the one Ultralytics derives from its image path
    for image, label in names.values():
        if "." in image.rsplit("/", 1)[-1]:  # Ultralytics only lists images with an extension
            assert _ultralytics_label(image) == label


def test_names_at_the_source_ref_limit_still_fit_once_renamed(workspace: Workspace) -> None:
    # Given two images of 250-byte names (the longest a source-ref may hold) equal ignoring case
    upper, lower = "A" * 246 + ".jpg", "a" * 246 + ".jpg"
    lines = [line(ref(f"p/{upper}"), [box()]), line(ref(f"p/{lower}"), [box()])]

    # When converting: the second is renamed `<stem>~2`
    dataset = workspace.convert(lines)

    # Then both convert, every name within 255 bytes (the 5 bytes kept free hold the suffix)
    assert dataset.report["images"] == 2 and dataset.report["renamed_images"] == 1
    assert all(len(part.encode()) <= 255 for f in dataset.files() for part in f.split("/"))
