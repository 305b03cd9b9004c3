"""Several manifests (several jobs) merge into one dataset (an image labeled twice: see
test_unique_names.py)."""

from __future__ import annotations

import json

from gt_builders import Workspace, box, line, ref


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
