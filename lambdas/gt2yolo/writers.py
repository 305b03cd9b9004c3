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
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Self, TextIO

from gt2yolo.records import LabeledImage, RejectedLine
from gt2yolo.split import Split
from gt2yolo.storage import Storage

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


def _is_plain(field: str) -> bool:
    """A field csv.writer (QUOTE_MINIMAL, `,` `"` `\\n`) writes as is: printable, no `,` or `"`.

    Stricter than csv's own rule (it quotes only `,`, `"`, `\\r` and `\\n`): any other
    non-printable character takes the csv.writer path too, which is correct for every field.
    """
    return field.isprintable() and "," not in field and '"' not in field


class DatasetWriter:
    """The tables every YOLO dataset streams while records arrive (annot.csv, images.csv,
    rejected.jsonl, the split lists), and its summary files, written last.

    Each task's YOLO writer (gt2yolo.tasks.<task>.yolo) adds its columns and per-image files."""

    annot_columns: tuple[str, ...] = ()
    images_columns: tuple[str, ...] = ()
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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(kind, exc, tb)

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
        """classes.txt, data.yaml and obj.data: written after every label file (report.json,
        the run's, after every writer's summary)."""
        self.storage.write_bytes(CLASSES_TXT, "".join(f"{n}\n" for n in classes).encode())
        self.storage.write_bytes(DATA_YAML, data_yaml(classes, splits, self.yolo_task).encode())
        if self.darknet:
            self.storage.write_bytes(OBJ_DATA, obj_data(classes).encode())


def report_json(report: dict[str, Any]) -> bytes:
    """report.json's bytes."""
    return (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()


# Characters YAML may not hold raw (PyYAML refuses them, Ultralytics strips them) or reads as
# line breaks; JSON already escapes the C0 controls.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def _yaml_string(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar once the characters above are escaped.
    quoted = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", quoted)


@dataclass(frozen=True)
class DataYaml:
    """Ultralytics' dataset file as the writer writes it: the dataset's data.yaml (splits as
    image folders) and a published version's `<v>.yaml` (splits as lists) are rendered from it."""

    classes: tuple[str, ...]
    splits: tuple[Split, ...]
    task: str | None = None  # `task:` (None: detect, which Ultralytics assumes)

    def render(self, lists: Mapping[Split, str] | None = None, version: str | None = None) -> str:
        """data.yaml; `lists`: each split's list file instead of its image folder, and
        `version`: the version whose files they list (a version's entry file)."""
        lines = [
            *([f"# Dataset version {version}: splits list its files (shared between versions)"]
              if version is not None else []),
            f"# Written by gt2yolo. Train with: yolo {self.task or 'detect'} train data=data.yaml",
            # Ultralytics resolves a relative `path` against its own datasets folder and an
            # absolute one is wrong once the dataset is copied; an absent one is this file's folder.
            "# path: omitted on purpose: readers use the folder holding this file",
            *([] if lists is not None else [_FOLDERS_NOTE]),
        ]  # fmt: skip
        if self.task is not None:
            lines.append(f"task: {self.task}")
        lines += [
            f"{split}: {images_folder(split) if lists is None else lists[split]}"
            for split in self.splits
        ]
        lines.append(f"nc: {len(self.classes)}")
        lines.append("names:" if self.classes else "names: {}")  # a bare `names:` is YAML null
        lines += [f"  {i}: {_yaml_string(name)}" for i, name in enumerate(self.classes)]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> DataYaml:
        """The model of a data.yaml this writer wrote (render(parse(text)) == text); raises
        ValueError for any other text."""
        task = next((line[6:] for line in text.splitlines() if line.startswith("task: ")), None)
        splits = tuple(Split(found) for found in _SPLIT_LINE.findall(text))
        names = tuple(json.loads(found) for found in _NAME_LINE.findall(text))
        model = cls(names, splits, task)
        if model.render() != text:
            raise ValueError("not a data.yaml gt2yolo writes")
        return model


_FOLDERS_NOTE = (
    "# Splits are image folders, read recursively; train.txt, val.txt list the same images"
)
_SPLIT_LINE = re.compile(r"^(train|val|test): images/\1$", re.MULTILINE)
_NAME_LINE = re.compile(r'^  [0-9]+: (".*")$', re.MULTILINE)


def data_yaml(classes: Sequence[str], splits: Sequence[Split], task: str | None = None) -> str:
    """Ultralytics' dataset file; `train`/`val` are the split's image folders beside it."""
    return DataYaml(tuple(classes), tuple(splits), task).render()


def obj_data(
    classes: Sequence[str],
    train: str = list_key(Split.TRAIN),
    valid: str = list_key(Split.VAL),
    names: str = CLASSES_TXT,
) -> str:
    """Darknet's data file, paths relative to the dataset folder (run darknet from there); a
    published version's names its own lists and classes.txt.

    Darknet reads `train` and `valid` only: a test split stays in test.txt."""
    lines = [
        f"classes = {len(classes)}",
        f"train = {train}",
        f"valid = {valid}",
        f"names = {names}",
        "backup = backup/",
    ]
    return "\n".join(lines) + "\n"
