"""A line of another task never stops a run: it is a counted rejection, `wrong_task`.

A dataset holds one task: the labeling job's when it is known (DescribeLabelingJob), else the
task of most labeled lines (a tie goes to the task first in `LabelTask`'s order, whatever the
order of the lines). A line whose label attribute's metadata type names another task is
rejected `wrong_task` (rejected.jsonl names both types; report.json counts it and warns with the
types); untyped lines (custom workflows) are read as the dataset's task. Only a job none of
whose lines is of its task is an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.errors import ConversionError
from gt2yolo.storage import LocalManifest
from gt2yolo.survey import survey_manifests
from gt2yolo.task_types import LabelTask
from gt2yolo_cli.main import main
from gt_builders import DETECTION, Dataset, Workspace, box, label_config, record, ref
from task_builders import (
    CLASSIFICATION,
    MULTILABEL,
    PETS,
    SEGMENTATION,
    MirrorWorkspace,
    blank_mask,
    classification_record,
    color_map,
    multilabel_record,
    rgb,
)

CAR = ("car", "#1f77b4")


def _boxes(*names: str) -> list[str]:
    return [json.dumps(record(ref(f"{name}.jpg"), [box()], attr="x")) for name in names]


def _wrong_task_rows(dataset: Dataset) -> list[dict[str, Any]]:
    return [row for row in dataset.rejected if row["reason"] == "wrong_task"]


@pytest.mark.parametrize(
    "others",
    [
        [classification_record(ref("b.jpg"), 0, "dog", attr="x")],
        [
            multilabel_record(ref("b.jpg"), [1], attr="x"),
            multilabel_record(ref("c.jpg"), [], attr="x"),
        ],
    ],
)
def test_a_line_of_another_task_is_rejected_wrong_task_and_the_run_goes_on(
    workspace: Workspace, others: list[dict[str, Any]]
) -> None:
    # Given bounding-box lines and fewer lines of another task under the same attribute
    lines = [*_boxes("a", "d", "e"), *(json.dumps(r) for r in others)]

    # When converting
    dataset = workspace.convert(lines)

    # Then the boxes convert, each other line is a counted wrong_task rejection naming both types
    report = dataset.report
    other_type = others[0]["x-metadata"]["type"]
    assert (report["task"], report["images"]) == ("detect", 3)
    assert report["rejected"] == {"wrong_task": len(others)}
    rows = _wrong_task_rows(dataset)
    assert [row["line"] for row in rows] == list(range(4, 4 + len(others)))
    assert all(other_type in row["detail"] and DETECTION in row["detail"] for row in rows)
    # And report.json warns with the count and the type
    (warning,) = [w for w in report["warnings"] if "wrong_task" in w]
    assert f"{len(others)} line(s)" in warning and f"{other_type} ({len(others)})" in warning


def test_without_the_jobs_task_the_task_of_most_lines_is_the_datasets(
    workspace: Workspace,
) -> None:
    # Given one bounding-box line among two classification lines, the box line first
    cats = [classification_record(ref(f"c{i}.jpg"), 1, "cat", attr="x") for i in range(2)]
    lines = [*_boxes("a"), *(json.dumps(r) for r in cats)]

    # When converting without a job's task
    dataset = workspace.convert(lines)

    # Then the dataset is a classification dataset; the first line is the rejected one
    assert dataset.report["task"] == "classify"
    assert [row["line"] for row in _wrong_task_rows(dataset)] == [1]


@pytest.mark.parametrize("boxes_first", [True, False])
def test_a_tie_goes_to_the_task_first_in_label_task_order_whatever_the_line_order(
    workspace: Workspace, boxes_first: bool
) -> None:
    # Given as many classification lines as box lines, in either order
    cats = [json.dumps(classification_record(ref("c.jpg"), 1, "cat", attr="x"))]
    lines = [*_boxes("a"), *cats] if boxes_first else [*cats, *_boxes("a")]

    # When surveying
    path = workspace.manifest(lines)
    survey = survey_manifests([LocalManifest(path)], None, None)

    # Then bounding box wins (it comes first in LabelTask), whichever line came first
    assert next(iter(LabelTask)) is LabelTask.BOUNDING_BOX
    assert survey.task is LabelTask.BOUNDING_BOX


def test_the_jobs_task_decides_even_where_most_lines_are_of_another(tmp_path: Path) -> None:
    # Given a classification job's manifest where most lines are box lines
    mirror = MirrorWorkspace(tmp_path)
    cat = classification_record(mirror.image(ref("cat.jpg")), 1, "cat", attr="x")
    lines = [json.dumps(cat), *_boxes("a", "b")]

    # When converting as the job's task
    dataset = mirror.convert(lines, classes=PETS, task=LabelTask.IMAGE_CLASSIFICATION)

    # Then the dataset is the job's; the box lines are the rejected ones
    assert dataset.report["task"] == "classify"
    assert dataset.report["images"] == 1
    assert [row["line"] for row in _wrong_task_rows(dataset)] == [2, 3]


@pytest.mark.parametrize("label_attribute", [None, "x"])
def test_a_job_none_of_whose_lines_is_of_its_task_is_an_error_naming_both(
    workspace: Workspace, label_attribute: str | None
) -> None:
    # Given box lines only, said to come from a classification job
    path = workspace.manifest(_boxes("a", "b"))
    classes = None if label_attribute is None else _class_list("cat", "dog")

    # When surveying with the job's task (skimming too, with attribute and classes given)
    with pytest.raises(ConversionError) as caught:
        survey_manifests(
            [LocalManifest(path)], label_attribute, classes, task=LabelTask.IMAGE_CLASSIFICATION
        )

    # Then the error names the job's task and the lines' type: not one line would convert
    message = str(caught.value)
    assert "image classification (single label) job" in message
    assert f"typed {DETECTION}" in message and "not one" in message


def test_lines_of_a_job_mixing_tasks_give_classes_of_the_datasets_task_only(
    workspace: Workspace,
) -> None:
    # Given box lines naming cat and dog, and a classification line naming "zebra" at id 0
    zebra = classification_record(ref("z.jpg"), 0, "zebra", attr="x")
    lines = [json.dumps(zebra), *_boxes("a", "b")]

    # When converting without a label config
    dataset = workspace.convert(lines)

    # Then the wrong task's class-map adds no class
    assert dataset.report["classes"] == ["cat"]


# --- with --label-config and --label-attribute: the skimming survey ----------------------------


def _class_list(*names: str) -> ClassList:
    return class_list_from_label_config(label_config(*names), "data.json")


def _cli(workspace: Workspace, lines: list[str], *extra: str) -> Dataset:
    manifest = workspace.manifest(lines)
    config = workspace.tmp_path / "data.json"
    config.write_bytes(label_config("cat", "dog"))
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--label-config", str(config),
        "--images", "skip", "--no-progress", *extra,
    ])  # fmt: skip
    assert status == 0
    return Dataset(workspace.out)


@pytest.mark.parametrize("extra", [(), ("--label-attribute", "x")])
def test_with_a_label_config_a_first_line_of_another_task_does_not_decide_the_task(
    workspace: Workspace, extra: tuple[str, ...]
) -> None:
    # Given a box manifest whose first and last lines are classification lines
    cat = json.dumps(classification_record(ref("c.jpg"), 0, "cat", attr="x"))
    lines = [cat, *_boxes("a", "b", "d"), cat.replace("c.jpg", "e.jpg")]

    # When converting with the label config (and the attribute: lines are skimmed)
    dataset = _cli(workspace, lines, *extra)

    # Then the boxes convert and both classification lines are wrong_task, not passed silently
    assert (dataset.report["task"], dataset.report["images"]) == ("detect", 3)
    assert dataset.report["rejected"] == {"wrong_task": 2}
    assert [row["line"] for row in _wrong_task_rows(dataset)] == [1, 5]


def test_with_a_label_config_an_untyped_first_line_does_not_make_a_segmentation_job_boxes(
    tmp_path: Path,
) -> None:
    # Given a segmentation manifest whose first line's metadata has no type
    mirror = MirrorWorkspace(tmp_path)
    mask = blank_mask(40, 30)
    mask[5:20, 5:20] = rgb(CAR[1])
    lines = [mirror.segmented(ref(f"{i}.jpg"), mask, color_map(CAR), attr="x") for i in range(4)]
    first = json.loads(lines[0])
    del first["x-ref-metadata"]["type"]
    lines[0] = json.dumps(first)

    # When converting with label attribute and classes given (the skimming survey)
    dataset = mirror.convert(lines, classes=("car",), label_attribute="x-ref")

    # Then the task is the typed lines' and every line converts, the untyped one too
    assert dataset.report["task"] == "segment"
    assert dataset.report["images"] == 4


@pytest.mark.parametrize("other", [CLASSIFICATION, MULTILABEL, SEGMENTATION])
def test_a_skimming_survey_finds_the_task_of_most_lines_as_decoding_does(
    workspace: Workspace, other: str
) -> None:
    # Given two box lines, then three lines typed as another task (their labels still boxes)
    lines = _boxes("a", "b")
    for name in ("c", "d", "e"):
        line = record(ref(f"{name}.jpg"), [box()], attr="x")
        line["x-metadata"]["type"] = other
        lines.append(json.dumps(line))
    path = workspace.manifest(lines)

    # When surveying with the attribute and classes given (skimming) and decoding every line
    found = {
        survey_manifests([LocalManifest(path)], "x", _class_list("cat"), skim=skim).task
        for skim in (True, False)
    }

    # Then both find the other task (three lines to two)
    assert found == {LabelTask(other)}
