"""Counts of everything that happened, for report.json: nothing is dropped without a number.

Two models. `ConversionReport` holds the running totals of a pass (and what a fan-out chunk
hands to the merge). `ReportDocument` is report.json itself, typed: the part every task writes
and one `TaskSection` for what only the dataset's task says (`gt2yolo/tasks/<task>/report.py`); it writes the
document (`as_dict`) and reads it back (`parse`) for report.html.

Reading is tolerant because the page renders the report.json of every earlier gt2yolo: the
first ones wrote neither `task` (their datasets are detection datasets) nor `renamed_images`,
`layout` or a task section; `version` is only in the pipeline's reports, `partial` only in a
partial one's. A key that is missing reads as the page has always shown it (0, empty, or
"not stated" where the page says so); a key of the wrong type is refused, naming the key.

Standard library and `gt2yolo.records` only: the task sections import this module, never the
converter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from gt2yolo.errors import ConversionError
from gt2yolo.records import BoxDrop, LineRejection

Counts = TypeVar("Counts", bound="TaskCounts")


class TaskCounts:
    """What only one task counts while converting (its numbers in its report.json section).

    A subclass names itself (`kind`) so a fan-out chunk's counters say whose counts they are:
    the merge rebuilds them without knowing the task."""

    kind: ClassVar[str] = ""
    _kinds: ClassVar[dict[str, type[TaskCounts]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            TaskCounts._kinds[cls.kind] = cls

    @classmethod
    def named(cls, kind: str) -> type[TaskCounts]:
        try:
            return TaskCounts._kinds[kind]
        except KeyError:
            raise ValueError(f"no task counts named {kind!r}") from None

    def as_json(self) -> dict[str, Any]:
        """The counts as JSON, for the chunk's counters."""
        raise NotImplementedError

    def absorb(self, counts: Mapping[str, Any]) -> None:
        """Add another chunk's `as_json()`."""
        raise NotImplementedError


@dataclass
class ManifestCounts:
    lines: int = 0
    images: int = 0
    rejected: int = 0
    # Of the rejected: lines dropped as --on-duplicate first|last asked (not in report.json).
    duplicates: int = 0


