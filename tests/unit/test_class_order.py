"""Class ids: the position in the job's label category config, the order users train with."""

from __future__ import annotations

import pytest
from gt2yolo import ConversionError
from gt2yolo.classes import ClassMapCollector, class_list_from_label_config
from gt2yolo.records import BoxDrop
from gt_builders import Workspace, box, label_config, line, ref


def test_class_ids_follow_the_label_config_order_and_are_never_re_sorted(
    workspace: Workspace,
) -> None:
    # Given a job whose config lists "zebra" before "apple", and a line with one box of each
    lines = [
        line(
            ref("a.jpg"),
            [box(0, left=0), box(1, left=100)],
            class_map={"0": "zebra", "1": "apple"},
        )
    ]

    # When converting with that config
    dataset = workspace.convert(lines, classes=["zebra", "apple"])

    # Then zebra is class 0 and apple class 1 everywhere
    assert dataset.text("classes.txt") == "zebra\napple\n"
    assert [row[0] for row in dataset.label_rows(ref("a.jpg"))] == ["0", "1"]
    assert dataset.report["classes"] == ["zebra", "apple"]


def test_a_box_is_classed_by_its_name_so_a_config_in_another_order_still_maps_correctly(
    workspace: Workspace,
) -> None:
    # Given a line whose class-map says id 0 is "dog", and a config listing "cat" then "dog"
    lines = [line(ref("a.jpg"), [box(0)], class_map={"0": "dog"})]

    # When converting with that config
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then the box gets dog's id in the config
    assert dataset.label_rows(ref("a.jpg"))[0][0] == "1"


def test_a_box_without_a_class_map_name_takes_the_config_name_at_its_class_id(
    workspace: Workspace,
) -> None:
    # Given a line with no class-map and a box of class id 1
    lines = [line(ref("a.jpg"), [box(1)], class_map=None)]

    # When converting with config ["cat", "dog"]
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then the box is class 1 (dog), and annot.csv names it
    assert dataset.label_rows(ref("a.jpg"))[0][0] == "1"
    assert dataset.annot[0]["category"] == "dog"


def test_without_a_config_the_order_comes_from_the_class_maps_of_the_lines(
    workspace: Workspace,
) -> None:
    # Given sparse class-maps spread over several lines (ids as Ground Truth assigned them)
    lines = [
        line(ref("a.jpg"), [box(2)], class_map={"2": "bird"}),
        line(ref("b.jpg"), [box(0), box(1, left=99)], class_map={"0": "cat", "1": "dog"}),
    ]

    # When converting without a config
    dataset = workspace.convert(lines)

    # Then the class list is the ids' order, not the order of appearance nor alphabetical
    assert dataset.text("classes.txt") == "cat\ndog\nbird\n"
    assert dataset.label_rows(ref("a.jpg"))[0][0] == "2"
    assert dataset.report["class_source"].startswith("class-maps")


def test_a_line_whose_class_map_disagrees_with_earlier_lines_is_rejected_and_the_run_goes_on(
    workspace: Workspace,
) -> None:
    # Given lines that disagree about the name of class id 0, and a third agreeing with the first
    lines = [
        line(ref("a.jpg"), [box(0)], class_map={"0": "cat"}),
        line(ref("b.jpg"), [box(0)], class_map={"0": "dog"}),
        line(ref("c.jpg"), [box(0)], class_map={"0": "cat"}),
    ]

    # When converting without a config
    dataset = workspace.convert(lines)

    # Then the first line decides, and the disagreeing line is counted and listed with both names
    assert dataset.report["classes"] == ["cat"]
    assert (dataset.report["images"], dataset.report["rejected"]) == (2, {"class_map_conflict": 1})
    (rejected,) = dataset.rejected
    assert (rejected["line"], rejected["source_ref"]) == (2, ref("b.jpg"))
    assert "'dog'" in rejected["detail"] and "'cat'" in rejected["detail"]
    # And the report warns, pointing at the first such line and at --label-config
    assert any(
        "job1/output.manifest:2" in w and "--label-config" in w for w in dataset.report["warnings"]
    )


ODD_CLASS_MAPS = {
    "a fractional key": {"1.0": "dog"},
    "a negative key": {"-1": "dog"},
    "a key beyond 999": {"1000": "dog"},
    "a key of 5000 digits": {"9" * 5000: "dog"},
    "a null name": {"0": None},
    "a number as name": {"0": 7},
    "an empty name": {"0": " "},
    "a name with a line break": {"0": "c\nat"},
    "a name that is not valid Unicode": {"0": "\ud800"},
    "one name under two ids": {"0": "cat", "1": "cat"},
    "one id spelled twice": {"1": "cat", "01": "dog"},
    "a name another line gives another id": {"3": "cat"},
    "an id another line gives another name": {"0": "dog"},
}  # fmt: skip


@pytest.mark.parametrize("class_map", ODD_CLASS_MAPS.values(), ids=list(ODD_CLASS_MAPS))
def test_without_a_config_a_line_with_an_unusable_class_map_is_rejected_not_fatal(
    workspace: Workspace, class_map: dict[str, object]
) -> None:
    # Given a good line naming cat as 0, then a line whose class-map cannot join the class list
    lines = [
        line(ref("a.jpg"), [box(0)], class_map={"0": "cat"}),
        line(ref("b.jpg"), [box(0)], class_map=class_map),
    ]

    # When converting without a config
    dataset = workspace.convert(lines)

    # Then the good line converts with the class list it defines, the odd one is a counted rejection
    assert dataset.report["classes"] == ["cat"]
    assert dataset.report["rejected"] == {"class_map_conflict": 1}
    assert dataset.rejected[0]["line"] == 2
    assert 0 < len(dataset.rejected[0]["detail"]) < 300


