"""The YOLO detection writer: label files `class cx cy w h`, annot.csv a row per drawn box.

Layout (relative to the dataset root):
    data.yaml  obj.data  classes.txt  annot.csv  images.csv  train.txt  val.txt [test.txt]
    report.json  rejected.jsonl  images/<split>/<path>  labels/<split>/<path stem>.txt
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from gt2yolo.geometry import yolo_line
from gt2yolo.records import BoxStatus, DrawnBox, LabeledImage, YoloBox, slot_setters
from gt2yolo.split import Split
from gt2yolo.writers import DatasetWriter, image_key, label_key

# The seed blog's columns first, in its order, so existing notebooks keep working.
BLOG_COLUMNS = (
    "img_file", "category", "box_left", "box_top", "box_height", "box_width", "img_width",
    "img_height",
)  # fmt: skip
ANNOT_COLUMNS = (*BLOG_COLUMNS, "class_id", "source_ref", "split", "confidence", "label", "status")
IMAGES_COLUMNS = (
    "source_ref", "image", "label", "split", "width", "height", "boxes", "dropped_boxes",
    "clamped_boxes", "manifest", "line",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BoxOutcome:
    """One drawn box and what the rules made of it (kept, clamped, or dropped with a reason)."""

    drawn: DrawnBox
    category: str | None
    yolo: YoloBox | None
    status: BoxStatus
    # yolo_line(yolo) when the rules already formatted it (they do, to find duplicates).
    line: str | None = None

    def __init__(
        self,
        drawn: DrawnBox,
        category: str | None,
        yolo: YoloBox | None,
        status: BoxStatus,
        line: str | None = None,
    ) -> None:
        # Direct slot stores, as in DrawnBox: one of these is made per box of every line.
        _outcome_drawn(self, drawn)
        _outcome_category(self, category)
        _outcome_yolo(self, yolo)
        _outcome_status(self, status)
        _outcome_line(self, line)


_outcome_drawn, _outcome_category, _outcome_yolo, _outcome_status, _outcome_line = slot_setters(
    BoxOutcome, "drawn", "category", "yolo", "status", "line"
)


class KeptBoxes(NamedTuple):
    """An image whose every box the rules kept as drawn (none clamped, none dropped): per box of
    `image.boxes`, in order, its YOLO line, category and class id. The common image, written
    without a BoxOutcome and a YoloBox per box (see rules.kept_boxes)."""

    lines: list[str]
    categories: list[str | None]
    class_ids: list[int]


def _number(value: float) -> str:
    """Pixels as drawn: `111`, not `111.0`, when the labeler's value was whole."""
    return str(int(value)) if value.is_integer() else repr(value)


def _plain_annot_rows(
    image: LabeledImage, path: str, label_file: str, split: Split, boxes: Sequence[BoxOutcome]
) -> str:
    """DetectWriter._annot_row of each box, as csv.writer writes them when nothing needs quoting."""
    size = f",{image.width},{image.height},"  # the fields every row of the image shares
    where = f",{image.source_ref},{split},"
    rows = []
    pixels = _PIXEL_TEXT.get
    for box in boxes:
        drawn, yolo, confidence = box.drawn, box.yolo, box.drawn.confidence
        left, top, height, width = drawn.left, drawn.top, drawn.height, drawn.width
        rows.append(
            f"{path},{box.category or ''},{pixels(left) or _number(left)},"
            f"{pixels(top) or _number(top)},{pixels(height) or _number(height)},"
            f"{pixels(width) or _number(width)}{size}"
            f"{'' if yolo is None else yolo.class_id}{where}"
            f"{'' if confidence is None else repr(confidence)},{label_file},{box.status}\n"
        )
    return "".join(rows)


