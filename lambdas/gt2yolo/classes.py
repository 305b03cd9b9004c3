"""The dataset's class list: which name gets which YOLO class id.

Class id = position of the class name in the job's label category config, the order users train
with; never re-sorted. Without a config the order comes from the lines' class-maps (id -> name).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gt2yolo.errors import ConversionError
from gt2yolo.records import BoxDrop

GROUND_TRUTH_MAX_BOX_LABELS = 50
# Ground Truth ids are positions in a list of at most 50 labels; leave room, refuse nonsense.
MAX_DERIVED_CLASS_ID = 1000
MAX_CLASSIFIED = 4096


@dataclass(frozen=True)
class ClassList:
    """Class names in id order, and where that order came from."""

    names: tuple[str, ...]
    source: str
    warnings: tuple[str, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    # (class_id, name on the line) -> classify(): a handful of pairs answer every box of a job.
    _classified: dict[tuple[int, str | None], tuple[str | None, int | BoxDrop]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in self.names:
            # classes.txt (Darknet's obj.names) holds one name per line: a line break in a name
            # would shift every later class id.
            if name.splitlines() != [name]:
                raise ConversionError(
                    f"class name {name!r} ({self.source}) holds a line break; "
                    "class names must fit on one line"
                )
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(self.names)})
        object.__setattr__(self, "_classified", {})

    def name_of(self, class_id: int, name_on_line: str | None) -> str | None:
        """The name a labeler saw: the line's class-map first, else the job's position."""
        if name_on_line is None and 0 <= class_id < len(self.names):
            return self.names[class_id]
        return name_on_line

    def resolve(self, class_id: int, name_on_line: str | None) -> int | BoxDrop:
        """The dataset class id of a box, or why the box cannot keep a class."""
        name = self.name_of(class_id, name_on_line)
        if name is None:
            return BoxDrop.UNKNOWN_CLASS_ID
        index = self._index.get(name)
        return BoxDrop.CLASS_NOT_IN_CONFIG if index is None else index

    def classify(self, class_id: int, name_on_line: str | None) -> tuple[str | None, int | BoxDrop]:
        """(name_of, resolve) of a box, remembered: the per-box hot path of the conversion."""
        key = (class_id, name_on_line)
        known = self._classified.get(key)
        if known is None:
            known = (self.name_of(class_id, name_on_line), self.resolve(class_id, name_on_line))
            # Bounded, so a manifest full of distinct ids or names cannot grow memory.
            if len(self._classified) < MAX_CLASSIFIED:
                self._classified[key] = known
        return known


def class_list_from_label_config(document: bytes, origin: str) -> ClassList:
    """Parse Ground Truth's label category config (`{"labels": [{"label": "cat"}, ...]}`)."""
    try:
        config = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"label config {origin} is not valid JSON: {exc}") from exc
    labels = config.get("labels") if isinstance(config, dict) else None
    if not isinstance(labels, list) or not labels:
        raise ConversionError(
            f'label config {origin} needs a non-empty "labels" list like {{"labels": [{{"label": "cat"}}]}}'
        )
    names = [_label_name(entry, i, origin) for i, entry in enumerate(labels)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConversionError(f"label config {origin} names a class twice: {', '.join(duplicates)}")
    warnings: tuple[str, ...] = ()
    if len(names) > GROUND_TRUTH_MAX_BOX_LABELS:
        warnings = (f"{len(names)} classes: Ground Truth jobs allow at most 50 box labels",)
    return ClassList(tuple(names), source=f"label config {origin}", warnings=warnings)


def _label_name(entry: object, position: int, origin: str) -> str:
    name = entry.get("label") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ConversionError(f'label config {origin}: entry {position} has no "label" string')
    return name


class ClassMapCollector:
    """Derives the class order from the lines' sparse class-maps when no config is given."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._conflict: str | None = None

    def add(self, class_map: Mapping[str, object], where: str) -> None:
        """Record one line's class-map; a conflict is kept and raised only if this order is used."""
        for key, name in class_map.items():
            class_id = _class_id_key(key)
            if class_id is None or not isinstance(name, str):
                self._conflict = self._conflict or f"{where}: class-map entry {key!r} is unusable"
                continue
            known = self._names.setdefault(class_id, name)
            if known != name and self._conflict is None:
                self._conflict = (
                    f"class-maps disagree: id {class_id} is {known!r} and {name!r} ({where})"
                )

    def class_list(self) -> ClassList:
        if self._conflict:
            raise ConversionError(
                f"{self._conflict}; pass the job's label config with --label-config"
            )
        if not self._names:
            return ClassList((), source="class-maps (none found)")
        by_name: dict[str, list[int]] = {}
        for class_id, name in self._names.items():
            by_name.setdefault(name, []).append(class_id)
        shared = {n: ids for n, ids in by_name.items() if len(ids) > 1}
        if shared:
            raise ConversionError(
                f"class-maps give one name several ids: {shared}; pass the job's label config"
            )
        names, warnings = _fill_gaps(self._names)
        return ClassList(names, source="class-maps of the manifest lines", warnings=warnings)


def _class_id_key(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdigit() else None


def _fill_gaps(names: Mapping[int, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Ids keep their job positions; ids no line names get a placeholder and a warning."""
    highest = max(names)
    if highest >= MAX_DERIVED_CLASS_ID:
        # A class-map id this far past the names it carries is corrupt, not a class list.
        raise ConversionError(
            f"class-map id {highest} but only {len(names)} class names: pass --label-config"
        )
    ordered: list[str] = []
    missing: list[int] = []
    for class_id in range(max(names) + 1):
        if class_id in names:
            ordered.append(names[class_id])
        else:
            ordered.append(f"unnamed_{class_id}")
            missing.append(class_id)
    warnings: Sequence[str] = (
        [f"class ids {missing} appear in no class-map; named unnamed_<id>: pass --label-config"]
        if missing
        else []
    )
    return tuple(ordered), tuple(warnings)