def test_a_conflicting_line_adds_none_of_its_class_map_entries() -> None:
    # Given a class-map whose second entry conflicts with an earlier line
    collector = ClassMapCollector()
    assert collector.add({"0": "cat"}, "m:1")
    assert not collector.add({"1": "dog", "0": "bird"}, "m:2")

    # When the class list is derived
    classes = collector.class_list()

    # Then the conflicting line's other entry (dog) is not in it, and its class-map is refused
    assert classes.names == ("cat",)
    assert classes.class_map_conflict({"1": "dog", "0": "bird"}) is not None
    assert classes.class_map_conflict({"0": "cat"}) is None


def test_conflicting_class_maps_do_not_matter_when_a_config_is_given(workspace: Workspace) -> None:
    # Given two lines that disagree about class id 0
    lines = [
        line(ref("a.jpg"), [box(0)], class_map={"0": "cat"}),
        line(ref("b.jpg"), [box(0)], class_map={"0": "dog"}),
    ]

    # When converting with a config
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then each box is classed by its line's name
    assert dataset.label_rows(ref("a.jpg"))[0][0] == "0"
    assert dataset.label_rows(ref("b.jpg"))[0][0] == "1"


def test_class_ids_no_class_map_names_get_a_placeholder_name_and_a_warning(
    workspace: Workspace,
) -> None:
    # Given class-maps that name ids 0 and 2 but never 1
    lines = [line(ref("a.jpg"), [box(0), box(2, left=99)], class_map={"0": "cat", "2": "bird"})]

    # When converting without a config
    dataset = workspace.convert(lines)

    # Then id 1 keeps its position under a placeholder, and the report warns
    assert dataset.report["classes"] == ["cat", "unnamed_1", "bird"]
    assert any("unnamed_<id>" in w for w in dataset.report["warnings"])
    assert [row[0] for row in dataset.label_rows(ref("a.jpg"))] == ["0", "2"]


def test_a_box_whose_class_is_not_in_the_config_is_dropped_and_counted(
    workspace: Workspace,
) -> None:
    # Given a line with a cat and a horse, and a config without horse
    lines = [line(ref("a.jpg"), [box(0), box(1, left=99)], class_map={"0": "cat", "1": "horse"})]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then only the cat is in the label file; the horse is counted and listed in annot.csv
    assert [row[0] for row in dataset.label_rows(ref("a.jpg"))] == ["0"]
    assert dataset.report["dropped_boxes"] == {"class_not_in_config": 1}
    statuses = {row["category"]: row["status"] for row in dataset.annot}
    assert statuses == {"cat": "kept", "horse": "dropped:class_not_in_config"}


def test_a_box_with_an_id_beyond_the_class_list_and_no_name_is_dropped_as_unknown(
    workspace: Workspace,
) -> None:
    # Given a box of class id 7 on a line without class-map, and a two-class config
    lines = [line(ref("a.jpg"), [box(7)], class_map=None)]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then the box is dropped as an unknown class id
    assert dataset.report["dropped_boxes"] == {str(BoxDrop.UNKNOWN_CLASS_ID): 1}
    assert dataset.label_rows(ref("a.jpg")) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"not json", "not valid JSON"),
        (b'{"labels": []}', "non-empty"),
        (b'{"labels": "cat"}', "non-empty"),
        (b"[]", "non-empty"),
        (b'{"labels": [{"name": "cat"}]}', 'no "label"'),
        (b'{"labels": [{"label": "  "}]}', 'no "label"'),
        (b'{"labels": [{"label": 3}]}', 'no "label"'),
        (label_config("cat", "dog", "cat"), "twice: cat"),
    ],
    ids=["not-json", "empty", "not-a-list", "not-an-object", "no-label", "blank", "number", "dup"],
)
def test_an_invalid_label_config_is_an_error(document: bytes, expected: str) -> None:
    # Given an unusable label category config
    # When it is parsed
    # Then a ConversionError names the config and the problem
    with pytest.raises(ConversionError, match=expected) as caught:
        class_list_from_label_config(document, "data.json")
    assert "data.json" in str(caught.value)


def test_the_config_document_version_is_not_validated() -> None:
    # Given a config with an unexpected document-version (AWS documents no contract for it)
    document = b'{"document-version": "2099-01-01", "labels": [{"label": "cat"}]}'

    # When it is parsed
    classes = class_list_from_label_config(document, "data.json")

    # Then the classes are read
    assert classes.names == ("cat",)


@pytest.mark.parametrize("name", ["cat\ndog", "cat\r", "a\u2028b", "a\x85b"])
def test_a_class_name_that_would_break_the_one_name_per_line_files_is_refused(name: str) -> None:
    # Given a config whose class name holds a line break (classes.txt holds one name per line)
    document = label_config("ok", name)

    # When it is parsed
    # Then it is refused, as a shifted classes.txt would silently mislabel every later class
    with pytest.raises(ConversionError, match="line break"):
        class_list_from_label_config(document, "data.json")


def test_an_absurd_class_map_id_is_a_conflict_not_a_million_placeholder_names() -> None:
    # Given a class-map with an id far beyond any label list
    collector = ClassMapCollector()

    # When it is added
    # Then it is refused whole, and the class list stays empty
    assert not collector.add({"0": "cat", "999999999": "dog"}, "m:1")
    assert collector.class_list().names == ()
