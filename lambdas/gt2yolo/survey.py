"""First pass over the manifests: what the rules need before the first file is written.

The label attribute (given, or detected when exactly one bounding-box attribute occurs), the
class order (config, or the lines' class-maps), the common folder of all source-refs and, when
asked, an 8-byte digest of each source-ref's natural label path (`names.NaturalNames`, from
which the names of colliding images are decided). Streams the lines; besides those digests it
keeps only per-attribute counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

from gt2yolo.classes import ClassList, ClassMapCollector
from gt2yolo.errors import ConversionError
from gt2yolo.excerpts import shown
from gt2yolo.manifest import (
    METADATA_SUFFIX,
    ManifestSource,
    _Reject,
    class_map_of,
    labeled_attributes,
    load_line,
    numbered_lines,
)
from gt2yolo.names import NaturalNames, source_ref_starts, source_refs_at
from gt2yolo.paths import S3_SCHEME, InvalidSourceRef, common_folder, source_ref_segments
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.registry import attribute_suffixes, reader_of

__all__ = ["Survey", "survey_manifests"]


@dataclass
class _Tally:
    lines: int = 0
    folder: tuple[str, ...] | None = None
    detection: Counter[str] = field(default_factory=Counter)
    # attribute -> the tasks its metadata types name, with the lines of each
    tasks: dict[str, Counter[LabelTask]] = field(default_factory=dict)
    attributes_per_manifest: dict[str, Counter[str]] = field(default_factory=dict)
    # Per task: only the lines of the dataset's task give it classes (the others are rejected).
    class_maps: dict[tuple[str, LabelTask], ClassMapCollector] = field(default_factory=dict)


def survey_manifests(
    sources: Sequence[ManifestSource],
    label_attribute: str | None,
    class_list: ClassList | None,
    progress: Callable[[str, int], None] | None = None,
    skim: bool = True,
    natural: NaturalNames | None = None,
    task: LabelTask | None = None,
) -> Survey:
    """Survey the manifests; `skim=False` decodes every line (the reference for the skim).

    `natural` collects the digests of every line's natural label path (read from the bytes, so
    the same whether a line is skimmed or decoded). `task`: the job's task when known (from
    DescribeLabelingJob), else the task of most lines (`_task`); lines of another task are
    rejected by the conversion pass (`wrong_task`)."""
    tally = _Tally()
    # With the attribute and classes given, only the common folder and the attribute's presence
    # per manifest are asked for: most lines can be shown to change neither without decoding.
    skimmer = _Skimmer(label_attribute) if skim and label_attribute and class_list else None
    # One scan of each line's bytes finds its source-refs for the natural names and the skim.
    scan = natural is not None or skimmer is not None
    for source in sources:
        seen = tally.attributes_per_manifest.setdefault(source.name, Counter())
        for origin, raw in numbered_lines(source):
            tally.lines += 1
            starts = source_ref_starts(raw) if scan else None
            if natural is not None:
                natural.add(source_refs_at(raw, starts))
            if skimmer is None or not skimmer.tells_nothing(raw, starts, seen, tally):
                where = f"{origin.manifest}:{origin.line}"
                _survey_line(raw, where, seen, tally, class_list is None)
            if progress and tally.lines % 1000 == 0:
                progress("survey", 1000)
    if progress:
        progress("survey", tally.lines % 1000)
    attribute = _attribute(label_attribute, tally)
    _require_attribute_everywhere(attribute, tally.attributes_per_manifest)
    tasks = tally.tasks.get(attribute, Counter())
    if skimmer is not None and task is None and len(tasks) > 1:
        # Skimmed lines were left out of the counts (they could only add to the one task seen
        # when they were skimmed): the majority needs every line counted.
        tasks = _count_tasks(sources, attribute)
    found = _task(attribute, tasks, task)
    if class_list is None:
        collector = tally.class_maps.get((attribute, found), ClassMapCollector())
        class_list = collector.class_list()
    return Survey(attribute, class_list, tally.folder or (), tally.lines, task=found)


def _attribute(given: str | None, tally: _Tally) -> str:
    if given is None:
        return _detect_attribute(tally.detection)
    # A segmentation job's LabelAttributeName `seg` labels its lines as `seg-ref`.
    if any(seen[given] for seen in tally.attributes_per_manifest.values()):
        return given
    for suffix in attribute_suffixes():
        ref = given + suffix
        if any(seen[ref] for seen in tally.attributes_per_manifest.values()):
            return ref
    return given


def _task(attribute: str, seen: Counter[LabelTask], job_task: LabelTask | None) -> LabelTask:
    """The dataset's one task: the job's when known, else the task of most lines.

    A tie goes to the task first in `LabelTask`'s order (bounding box, semantic segmentation,
    single-label, multi-label classification, video detection, video tracking), so the answer
    never depends on the order of lines or manifests. The lines of other tasks are rejected
    (`wrong_task`); a job none of whose lines is of its task is an error naming both."""
    if job_task is not None:
        if seen and job_task not in seen:
            raise ConversionError(
                f"the labeling job is a {job_task.description} job, but the lines of "
                f'"{_name(attribute)}" are typed {_typed(seen)}: not one is of the job\'s task'
            )
        # Lines without a typed metadata (custom workflows) are read as the job's task.
        return job_task
    if not seen:
        return LabelTask.BOUNDING_BOX
    order = list(LabelTask)
    return min(seen, key=lambda task: (-seen[task], order.index(task)))


def _typed(seen: Counter[LabelTask]) -> str:
    if len(seen) == 1:
        return str(next(iter(seen)))
    return ", ".join(f"{task} ({count} lines)" for task, count in seen.most_common())


def _count_tasks(sources: Sequence[ManifestSource], attribute: str) -> Counter[LabelTask]:
    """The tasks the attribute's metadata types name, every line decoded."""
    tasks: Counter[LabelTask] = Counter()
    for source in sources:
        for _, raw in numbered_lines(source):
            try:
                record = load_line(raw)
            except _Reject:
                continue
            tasks.update(task for name, task in labeled_attributes(record) if name == attribute)
    return tasks


