"""A member's manifest as its collection reads it: one pure rewrite of each raw line.

Why a rewrite of the lines and not per-manifest attributes in the core: every rule of the
conversion (survey, names, each task's reader, fan-out chunks) reads one label attribute, and
members of a collection each have their own (Ground Truth defaults LabelAttributeName to the job
name; segmentation and video lines carry it with `-ref`). Renaming each member's attribute to
the collection's keeps every rule in one place, unchanged. The rewrite also names, from the
member's own class order, the ids its lines give without a name: the collection maps classes
by name, and a member's id means its own config's position, not the collection's.

The rewrite is a function of the raw line and the member only, so a fan-out chunk converting
bytes [start, end) of a member's manifest rewrites its lines exactly as the plan's survey did:
`MemberManifest.lines_between` rewrites the raw range, and the plan is cut at raw byte offsets
(`sized_lines`). A line that does not decode to a JSON object passes unchanged: the conversion
rejects it as it always does, with its line number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gt2yolo.manifest import METADATA_SUFFIX, ManifestSource, _Reject, load_line
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.registry import task_of

# json.loads guesses UTF-16 and UTF-32 per line; the conversion refuses such manifests (by their
# byte order mark) or rejects such lines: they must reach it as they are.
_FOREIGN_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _any_text(value: object) -> bool:
    return isinstance(value, str)


def _label_name(value: object) -> bool:
    """What the classification readers take as a class name (classify/reader.py `_name`)."""
    return isinstance(value, str) and bool(value.strip()) and "\n" not in value


# Where each task's line names its class ids, and what its reader accepts there as a name.
# Segmentation lines name every class by its mask color (`internal-color-map`), never by id:
# nothing to name.
_CLASS_MAP_TASKS: dict[LabelTask, Callable[[object], bool]] = {
    LabelTask.BOUNDING_BOX: _any_text,
    LabelTask.VIDEO_OBJECT_DETECTION: _any_text,
    LabelTask.VIDEO_OBJECT_TRACKING: _any_text,
    LabelTask.IMAGE_CLASSIFICATION_MULTILABEL: _label_name,
}


@dataclass(frozen=True)
class LineRewrite:
    """How one member's lines are read: its attribute renamed to the collection's, and its
    class ids named by its own class order where the line names none."""

    member_attribute: str  # the member's LabelAttributeName
    attribute: str  # the collection's attribute on the rewritten lines (with any `-ref`)
    task: LabelTask
    classes: tuple[str, ...] = ()  # the member's own class order

    def __call__(self, raw: bytes) -> bytes:
        if b"\x00" in raw or raw.startswith(_FOREIGN_MARKS):
            return raw
        try:
            record = load_line(raw)
        except _Reject:
            return raw
        key = self._member_key(record)
        if key is None:  # not labeled by this member: rejected as not_labeled
            return raw
        rewritten = self._renamed(record, key)
        metadata = rewritten.get(self.attribute + METADATA_SUFFIX)
        if self.classes and isinstance(metadata, dict):
            rewritten[self.attribute + METADATA_SUFFIX] = self._named(
                metadata, rewritten.get(self.attribute)
            )
        if key == self.attribute and rewritten == record:
            return raw
        # ensure_ascii: any string json read (lone surrogates too) is written back as it was.
        return json.dumps(rewritten).encode() + raw[len(raw.rstrip()) :]

    def _member_key(self, record: dict[str, Any]) -> str | None:
        suffix = task_of(self.task).attribute_suffix or ""
        for key in dict.fromkeys((self.member_attribute, self.member_attribute + suffix)):
            if key in record or key + METADATA_SUFFIX in record:
                return key
        return None

    def _renamed(self, record: dict[str, Any], key: str) -> dict[str, Any]:
        """The record with `key` (and its metadata) under the collection's attribute, in place;
        a key of that name the line held already (another job's) gives way to the member's."""
        names = {key: self.attribute, key + METADATA_SUFFIX: self.attribute + METADATA_SUFFIX}
        taken = set(names.values()) - set(names)
        return {names.get(k, k): v for k, v in record.items() if k not in taken}

    def _named(self, metadata: dict[str, Any], value: object) -> dict[str, Any]:
        usable = _CLASS_MAP_TASKS.get(self.task)
        if usable is not None:
            class_map = metadata.get("class-map")
            known = class_map if isinstance(class_map, dict) else {}
            filled = {
                str(i): name for i, name in enumerate(self.classes) if not usable(known.get(str(i)))
            }
            return {**metadata, "class-map": {**known, **filled}} if filled else metadata
        if (
            self.task is LabelTask.IMAGE_CLASSIFICATION
            and not _label_name(metadata.get("class-name"))
            and type(value) is int
            and 0 <= value < len(self.classes)
        ):
            return {**metadata, "class-name": self.classes[value]}
        return metadata


class MemberManifest:
    """A member's manifest (a ManifestSource, ranged if its source is) with its lines rewritten;
    named after the member, so report.json's `manifests` and rejected.jsonl name members."""

    def __init__(self, name: str, source: ManifestSource, rewrite: LineRewrite) -> None:
        self._name = name
        self.source = source
        self.rewrite = rewrite

    @property
    def name(self) -> str:
        return self._name

    def lines(self) -> Iterator[bytes]:
        rewrite = self.rewrite
        for raw in self.source.lines():
            yield rewrite(raw)

    def sized_lines(self) -> Iterator[tuple[bytes, int]]:
        """Each rewritten line with the size of the raw line: a fan-out plan cuts raw bytes."""
        rewrite = self.rewrite
        for raw in self.source.lines():
            yield rewrite(raw), len(raw)

    def lines_between(self, start: int, end: int) -> Iterator[bytes]:
        """The rewritten lines of raw bytes [start, end) (a fan-out chunk)."""
        ranged = getattr(self.source, "lines_between", None)
        if ranged is None:
            raise TypeError(f"{self._name}: its manifest cannot be read by byte range")
        rewrite = self.rewrite
        for raw in ranged(start, end):
            yield rewrite(raw)
