"""Several manifests (several jobs) merge into one dataset; an image labeled twice is an error."""

from __future__ import annotations

import json
from array import array
from collections import Counter

import pytest
from gt2yolo.convert import repeated_digests
from gt_builders import Workspace, box, line, ref
from hypothesis import given
from hypothesis import strategies as st


def test_several_manifests_merge_into_one_dataset(workspace: Workspace) -> None:
    # Given two jobs' manifests over different images
    first = [line(ref("a.jpg"), [box(0)]), line(ref("b.jpg"), [])]
    second = [line(ref("c.jpg"), [box(1), box(1, left=99)])]

    # When converting both
    dataset = workspace.convert(first, second, classes=["cat", "dog"])

    # Then every image of both is in the dataset and the report counts per manifest
    assert {row["source_ref"] for row in dataset.images} == {
        ref(p) for p in ("a.jpg", "b.jpg", "c.jpg")
    }
    report = dataset.report
    assert (report["images"], report["boxes"]) == (3, 3)
    assert [(m["lines"], m["images"]) for m in report["manifests"]] == [(2, 2), (1, 1)]
    assert report["boxes_per_class"] == {"cat": 1, "dog": 2}


def test_the_same_image_in_two_manifests_is_an_error_naming_both_origins(
    workspace: Workspace,
) -> None:
    # Given the same image labeled by two jobs
    first = [line(ref("a.jpg"), [box()]), line(ref("dup.jpg"), [box()])]
    second = [line(ref("dup.jpg"), [box(left=50)])]

    # When converting both
    message, dataset = workspace.fail(first, second)

    # Then the error names the image and both origins (manifest:line)
    assert ref("dup.jpg") in message
    assert "job1/output.manifest:2" in message
    assert "job2/output.manifest:1" in message
    # And the report lists them too
    assert len(dataset.report["duplicate_images"]) == 1


def test_the_same_image_twice_in_one_manifest_is_an_error(workspace: Workspace) -> None:
    # Given one manifest listing an image on lines 1 and 3
    lines = [line(ref("x.jpg"), [box()]), line(ref("y.jpg"), [box()]), line(ref("x.jpg"), [])]

    # When converting
    message, _ = workspace.fail(lines)

    # Then both line numbers are named
    assert "job1/output.manifest:1" in message
    assert "job1/output.manifest:3" in message


def test_paths_differing_only_in_case_collide(workspace: Workspace) -> None:
    # Given two images whose keys differ only in case (one file on macOS and Windows)
    lines = [line(ref("Cats/A.jpg"), [box()]), line(ref("cats/a.jpg"), [box()])]

    # When converting
    message, _ = workspace.fail(lines)

    # Then it is an error naming both
    assert ref("Cats/A.jpg") in message
    assert ref("cats/a.jpg") in message


@pytest.mark.parametrize(
    ("first", "second"), [("x.jpg", "x.png"), ("x.jpg", "X.jpeg"), ("x", "x.jpg")]
)
def test_images_that_would_share_one_label_file_collide(
    workspace: Workspace, first: str, second: str
) -> None:
    # Given two images in one folder whose names differ only in the extension
    lines = [line(ref(f"a/{first}"), [box(0)]), line(ref(f"a/{second}"), [box(1)])]

    # When converting
    message, _ = workspace.fail(lines, classes=["cat", "dog"])

    # Then it is an error: one label file would silently hold the other image's boxes
    assert ref(f"a/{first}") in message
    assert ref(f"a/{second}") in message


def test_a_rejected_line_does_not_count_as_a_duplicate(workspace: Workspace) -> None:
    # Given an image listed twice, once as a failed object
    failed = json.dumps({"source-ref": ref("a.jpg"), "boxes-metadata": {"failure-reason": "x"}})
    lines = [line(ref("a.jpg"), [box()]), failed]

    # When converting
    dataset = workspace.convert(lines, label_attribute="boxes")

    # Then the labeled one is the image, the failed one a rejection
    assert dataset.report["images"] == 1
    assert dataset.report["rejected"] == {"failed_object": 1}


def test_the_same_manifest_given_twice_is_an_error(workspace: Workspace) -> None:
    # Given one manifest file
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])

    # When it is passed twice
    message, _ = workspace.fail(manifest, manifest)

    # Then the conversion stops before writing duplicates
    assert "twice" in message


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=300), st.data())
def test_repeated_digests_are_exactly_those_that_occur_twice(
    values: list[int], data: st.DataObject
) -> None:
    # Some values again, some sharing a top byte with others (the slices the search sorts by)
    again = data.draw(st.lists(st.sampled_from(values), max_size=20)) if values else []
    same_top = [(v & ~0xFF) | 0x5A for v in values[:10]]
    digests = array("Q", values + again + same_top)
    counts = Counter(digests)
    assert repeated_digests(digests) == {d for d, n in counts.items() if n > 1}
