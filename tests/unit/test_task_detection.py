"""Which Ground Truth task a dataset is: the lines' metadata type, and the job's own word for it.

A line's `<attr>-metadata.type` selects the reader of its labels; a labeling job names its task in
its built-in pre-annotation Lambda's ARN. One dataset holds one task: lines of another task are
rejected (`wrong_task`, see test_wrong_task_lines.py); a job none of whose lines is of its task
stops the conversion before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import ConversionOptions
from gt2yolo.errors import ConversionError
from gt2yolo.manifest import parse_line
from gt2yolo.records import ClassifiedImage, LabeledImage, LineOrigin, SegmentedImage
from gt2yolo.storage import LocalManifest
from gt2yolo.survey import survey_manifests
from gt2yolo.task_types import LabelTask, UnsupportedTask, task_of_pre_annotation_lambda
from gt2yolo.tasks.registry import reader_of
from gt_builders import Workspace, box, record, ref
from task_builders import (
    MASKS,
    PETS,
    MirrorWorkspace,
    blank_mask,
    classification_record,
    color_map,
    multilabel_record,
    rgb,
    segmentation_record,
)

ROAD, CAR, PERSON = ("road", "#2ca02c"), ("car", "#1f77b4"), ("person", "#ff7f0e")
LAMBDA = "arn:aws:lambda:us-east-1:432418664414:function:"


def _survey(workspace: Workspace, records: list[dict[str, Any]], **kwargs: Any) -> Any:
    path = workspace.manifest([json.dumps(r) for r in records])
    return survey_manifests([LocalManifest(path)], kwargs.pop("label_attribute", None), None,
                            **kwargs)  # fmt: skip


# --- the lines' metadata type -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "task", "attribute", "kind"),
    [
        (record(ref("a.jpg"), [box()], attr="x"), LabelTask.BOUNDING_BOX, "x", LabeledImage),
        (
            segmentation_record(ref("a.jpg"), f"{MASKS}/0.png", color_map(CAR), attr="x"),
            LabelTask.SEMANTIC_SEGMENTATION, "x-ref", SegmentedImage,
        ),
        (
            classification_record(ref("a.jpg"), 1, "cat", attr="x"),
            LabelTask.IMAGE_CLASSIFICATION, "x", ClassifiedImage,
        ),
        (
            multilabel_record(ref("a.jpg"), [0, 2], attr="x"),
            LabelTask.IMAGE_CLASSIFICATION_MULTILABEL, "x", ClassifiedImage,
        ),
    ],
)  # fmt: skip
def test_the_metadata_type_selects_the_task_and_its_reader(
    workspace: Workspace, line: dict[str, Any], task: LabelTask, attribute: str, kind: type
) -> None:
    # Given a line of a task, its label attribute named "x"
    # When surveying the manifest without naming the attribute
    survey = _survey(workspace, [line])

    # Then the attribute and the task are found, and the task's reader reads the line
    assert (survey.label_attribute, survey.task) == (attribute, task)
    reader = reader_of(survey.task)
    rules = ConversionOptions().line_rules(
        survey.label_attribute, survey.class_list, survey.task, reader
    )
    assert isinstance(parse_line(json.dumps(line), LineOrigin("m", 1), rules), kind)


@pytest.mark.parametrize(
    ("job_task", "described"),
    [
        (LabelTask.SEMANTIC_SEGMENTATION, "semantic segmentation"),
        (LabelTask.IMAGE_CLASSIFICATION, "image classification (single label)"),
    ],
)
def test_a_job_whose_task_differs_from_its_lines_is_an_error(
    workspace: Workspace, job_task: LabelTask, described: str
) -> None:
    # Given bounding-box lines said to come from a job of another task
    path = workspace.manifest([json.dumps(record(ref("a.jpg"), [box()], attr="x"))])

    # When surveying with the job's task
    with pytest.raises(ConversionError) as caught:
        survey_manifests([LocalManifest(path)], None, None, task=job_task)

    # Then the error names the job's task and the lines' type
    assert f"a {described} job" in str(caught.value)
    assert "typed groundtruth/object-detection" in str(caught.value)


def test_untyped_lines_of_a_classification_job_are_read_as_classification(
    tmp_path: Path,
) -> None:
    # Given a custom workflow's lines: class indices, no metadata type
    mirror = MirrorWorkspace(tmp_path)
    lines = []
    for i, name in enumerate(["dog", "cat"]):
        line = classification_record(mirror.image(ref(f"{name}.jpg")), i, name)
        del line["animal-metadata"]["type"]
        lines.append(json.dumps(line))

    # When converting as the job's task, with its label attribute and classes
    dataset = mirror.convert(lines, classes=PETS, label_attribute="animal",
                             task=LabelTask.IMAGE_CLASSIFICATION)  # fmt: skip

    # Then they are classified into class folders
    assert (dataset.root / "train/dog/dog.jpg").is_file()
    assert (dataset.root / "train/cat/cat.jpg").is_file()
    assert dataset.report["task"] == "classify"


# --- the job's pre-annotation Lambda ------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "task"),
    [
        (LAMBDA + "PRE-BoundingBox", LabelTask.BOUNDING_BOX),
        (LAMBDA + "PRE-AdjustmentBoundingBox", LabelTask.BOUNDING_BOX),
        (LAMBDA + "PRE-SemanticSegmentation", LabelTask.SEMANTIC_SEGMENTATION),
        (LAMBDA + "PRE-AdjustmentSemanticSegmentation", LabelTask.SEMANTIC_SEGMENTATION),
        (LAMBDA + "PRE-ImageMultiClass", LabelTask.IMAGE_CLASSIFICATION),
        (LAMBDA + "PRE-ImageMultiClassMultiLabel", LabelTask.IMAGE_CLASSIFICATION_MULTILABEL),
        (LAMBDA + "PRE-VideoObjectDetection", LabelTask.VIDEO_OBJECT_DETECTION),
        (LAMBDA + "PRE-AdjustmentVideoObjectDetection", LabelTask.VIDEO_OBJECT_DETECTION),
        (LAMBDA + "PRE-VideoObjectTracking", LabelTask.VIDEO_OBJECT_TRACKING),
        (LAMBDA + "PRE-AdjustmentVideoObjectTracking", LabelTask.VIDEO_OBJECT_TRACKING),
        ("arn:aws:lambda:eu-west-1:568282634449:function:PRE-ImageMultiClass",
         LabelTask.IMAGE_CLASSIFICATION),
    ],
)  # fmt: skip
def test_the_pre_annotation_lambda_names_the_jobs_task(arn: str, task: LabelTask) -> None:
    assert task_of_pre_annotation_lambda(arn) is task


@pytest.mark.parametrize(
    "arn",
    [
        LAMBDA + "PRE-VerificationBoundingBox",
        LAMBDA + "PRE-VerificationSemanticSegmentation",
        "arn:aws:lambda:us-east-1:123456789012:function:my-own-pre-annotation",
        None,
        "",
    ],
)
def test_verification_and_custom_jobs_leave_the_task_to_the_lines(arn: str | None) -> None:
    # A verification job's lines carry the verified labels' own type; a custom Lambda says nothing
    assert task_of_pre_annotation_lambda(arn) is None


@pytest.mark.parametrize(
    "name", ["PRE-VideoClassification", "PRE-3DPointCloudObjectDetection", "PRE-TextMultiClass"]
)
def test_a_built_in_task_gt2yolo_does_not_convert_is_refused_by_name(name: str) -> None:
    # Given a built-in job of a task that is not an image task we convert
    # When asking for its task
    with pytest.raises(UnsupportedTask) as caught:
        task_of_pre_annotation_lambda(LAMBDA + name)

    # Then the refusal names it and lists what is supported
    message = str(caught.value)
    assert name in message
    assert "PRE-SemanticSegmentation" in message and "PRE-ImageMultiClass" in message
    assert "PRE-VerificationBoundingBox" not in message


# --- segmentation: the `-ref` attribute and classes from the color map --------------------------


def test_a_segmentation_jobs_label_attribute_finds_its_lines_ref_attribute(
    tmp_path: Path,
) -> None:
    # Given a segmentation job whose LabelAttributeName is "street": its lines say "street-ref"
    mirror = MirrorWorkspace(tmp_path)
    mask = blank_mask(40, 30)
    mask[5:20, 5:20] = rgb(CAR[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, color_map(ROAD, CAR, PERSON), attr="street")]

    # When converting with the job's attribute name
    dataset = mirror.convert(lines, label_attribute="street")

    # Then the lines' attribute is found and converted
    assert dataset.report["label_attribute"] == "street-ref"
    assert dataset.report["images"] == 1
    assert dataset.text(dataset.image_row(ref("a.jpg"))["label"]).startswith("1 ")


@pytest.mark.parametrize(
    ("maps", "classes"),
    [
        # Ground Truth's maps: BACKGROUND at key 0; each line may list only some classes
        ([{"0": "BACKGROUND", "1": "road", "3": "person"}, {"0": "BACKGROUND", "2": "car"}],
         ("road", "car", "person")),
        # A background key among the classes shifts the ids after it only
        ([{"0": "road", "1": "BACKGROUND", "2": "car", "3": "person"}], ("road", "car", "person")),
    ],
)  # fmt: skip
def test_without_label_config_segmentation_classes_are_the_color_map_keys_less_backgrounds(
    workspace: Workspace, maps: list[dict[str, str]], classes: tuple[str, ...]
) -> None:
    # Given lines whose color maps name classes by key
    palette = ["#ffffff", "#2ca02c", "#1f77b4", "#ff7f0e"]
    records = [
        segmentation_record(
            ref(f"{i}.jpg"), f"{MASKS}/{i}.png",
            {key: {"class-name": name, "hex-color": palette[int(key)]} for key, name in m.items()},
        )
        for i, m in enumerate(maps)
    ]  # fmt: skip

    # When surveying without a label config
    survey = _survey(workspace, records)

    # Then the class of key k is at k less the background keys before it; no BACKGROUND class
    assert survey.class_list.names == classes


def test_a_color_map_disagreeing_with_earlier_lines_rejects_its_line(tmp_path: Path) -> None:
    # Given no label config: a line mapping key 1 to road, then a line mapping key 1 to car
    mirror = MirrorWorkspace(tmp_path)
    mask = blank_mask(40, 30)
    mask[5:20, 5:20] = rgb(ROAD[1])
    lines = [
        mirror.segmented(ref("a.jpg"), mask, color_map(ROAD, CAR)),
        mirror.segmented(ref("b.jpg"), blank_mask(40, 30), color_map(("car", "#2ca02c"))),
    ]

    # When converting
    dataset = mirror.convert(lines)

    # Then the second line is a class_map_conflict, as for bounding boxes
    assert dataset.report["rejected"] == {"class_map_conflict": 1}
    assert dataset.text("classes.txt") == "road\ncar\n"
