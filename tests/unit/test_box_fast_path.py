"""The per-box hot path (inlined rules, fast reading of integer boxes, rows joined without csv)
gives exactly what the reference functions give, for any box."""

from __future__ import annotations

import csv
import io
from typing import Any

from gt2yolo.classes import class_list_from_label_config
from gt2yolo.geometry import yolo_line
from gt2yolo.records import BoxStatus, DrawnBox, LabeledImage, LineOrigin
from gt2yolo.split import Split
from gt2yolo.tasks.detect.reader import (
    _checked_image_size,
    _drawn_box,
    _fast_drawn_box,
    _image_size,
    _Reject,
)
from gt2yolo.tasks.detect.rules import evaluate_box, evaluate_boxes, kept_boxes
from gt2yolo.tasks.detect.yolo import BoxOutcome, DetectWriter, _kept_annot_rows, _plain_annot_rows
from gt2yolo.writers import _is_plain
from gt_builders import label_config
from hypothesis import given, settings
from hypothesis import strategies as st

CLASSES = class_list_from_label_config(label_config("cat", "dog", "bird"), "data.json")
PIXELS = st.one_of(
    st.integers(-100, 700).map(float),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-300, 1e-320, 5e-324, 2.0**53, 1e300, 0.1, 639.9999999]),
)
DRAWN = st.builds(
    DrawnBox,
    class_id=st.integers(0, 4),
    class_name=st.sampled_from([None, "cat", "dog", "fish", "we\"ird, name"]),
    left=PIXELS, top=PIXELS, width=PIXELS, height=PIXELS,
    confidence=st.sampled_from([None, 0.5, 1.0, 0.123456789, 1e-20]),
)  # fmt: skip


def _reference(image: LabeledImage) -> list[BoxOutcome]:
    """evaluate_boxes as it was before the rules were inlined."""
    outcomes: list[BoxOutcome] = []
    written: set[str] = set()
    for drawn in image.boxes:
        outcome = evaluate_box(drawn, image, CLASSES)
        if outcome.yolo is not None:
            line = yolo_line(outcome.yolo)
            if line in written:
                outcome = BoxOutcome(drawn, outcome.category, None, BoxStatus.DROPPED_DUPLICATE)
            written.add(line)
        outcomes.append(outcome)
    return outcomes


@settings(max_examples=400, deadline=None)
@given(boxes=st.lists(DRAWN, max_size=6), width=st.sampled_from([1, 3, 640, 1024, 4000]),
       height=st.sampled_from([1, 7, 480, 768]), repeat=st.booleans())  # fmt: skip
def test_the_inlined_box_rules_equal_evaluate_box_bit_for_bit(
    boxes: list[DrawnBox], width: int, height: int, repeat: bool
) -> None:
    # Given an image with any boxes (repeated ones too: the duplicate rule)
    image = LabeledImage(
        "s3://b/x.jpg", width, height, tuple(boxes + boxes[:1] * repeat), LineOrigin("m", 1)
    )
    # When evaluating its boxes
    fast, slow = evaluate_boxes(image, CLASSES), _reference(image)
    # Then every outcome is the reference's: same status, category and bit-equal YOLO values
    assert [(o.drawn, o.category, o.yolo, o.status) for o in fast] == [
        (o.drawn, o.category, o.yolo, o.status) for o in slow
    ]
    assert [repr(o.yolo) for o in fast] == [repr(o.yolo) for o in slow]  # -0.0 is not 0.0
    # And the formatted label line is yolo_line's
    assert all(o.line == yolo_line(o.yolo) for o in fast if o.yolo is not None)


ENTRY_VALUES = st.one_of(
    st.integers(-5, 10**6), st.sampled_from([2**63, 10**400, -0.0, 1.5, float("nan"), float("inf"), True, False, None, "3", "x", [], {}]),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(values=st.fixed_dictionaries({k: ENTRY_VALUES for k in ("class_id", "left", "top", "width", "height")}),
       confidence=st.one_of(ENTRY_VALUES, st.floats()), name=st.sampled_from([None, "cat", 7]))  # fmt: skip
def test_an_annotation_read_by_the_fast_path_equals_the_checked_reading(
    values: dict[str, Any], confidence: Any, name: Any
) -> None:
    # Given any annotation entry, class-map and confidence
    class_map = {} if name is None else {str(values["class_id"]): name}
    extra = {"confidence": confidence}
    # When the fast path takes it
    try:
        fast = _fast_drawn_box(values, class_map, extra)
    except OverflowError:
        fast = None  # an int too large for a float: the checked reading raises the same
    # Then it reads what the checked path reads (which also decides every refusal)
    if fast is not None:
        assert repr(fast) == repr(_drawn_box(0, values, class_map, extra))


@settings(max_examples=300, deadline=None)
@given(sizes=st.one_of(
    st.lists(st.fixed_dictionaries({"width": ENTRY_VALUES, "height": ENTRY_VALUES}), max_size=2),
    ENTRY_VALUES,
))  # fmt: skip
def test_an_image_size_read_by_the_fast_path_equals_the_checked_reading(sizes: Any) -> None:
    # Given any image_size value
    def read(reader: Any) -> object:
        try:
            return reader(sizes)
        except _Reject as rejection:
            return (rejection.reason, rejection.detail)
        except OverflowError:
            return "overflow"

    # When reading it by the fast path and by the checked one
    # Then both give the same size, or the same rejection
    assert read(lambda s: _image_size({"image_size": s})) == read(_checked_image_size)


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=8) | st.sampled_from(
    ["a,b", 'q"q', "x\r", "\u2028", ""]
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=4))
def test_a_field_deemed_plain_is_written_by_csv_writer_as_is(texts: list[str]) -> None:
    # Given fields that _is_plain accepts
    plain = [t for t in texts if _is_plain(t)]
    # When csv.writer writes them (next to another field: a lone empty field is quoted)
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerow([*plain, "end"])
    # Then it writes them unchanged
    assert stream.getvalue() == ",".join([*plain, "end"]) + "\n"


