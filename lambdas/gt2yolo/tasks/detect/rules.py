"""The bounding-box rules: class, then geometry, then duplicates within the image.

Shared by the detection pass and the video frames' (a frame is an image of boxes).
"""

from __future__ import annotations

from gt2yolo.classes import ClassList
from gt2yolo.geometry import MIN_NORMALIZED_SIZE, clamp_box, normalize
from gt2yolo.records import BoxDrop, BoxStatus, DrawnBox, LabeledImage, YoloBox
from gt2yolo.tasks.detect.yolo import BoxOutcome, KeptBoxes


def evaluate_boxes(image: LabeledImage, classes: ClassList) -> list[BoxOutcome]:
    """Apply the box rules in order: class, then geometry, then duplicates within the image.

    The same rules as evaluate_box, clamp_box, normalize and yolo_line, inlined: this runs for
    every box, and calls and intermediate objects were half of the conversion's time. The
    arithmetic is the same expressions in the same order, so the results are bit for bit equal
    (tests/unit/test_box_fast_path.py holds it to evaluate_box).
    """
    outcomes: list[BoxOutcome] = []
    written: set[str] = set()
    image_width, image_height = image.width, image.height
    classify = classes.classify
    for drawn in image.boxes:
        category, class_id = classify(drawn.class_id, drawn.class_name)
        if isinstance(class_id, BoxDrop):
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[class_id]))
            continue
        left, top, width, height = drawn.left, drawn.top, drawn.width, drawn.height
        if width <= 0 or height <= 0:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.ZERO_SIZE]))
            continue
        right, bottom = left + width, top + height
        # min(max(v, 0.0), size) spelled out, 8 calls less a box: max(v, 0.0) is
        # `0.0 if v < 0.0 else v` and min(v, size) is `size if size < v else v` (the first of
        # equals wins, so -0.0 stays -0.0 as with max and min).
        x0 = 0.0 if left < 0.0 else left
        x0 = image_width if image_width < x0 else x0
        y0 = 0.0 if top < 0.0 else top
        y0 = image_height if image_height < y0 else y0
        x1 = 0.0 if right < 0.0 else right
        x1 = image_width if image_width < x1 else x1
        y1 = 0.0 if bottom < 0.0 else bottom
        y1 = image_height if image_height < y1 else y1
        if x1 <= x0 or y1 <= y0:
            beside = left >= image_width or top >= image_height or right <= 0 or bottom <= 0
            drop = BoxDrop.OUTSIDE_IMAGE if beside else BoxDrop.ZERO_SIZE
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[drop]))
            continue
        w, h = (x1 - x0) / image_width, (y1 - y0) / image_height
        if w < MIN_NORMALIZED_SIZE or h < MIN_NORMALIZED_SIZE:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.ZERO_SIZE]))
            continue
        cx, cy = (x0 + x1) / 2 / image_width, (y0 + y1) / 2 / image_height
        line = f"{class_id} {cx:.6g} {cy:.6g} {w:.6g} {h:.6g}"
        if line in written:
            outcomes.append(BoxOutcome(drawn, category, None, _DROPPED[BoxDrop.DUPLICATE]))
            continue
        written.add(line)
        clamped = x0 != left or y0 != top or x1 != right or y1 != bottom
        yolo = YoloBox(class_id, cx, cy, w, h)
        outcomes.append(BoxOutcome(drawn, category, yolo, _CLAMPED if clamped else _KEPT, line))
    return outcomes


def kept_boxes(image: LabeledImage, classes: ClassList) -> KeptBoxes | None:
    """evaluate_boxes of the common image, whose every box is kept as drawn; None as soon as a
    box is not (a class or size dropped, a box reaching beyond the image, a duplicate line).

    A box inside the image is what clamping leaves it, so its corners are the drawn ones and
    the YOLO line is evaluate_boxes' expressions on them: bit for bit its line. None costs the
    rare image a second evaluation (by evaluate_boxes), never a different result.
    """
    lines: list[str] = []
    categories: list[str | None] = []
    class_ids: list[int] = []
    image_width, image_height = image.width, image.height
    classify = classes.classify
    for drawn in image.boxes:
        category, class_id = classify(drawn.class_id, drawn.class_name)
        if isinstance(class_id, BoxDrop):
            return None
        left, top = drawn.left, drawn.top
        right, bottom = left + drawn.width, top + drawn.height
        # Comparisons that a NaN fails, like a width or height of 0 or less: None for both.
        if not (0.0 <= left < right <= image_width and 0.0 <= top < bottom <= image_height):
            return None
        w, h = (right - left) / image_width, (bottom - top) / image_height
        if w < MIN_NORMALIZED_SIZE or h < MIN_NORMALIZED_SIZE:
            return None
        cx, cy = (left + right) / 2 / image_width, (top + bottom) / 2 / image_height
        line = f"{class_id} {cx:.6g} {cy:.6g} {w:.6g} {h:.6g}"
        if line in lines:  # a duplicate: a handful of boxes, so a list beats a set
            return None
        lines.append(line)
        categories.append(category)
        class_ids.append(class_id)
    return KeptBoxes(lines, categories, class_ids)


_DROPPED = {drop: BoxStatus.dropped(drop) for drop in BoxDrop}
_KEPT, _CLAMPED = BoxStatus.KEPT, BoxStatus.CLAMPED


def evaluate_box(drawn: DrawnBox, image: LabeledImage, classes: ClassList) -> BoxOutcome:
    """One box through the rules (class, geometry), without the duplicate rule: the reference."""
    category = classes.name_of(drawn.class_id, drawn.class_name)
    class_id = classes.resolve(drawn.class_id, drawn.class_name)
    if isinstance(class_id, BoxDrop):
        return BoxOutcome(drawn, category, None, BoxStatus.dropped(class_id))
    box = clamp_box(drawn.left, drawn.top, drawn.width, drawn.height, image.width, image.height)
    if isinstance(box, BoxDrop):
        return BoxOutcome(drawn, category, None, BoxStatus.dropped(box))
    yolo = normalize(box, class_id, image.width, image.height)
    return BoxOutcome(drawn, category, yolo, BoxStatus.CLAMPED if box.clamped else BoxStatus.KEPT)