def _kept_annot_rows(
    image: LabeledImage, path: str, label_file: str, split: Split, kept: KeptBoxes
) -> str:
    """_plain_annot_rows of an image whose every box was kept as drawn (status `kept`)."""
    size = f",{image.width},{image.height},"
    where = f",{image.source_ref},{split},"
    end = f",{label_file},kept\n"
    rows = []
    pixels = _PIXEL_TEXT.get
    for drawn, category, class_id in zip(image.boxes, kept.categories, kept.class_ids, strict=True):
        left, top, height, width = drawn.left, drawn.top, drawn.height, drawn.width
        confidence = drawn.confidence
        rows.append(
            f"{path},{category or ''},{pixels(left) or _number(left)},"
            f"{pixels(top) or _number(top)},{pixels(height) or _number(height)},"
            f"{pixels(width) or _number(width)}{size}{class_id}{where}"
            f"{'' if confidence is None else repr(confidence)}{end}"
        )
    return "".join(rows)


# _number of the pixel values most boxes have, looked up instead of formatted.
_PIXEL_TEXT = {float(i): str(i) for i in range(-64, 8193)}


class DetectWriter(DatasetWriter):
    """A detection dataset's files, streamed; the shared tables and summary are DatasetWriter's."""

    annot_columns: tuple[str, ...] = ANNOT_COLUMNS
    images_columns: tuple[str, ...] = IMAGES_COLUMNS

    def add_image(
        self, image: LabeledImage, path: str, label: str, split: Split, boxes: Sequence[BoxOutcome]
    ) -> None:
        lines = [
            box.line if box.line is not None else yolo_line(box.yolo)
            for box in boxes
            if box.yolo is not None
        ]
        # Each line and its "\n": one join, and none for a background image.
        body = ("\n".join(lines) + "\n").encode() if lines else b""
        label_file = label_key(split, label)
        self.storage.write_bytes(label_file, body)
        image_path = image_key(split, path)
        self._lists[split].write(f"./{image_path}\n")
        kept = len(lines)
        clamped = 0
        for box in boxes:
            if box.status is BoxStatus.CLAMPED:
                clamped += 1
        images_row = (
            image.source_ref, image_path, label_file, split, image.width, image.height, kept,
            len(boxes) - kept, clamped, image.origin.manifest, image.origin.line,
        )  # fmt: skip
        if self._plain_row(image, path, label_file, (box.category for box in boxes)):
            # No field needs quoting: csv.writer would write exactly these bytes, only slower.
            self._images_text.write(",".join(map(str, images_row)) + "\n")
            self._annot_text.write(_plain_annot_rows(image, path, label_file, split, boxes))
            return
        self._images.writerow(images_row)
        self._annot.writerows(self._annot_row(image, path, label, split, box) for box in boxes)

    def add_kept_image(
        self, image: LabeledImage, path: str, label: str, split: Split, kept: KeptBoxes
    ) -> bool:
        """add_image for an image whose boxes were all kept as drawn, when no field of its rows
        needs csv quoting; False, having written nothing, otherwise (then add_image writes it).

        The same bytes as add_image, in the same order (the label file first: a name clash
        raises before anything else of the image is written), with two loops over the boxes
        instead of five and no per-box objects: this runs for nearly every image.
        """
        label_file = label_key(split, label)
        if not self._plain_row(image, path, label_file, kept.categories):
            return False
        lines = kept.lines
        self.storage.write_bytes(label_file, ("\n".join(lines) + "\n").encode() if lines else b"")
        image_path = image_key(split, path)
        self._lists[split].write(f"./{image_path}\n")
        origin = image.origin
        self._images_text.write(
            f"{image.source_ref},{image_path},{label_file},{split},{image.width},{image.height},"
            f"{len(lines)},0,0,{origin.manifest},{origin.line}\n"
        )
        if lines:
            self._annot_text.write(_kept_annot_rows(image, path, label_file, split, kept))
        return True

    @staticmethod
    def _annot_row(
        image: LabeledImage, path: str, label: str, split: Split, box: BoxOutcome
    ) -> tuple[Any, ...]:
        drawn = box.drawn
        return (
            path, box.category or "", _number(drawn.left), _number(drawn.top),
            _number(drawn.height), _number(drawn.width), image.width, image.height,
            box.yolo.class_id if box.yolo else "", image.source_ref, split,
            "" if drawn.confidence is None else drawn.confidence, label_key(split, label),
            box.status,
        )  # fmt: skip
