"""report.json's `exports` section: read back by the typed model and listed on the report page."""

from __future__ import annotations

from typing import Any

from gt2yolo.insights.exports import exports_section
from gt2yolo.tasks.registry import parse_report

EXPORTS: dict[str, Any] = {
    "coco": {
        "written": True,
        "files": {"exports/coco/train.json": {"images": 8, "annotations": 7}},
        "excluded": {},
        "warnings": [],
    },
    "sagemaker": {
        "written": True,
        "files": {"exports/sagemaker/train.manifest": {"lines": 7}},
        "excluded": {"no_boxes": 1},
        "attribute_names": ["source-ref", "bounding-box"],
        "warnings": [],
    },
    "rekognition": {"written": False, "reason": "not for <this> task"},
}


def _report(**extra: Any) -> dict[str, Any]:
    return {"images": 8, "task": "detect", "classes": ["cat"], **extra}


def test_the_exports_section_reads_back_as_written_facts_included() -> None:
    # Given a report.json with an exports section (a format's own facts among it)
    document = _report(exports=EXPORTS)
    # When it is read into the typed model and written again
    parsed = parse_report(document)
    # Then each format's entry is typed and the section is as it was
    coco, sagemaker, rekognition = parsed.exports
    assert coco.files == {"exports/coco/train.json": {"images": 8, "annotations": 7}}
    assert sagemaker.excluded == {"no_boxes": 1}
    assert (rekognition.written, rekognition.reason) == (False, "not for <this> task")
    assert parsed.as_dict()["exports"] == EXPORTS


def test_a_report_without_exports_writes_none() -> None:
    assert "exports" not in parse_report(_report()).as_dict()


def test_the_page_lists_each_file_what_was_left_out_and_why_a_format_is_missing() -> None:
    # Given the typed exports
    html = exports_section(parse_report(_report(exports=EXPORTS)).exports)
    # Then each file is listed with what it holds, left-out images by reason, and the reason a
    # format was not written (escaped)
    assert "exports/coco/train.json" in html and "8 images, 7 annotations" in html
    assert "no_boxes (1)" in html
    assert "not for &lt;this&gt; task" in html
