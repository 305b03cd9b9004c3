"""Boxes: clamp to the image in pixels, then normalize; drop what has no area; count everything."""

from __future__ import annotations

from gt2yolo.geometry import (
    MIN_NORMALIZED_SIZE,
    ClampedBox,
    clamp_box,
    format_value,
    normalize,
    yolo_line,
)
from gt2yolo.records import BoxDrop
from gt_builders import Workspace, box, line, ref
from hypothesis import given, settings
from hypothesis import strategies as st

# Realistic image sides up to 20,000 px: six significant digits keep the round trip within one
# pixel up to about 10^6 px, so this leaves a wide margin.
image_sides = st.integers(min_value=1, max_value=20_000)
coordinates = st.one_of(
    st.integers(min_value=-50_000, max_value=50_000),
    st.floats(min_value=-50_000, max_value=50_000, allow_nan=False),
)
any_finite = st.floats(allow_nan=False, allow_infinity=False)


def test_a_box_inside_the_image_is_normalized_to_centre_and_size_fractions() -> None:
    # Given a 100x50 box at (100, 100) in a 500x400 image
    clamped = clamp_box(100, 100, 100, 50, 500, 400)

    # When normalized
    assert isinstance(clamped, ClampedBox)
    yolo = normalize(clamped, 3, 500, 400)

    # Then centre (150, 125) and size (100, 50) are divided by the image size, nothing clamped
    assert not clamped.clamped
    assert (yolo.class_id, yolo.cx, yolo.cy, yolo.w, yolo.h) == (3, 0.3, 0.3125, 0.2, 0.125)


def test_a_box_over_the_edge_is_clamped_in_pixels_before_normalizing() -> None:
    # Given a box reaching 10 px left of and 20 px below a 500x400 image
    clamped = clamp_box(-10, 380, 50, 40, 500, 400)

    # When clamped
    # Then its corners are cut at the image edges and it is marked clamped
    assert clamped == ClampedBox(0, 380, 40, 400, clamped=True)


def test_written_values_have_six_significant_digits() -> None:
    # Given a 1x1 box in the middle of a 3x3 image (size 1/3)
    clamped = clamp_box(1, 1, 1, 1, 3, 3)
    assert isinstance(clamped, ClampedBox)

    # When written as a label row
    row = yolo_line(normalize(clamped, 0, 3, 3))

    # Then fractions carry six significant digits, as Ultralytics writes its own labels
    assert row == "0 0.5 0.5 0.333333 0.333333"
    assert format_value(2 / 3) == "0.666667"
    assert format_value(1.0) == "1"


def test_a_box_with_zero_or_negative_size_is_dropped_as_zero_size() -> None:
    # Given drawn boxes without width or height
    # When clamped
    # Then each is dropped as zero_size
    assert clamp_box(10, 10, 0, 5, 500, 400) is BoxDrop.ZERO_SIZE
    assert clamp_box(10, 10, 5, 0, 500, 400) is BoxDrop.ZERO_SIZE
    assert clamp_box(10, 10, -5, 5, 500, 400) is BoxDrop.ZERO_SIZE


def test_a_box_with_no_area_left_inside_the_image_is_dropped_as_outside_image() -> None:
    # Given boxes wholly outside, or only touching an edge of, a 500x400 image
    # When clamped
    # Then each is dropped as outside_image
    assert clamp_box(600, 10, 20, 20, 500, 400) is BoxDrop.OUTSIDE_IMAGE
    assert clamp_box(-30, 10, 20, 20, 500, 400) is BoxDrop.OUTSIDE_IMAGE
    assert clamp_box(500, 10, 20, 20, 500, 400) is BoxDrop.OUTSIDE_IMAGE
    assert clamp_box(10, -20, 20, 20, 500, 400) is BoxDrop.OUTSIDE_IMAGE


