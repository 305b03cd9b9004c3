"""report.json's typed model: it writes what gt2yolo has always written, reads back what it
wrote, reads the report.json of earlier gt2yolo versions, and refuses what it cannot show."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.errors import ConversionError
from gt2yolo.report import ConversionReport, ManifestSummary, ReportDocument, TaskCounts
from gt2yolo.tasks.classify.report import ClassifyCounts, ClassifySection
from gt2yolo.tasks.detect.report import DetectSection
from gt2yolo.tasks.registry import SECTIONS, parse_report
from gt2yolo.tasks.segment.report import SegmentCounts, SegmentSection
from gt2yolo.tasks.video.report import VideoCounts, VideoSection
from hypothesis import given
from hypothesis import strategies as st

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"

# --- round trip over random documents -------------------------------------------------------

names = st.text(max_size=12)
counts = st.integers(min_value=0, max_value=10**9)
optional_counts = st.none() | counts
numbers = st.integers(min_value=0, max_value=100) | st.floats(
    min_value=0, max_value=1e6, allow_nan=False
)
count_maps = st.dictionaries(names, counts, max_size=4)

sections = st.one_of(
    st.just(DetectSection()),
    st.builds(
        SegmentSection, counts, st.none() | numbers, st.none() | numbers, counts, counts, counts
    ),
    st.builds(
        ClassifySection,
        st.booleans(),
        count_maps,
        st.none() | st.dictionaries(names, names, max_size=4),
        st.none() | count_maps,
        count_maps,
        counts,
    ),
    st.builds(
        VideoSection,
        st.booleans(),
        optional_counts,
        counts,
        st.integers(1, 30),
        counts,
        optional_counts,
        counts,
        counts,
        names,
    ),
)


@st.composite
def documents(draw: st.DrawFn) -> ReportDocument:
    section = draw(sections)
    return ReportDocument(
        images=draw(counts), boxes=draw(counts), background_images=draw(counts),
        lines=draw(counts), rejected_lines=draw(counts), rejected=draw(count_maps),
        dropped_boxes=draw(count_maps), clamped_boxes=draw(counts),
        classes=tuple(draw(st.lists(names, max_size=4))), class_source=draw(names),
        boxes_per_class=draw(count_maps), images_per_split=draw(count_maps),
        boxes_per_split=draw(count_maps), label_attribute=draw(names),
        common_prefix=draw(names),
        split_fractions=draw(st.dictionaries(names, numbers, max_size=3)),
        manifests=tuple(draw(st.lists(st.builds(ManifestSummary, names, counts, counts, counts),
                                      max_size=3))),
        warnings=tuple(draw(st.lists(names, max_size=3))), task=section.task,
        renamed_images=draw(optional_counts), layout=draw(st.none() | names),
        version=draw(st.none() | names), partial=draw(st.booleans()), section=section,
    )  # fmt: skip


@given(documents())
def test_a_document_reads_back_as_it_was_written(document: ReportDocument) -> None:
    written = json.dumps(document.as_dict(), indent=2, ensure_ascii=False)
    assert parse_report(json.loads(written)) == document


@given(documents())
def test_what_is_read_is_written_again_byte_for_byte(document: ReportDocument) -> None:
    written = json.dumps(document.as_dict(), indent=2, ensure_ascii=False)
    again = json.dumps(parse_report(json.loads(written)).as_dict(), indent=2, ensure_ascii=False)
    assert again == written


# --- report.json as gt2yolo writes it ---------------------------------------------------------

_COMMON: dict[str, Any] = {
    "images": 9, "boxes": 33, "background_images": 0, "lines": 14, "rejected_lines": 5,
    "rejected": {"failed_object": 1, "not_labeled": 4}, "dropped_boxes": {"small_region": 3},
    "clamped_boxes": 0, "classes": ["road", "car"], "class_source": "label config s3://b/c.json",
    "boxes_per_class": {"road": 9, "car": 24}, "images_per_split": {"train": 6, "val": 3},
    "boxes_per_split": {"train": 24, "val": 9}, "label_attribute": "street-ref",
    "common_prefix": "s3://images/street/", "split_fractions": {"val": 0.2, "test": 0.0},
    "manifests": [{"manifest": "m.manifest", "lines": 14, "images": 9, "rejected": 5}],
    "warnings": [],
}  # fmt: skip
WRITTEN = {
    "detect": {**_COMMON, "task": "detect", "renamed_images": 0, "layout": "folders"},
    "segment": {
        **_COMMON, "task": "segment", "renamed_images": 0, "layout": "folders",
        "segmentation": {"polygons": 33, "polygon_tolerance_px": 1.0, "min_region_area_px": 4,
                         "regions_with_holes": 6, "small_holes_filled": 0,
                         "unchecked_image_sizes": 0},
    },
    "classify": {
        **_COMMON, "task": "classify", "renamed_images": 0, "layout": "flat",
        "classification": {"multilabel": False, "images_per_class": {"road": 6, "car": 3},
                           "class_folders": {"road": "road", "car": "car"},
                           "ultralytics_class_ids": {"car": 0, "road": 1},
                           "dropped_labels": {"unknown_class": 2}, "images_without_class": 0},
    },
    "multilabel": {
        **_COMMON, "task": "classify", "renamed_images": 0, "layout": "folders",
        "classification": {"multilabel": True, "images_per_class": {"road": 6, "car": 3},
                           "class_folders": None, "ultralytics_class_ids": None,
                           "dropped_labels": {}, "images_without_class": 5},
    },
    "video (pipeline, partial)": {
        **_COMMON, "task": "detect", "renamed_images": 0, "layout": "folders",
        "version": "v0003-20261201T000000Z", "partial": True,
        "video": {"tracking": True, "sequences": 2, "frames": 12, "frame_step": 2,
                  "frames_skipped_by_step": 12, "tracks": 4, "boxes_outside_sequence": 0,
                  "invalid_boxes": 0, "split_by": "sequence"},
    },
}  # fmt: skip
SECTION_TYPES = {
    "detect": DetectSection, "segment": SegmentSection, "classify": ClassifySection,
    "multilabel": ClassifySection, "video (pipeline, partial)": VideoSection,
}  # fmt: skip


@pytest.mark.parametrize("kind", WRITTEN)
def test_each_task_report_reads_to_its_section_and_writes_the_same_bytes(kind: str) -> None:
    document = WRITTEN[kind]
    parsed = parse_report(document)
    assert type(parsed.section) is SECTION_TYPES[kind]
    assert json.dumps(parsed.as_dict(), indent=2) == json.dumps(document, indent=2)


def test_the_running_totals_write_the_common_part_up_to_the_task() -> None:
    report = ConversionReport(classes=("cat", "dog"), task="segment")
    report.boxes_per_class[1] += 2
    document = report.as_dict()
    assert list(document)[-1] == "task" and document["boxes_per_class"] == {"cat": 0, "dog": 2}


# --- report.json of earlier gt2yolo versions --------------------------------------------------


def test_a_report_of_the_first_gt2yolo_reads_as_a_detection_dataset() -> None:
    # Given report.json as the first gt2yolo wrote it: no task, renamed_images, layout, section
    parsed = parse_report(_COMMON)
    # Then it is a plain detection dataset whose later keys are not stated
    assert parsed.task == "detect" and parsed.section == DetectSection()
    assert (parsed.renamed_images, parsed.layout, parsed.version, parsed.partial) == (
        None, None, None, False,
    )  # fmt: skip
    assert parsed.manifests == (ManifestSummary("m.manifest", 14, 9, 5),)
    assert parsed.as_dict() == {**_COMMON, "task": "detect"}


def test_missing_keys_read_as_the_page_shows_them() -> None:
    parsed = parse_report({"task": "detect", "video": {"tracking": True, "frames": 2}})
    assert parsed.images == 0 and parsed.classes == () and parsed.rejected == {}
    assert parsed.section == VideoSection(tracking=True, frames=2)
    section = parsed.section
    assert isinstance(section, VideoSection)
    assert (section.sequences, section.tracks, section.frame_step) == (None, None, 1)
    segment = parse_report({"task": "segment"}).section
    assert isinstance(segment, SegmentSection) and segment == SegmentSection()
    assert segment.polygon_tolerance_px is None  # shown as "?"
    # A null section reads as a missing one; a detection report's null video is no video.
    assert parse_report({"task": "classify", "classification": None}).section == ClassifySection()
    assert parse_report({"video": None}).section == DetectSection()


# --- refused ----------------------------------------------------------------------------------


def test_an_unknown_task_is_refused_naming_it_and_the_tasks_known() -> None:
    with pytest.raises(ConversionError, match=r"task 'obb'.*detect, segment, classify"):
        parse_report({"task": "obb", "obb": {}})


@pytest.mark.parametrize(
    "document",
    [
        {"images": "many"},
        {"images": True},
        {"classes": "cat"},
        {"classes": [1]},
        {"rejected": {"not_labeled": "1"}},
        {"task": 3},
        {"partial": "yes"},
        {"task": "segment", "segmentation": {"polygon_tolerance_px": "1"}},
        {"task": "classify", "classification": {"multilabel": 1}},
        {"video": {"frame_step": 2.5}},
        [],
        "report",
    ],
    ids=repr,
)
def test_a_value_of_the_wrong_type_is_refused(document: Any) -> None:
    with pytest.raises(ConversionError):
        parse_report(document)


def test_every_section_has_a_task_and_a_detection_report_one_keyless_section() -> None:
    assert {s.task for s in SECTIONS} == {"detect", "segment", "classify"}
    assert [s for s in SECTIONS if s.key is None] == [DetectSection]


# --- task counts across a fan-out -------------------------------------------------------------


def test_task_counts_survive_a_chunk_s_counters() -> None:
    chunks = []
    for n in (1, 2):
        chunk = ConversionReport(task="classify")
        chunk.counts(ClassifyCounts).images_per_class[n] += n
        chunk.counts(ClassifyCounts).dropped_labels["unknown_class"] += 1
        chunks.append(json.loads(json.dumps(chunk.counters())))
    merged = ConversionReport(task="classify")
    for counters in chunks:
        merged.absorb(counters)
    counts = merged.counts(ClassifyCounts)
    assert counts.images_per_class == {1: 1, 2: 2} and counts.dropped_labels == {"unknown_class": 2}


@pytest.mark.parametrize("kind", [SegmentCounts, VideoCounts, ClassifyCounts])
def test_each_task_s_counts_are_named_for_the_merge(kind: type[TaskCounts]) -> None:
    assert TaskCounts.named(kind.kind) is kind
    counts = kind()
    counts.absorb(counts.as_json())
    assert counts == kind()


def test_a_chunk_without_task_counts_merges_as_before() -> None:
    merged = ConversionReport()
    merged.absorb({**ConversionReport().counters(), "extra": {}})
    assert merged.extra == {}
    with pytest.raises(ValueError, match="obb"):
        TaskCounts.named("obb")


# --- import rules -----------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("name", ["detect", "segment", "classify", "video"])
def test_a_task_section_imports_only_the_report_model_and_the_standard_library(name: str) -> None:
    imports = _imports(LAMBDAS / "gt2yolo" / "tasks" / name / "report.py")
    outside = {m for m in imports if m.split(".")[0] not in sys.stdlib_module_names}
    assert outside <= {"gt2yolo.report"}, outside


@pytest.mark.parametrize(
    "path",
    ["insights/parts.py", "tasks/detect/page.py", "tasks/classify/page.py", "tasks/video/page.py"],
)
def test_the_page_s_sections_never_import_the_page(path: str) -> None:
    imports = _imports(LAMBDAS / "gt2yolo" / path)
    assert "gt2yolo.insights.page" not in imports
    assert "gt2yolo.insights" not in imports
