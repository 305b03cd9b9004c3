"""Agreement with the consolidated boxes: IoU, and greedy per-class matching at IoU >= 0.5."""

from __future__ import annotations

import pytest
from gt2yolo.insights.agreement import iou, match_boxes, worker_agreement
from gt2yolo.insights.workers import AnswerBox, parse_response_file
from hypothesis import given
from hypothesis import strategies as st
from worker_builders import answer, response_file


def b(left: float, top: float, width: float, height: float, label: str = "cat") -> AnswerBox:
    return AnswerBox(label, left, top, width, height)


def test_iou_of_identical_boxes_is_one() -> None:
    assert iou(b(10, 10, 20, 20), b(10, 10, 20, 20)) == 1.0


def test_iou_of_disjoint_or_edge_touching_boxes_is_zero() -> None:
    assert iou(b(0, 0, 10, 10), b(50, 50, 10, 10)) == 0.0
    assert iou(b(0, 0, 10, 10), b(10, 0, 10, 10)) == 0.0


def test_iou_of_half_shifted_boxes_is_one_third() -> None:
    assert iou(b(0, 0, 10, 10), b(5, 0, 10, 10)) == pytest.approx(1 / 3)


def test_iou_of_a_box_inside_another_is_the_area_ratio() -> None:
    assert iou(b(0, 0, 10, 10), b(0, 0, 5, 10)) == pytest.approx(0.5)


def test_iou_of_an_empty_box_is_zero() -> None:
    assert iou(b(0, 0, 0, 0), b(0, 0, 0, 0)) == 0.0


boxes = st.builds(
    b,
    st.integers(0, 100), st.integers(0, 100), st.integers(1, 60), st.integers(1, 60),
)  # fmt: skip


@given(boxes, boxes)
def test_iou_is_symmetric_and_between_zero_and_one(first: AnswerBox, second: AnswerBox) -> None:
    assert 0.0 <= iou(first, second) <= 1.0
    assert iou(first, second) == pytest.approx(iou(second, first))


def test_boxes_of_different_classes_never_match() -> None:
    matching = match_boxes([b(0, 0, 10, 10, "cat")], [b(0, 0, 10, 10, "dog")])
    assert matching.matches == ()
    assert (matching.extra, matching.missed) == ((0,), (0,))


def test_a_pair_below_iou_half_is_a_miss_and_an_extra_not_a_match() -> None:
    matching = match_boxes([b(5, 0, 10, 10)], [b(0, 0, 10, 10)])  # IoU 1/3
    assert matching.matches == ()
    assert (matching.extra, matching.missed) == ((0,), (0,))


def test_matching_is_one_to_one_highest_iou_first() -> None:
    # Given two consolidated boxes and a worker box overlapping both, the better one wins
    consolidated = [b(0, 0, 10, 10), b(2, 0, 10, 10)]
    worker = [b(2, 0, 10, 10), b(40, 40, 10, 10)]
    matching = match_boxes(worker, consolidated)
    assert [(m.worker_index, m.consolidated_index, m.iou) for m in matching.matches] == [
        (0, 1, 1.0)
    ]
    assert (matching.extra, matching.missed) == ((1,), (0,))


def test_each_worker_is_compared_with_the_consolidated_boxes_of_shared_objects() -> None:
    by_object = {
        "0": [
            *parse_response_file("iteration-1/0/a.json", response_file(
                answer("good", boxes=[("cat", 0, 0, 10, 10)]))),
            *parse_response_file("iteration-1/0/b.json", response_file(
                answer("sloppy", boxes=[("cat", 0, 0, 10, 8), ("cat", 50, 50, 5, 5)]))),
        ],
        "1": parse_response_file("iteration-1/1/a.json", response_file(
            answer("good", boxes=[("cat", 0, 0, 10, 10)]))),
    }  # fmt: skip
    consolidated = {"0": [b(0, 0, 10, 10)], "1": [b(90, 90, 5, 5)]}
    result = worker_agreement(by_object, consolidated)
    assert result["good"].mean_iou == 1.0
    assert result["good"].compared_answers == 1  # object 1 had a single worker: not compared
    sloppy = result["sloppy"]
    assert (sloppy.matched_boxes, sloppy.extra_boxes, sloppy.missed_boxes) == (1, 1, 0)
    assert sloppy.mean_iou == pytest.approx(0.8)