@settings(max_examples=200, deadline=None)
@given(boxes=st.lists(DRAWN, max_size=4), split=st.sampled_from(list(Split)))
def test_annot_rows_joined_by_hand_equal_csv_writer_rows(
    boxes: list[DrawnBox], split: Split
) -> None:
    # Given an image's evaluated boxes whose text fields need no quoting
    image = LabeledImage("s3://b/a/x.jpg", 640, 480, tuple(boxes), LineOrigin("m.manifest", 3))
    outcomes = [
        o for o in evaluate_boxes(image, CLASSES) if o.category is None or _is_plain(o.category)
    ]
    # When joining their annot.csv rows by hand
    joined = _plain_annot_rows(image, "a/x.jpg", f"labels/{split}/a/x.txt", split, outcomes)
    # Then the text is what csv.writer writes for DetectWriter._annot_row
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerows(
        DetectWriter._annot_row(image, "a/x.jpg", "a/x.txt", split, o) for o in outcomes
    )
    assert joined == stream.getvalue()


@st.composite
def _inside(draw: st.DrawFn) -> DrawnBox:
    """A box inside a 640x480 image, as most are: the common image kept_boxes takes."""
    left, top = draw(st.integers(0, 639)), draw(st.integers(0, 479))
    return DrawnBox(
        draw(st.integers(0, 2)), draw(st.sampled_from([None, "cat", "dog"])), float(left),
        float(top), float(draw(st.integers(1, 640 - left))),
        float(draw(st.integers(1, 480 - top))), draw(st.sampled_from([None, 0.5, 0.123456789])),
    )  # fmt: skip


INSIDE = _inside()


@settings(max_examples=400, deadline=None)
@given(boxes=st.lists(INSIDE | DRAWN, max_size=6), repeat=st.booleans())
def test_an_image_kept_whole_by_the_fast_rules_is_what_evaluate_boxes_makes_of_it(
    boxes: list[DrawnBox], repeat: bool
) -> None:
    # Given an image with any boxes, most of them inside it (repeated ones too)
    image = LabeledImage(
        "s3://b/x.jpg", 640, 480, tuple(boxes + boxes[:1] * repeat), LineOrigin("m", 1)
    )
    # When the fast rules and the general ones evaluate it
    kept, outcomes = kept_boxes(image, CLASSES), evaluate_boxes(image, CLASSES)
    # Then the fast rules answer exactly when every box is kept as drawn
    assert (kept is not None) == all(o.status == "kept" for o in outcomes)
    # And then with the general rules' lines, categories and class ids, box for box
    if kept is not None:
        assert kept.lines == [o.line for o in outcomes]
        assert kept.categories == [o.category for o in outcomes]
        assert kept.class_ids == [o.yolo.class_id for o in outcomes if o.yolo is not None]


@settings(max_examples=200, deadline=None)
@given(
    boxes=st.lists(INSIDE, max_size=4, unique_by=lambda b: b.left),
    split=st.sampled_from(list(Split)),
)
def test_annot_rows_of_an_image_kept_whole_equal_the_general_rows(
    boxes: list[DrawnBox], split: Split
) -> None:
    # Given an image whose every box is kept as drawn (known classes, apart: no duplicates)
    image = LabeledImage("s3://b/a/x.jpg", 640, 480, tuple(boxes), LineOrigin("m.manifest", 3))
    kept = kept_boxes(image, CLASSES)
    assert kept is not None
    # When joining its annot.csv rows from the fast rules' answer
    joined = _kept_annot_rows(image, "a/x.jpg", f"labels/{split}/a/x.txt", split, kept)
    # Then they are the rows joined from the general rules' outcomes
    outcomes = evaluate_boxes(image, CLASSES)
    assert joined == _plain_annot_rows(image, "a/x.jpg", f"labels/{split}/a/x.txt", split, outcomes)
