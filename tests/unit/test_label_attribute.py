"""Which attribute of a line holds the boxes: the job's LabelAttributeName, not its job name."""

from __future__ import annotations

from gt_builders import Workspace, box, line, record, ref


def test_an_explicit_label_attribute_wins_over_detection(workspace: Workspace) -> None:
    # Given lines carrying two bounding-box attributes (a chain: first job, then an adjustment)
    lines = [line(ref("a.jpg"), [box(0)], attr="first", extra_attrs=_attr_pair("second", [box(1)]))]

    # When the label attribute is named
    dataset = workspace.convert(lines, label_attribute="second")

    # Then only that attribute's boxes are used
    assert dataset.report["label_attribute"] == "second"
    assert [row[0] for row in dataset.label_rows(ref("a.jpg"))] == ["1"]


def test_the_label_attribute_is_detected_when_exactly_one_detection_attribute_occurs(
    workspace: Workspace,
) -> None:
    # Given lines whose only bounding-box attribute is "pets" (plus a non-detection attribute)
    verify = {
        "check": 1,
        "check-metadata": {"class-name": "good", "type": "groundtruth/label-verification"},
    }
    lines = [line(ref("a.jpg"), [box()], attr="pets", extra_attrs=verify)]

    # When no label attribute is given
    dataset = workspace.convert(lines)

    # Then "pets" is used
    assert dataset.report["label_attribute"] == "pets"
    assert dataset.report["boxes"] == 1


def test_detection_stops_with_the_candidates_when_several_detection_attributes_occur(
    workspace: Workspace,
) -> None:
    # Given a manifest with two bounding-box attributes, on different lines
    lines = [line(ref("a.jpg"), [box()], attr="cars"), line(ref("b.jpg"), [box()], attr="trucks")]

    # When no label attribute is given
    message, _ = workspace.fail(lines)

    # Then the error lists both candidates and how to pick one
    assert "cars" in message
    assert "trucks" in message
    assert "--label-attribute" in message


def test_detection_stops_when_no_detection_attribute_occurs(workspace: Workspace) -> None:
    # Given lines that carry no `groundtruth/object-detection` metadata (never labeled)
    lines = ['{"source-ref": "s3://bucket/a.jpg"}']

    # When no label attribute is given
    message, _ = workspace.fail(lines)

    # Then the error says so and how to proceed
    assert "groundtruth/object-detection" in message
    assert "--label-attribute" in message


def test_a_manifest_without_any_line_carrying_the_given_attribute_is_an_error_listing_attributes(
    workspace: Workspace,
) -> None:
    # Given a manifest whose lines carry "boxes" only (the job name was guessed as attribute)
    lines = [line(ref("a.jpg"), [box()], attr="boxes")]

    # When the label attribute "identify-pets" is given
    message, _ = workspace.fail(lines, label_attribute="identify-pets")

    # Then the error names the manifest, the missing attribute and the attributes it found
    assert "job1/output.manifest" in message
    assert '"identify-pets"' in message
    assert "attributes found: boxes" in message


def test_each_merged_manifest_must_carry_the_label_attribute(workspace: Workspace) -> None:
    # Given two manifests of which only the first carries "boxes"
    first = [line(ref("a.jpg"), [box()], attr="boxes")]
    second = [line(ref("b.jpg"), [box()], attr="other")]

    # When converting both with label attribute "boxes"
    message, _ = workspace.fail(first, second, label_attribute="boxes")

    # Then the second manifest is named
    assert "job2/output.manifest" in message
    assert "other" in message


def _attr_pair(attr: str, boxes: list[dict[str, int]]) -> dict[str, object]:
    whole = record(ref("unused.jpg"), boxes, attr=attr)
    return {attr: whole[attr], f"{attr}-metadata": whole[f"{attr}-metadata"]}
