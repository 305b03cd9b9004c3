"""The dataset's class list: which name gets which YOLO class id.

Class id = position of the class name in the job's label category config, the order users train
with; never re-sorted. Without a config the order comes from the lines' class-maps (id -> name):
the first line to name an id decides, and a line whose class-map disagrees with the lines before
it adds nothing and is rejected (`class_map_conflict`) instead of stopping the conversion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gt2yolo.errors import ConversionError
from gt2yolo.excerpts import shown
from gt2yolo.nesting import NestedTooDeep, loads_bounded
from gt2yolo.records import BoxDrop

GROUND_TRUTH_MAX_BOX_LABELS = 50
# Ground Truth ids are positions in a list of at most 50 labels; leave room, refuse nonsense.
MAX_DERIVED_CLASS_ID = 1000
_ID_DIGITS = len(str(MAX_DERIVED_CLASS_ID - 1))
_KEY_CHARS = 8  # "007" reads as 7; a key of a million zeros is no id
MAX_CLASSIFIED = 4096
MAX_REMEMBERED_MAPS = 1024
MAX_REMEMBERED_NAME = 64


@dataclass(frozen=True)
class ClassList:
    """Class names in id order, and where that order came from."""

    names: tuple[str, ...]
    source: str
    warnings: tuple[str, ...] = ()
    # Derived from the lines' class-maps (no label config): each line's class-map must agree.
    from_class_maps: bool = False
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    # (class_id, name on the line) -> classify(): a handful of pairs answer every box of a job.
    _classified: dict[tuple[int, str | None], tuple[str | None, int | BoxDrop]] = field(
        init=False, repr=False, compare=False
    )
    _agreeing_maps: set[tuple[tuple[str, object], ...]] = field(
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
        object.__setattr__(self, "_agreeing_maps", set())

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

    def class_map_conflict(self, class_map: Mapping[str, object]) -> str | None:
        """Why a line's class-map disagrees with this (derived) class list; None if it agrees.

        Agrees exactly when the survey folded the line's class-map into the list (see
        ClassMapCollector.add): the list only ever grows, so a disagreement stays one.
        """
        # A job's lines share a few class-maps: each agreeing one is checked once.
        key = tuple(class_map.items())
        try:
            if key in self._agreeing_maps:
                return None
        except TypeError:  # a value that cannot be hashed (a list): never a class name
            return self._class_map_conflict(class_map)
        conflict = self._class_map_conflict(class_map)
        # Bounded in number and size: the key holds the line's strings (names, as it agrees).
        if (
            conflict is None
            and len(self._agreeing_maps) < MAX_REMEMBERED_MAPS
            and all(len(str(name)) <= MAX_REMEMBERED_NAME for _, name in key)
        ):
            self._agreeing_maps.add(key)
        return conflict

    def _class_map_conflict(self, class_map: Mapping[str, object]) -> str | None:
        ids: dict[int, str] = {}
        names: dict[str, int] = {}
        for key, value in class_map.items():
            entry = class_map_entry(key, value)
            if isinstance(entry, str):
                return entry
            class_id, name = entry
            problem = _within_line(class_id, name, ids, names)
            if problem:
                return problem
            known = self.names[class_id] if class_id < len(self.names) else None
            if known == name:
                continue
            other = self._index.get(name)
            if other is not None:
                return (
                    f"class-map gives {shown(name)} id {class_id}; earlier lines give it id {other}"
                )
            if known is not None and known != placeholder_name(class_id):
                return f"class-map says id {class_id} is {shown(name)}; earlier lines say {shown(known)}"
        # Ids the list lacks (or holds as a placeholder): only a line that conflicts elsewhere
        # has them, as it added nothing; named here for any other.
        unknown = [i for i, name in ids.items() if i >= len(self.names) or self.names[i] != name]
        return f"class-map ids {unknown} are not in the class list" if unknown else None


def class_list_from_label_config(document: bytes, origin: str) -> ClassList:
    """Parse Ground Truth's label category config (`{"labels": [{"label": "cat"}, ...]}`)."""
    try:
        config = loads_bounded(document)
    except NestedTooDeep as exc:
        raise ConversionError(f"label config {origin} is nested too deeply ({exc})") from None
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
    """Derives the class order from the lines' sparse class-maps when no config is given.

    The first line to name an id (or to give a name an id) decides. A class-map that disagrees
    with what earlier lines decided, or holds an unusable entry, adds none of its entries: the
    conversion pass rejects that line (ClassList.class_map_conflict finds the same lines).
    """

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._ids: dict[str, int] = {}
        self._conflicts = 0
        self._first_conflict = ""

    def add(self, class_map: Mapping[str, object], where: str) -> bool:
        """Fold one line's class-map in; False (nothing added) when it conflicts."""
        ids: dict[int, str] = {}
        names: dict[str, int] = {}
        for key, value in class_map.items():
            entry = class_map_entry(key, value)
            if (
                isinstance(entry, str)
                or _within_line(*entry, ids, names)
                or not self._agrees(*entry)
            ):
                self._conflicts += 1
                self._first_conflict = self._first_conflict or where
                return False
        self._names.update(ids)
        self._ids.update(names)
        return True

    def _agrees(self, class_id: int, name: str) -> bool:
        return self._names.get(class_id, name) == name and self._ids.get(name, class_id) == class_id

    def class_list(self) -> ClassList:
        warnings: tuple[str, ...] = ()
        if self._conflicts:
            warnings = (
                f"{self._conflicts} line(s) rejected as class_map_conflict (first at "
                f"{self._first_conflict}): their class-maps disagree with earlier lines'; "
                "pass the job's label config with --label-config",
            )
        if not self._names and not self._conflicts:
            return ClassList((), source="class-maps (none found)", from_class_maps=True)
        names, gaps = _fill_gaps(self._names)
        return ClassList(
            names, source="class-maps of the manifest lines", warnings=warnings + gaps,
            from_class_maps=True,
        )  # fmt: skip


