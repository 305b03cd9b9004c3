"""Writers: typed records -> the dataset's files, streamed (no file is built in memory).

Layout (relative to the dataset root):
    data.yaml  obj.data  classes.txt  annot.csv  images.csv  train.txt  val.txt [test.txt]
    report.json  rejected.jsonl  images/<split>/<path>  labels/<split>/<path stem>.txt
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, NamedTuple, TextIO

from gt2yolo.geometry import yolo_line
from gt2yolo.records import DrawnBox, LabeledImage, RejectedLine, YoloBox, slot_setters
from gt2yolo.split import Split
from gt2yolo.storage import Storage

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

MAX_REMEMBERED_CATEGORIES = 4096

DATA_YAML = "data.yaml"
OBJ_DATA = "obj.data"
CLASSES_TXT = "classes.txt"
ANNOT_CSV = "annot.csv"
IMAGES_CSV = "images.csv"
REPORT_JSON = "report.json"
REJECTED_JSONL = "rejected.jsonl"
# Within a multi-label classification row: "cat;dog", class ids "0;2".
LIST_SEPARATOR = ";"


def images_folder(split: Split) -> str:
    return f"images/{split}"


def image_key(split: Split, path: str) -> str:
    return f"images/{split}/{path}"


def label_key(split: Split, label_path: str) -> str:
    return f"labels/{split}/{label_path}"


def list_key(split: Split) -> str:
    return f"{split}.txt"


def table_keys(splits: Sequence[Split]) -> tuple[str, ...]:
    """The streamed tables, in the order a fan-out merge concatenates them."""
    return (ANNOT_CSV, IMAGES_CSV, REJECTED_JSONL, *(list_key(split) for split in splits))


@dataclass(frozen=True, slots=True)
class BoxOutcome:
    """One drawn box and what the rules made of it (kept, clamped, or dropped with a reason)."""

    drawn: DrawnBox
    category: str | None
    yolo: YoloBox | None
    status: str
    # yolo_line(yolo) when the rules already formatted it (they do, to find duplicates).
    line: str | None = None

    def __init__(
        self,
        drawn: DrawnBox,
        category: str | None,
        yolo: YoloBox | None,
        status: str,
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
    without a BoxOutcome and a YoloBox per box (see convert.kept_boxes)."""

    lines: list[str]
    categories: list[str | None]
    class_ids: list[int]


def _number(value: float) -> str:
    """Pixels as drawn: `111`, not `111.0`, when the labeler's value was whole."""
    return str(int(value)) if value.is_integer() else repr(value)


def _is_plain(field: str) -> bool:
    """A field csv.writer (QUOTE_MINIMAL, `,` `"` `\\n`) writes as is: printable, no `,` or `"`.

    Stricter than csv's own rule (it quotes only `,`, `"`, `\\r` and `\\n`): any other
    non-printable character takes the csv.writer path too, which is correct for every field.
    """
    return field.isprintable() and "," not in field and '"' not in field


def _plain_annot_rows(
    image: LabeledImage, path: str, label_file: str, split: Split, boxes: Sequence[BoxOutcome]
) -> str:
    """DatasetWriter._annot_row of each box, as csv.writer writes them when nothing needs quoting."""
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