@dataclass
class ConversionReport:
    """Running totals; `as_dict` is the report.json document up to its `task`."""

    label_attribute: str = ""
    class_source: str = ""
    classes: tuple[str, ...] = ()
    images: int = 0
    boxes: int = 0
    background_images: int = 0
    clamped_boxes: int = 0
    rejected: Counter[LineRejection] = field(default_factory=Counter)
    dropped_boxes: Counter[BoxDrop] = field(default_factory=Counter)
    boxes_per_class: Counter[int] = field(default_factory=Counter)
    images_per_split: Counter[str] = field(default_factory=Counter)
    boxes_per_split: Counter[str] = field(default_factory=Counter)
    manifests: dict[str, ManifestCounts] = field(default_factory=dict)
    common_prefix: str = ""
    split_fractions: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The YOLO task (detect, segment, classify) and what only some tasks count, by kind.
    task: str = "detect"
    extra: dict[str, TaskCounts] = field(default_factory=dict)
    # wrong_task rejections by the type their lines name (for the warning in report.json).
    wrong_tasks: Counter[str] = field(default_factory=Counter)

    def manifest(self, name: str) -> ManifestCounts:
        # Not setdefault: that would build a ManifestCounts on every call (one per image).
        counts = self.manifests.get(name)
        if counts is None:
            counts = self.manifests[name] = ManifestCounts()
        return counts

    def counts(self, kind: type[Counts]) -> Counts:
        """The task's own counts, started at zero on first use."""
        counts = self.extra.get(kind.kind)
        if counts is None:
            counts = self.extra[kind.kind] = kind()
        assert isinstance(counts, kind), f"{kind.kind} counts are {type(counts).__name__}"
        return counts

    def counters(self) -> dict[str, Any]:
        """The running totals as JSON: what a fan-out chunk hands to the merge."""
        return {
            "images": self.images,
            "boxes": self.boxes,
            "background_images": self.background_images,
            "clamped_boxes": self.clamped_boxes,
            "rejected": {str(k): v for k, v in self.rejected.items()},
            "dropped_boxes": {str(k): v for k, v in self.dropped_boxes.items()},
            "boxes_per_class": {str(k): v for k, v in self.boxes_per_class.items()},
            "images_per_split": dict(self.images_per_split),
            "boxes_per_split": dict(self.boxes_per_split),
            "manifests": [
                [name, m.lines, m.images, m.rejected, m.duplicates]
                for name, m in self.manifests.items()
            ],
            "extra": {kind: counts.as_json() for kind, counts in self.extra.items()},
            "wrong_tasks": dict(self.wrong_tasks),
        }

    def absorb(self, counters: dict[str, Any]) -> None:
        """Add a chunk's `counters()`; absorbing chunks in manifest order keeps report.json's order."""
        self.images += counters["images"]
        self.boxes += counters["boxes"]
        self.background_images += counters["background_images"]
        self.clamped_boxes += counters["clamped_boxes"]
        self.rejected.update({LineRejection(k): v for k, v in counters["rejected"].items()})
        self.dropped_boxes.update({BoxDrop(k): v for k, v in counters["dropped_boxes"].items()})
        self.boxes_per_class.update({int(k): v for k, v in counters["boxes_per_class"].items()})
        self.images_per_split.update(counters["images_per_split"])
        self.boxes_per_split.update(counters["boxes_per_split"])
        for kind, counts in counters.get("extra", {}).items():
            self.counts(TaskCounts.named(kind)).absorb(counts)
        self.wrong_tasks.update(counters.get("wrong_tasks", {}))
        for name, lines, images, rejected, *duplicates in counters["manifests"]:
            counts = self.manifest(name)
            counts.lines += lines
            counts.images += images
            counts.rejected += rejected
            counts.duplicates += sum(duplicates)

    @property
    def lines(self) -> int:
        return sum(m.lines for m in self.manifests.values())

    def document(self) -> ReportDocument:
        """report.json as these totals give it: its common part, no task section yet."""
        return ReportDocument(
            images=self.images,
            boxes=self.boxes,
            background_images=self.background_images,
            lines=self.lines,
            rejected_lines=sum(self.rejected.values()),
            rejected={str(k): v for k, v in sorted(self.rejected.items())},
            dropped_boxes={str(k): v for k, v in sorted(self.dropped_boxes.items())},
            clamped_boxes=self.clamped_boxes,
            classes=tuple(self.classes),
            class_source=self.class_source,
            boxes_per_class={name: self.boxes_per_class[i] for i, name in enumerate(self.classes)},
            images_per_split=dict(sorted(self.images_per_split.items())),
            boxes_per_split=dict(sorted(self.boxes_per_split.items())),
            label_attribute=self.label_attribute,
            common_prefix=self.common_prefix,
            split_fractions=dict(self.split_fractions),
            manifests=tuple(
                ManifestSummary(name, m.lines, m.images, m.rejected)
                for name, m in self.manifests.items()
            ),
            warnings=tuple(self.warnings),
            task=self.task,
        )

    def as_dict(self) -> dict[str, Any]:
        return self.document().as_dict()


@dataclass(frozen=True)
class TaskSection:
    """What report.json says only for one task, under its own key (`key`; None: nothing).

    A task's section (`gt2yolo/tasks/<task>/report.py`) is a frozen dataclass whose every field has a
    default: the value the page shows when an earlier gt2yolo did not write the key. This base
    is the running totals' stand-in (`ConversionReport.document`): no section yet."""

    task: ClassVar[str] = "detect"  # report.json's `task`
    key: ClassVar[str | None] = None

    def as_dict(self) -> dict[str, Any]:
        return {}

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> TaskSection:
        """The section read back from its `as_dict()` (any key of it may be missing)."""
        return cls()


@dataclass(frozen=True)
class ManifestSummary:
    manifest: str = ""
    lines: int = 0
    images: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "lines": self.lines,
            "images": self.images,
            "rejected": self.rejected,
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> ManifestSummary:
        read = Reader(document, "manifests[]")
        return cls(
            read.text("manifest"), read.count("lines"), read.count("images"),
            read.count("rejected"),
        )  # fmt: skip