def class_map_entry(key: str, value: object) -> tuple[int, str] | str:
    """One class-map entry as (id, name), or why it names no class."""
    digits = key.lstrip("0") if len(key) <= _KEY_CHARS and key.isascii() and key.isdigit() else None
    # Ground Truth ids are positions in a list of at most 50 labels: leave room, refuse nonsense
    # (and never int() a string of thousands of digits).
    class_id = int(digits or "0") if digits is not None and len(digits) <= _ID_DIGITS else None
    if class_id is None or class_id >= MAX_DERIVED_CLASS_ID:
        return f"class-map key {shown(key)} is not a class id (0 to {MAX_DERIVED_CLASS_ID - 1})"
    if not isinstance(value, str) or not value.strip():
        return f"class-map id {class_id} names no class: {shown(value)}"
    if value.splitlines() != [value]:
        # classes.txt holds one name per line: a line break would shift every later class id.
        return f"class-map id {class_id}: name {shown(value)} holds a line break"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no file can hold it
            return f"class-map id {class_id}: name {shown(value)} is not valid Unicode"
    return class_id, value


def _within_line(class_id: int, name: str, ids: dict[int, str], names: dict[str, int]) -> str:
    """Record (id, name) of one class-map; the problem if the map already pairs them otherwise."""
    if ids.setdefault(class_id, name) != name:
        return f"class-map names id {class_id} twice: {shown(ids[class_id])} and {shown(name)}"
    if names.setdefault(name, class_id) != class_id:
        return f"class-map gives {shown(name)} two ids: {names[name]} and {class_id}"
    return ""


def placeholder_name(class_id: int) -> str:
    return f"unnamed_{class_id}"


def _fill_gaps(names: Mapping[int, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Ids keep their job positions; ids no line names get a placeholder and a warning."""
    ordered: list[str] = []
    missing: list[int] = []
    for class_id in range(max(names, default=-1) + 1):
        if class_id in names:
            ordered.append(names[class_id])
        else:
            ordered.append(placeholder_name(class_id))
            missing.append(class_id)
    warnings: Sequence[str] = (
        [f"class ids {missing} appear in no class-map; named unnamed_<id>: pass --label-config"]
        if missing
        else []
    )
    return tuple(ordered), tuple(warnings)