class _Skimmer:
    """Tells, from the raw bytes, that a line cannot change what a survey with a given attribute
    and class list reports: the common folder and whether the attribute occurs per manifest.

    A line cannot change the common folder when its top-level "source-ref" (if the line is a JSON
    object with a string there at all) starts with the common folder so far. Without a backslash
    the line holds no escapes, so each JSON string is its bytes as they stand: every top-level
    "source-ref" key is then a literal `"source-ref"` followed by `:`. Checking every such
    occurrence (nested ones too: `names.source_ref_starts`) is enough. Lines json would decode
    as UTF-16 or UTF-32 (a NUL, a UTF-16 byte order mark) are decoded. The attribute's presence
    is only asked for until the manifest has one decoded line carrying it, so once seen, it no
    longer needs decoding either.

    The task: a line without escapes whose metadata names a task holds that type as a literal
    `"groundtruth/..."` string. A line holding no such literal but the one task's seen so far
    cannot add another task; any other line is decoded, so every task the lines name is seen
    (the majority is then counted over every line when there are several: `_count_tasks`).
    """

    def __init__(self, attribute: str) -> None:
        self.key = attribute
        self.folder: tuple[str, ...] | None = None
        self.prefix = b""

    def tells_nothing(
        self, raw: bytes, starts: list[int] | None, seen: Counter[str], tally: _Tally
    ) -> bool:
        """`starts`: `names.source_ref_starts(raw)`, None for a line that may hold escapes."""
        folder = tally.folder
        if folder is None or not seen[self.key] or starts is None:
            return False
        found = raw.count(_TYPE_START)
        if found:
            tasks = tally.tasks.get(self.key)
            # Two counts answer a job's every line: each "groundtruth/ string is its task's type.
            one = _TYPE_LITERALS[next(iter(tasks))] if tasks and len(tasks) == 1 else None
            if (one is None or raw.count(one) != found) and not _names_no_other_task(raw, tasks):
                return False
        if folder != self.folder:
            self.folder = folder
            self.prefix = (S3_SCHEME + "".join(s + "/" for s in folder)).encode()
        prefix = self.prefix
        return all(raw.startswith(prefix, start) for start in starts)


_TYPE_START = b'"groundtruth/'
_TYPE_LITERALS = {task: f'"{task}"'.encode() for task in LabelTask}


def _names_no_other_task(raw: bytes, seen: Counter[LabelTask] | None) -> bool:
    """Whether the line's bytes hold no task type's literal but that of the one task seen."""
    allowed = next(iter(seen)) if seen is not None and len(seen) == 1 else None
    return not any(
        literal in raw for task, literal in _TYPE_LITERALS.items() if task is not allowed
    )


def _survey_line(raw: bytes, where: str, seen: Counter[str], tally: _Tally, maps: bool) -> None:
    try:
        record = load_line(raw)
    except _Reject:
        return  # counted by the conversion pass, with its line number
    source_ref = record.get("source-ref")
    if isinstance(source_ref, str):
        with suppress(InvalidSourceRef):  # such lines are rejected by the conversion pass
            tally.folder = common_folder(tally.folder, source_ref_segments(source_ref))
    for key in record:
        if key.endswith(METADATA_SUFFIX):
            seen[key[: -len(METADATA_SUFFIX)]] += 1
    for attribute, task in labeled_attributes(record):
        tally.detection[attribute] += 1
        tally.tasks.setdefault(attribute, Counter())[task] += 1
        class_map = class_map_of(record, attribute, task, reader_of(task)) if maps else None
        if class_map:
            collector = tally.class_maps.setdefault((attribute, task), ClassMapCollector())
            collector.add(class_map, where)


def _detect_attribute(detection: Counter[str]) -> str:
    if len(detection) == 1:
        return next(iter(detection))
    if not detection:
        raise ConversionError(
            "no label attribute found (no <attr>-metadata whose type is one of "
            f"{', '.join(task.value for task in LabelTask)}); pass --label-attribute"
        )
    listed = _listed(f"{_name(name)} ({count} lines)" for name, count in detection.most_common())
    raise ConversionError(f"several label attributes: {listed}; pick one with --label-attribute")


def _require_attribute_everywhere(attribute: str, per_manifest: dict[str, Counter[str]]) -> None:
    """A manifest where no line even carries the attribute is a wrong attribute, not empty data."""
    for manifest, seen in per_manifest.items():
        if seen[attribute] == 0:
            found = _listed(_name(name) for name in sorted(seen)) or "none"
            raise ConversionError(
                f'{manifest}: no line has label attribute "{attribute}" '
                f"(attributes found: {found}); check --label-attribute"
            )


MAX_LISTED = 10


def _listed(items: Iterable[str]) -> str:
    """The first MAX_LISTED items, comma-separated, and how many more there are."""
    listed = list(items)
    more = f" and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED else ""
    return ", ".join(listed[:MAX_LISTED]) + more


def _name(attribute: str) -> str:
    """An attribute name as is, unless it is too long or odd to print plainly."""
    return attribute if len(attribute) <= 80 and attribute.isprintable() else shown(attribute)