@dataclass(frozen=True)
class CollectionMember:
    """One member's counts in a collection's report.json (its lines are report.json's
    `manifests` entry of its name; `superseded`: its lines left out because another line
    labels the same image and the overlap rule kept that one)."""

    name: str = ""
    source: str = ""
    completed_at: str = ""
    lines: int = 0
    images: int = 0
    rejected: int = 0
    superseded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "completed_at": self.completed_at,
            "lines": self.lines,
            "images": self.images,
            "rejected": self.rejected,
            "superseded": self.superseded,
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> CollectionMember:
        read = Reader(document, "collection.members[]")
        return cls(
            read.text("name"), read.text("source"), read.text("completed_at"),
            read.count("lines"), read.count("images"), read.count("rejected"),
            read.count("superseded"),
        )  # fmt: skip


@dataclass(frozen=True)
class ExportEntry:
    """report.json's `exports.<format>`: the files written and what each holds, what was left
    out (by reason), or why the dataset's task has no form of the format."""

    name: str
    written: bool
    files: dict[str, dict[str, int]]
    excluded: dict[str, int]
    reason: str
    document: Mapping[str, Any]  # as written: the format's own facts too (AttributeNames, ...)

    @classmethod
    def parse(cls, name: str, document: Mapping[str, Any]) -> ExportEntry:
        read = Reader(document, f"report.json exports.{name}")
        files = read.mapping("files") or {}
        return cls(
            name,
            read.flag("written"),
            {
                str(key): Reader({"counts": counts}, f"{read.where} files").counts("counts")
                for key, counts in files.items()
            },
            read.counts("excluded"),
            read.text("reason"),
            dict(document),
        )


