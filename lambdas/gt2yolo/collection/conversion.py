"""A collection's conversion input: its members' manifests, read as one dataset's lines.

    collection_input   the ordered members (each its manifest and label config) -> the sources
                       and options for convert_manifests, incremental.convert_version or
                       fanout.plan_fan_out / convert_chunk (the same for each: see lines.py)

The rules, each a unit test (tests/unit/test_collections.py):
- class ids are stable: the class list only grows. Pinned classes first, then the previous
  version's list, then each member's classes in member order (its label config's order, or the
  names its lines' class-maps give, in id order); a class is never renumbered.
- a member's box is classed by name: its lines' class-map name, else its own config's name at
  that id (`LineRewrite`), never the collection's position.
- an image labeled in several members: members are read in completion order, so the naming
  pass's first/last line (OnOverlap -> OnDuplicate) is the first/latest member's.
- an image keeps its split: the split hashes the source-ref, and `split_pins` keeps an earlier
  version's split where changed fractions would move it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from gt2yolo.classes import ClassList, placeholder_name
from gt2yolo.collection.definition import CollectionDefinition, CollectionError
from gt2yolo.collection.lines import LineRewrite, MemberManifest
from gt2yolo.collection.membership import Member, Membership
from gt2yolo.manifest import ManifestSource
from gt2yolo.options import ConversionOptions
from gt2yolo.report import CollectionFacts
from gt2yolo.split import Split, SplitFractions, assign_split
from gt2yolo.survey import survey_manifests
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.registry import task_of


@dataclass(frozen=True)
class MemberInput:
    """A member to convert: its manifest as stored, and its label config's classes if it has
    one (None: its lines' class-maps, or the classes kept in `member.classes`)."""

    member: Member
    source: ManifestSource
    config: ClassList | None = None


@dataclass(frozen=True)
class CollectionInput:
    """What to convert for one version of a collection's dataset."""

    collection: str
    members: tuple[Member, ...]  # in member order, each with its own class order set
    sources: tuple[MemberManifest, ...]
    options: ConversionOptions
    classes: tuple[str, ...]
    new_classes: tuple[str, ...]

    def membership(self) -> Membership:
        """The state to keep beside this version (`versions/<v>/collection.json`)."""
        return Membership(self.collection, self.members, self.classes)


def collection_input(
    definition: CollectionDefinition,
    members: Sequence[MemberInput],
    options: ConversionOptions,
    previous_classes: Sequence[str] = (),
    removed: Sequence[str] = (),
) -> CollectionInput:
    """The sources and options converting `members` into the collection's dataset.

    `options`: the conversion's other options (fractions, layout, split pins, ...); its label
    attribute, class list, task and duplicate rule are the collection's. `previous_classes`:
    the class list of the version this one follows. `removed`: members the definition no longer
    holds (named in report.json). Raises CollectionError for members that cannot share one
    dataset."""
    if not members:
        raise CollectionError(f"collection {definition.name!r} has no member to convert")
    ordered = sorted(members, key=lambda m: m.member.order)
    _require_distinct(ordered)
    task = _one_task(ordered)
    attribute = definition.name + (task_of(task).attribute_suffix or "")
    resolved = tuple(_with_own_classes(m, attribute) for m in ordered)
    classes = collection_classes(
        definition.classes, previous_classes, (m.classes for m in resolved)
    )
    new_classes = tuple(c for c in classes if c not in set(previous_classes))
    sources = tuple(
        MemberManifest(m.name, i.source, LineRewrite(m.label_attribute, attribute, task, m.classes))
        for m, i in zip(resolved, ordered, strict=True)
    )
    facts = CollectionFacts(
        definition.name, str(definition.on_overlap),
        tuple((m.name, str(m.source), m.completed_at) for m in resolved),
        new_classes, tuple(removed),
    )  # fmt: skip
    class_list = ClassList(classes, source=f"collection {definition.name} (classes by name)")
    collection_options = replace(
        options, label_attribute=attribute, class_list=class_list, task=task,
        on_duplicate=definition.on_overlap.on_duplicate, collection=facts,
        duplicate_hint=_overlap_hint(definition),
    )  # fmt: skip
    return CollectionInput(
        definition.name, resolved, sources, collection_options, classes, new_classes
    )


def _require_distinct(members: Sequence[MemberInput]) -> None:
    names = [m.member.name for m in members]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CollectionError(f"member(s) given twice: {', '.join(twice)}")


def _one_task(members: Sequence[MemberInput]) -> LabelTask:
    """The collection's task; a member of another task is an error naming both members."""
    first = members[0].member
    for entry in members[1:]:
        other = entry.member
        if other.task is not first.task:
            raise CollectionError(
                f"members {first.name!r} ({first.task.description}) and {other.name!r} "
                f"({other.task.description}) are of different task types: a collection's "
                "dataset holds one task, give them separate collections"
            )
    return first.task


def _with_own_classes(entry: MemberInput, attribute: str) -> Member:
    """The member with its own class order: its label config's, else the one kept from when
    it joined, else its lines' class-maps (read once: the state keeps it)."""
    member = entry.member
    if entry.config is not None:
        return replace(member, classes=entry.config.names)
    if member.classes:
        return member
    plain = MemberManifest(member.name, entry.source, LineRewrite(
        member.label_attribute, attribute, member.task,
    ))  # fmt: skip
    survey = survey_manifests([plain], attribute, None, task=member.task)
    return replace(member, classes=survey.class_list.names)


def collection_classes(
    pinned: Sequence[str], previous: Sequence[str], members: Iterable[Sequence[str]]
) -> tuple[str, ...]:
    """The collection's class order: the previous version's, then pinned classes it lacks,
    then each member's new classes in member order. Pinned classes must keep their positions
    (ids 0, 1, ...): a pin that would renumber an existing class is refused."""
    order: dict[str, None] = dict.fromkeys(previous)
    order.update(dict.fromkeys(pinned))
    for names in members:
        # An id no class-map names (`unnamed_<id>`) has no name to be mapped by: not a class.
        order.update(dict.fromkeys(n for i, n in enumerate(names) if n != placeholder_name(i)))
    classes = tuple(order)
    for position, name in enumerate(pinned):
        if classes[position] != name:
            raise CollectionError(
                f"classes pins {name!r} as class {position}, but the dataset has "
                f"{classes[position]!r} there (class ids are never renumbered): pin the "
                f"dataset's order {list(classes[: len(pinned)])} and add new classes at the end"
            )
    return classes


def _overlap_hint(definition: CollectionDefinition) -> str:
    return (
        f"Collection {definition.name!r} has onOverlap {definition.on_overlap}: set onOverlap "
        "to latest or first, or leave the image out of one of its members"
    )


def split_pins(images_csv: str, fractions: SplitFractions) -> dict[str, Split]:
    """The splits of an earlier version (its images.csv: each image's split as written, pinned
    or not) that the hash of `fractions` would give otherwise: the pins that keep every image
    in its split when the fractions changed. Empty when they did not."""
    rows = csv.DictReader(io.StringIO(images_csv))
    fields = rows.fieldnames or []
    if "split" not in fields or "source_ref" not in fields:
        raise CollectionError("images.csv has no source_ref and split columns")
    # A video dataset splits sequences (all frames of a clip in one split).
    key = "sequence_ref" if "sequence_ref" in fields else "source_ref"
    pins: dict[str, Split] = {}
    for row in rows:
        try:
            split = Split(row["split"])
        except ValueError:
            raise CollectionError(f"images.csv: split {row['split']!r} is unknown") from None
        ref = row[key]
        if assign_split(ref, fractions) is not split:
            pins[ref] = split
    return pins


def folder_of_prefix(common_prefix: str) -> tuple[str, ...] | None:
    """report.json's `common_prefix` (`s3://bucket/jobs/`) as folder segments, for
    ConversionOptions.earlier_common_folder; None for a prefix gt2yolo would not write."""
    if not common_prefix.startswith("s3://") or not common_prefix.endswith("/"):
        return None
    return tuple(common_prefix.removeprefix("s3://").split("/")[:-1])