class DatasetWriter:
    """Streams the per-image files and tables while records arrive; writes the summary last.

    This writes detection datasets; the other YOLO tasks' writers (yolo_segment, yolo_classify)
    keep its streams and summary, with their own table columns and per-image files."""

    annot_columns: tuple[str, ...] = ANNOT_COLUMNS
    images_columns: tuple[str, ...] = IMAGES_COLUMNS
    # data.yaml's `task:` (None: detect, which Ultralytics assumes)
    yolo_task: str | None = None
    # obj.data: Darknet trains detectors only
    darknet: bool = True

    def __init__(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> None:
        """`tables_prefix`/`header=False`: a fan-out chunk's part of each table, merged later."""
        self.storage = storage
        self._stack = ExitStack()
        self._prefix = tables_prefix
        self._streams: dict[str, TextIO] = {}
        self._annot_text = self._open(ANNOT_CSV)
        self._images_text = self._open(IMAGES_CSV)
        # csv.writer writes each row straight to its stream, so rows joined by hand (when no
        # field needs quoting) can go to the same stream in between.
        self._annot = csv.writer(self._annot_text, lineterminator="\n")
        self._images = csv.writer(self._images_text, lineterminator="\n")
        self._plain_categories: dict[str, bool] = {}
        self._rejected = self._open(REJECTED_JSONL)
        self._lists = {split: self._open(list_key(split)) for split in splits}
        if header:
            self._annot.writerow(self.annot_columns)
            self._images.writerow(self.images_columns)

    def _open(self, key: str) -> TextIO:
        stream = self._stack.enter_context(self.storage.open_text(self._prefix + key))
        self._streams[key] = stream
        return stream

    def tables(self) -> list[str]:
        """The streamed tables, in the order a fan-out merge concatenates them."""
        return list(self._streams)

    def append_part(self, key: str, part: IO[bytes]) -> None:
        """Copy a chunk's part of table `key` (annot.csv, train.txt, ...) to its end, streamed."""
        shutil.copyfileobj(io.TextIOWrapper(part, encoding="utf-8", newline=""), self._streams[key])

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(kind, exc, tb)

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
            if box.status == "clamped":
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

    def _plain_row(
        self, image: LabeledImage, path: str, label_file: str, categories: Iterable[str | None]
    ) -> bool:
        """Whether csv.writer would write the image's rows as they stand (nothing to quote)."""
        # The fields joined: plain exactly when each is (both tests look at single characters).
        return _is_plain(
            image.source_ref + path + label_file + image.origin.manifest
        ) and self._plain_categories_of(categories)

    @staticmethod
    def _plain(*fields: str) -> bool:
        return all(_is_plain(field) for field in fields)

    def _plain_categories_of(self, categories: Iterable[str | None]) -> bool:
        """all(self._plain_category(category) for category in categories), with one lookup and
        no call for a remembered plain name (nearly every box's)."""
        known = self._plain_categories
        for category in categories:
            if (
                category is not None
                and not known.get(category)
                and not self._plain_category(category)
            ):
                return False
        return True

    def _plain_category(self, category: str | None) -> bool:
        if category is None:
            return True
        plain = self._plain_categories.get(category)
        if plain is None:
            plain = _is_plain(category)
            if len(self._plain_categories) < MAX_REMEMBERED_CATEGORIES:  # names come from lines
                self._plain_categories[category] = plain
        return plain

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

    def add_rejection(self, rejection: RejectedLine) -> None:
        entry = {
            "manifest": rejection.origin.manifest,
            "line": rejection.origin.line,
            "reason": str(rejection.reason),
            "detail": rejection.detail,
            "source_ref": rejection.source_ref,
        }
        text = json.dumps(entry, ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates from the manifest: keep them escaped
                text = json.dumps(entry)
        self._rejected.write(text + "\n")

    def write_summary(
        self, classes: Sequence[str], splits: Sequence[Split], report: dict[str, Any]
    ) -> None:
        """classes.txt, data.yaml, obj.data and report.json: written after every label file."""
        self.storage.write_bytes(CLASSES_TXT, "".join(f"{n}\n" for n in classes).encode())
        self.storage.write_bytes(DATA_YAML, data_yaml(classes, splits, self.yolo_task).encode())
        if self.darknet:
            self.storage.write_bytes(OBJ_DATA, obj_data(classes).encode())
        self.storage.write_bytes(
            REPORT_JSON, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()
        )


# Characters YAML may not hold raw (PyYAML refuses them, Ultralytics strips them) or reads as
# line breaks; JSON already escapes the C0 controls.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def _yaml_string(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar once the characters above are escaped.
    quoted = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", quoted)


def data_yaml(classes: Sequence[str], splits: Sequence[Split], task: str | None = None) -> str:
    """Ultralytics' dataset file; `train`/`val` are the split's image folders beside it."""
    lines = [
        f"# Written by gt2yolo. Train with: yolo {task or 'detect'} train data=data.yaml",
        # Ultralytics resolves a relative `path` against its own datasets folder and an absolute
        # one is wrong once the dataset is copied; an absent one is this file's folder.
        "# path: omitted on purpose: readers use the folder holding this file",
        "# Splits are image folders, read recursively; train.txt, val.txt list the same images",
    ]
    if task is not None:
        lines.append(f"task: {task}")
    lines += [f"{split}: {images_folder(split)}" for split in splits]
    lines.append(f"nc: {len(classes)}")
    lines.append("names:" if classes else "names: {}")  # a bare `names:` is YAML null
    lines += [f"  {i}: {_yaml_string(name)}" for i, name in enumerate(classes)]
    return "\n".join(lines) + "\n"


def obj_data(classes: Sequence[str]) -> str:
    """Darknet's data file, paths relative to the dataset folder (run darknet from there).

    Darknet reads `train` and `valid` only: a test split stays in test.txt."""
    lines = [
        f"classes = {len(classes)}",
        f"train = {list_key(Split.TRAIN)}",
        f"valid = {list_key(Split.VAL)}",
        f"names = {CLASSES_TXT}",
        "backup = backup/",
    ]
    return "\n".join(lines) + "\n"