def test_a_box_too_small_to_survive_floating_point_is_dropped_as_zero_size() -> None:
    # Given boxes 1e-320 px wide or high: lost when added to x = 10, or so small once divided by
    # the image width that a trainer reading 32-bit floats sees 0
    # When clamped
    # Then each is dropped as zero_size (its label row would say 0), neither kept nor "outside"
    assert clamp_box(10, 10, 1e-320, 5, 500, 400) is BoxDrop.ZERO_SIZE
    assert clamp_box(10, 10, 5, 1e-320, 500, 400) is BoxDrop.ZERO_SIZE
    assert clamp_box(0, 10, 1e-320, 5, 4000, 400) is BoxDrop.ZERO_SIZE
    assert clamp_box(0, 10, 1e-42, 5, 4000, 400) is BoxDrop.ZERO_SIZE
    assert clamp_box(-5, 10, 5 + 1e-320, 5, 4000, 400) is BoxDrop.OUTSIDE_IMAGE  # -5 + 5 = 0
    # And the smallest size float32 holds is kept
    assert isinstance(clamp_box(0, 10, 4000 * MIN_NORMALIZED_SIZE, 5, 4000, 400), ClampedBox)


def test_a_tiny_box_writes_no_zero_width_label_row(workspace: Workspace) -> None:
    # Given a line with a box 1e-320 pixels wide at the image's left edge, next to a normal box
    lines = [
        line(ref("a.jpg"), [box(left=0, width=1e-320), box()], class_map={"0": "cat"}, width=4000)
    ]

    # When converting
    dataset = workspace.convert(lines, classes=["cat"])

    # Then only the normal box has a row; the tiny one is counted as zero_size
    assert dataset.label_rows(ref("a.jpg")) == [["0", "0.00625", "0.1", "0.0075", "0.1"]]
    assert dataset.report["dropped_boxes"] == {"zero_size": 1}


@settings(max_examples=300, deadline=None)
@given(left=any_finite, top=any_finite, width=any_finite, height=any_finite,
       image_width=image_sides, image_height=image_sides)  # fmt: skip
def test_no_kept_box_has_a_zero_or_out_of_range_value(
    left: float, top: float, width: float, height: float, image_width: int, image_height: int
) -> None:
    # Given any finite box on any image
    clamped = clamp_box(left, top, width, height, image_width, image_height)
    # When it is kept
    if isinstance(clamped, BoxDrop):
        return
    yolo = normalize(clamped, 0, image_width, image_height)
    # Then its size is one a 32-bit float holds, and every value lies in [0, 1], as written too
    assert yolo.w >= MIN_NORMALIZED_SIZE and yolo.h >= MIN_NORMALIZED_SIZE
    assert all(0 <= v <= 1 for v in (yolo.cx, yolo.cy, yolo.w, yolo.h))
    assert all(float(v) > 0 for v in yolo_line(yolo).split()[3:])


def test_clamped_and_dropped_boxes_are_counted_in_the_report(workspace: Workspace) -> None:
    # Given one line with a kept, a clamped, an outside and a zero-size box
    boxes = [box(left=10), box(left=-10, width=50), box(left=900), box(left=30, width=0)]
    lines = [line(ref("a.jpg"), boxes, class_map={"0": "cat"})]

    # When converting
    dataset = workspace.convert(lines, classes=["cat"])

    # Then two boxes are written, one counted clamped, two counted dropped by reason
    report = dataset.report
    assert report["boxes"] == 2
    assert report["clamped_boxes"] == 1
    assert report["dropped_boxes"] == {"outside_image": 1, "zero_size": 1}
    assert dataset.label_rows(ref("a.jpg")) == [
        ["0", "0.05", "0.1", "0.06", "0.1"],
        ["0", "0.04", "0.1", "0.08", "0.1"],
    ]
    assert [r["status"] for r in dataset.annot] == [
        "kept", "clamped", "dropped:outside_image", "dropped:zero_size",
    ]  # fmt: skip
    assert dataset.image_row(ref("a.jpg"))["dropped_boxes"] == "2"


def test_identical_boxes_are_written_once_and_the_copy_counted_as_duplicate(
    workspace: Workspace,
) -> None:
    # Given a line with the same box twice, and a third box identical once clamped
    boxes = [box(left=0), box(left=0), box(left=-5, width=35)]
    lines = [line(ref("a.jpg"), boxes, class_map={"0": "cat"})]

    # When converting
    dataset = workspace.convert(lines, classes=["cat"])

    # Then one row is written and both copies are counted
    assert len(dataset.label_rows(ref("a.jpg"))) == 1
    assert dataset.report["dropped_boxes"] == {"duplicate_box": 2}


