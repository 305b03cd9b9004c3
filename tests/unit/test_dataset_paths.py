"""Where images and label files go: the key below the common folder, subfolders kept, safely."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from gt2yolo.paths import (
    InvalidSourceRef,
    Layout,
    UnsafeSourceRef,
    common_folder,
    dataset_path,
    flat_path,
    label_path,
    name_key,
    source_ref_segments,
    unflat_path,
)
from gt2yolo.storage import LocalStorage
from gt_builders import Workspace, box, line, ref
from hypothesis import given
from hypothesis import strategies as st


def test_paths_are_relative_to_the_longest_common_folder_of_all_source_refs(
    workspace: Workspace,
) -> None:
    # Given images under s3://bucket/jobs/photos/{a,b/c}/
    lines = [line(ref("a/x.jpg"), [box()]), line(ref("b/c/y.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then their dataset paths start below the common folder
    assert dataset.image_row(ref("a/x.jpg"))["image"] == "images/train/a/x.jpg"
    assert dataset.image_row(ref("b/c/y.jpg"))["label"] == "labels/train/b/c/y.txt"
    assert dataset.report["common_prefix"] == "s3://bucket/jobs/photos/"


def test_the_common_folder_never_cuts_a_folder_name_in_half(workspace: Workspace) -> None:
    # Given folders sharing a name prefix ("cat" and "cattle"), not a folder
    lines = [line(ref("cat/1.jpg"), [box()]), line(ref("cattle/1.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then both folder names survive whole
    assert {row["image"] for row in dataset.images} == {
        "images/train/cat/1.jpg", "images/train/cattle/1.jpg",
    }  # fmt: skip


def test_images_from_several_buckets_keep_the_bucket_as_folder(workspace: Workspace) -> None:
    # Given images in two buckets
    lines = [line("s3://one/x.jpg", [box()]), line("s3://two/x.jpg", [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then the buckets become folders and nothing collides
    assert {row["image"] for row in dataset.images} == {
        "images/train/one/x.jpg",
        "images/train/two/x.jpg",
    }
    assert dataset.report["common_prefix"] == "s3://"


def test_a_single_image_lands_at_the_top_of_its_split(workspace: Workspace) -> None:
    # Given one image deep in a bucket
    lines = [line("s3://bucket/very/deep/folder/x.jpg", [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then its dataset path is its file name
    assert dataset.images[0]["image"] == "images/train/x.jpg"


def test_same_file_names_in_different_folders_do_not_collide(workspace: Workspace) -> None:
    # Given a/x.jpg with a cat and b/x.jpg with a dog
    lines = [line(ref("a/x.jpg"), [box(0)]), line(ref("b/x.jpg"), [box(1)])]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then each has its own label file with its own box
    assert dataset.label_rows(ref("a/x.jpg"))[0][0] == "0"
    assert dataset.label_rows(ref("b/x.jpg"))[0][0] == "1"


def test_only_the_last_extension_is_replaced_in_the_label_file_name(workspace: Workspace) -> None:
    # Given an image named with several dots
    lines = [line(ref("a/img.v2.final.jpg"), [box()]), line(ref("b/other.png"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then its label file keeps every part but the extension
    assert (
        dataset.image_row(ref("a/img.v2.final.jpg"))["label"] == "labels/train/a/img.v2.final.txt"
    )
    assert (dataset.root / "labels/train/a/img.v2.final.txt").is_file()


def test_label_path_keeps_folders_with_dots_and_names_without_extension() -> None:
    # Given image paths with dotted folders or no extension
    # When the label path is derived
    # Then folders are untouched and a bare name gets .txt
    assert label_path("v1.2/photo.jpeg") == "v1.2/photo.txt"
    assert label_path("photo") == "photo.txt"
    assert label_path(".hidden.jpg") == ".hidden.txt"


def test_unicode_and_spaces_in_keys_survive(workspace: Workspace) -> None:
    # Given keys with spaces, accents, CJK and emoji
    names = ["été/chat noir.jpg", "猫/写真 1.jpg", "a-weird Filename.asdf.jpg", "🐱/x.jpg"]
    lines = [line(ref(name), [box()]) for name in names]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then every path is kept as is, and every label file exists under its own name
    assert {row["image"] for row in dataset.images} == {f"images/train/{n}" for n in names}
    assert (dataset.root / "labels/train/été/chat noir.txt").is_file()
    assert (dataset.root / "labels/train/a-weird Filename.asdf.txt").is_file()
    assert "./images/train/猫/写真 1.jpg" in dataset.text("train.txt").splitlines()


def test_an_inner_images_folder_is_renamed_so_yolo_loaders_find_the_labels(
    workspace: Workspace,
) -> None:
    # Given keys with a folder named "images" below the common folder
    lines = [line(ref("site/images/x.jpg"), [box()]), line(ref("other/y.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then that segment becomes "images_": Ultralytics replaces the LAST "/images/" of an image
    # path with "/labels/" and Darknet the first, so an inner "images" folder would send one of
    # them to a label file that does not exist
    row = dataset.image_row(ref("site/images/x.jpg"))
    assert row["image"] == "images/train/site/images_/x.jpg"
    assert row["label"] == "labels/train/site/images_/x.txt"


def test_hidden_files_and_folders_get_a_leading_underscore_so_folder_globs_find_them(
    workspace: Workspace,
) -> None:
    # Given keys with a segment starting with "." (glob's `**/*.*`, which Ultralytics uses to
    # read a split folder, skips hidden files and does not enter hidden folders)
    lines = [line(ref(".cache/x.jpg"), [box()]), line(ref("a/.dot.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, val=0.0)

    # Then those segments start with "_." and nothing in the dataset is hidden
    assert dataset.image_row(ref(".cache/x.jpg"))["image"] == "images/train/_.cache/x.jpg"
    assert dataset.image_row(ref("a/.dot.jpg"))["label"] == "labels/train/a/_.dot.txt"
    assert not any(part.startswith(".") for f in dataset.files() for part in f.split("/"))


def test_the_flat_layout_keeps_every_file_directly_in_its_split_folder(
    workspace: Workspace,
) -> None:
    # Given nested keys, one with a percent sign
    lines = [line(ref("a/b/x.jpg"), [box()]), line(ref("100%/y.png"), [box()])]

    # When converting in the flat layout
    dataset = workspace.convert(lines, val=0.0, layout=Layout.FLAT)

    # Then folders are kept in the name, `/` as %2F and `%` as %25, for image, label and list
    assert dataset.image_row(ref("a/b/x.jpg"))["image"] == "images/train/a%2Fb%2Fx.jpg"
    assert dataset.image_row(ref("a/b/x.jpg"))["label"] == "labels/train/a%2Fb%2Fx.txt"
    assert dataset.image_row(ref("100%/y.png"))["image"] == "images/train/100%25%2Fy.png"
    assert "./images/train/a%2Fb%2Fx.jpg" in dataset.text("train.txt").splitlines()
    assert (dataset.root / "labels/train/100%25%2Fy.txt").is_file()


@pytest.mark.parametrize("layout", list(Layout))
def test_an_image_whose_file_name_would_exceed_255_bytes_is_rejected_with_nothing_written(
    workspace: Workspace, layout: Layout
) -> None:
    # Given a key with a 250-byte file name four folders deep, and one with a 300-byte folder
    deep, wide = "a/b/c/d/" + "é" * 123 + ".jpg", "f" * 300 + "/x.jpg"
    lines = [line(ref(deep), [box()]), line(ref(wide), [box()]), line(ref("ok.jpg"), [box()])]

    # When converting (the flat layout puts the folders into the name)
    dataset = workspace.convert(lines, val=0.0, layout=layout)

    # Then a name over 255 bytes (what ext4, APFS and NTFS hold) is a counted rejection with no
    # file left of it, and the other images convert
    expected = {ref(wide)} | ({ref(deep)} if layout is Layout.FLAT else set())
    assert {r["source_ref"] for r in dataset.rejected} == expected
    assert {r["reason"] for r in dataset.rejected} == {"unsafe_path"}
    assert len(dataset.images) == 3 - len(expected)
    assert all(len(part.encode()) <= 255 for f in dataset.files() for part in f.split("/"))


@given(st.lists(st.text(alphabet="aA%2F/._~é", min_size=1, max_size=12), max_size=8))
def test_flat_names_decode_to_their_folder_paths_and_stay_distinct_ignoring_case(
    paths: list[str],
) -> None:
    # Given any folder-layout paths
    # When flattened
    flat = [flat_path(p) for p in paths]
    # Then no name holds a folder, each decodes back (urllib.parse.unquote does the same), and
    # paths distinct ignoring case stay distinct ignoring case
    assert all("/" not in name for name in flat)
    assert [unflat_path(name) for name in flat] == paths == [unquote(name) for name in flat]
    assert len({name_key(n) for n in flat}) == len({name_key(p) for p in paths})


def test_an_images_folder_above_the_common_folder_is_not_part_of_dataset_paths() -> None:
    # Given a common folder that itself contains "images"
    segments = source_ref_segments("s3://bucket/images/a/x.jpg")

    # When the dataset path is taken below it
    # Then nothing is renamed, since that segment is not written
    assert dataset_path(segments, ("bucket", "images")) == "a/x.jpg"


def test_common_folder_folds_source_refs_segment_by_segment() -> None:
    # Given three source-refs
    folder = None
    for source_ref in ("s3://b/a/b/1.jpg", "s3://b/a/b/c/2.jpg", "s3://b/a/bc/3.jpg"):
        # When each is folded in
        folder = common_folder(folder, source_ref_segments(source_ref))

    # Then the common folder is the longest shared whole-segment prefix, file names excluded
    assert folder == ("b", "a")


@pytest.mark.parametrize(
    "source_ref",
    [
        "s3://bucket/../x.jpg",
        "s3://bucket/a/../../x.jpg",
        "s3://bucket/./x.jpg",
        "s3://bucket//x.jpg",
        "s3://bucket/a\tb/x.jpg",
        "s3://bucket/a\x00/x.jpg",
    ],
)
def test_source_refs_that_could_leave_the_dataset_folder_are_unsafe(source_ref: str) -> None:
    # Given a source-ref with a traversal, empty or control-character segment
    # When split into segments
    # Then it is refused as unsafe
    with pytest.raises(UnsafeSourceRef):
        source_ref_segments(source_ref)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c"])
def test_source_refs_with_line_separators_are_unsafe_as_image_lists_split_on_them(
    separator: str,
) -> None:
    # Given a key holding a character Python's str.splitlines() (Ultralytics' list reader) breaks on
    source_ref = f"s3://bucket/a{separator}b.jpg"

    # When split into segments
    # Then it is refused: train.txt would name two images that do not exist
    with pytest.raises(UnsafeSourceRef):
        source_ref_segments(source_ref)


@pytest.mark.parametrize(
    "source_ref",
    ["bucket/x.jpg", "https://bucket/x.jpg", "s3://bucket", "s3:///x.jpg", "s3://b/a/"],
)
def test_source_refs_that_name_no_s3_file_are_invalid(source_ref: str) -> None:
    # Given a source-ref that is not s3://bucket/key naming a file
    # When split into segments
    # Then it is refused
    with pytest.raises(InvalidSourceRef):
        source_ref_segments(source_ref)


@pytest.mark.parametrize(
    "key",
    ["../x.txt", "labels/../../x.txt", "/etc/passwd", "a/../../b", "/x.txt", "a//x.txt", "a/./x.txt",
     "a/", "a/..", "a/.", "", ".", "..", "a/x\x00.txt", "a\x00/x.txt"],
)  # fmt: skip
def test_local_storage_refuses_to_write_outside_the_dataset_folder(
    tmp_path: Path, key: str
) -> None:
    # Given a dataset folder inside a parent folder
    storage = LocalStorage(tmp_path / "dataset")

    # When a key would leave it
    # Then the write is refused and nothing is written
    with pytest.raises(ValueError, match="leaves the dataset folder"):
        storage.write_bytes(key, b"x")
    assert not (tmp_path / "x.txt").exists()


def test_local_storage_writes_keys_below_its_root(tmp_path: Path) -> None:
    # Given a dataset folder
    storage = LocalStorage(tmp_path / "dataset")

    # When writing a nested key and a text stream
    storage.write_bytes("labels/train/a/x.txt", b"0 0.5 0.5 0.1 0.1\n")
    with storage.open_text("train.txt") as stream:
        stream.write("./images/train/a/x.jpg\n")

    # Then both land below the root, folders created on the way
    assert (tmp_path / "dataset/labels/train/a/x.txt").read_bytes() == b"0 0.5 0.5 0.1 0.1\n"
    assert (tmp_path / "dataset/train.txt").read_text() == "./images/train/a/x.jpg\n"
    assert storage.location("train.txt") == str(tmp_path / "dataset/train.txt")


def test_local_storage_refuses_a_bad_key_even_in_a_folder_it_already_wrote_to(
    tmp_path: Path,
) -> None:
    # Given a storage that created and remembered the folder `labels/train`
    storage = LocalStorage(tmp_path / "dataset")
    storage.write_bytes("labels/train/x.txt", b"1")

    # When a later key in that folder names no file, or a NUL
    # Then it is refused all the same (folders are remembered, file names checked every time)
    for key in ("labels/train/", "labels/train/..", "labels/train/.", "labels/train/a\x00"):
        with pytest.raises(ValueError, match="leaves the dataset folder"):
            storage.write_bytes(key, b"x")
    # And a rewritten key replaces the file (create or truncate, as Path.write_bytes)
    storage.write_bytes("labels/train/x.txt", b"")
    assert (tmp_path / "dataset/labels/train/x.txt").read_bytes() == b""


def test_local_storage_creates_its_root_for_a_key_without_a_folder(tmp_path: Path) -> None:
    # Given a dataset folder that does not exist yet
    storage = LocalStorage(tmp_path / "new" / "dataset")

    # When writing a key without a folder
    storage.write_bytes("classes.txt", b"cat\n")

    # Then the root is created and holds it
    assert (tmp_path / "new/dataset/classes.txt").read_bytes() == b"cat\n"


def test_a_source_ref_with_a_lone_surrogate_is_unsafe_not_a_crash() -> None:
    from gt2yolo.paths import UnsafeSourceRef, source_ref_segments

    with pytest.raises(UnsafeSourceRef):
        source_ref_segments("s3://bucket/a/\ud800.jpg")