@dataclass(frozen=True)
class ModelEntry:
    """report.json's `model`: the model trained on this version (added by Model Ready, after
    publishing), its files, its metrics and their change against the dataset's previous model."""

    version: str
    task: str
    training_job: str
    model_uri: str  # best.pt
    details_uri: str  # model.json: everything known about the model
    files: dict[str, str]  # name -> URI
    metrics: dict[str, float]
    previous_version: str | None  # None: the first model of the dataset
    changes: dict[str, float]  # metric -> change against the previous model
    trained_at: str | None
    document: Mapping[str, Any]  # as written

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> ModelEntry:
        read = Reader(document, "report.json model")
        return cls(
            read.text("version"), read.text("task"), read.text("training_job"),
            read.text("model_uri"), read.text("details_uri"), read.optional_texts("files") or {},
            read.numbers("metrics"), read.optional_text("previous_version"),
            read.numbers("changes"), read.optional_text("trained_at"), dict(document),
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return dict(self.document)


@dataclass(frozen=True)
class CollectionSummary:
    """report.json's `collection` section: a dataset fed by several labeling jobs."""

    name: str = ""
    on_overlap: str = ""
    members: tuple[CollectionMember, ...] = ()
    new_classes: tuple[str, ...] = ()  # appended by this version (none is ever renumbered)
    removed: tuple[str, ...] = ()  # members the definition no longer holds
    overlaps: int = 0  # lines left out as the overlap rule kept another line of their image

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "on_overlap": self.on_overlap,
            "members": [m.as_dict() for m in self.members],
            "new_classes": list(self.new_classes),
            "removed": list(self.removed),
            "overlaps": self.overlaps,
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> CollectionSummary:
        read = Reader(document, "collection")
        return cls(
            read.text("name"), read.text("on_overlap"),
            tuple(CollectionMember.parse(m) for m in read.objects("members")),
            tuple(read.texts("new_classes")), tuple(read.texts("removed")),
            read.count("overlaps"),
        )  # fmt: skip


@dataclass(frozen=True)
class CollectionFacts:
    """What a conversion of a collection knows before it runs (ConversionOptions.collection);
    `summary` adds the counts when it has run."""

    name: str
    on_overlap: str
    members: tuple[tuple[str, str, str], ...]  # (name, source, completed_at), in member order
    new_classes: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def summary(
        self, report: ConversionReport, dropped: Mapping[tuple[str, int], str]
    ) -> CollectionSummary:
        """`dropped`: the lines the naming pass left out as duplicates, by (manifest, line):
        a member's manifest is named after the member."""
        superseded = Counter(manifest for manifest, _ in dropped)
        members = []
        for name, source, completed_at in self.members:
            counts = report.manifests.get(name, ManifestCounts())
            members.append(CollectionMember(
                name, source, completed_at, counts.lines, counts.images, counts.rejected,
                superseded[name],
            ))  # fmt: skip
        return CollectionSummary(
            self.name, self.on_overlap, tuple(members), self.new_classes, self.removed,
            sum(superseded.values()),
        )  # fmt: skip


@dataclass(frozen=True)
class ReportDocument:
    """report.json, in its key order."""

    images: int = 0
    boxes: int = 0
    background_images: int = 0
    lines: int = 0
    rejected_lines: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # lines, by LineRejection
    dropped_boxes: dict[str, int] = field(default_factory=dict)  # by BoxDrop
    clamped_boxes: int = 0
    classes: tuple[str, ...] = ()
    class_source: str = ""
    boxes_per_class: dict[str, int] = field(default_factory=dict)  # by name, in class order
    images_per_split: dict[str, int] = field(default_factory=dict)
    boxes_per_split: dict[str, int] = field(default_factory=dict)
    label_attribute: str = ""
    common_prefix: str = ""
    split_fractions: dict[str, float] = field(default_factory=dict)
    manifests: tuple[ManifestSummary, ...] = ()
    warnings: tuple[str, ...] = ()
    task: str = "detect"
    renamed_images: int | None = None  # None: not written (gt2yolo before renaming)
    layout: str | None = None  # None: not written (gt2yolo before --layout)
    version: str | None = None  # the pipeline's dataset version; absent locally
    partial: bool = False  # written only when true
    collection: CollectionSummary | None = None  # only a collection's dataset
    exports: tuple[ExportEntry, ...] = ()  # only when exports were asked for
    model: ModelEntry | None = None  # only once a model was trained on the version
    section: TaskSection = field(default_factory=TaskSection)

    def boxes_in(self, split: str) -> int:
        """Boxes (polygons) of the split (0 for a split the report does not count)."""
        return self.boxes_per_split.get(split, 0)

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "images": self.images,
            "boxes": self.boxes,
            "background_images": self.background_images,
            "lines": self.lines,
            "rejected_lines": self.rejected_lines,
            "rejected": dict(self.rejected),
            "dropped_boxes": dict(self.dropped_boxes),
            "clamped_boxes": self.clamped_boxes,
            "classes": list(self.classes),
            "class_source": self.class_source,
            "boxes_per_class": dict(self.boxes_per_class),
            "images_per_split": dict(self.images_per_split),
            "boxes_per_split": dict(self.boxes_per_split),
            "label_attribute": self.label_attribute,
            "common_prefix": self.common_prefix,
            "split_fractions": dict(self.split_fractions),
            "manifests": [m.as_dict() for m in self.manifests],
            "warnings": list(self.warnings),
            "task": self.task,
        }
        if self.renamed_images is not None:
            document["renamed_images"] = self.renamed_images
        if self.layout is not None:
            document["layout"] = self.layout
        if self.version is not None:
            document["version"] = self.version
        if self.partial:
            document["partial"] = True
        if self.collection is not None:
            document["collection"] = self.collection.as_dict()
        if self.exports:
            document["exports"] = {entry.name: dict(entry.document) for entry in self.exports}
        if self.model is not None:
            document["model"] = self.model.as_dict()
        if self.section.key is not None:
            document[self.section.key] = self.section.as_dict()
        return document

    @classmethod
    def parse(cls, document: object, sections: Sequence[type[TaskSection]]) -> ReportDocument:
        """report.json of any gt2yolo, its task section one of `sections`."""
        if not isinstance(document, Mapping):
            raise ConversionError("report.json is not a JSON object")
        read = Reader(document, "report.json")
        task = read.text("task", "detect")
        return cls(
            images=read.count("images"),
            boxes=read.count("boxes"),
            background_images=read.count("background_images"),
            lines=read.count("lines"),
            rejected_lines=read.count("rejected_lines"),
            rejected=read.counts("rejected"),
            dropped_boxes=read.counts("dropped_boxes"),
            clamped_boxes=read.count("clamped_boxes"),
            classes=tuple(read.texts("classes")),
            class_source=read.text("class_source"),
            boxes_per_class=read.counts("boxes_per_class"),
            images_per_split=read.counts("images_per_split"),
            boxes_per_split=read.counts("boxes_per_split"),
            label_attribute=read.text("label_attribute"),
            common_prefix=read.text("common_prefix"),
            split_fractions=read.numbers("split_fractions"),
            manifests=tuple(ManifestSummary.parse(m) for m in read.objects("manifests")),
            warnings=tuple(read.texts("warnings")),
            task=task,
            renamed_images=read.optional_count("renamed_images"),
            layout=read.optional_text("layout"),
            version=read.optional_text("version"),
            partial=read.flag("partial"),
            collection=_collection(read),
            exports=_exports(read),
            model=_model(read),
            section=_section(document, task, sections),
        )