def test_boxes_of_different_classes_at_the_same_place_are_both_kept(workspace: Workspace) -> None:
    # Given a cat box and a dog box drawn at the same pixels
    lines = [line(ref("a.jpg"), [box(0), box(1)])]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then both rows are written
    assert [row[0] for row in dataset.label_rows(ref("a.jpg"))] == ["0", "1"]


@settings(max_examples=400, deadline=None)
@given(
    width=image_sides,
    height=image_sides,
    left=coordinates,
    top=coordinates,
    box_width=coordinates,
    box_height=coordinates,
)
def test_every_written_value_lies_in_0_1_and_maps_back_within_one_pixel_of_the_clamped_box(
    width: int, height: int, left: float, top: float, box_width: float, box_height: float
) -> None:
    # Given any image size and any box, partly or wholly outside the image or empty
    clamped = clamp_box(left, top, box_width, box_height, width, height)

    # When the box survives clamping and is written as a label row
    if isinstance(clamped, BoxDrop):
        assert clamped in (BoxDrop.ZERO_SIZE, BoxDrop.OUTSIDE_IMAGE)
        return
    fields = yolo_line(normalize(clamped, 0, width, height)).split()
    cx, cy, w, h = (float(value) for value in fields[1:])

    # Then every written value is in [0, 1] (Ultralytics drops images outside [-0.01, 1.01])
    assert all(0.0 <= value <= 1.0 for value in (cx, cy, w, h))
    # And converting back to pixels lands within one pixel of the clamped box
    assert abs((cx - w / 2) * width - clamped.x0) <= 1
    assert abs((cx + w / 2) * width - clamped.x1) <= 1
    assert abs((cy - h / 2) * height - clamped.y0) <= 1
    assert abs((cy + h / 2) * height - clamped.y1) <= 1
    # And the clamped box lies in the image
    assert 0 <= clamped.x0 < clamped.x1 <= width
    assert 0 <= clamped.y0 < clamped.y1 <= height


@settings(max_examples=400, deadline=None)
@given(
    width=st.integers(min_value=1, max_value=10**9),
    height=st.integers(min_value=1, max_value=10**9),
    left=any_finite,
    top=any_finite,
    box_width=any_finite,
    box_height=any_finite,
)
def test_normalize_after_clamp_never_raises_for_any_finite_numbers(
    width: int, height: int, left: float, top: float, box_width: float, box_height: float
) -> None:
    # Given any finite numbers a manifest may hold, however extreme
    # When clamped and, if anything is left, normalized and formatted
    clamped = clamp_box(left, top, box_width, box_height, width, height)
    if isinstance(clamped, BoxDrop):
        return
    fields = yolo_line(normalize(clamped, 0, width, height)).split()

    # Then nothing raises and the values still lie in [0, 1]
    assert all(0.0 <= float(value) <= 1.0 for value in fields[1:])


@settings(max_examples=25, deadline=None)
@given(
    width=st.integers(min_value=1, max_value=4000),
    height=st.integers(min_value=1, max_value=4000),
    drawn=st.lists(
        st.tuples(coordinates, coordinates, coordinates, coordinates), min_size=0, max_size=8
    ),
)
def test_label_files_of_any_drawn_boxes_hold_only_values_in_0_1(
    tmp_path_factory: object, width: int, height: int, drawn: list[tuple[float, ...]]
) -> None:
    # Given a line with arbitrary boxes, whole and fractional pixels, in and out of the image
    workspace = Workspace(tmp_path_factory.mktemp("geometry"))  # type: ignore[attr-defined]
    boxes = [box(0, *values) for values in drawn]
    lines = [line(ref("a.jpg"), boxes, width=width, height=height, class_map={"0": "cat"})]

    # When converting
    dataset = workspace.convert(lines, classes=["cat"])

    # Then every label value is in [0, 1] and every box is kept or counted
    rows = dataset.label_rows(ref("a.jpg"))
    assert all(0.0 <= float(v) <= 1.0 for row in rows for v in row[1:])
    report = dataset.report
    assert report["boxes"] + sum(report["dropped_boxes"].values()) == len(drawn)
