"""Lines that cannot be converted are not fatal: each is counted by reason and listed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gt_builders import Workspace, box, line, record, ref


def _with(changes: dict[str, Any], base: dict[str, Any] | None = None) -> str:
    """A valid line for image `bad.jpg` with `changes` applied (None deletes a key)."""
    entry = base or record(ref("bad.jpg"), [box()])
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return json.dumps(entry)


def _annotation(**overrides: Any) -> dict[str, Any]:
    """The `boxes` attribute with its one annotation changed (None deletes a field)."""
    entry = record(ref("bad.jpg"), [box()])["boxes"]
    for key, value in overrides.items():
        if value is None:
            del entry["annotations"][0][key]
        else:
            entry["annotations"][0][key] = value
    return dict(entry)


def _image_size(value: Any) -> dict[str, Any]:
    entry = record(ref("bad.jpg"), [box()])["boxes"]
    entry["image_size"] = value
    return dict(entry)


REJECTED_LINES = {
    "malformed_json": '{"source-ref": "s3://bucket/jobs/photos/bad.jpg", ',
    "not_an_object": '["s3://bucket/jobs/photos/bad.jpg"]',
    "missing_source_ref": _with({"source-ref": None}),
    "missing_source_ref (not a string)": _with({"source-ref": 42}),
    "invalid_source_ref (not s3)": _with({"source-ref": "https://bucket/bad.jpg"}),
    "invalid_source_ref (no key)": _with({"source-ref": "s3://bucket"}),
    "invalid_source_ref (a folder)": _with({"source-ref": "s3://bucket/jobs/"}),
    "unsafe_path (..)": _with({"source-ref": "s3://bucket/jobs/../../etc/passwd.jpg"}),
    "unsafe_path (.)": _with({"source-ref": "s3://bucket/jobs/./bad.jpg"}),
    "unsafe_path (empty segment)": _with({"source-ref": "s3://bucket/jobs//bad.jpg"}),
    "unsafe_path (control character)": _with({"source-ref": "s3://bucket/jobs/b\nad.jpg"}),
    "not_labeled": json.dumps({"source-ref": ref("bad.jpg")}),
    "failed_object": json.dumps({
        "source-ref": ref("bad.jpg"),
        "boxes-metadata": {"failure-reason": "ClientError: worker timeout", "type": "groundtruth/object-detection"},
    }),
    "missing_image_size": _with({"boxes": _image_size(None)}),
    "missing_image_size (empty list)": _with({"boxes": _image_size([])}),
    "invalid_image_size (zero width)": _with({"boxes": _image_size([{"width": 0, "height": 4}])}),
    "invalid_image_size (string)": _with({"boxes": _image_size([{"width": "5", "height": 4}])}),
    "invalid_image_size (bool)": _with({"boxes": _image_size([{"width": True, "height": 4}])}),
    "invalid_image_size (fraction)": _with({"boxes": _image_size([{"width": 5.5, "height": 4}])}),
    "invalid_image_size (no height)": _with({"boxes": _image_size([{"width": 5}])}),
    "invalid_image_size (not a list)": _with({"boxes": _image_size({"width": 5, "height": 4})}),
    "invalid_annotation (left is text)": _with({"boxes": _annotation(left="10")}),
    "invalid_annotation (left is a bool)": _with({"boxes": _annotation(left=True)}),
    "invalid_annotation (no class_id)": _with({"boxes": _annotation(class_id=None)}),
    "invalid_annotation (negative class_id)": _with({"boxes": _annotation(class_id=-1)}),
    "invalid_annotation (bool class_id)": _with({"boxes": _annotation(class_id=False)}),
    "invalid_annotation (no width)": _with({"boxes": _annotation(width=None)}),
    "invalid_annotation (NaN)": _with({"boxes": _annotation()}).replace('"left": 10', '"left": NaN'),
    "invalid_annotation (Infinity)": _with({"boxes": _annotation()}).replace('"top": 20', '"top": Infinity'),
    "invalid_annotation (annotations not a list)": _with({"boxes": {"image_size": [{"width": 5, "height": 4}], "annotations": {}}}),
    "invalid_annotation (annotation not an object)": _with({"boxes": {"image_size": [{"width": 5, "height": 4}], "annotations": [[1, 2]]}}),
    "invalid_annotation (attribute not an object)": _with({"boxes": 1}),
}  # fmt: skip


@pytest.mark.parametrize(("case", "bad_line"), REJECTED_LINES.items(), ids=list(REJECTED_LINES))
def test_a_line_that_cannot_be_converted_is_counted_by_reason_and_listed_with_its_origin(
    workspace: Workspace, case: str, bad_line: str
) -> None:
    # Given a manifest whose second line cannot be converted, between two good lines
    reason = case.split(" ", maxsplit=1)[0]
    lines = [line(ref("a.jpg"), [box()]), bad_line, line(ref("b.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, label_attribute="boxes")

    # Then the good lines convert, and the bad one is counted under its reason in report.json
    report = dataset.report
    assert report["images"] == 2
    assert report["rejected"] == {reason: 1}
    # And rejected.jsonl lists it with its manifest, line number, reason and a detail
    assert dataset.rejected == [
        {
            "manifest": str(workspace.tmp_path / "job1/output.manifest"),
            "line": 2,
            "reason": reason,
            "detail": dataset.rejected[0]["detail"],
            "source_ref": dataset.rejected[0]["source_ref"],
        }
    ]
    assert dataset.rejected[0]["detail"]


def test_a_line_failing_a_rule_after_its_source_ref_is_read_keeps_the_source_ref_in_the_listing(
    workspace: Workspace,
) -> None:
    # Given a line with a valid source-ref but no image size
    lines = [line(ref("a.jpg"), [box()]), _with({"boxes": _image_size(None)})]

    # When converting
    dataset = workspace.convert(lines)

    # Then rejected.jsonl names the image, so the user can find it
    assert dataset.rejected[0]["source_ref"] == ref("bad.jpg")


def test_a_failed_object_is_a_failure_even_if_the_attribute_is_present(
    workspace: Workspace,
) -> None:
    # Given a line whose metadata carries a failure-reason next to an annotation
    failed = record(ref("bad.jpg"), [box()], metadata={"failure-reason": "no consolidation"})
    lines = [line(ref("a.jpg"), [box()]), json.dumps(failed)]

    # When converting
    dataset = workspace.convert(lines)

    # Then the line is counted as a failed object
    assert dataset.report["rejected"] == {"failed_object": 1}
    assert dataset.rejected[0]["detail"] == "no consolidation"


def test_class_ids_written_as_strings_are_accepted(workspace: Workspace) -> None:
    # Given an annotation whose class_id is a string (as video jobs write "class-id")
    lines = [line(ref("a.jpg"), [box(class_id="1")], class_map=None)]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then it is read as the number
    assert dataset.label_rows(ref("a.jpg"))[0][0] == "1"


def test_blank_lines_are_ignored_but_line_numbers_count_them(workspace: Workspace) -> None:
    # Given a manifest with blank and whitespace-only lines around a bad line
    manifest = workspace.manifest("\n" + line(ref("a.jpg"), [box()]) + "\n   \n\r\n{oops\n\n")

    # When converting
    dataset = workspace.convert(manifest)

    # Then blank lines are neither images nor rejections, and the bad line keeps its number
    report = dataset.report
    assert (report["images"], report["lines"], report["rejected"]) == (1, 2, {"malformed_json": 1})
    assert dataset.rejected[0]["line"] == 5


def test_a_manifest_with_crlf_line_ends_and_a_byte_order_mark_converts(
    workspace: Workspace,
) -> None:
    # Given a manifest saved by a Windows editor (BOM, CRLF)
    path = workspace.tmp_path / "windows.manifest"
    body = line(ref("a.jpg"), [box()]) + "\r\n" + line(ref("b.jpg"), [box()]) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())

    # When converting
    dataset = workspace.convert(path)

    # Then both lines convert
    assert dataset.report["images"] == 2


def test_a_manifest_from_which_no_line_converts_is_an_error_yet_the_report_is_written(
    workspace: Workspace,
) -> None:
    # Given a manifest with only failed and unlabeled lines (and the attribute on one of them)
    failed = {"source-ref": ref("a.jpg"), "boxes-metadata": {"failure-reason": "timeout"}}
    lines = [json.dumps(failed), json.dumps({"source-ref": ref("b.jpg")}), "not json"]

    # When converting
    message, dataset = workspace.fail(lines, label_attribute="boxes")

    # Then the error names the manifest and the reasons, and points at rejected.jsonl
    assert "job1/output.manifest" in message
    assert "not one of 3 lines converts" in message
    assert "rejected.jsonl" in message
    # And report.json and rejected.jsonl explain every line
    assert dataset.report["rejected"] == {"failed_object": 1, "malformed_json": 1, "not_labeled": 1}
    assert [r["line"] for r in dataset.rejected] == [1, 2, 3]


def test_one_manifest_of_several_converting_nothing_is_an_error(workspace: Workspace) -> None:
    # Given a good manifest and one whose only line failed
    good = [line(ref("a.jpg"), [box()])]
    bad = [json.dumps({"source-ref": ref("b.jpg"), "boxes-metadata": {"failure-reason": "x"}})]

    # When converting both
    message, _ = workspace.fail(good, bad, label_attribute="boxes")

    # Then the failing manifest is named
    assert "job2/output.manifest" in message