def _exports(read: Reader) -> tuple[ExportEntry, ...]:
    section = read.mapping("exports") or {}
    entries = []
    for name, entry in section.items():
        if not isinstance(entry, Mapping):
            raise ConversionError(f"report.json exports.{name} is not an object")
        entries.append(ExportEntry.parse(str(name), entry))
    return tuple(entries)


def _model(read: Reader) -> ModelEntry | None:
    section = read.mapping("model")
    return None if section is None else ModelEntry.parse(section)


def _collection(read: Reader) -> CollectionSummary | None:
    section = read.mapping("collection")
    return None if section is None else CollectionSummary.parse(section)


def _section(
    document: Mapping[str, Any], task: str, sections: Sequence[type[TaskSection]]
) -> TaskSection:
    """The task's section: the one whose key the document has (a detection dataset of video
    frames has `video`), else the task's keyless one, else the task's with every key missing.
    A null section reads as a missing one, as the page has always read it."""
    own = [s for s in sections if s.task == task]
    if not own:
        known = ", ".join(dict.fromkeys(s.task for s in sections))
        raise ConversionError(
            f"report.json says task {task!r}: this gt2yolo reports {known} datasets"
        )
    for section in own:
        if section.key is not None and isinstance(document.get(section.key), Mapping):
            return section.parse(document[section.key])
    keyless = [s for s in own if s.key is None]
    return (keyless or own)[0].parse({})


class Reader:
    """Typed reads of one JSON object; a missing key gives the default, a wrong type an error
    that names the key."""

    def __init__(self, document: Mapping[str, Any], where: str) -> None:
        self.document = document
        self.where = where

    def _get(self, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = self.document.get(key)
        if value is None:
            return None
        # JSON's true is no number here, though Python's bool is an int.
        numeric = kind is int or kind == (int, float)
        if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
            raise ConversionError(f"{self.where}: {key} is {value!r}, not {what}")
        return value

    def count(self, key: str, default: int = 0) -> int:
        value = self._get(key, int, "a whole number")
        return default if value is None else int(value)

    def optional_count(self, key: str) -> int | None:
        value = self._get(key, int, "a whole number")
        return None if value is None else int(value)

    def number(self, key: str) -> float | None:
        """A number as written (an int stays an int: the page prints it as it was)."""
        value: float | None = self._get(key, (int, float), "a number")
        return value

    def text(self, key: str, default: str = "") -> str:
        value = self._get(key, str, "a string")
        return default if value is None else str(value)

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, str, "a string")
        return None if value is None else str(value)

    def flag(self, key: str) -> bool:
        value = self._get(key, bool, "true or false")
        return bool(value)

    def texts(self, key: str) -> list[str]:
        values = self._get(key, list, "a list") or []
        if not all(isinstance(v, str) for v in values):
            raise ConversionError(f"{self.where}: {key} holds a value that is not a string")
        return list(values)

    def objects(self, key: str) -> list[Mapping[str, Any]]:
        values = self._get(key, list, "a list") or []
        if not all(isinstance(v, Mapping) for v in values):
            raise ConversionError(f"{self.where}: {key} holds a value that is not an object")
        return list(values)

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value: Mapping[str, Any] | None = self._get(key, Mapping, "an object")
        return value

    def counts(self, key: str) -> dict[str, int]:
        return self._typed_mapping(key, int, "whole numbers") or {}

    def optional_counts(self, key: str) -> dict[str, int] | None:
        return self._typed_mapping(key, int, "whole numbers")

    def numbers(self, key: str) -> dict[str, float]:
        return self._typed_mapping(key, (int, float), "numbers") or {}

    def optional_texts(self, key: str) -> dict[str, str] | None:
        return self._typed_mapping(key, str, "strings")

    def _typed_mapping(
        self, key: str, kind: type | tuple[type, ...], what: str
    ) -> dict[str, Any] | None:
        value = self.mapping(key)
        if value is None:
            return None
        if not all(isinstance(v, kind) and not isinstance(v, bool) for v in value.values()):
            raise ConversionError(f"{self.where}: {key} holds values that are not {what}")
        return dict(value)
