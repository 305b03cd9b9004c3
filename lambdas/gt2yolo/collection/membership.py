"""A collection's members: the jobs and dropped manifests a version of its dataset holds.

The pipeline keeps a version's membership beside it (`versions/<v>/collection.json`): the next
member's completion adds itself to it (`with_member`) and converts the union. Members are
ordered by completion time, then name: the order the overlap rule reads them in, so the order
in which completions arrive never matters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from gt2yolo.collection.definition import CollectionDefinition, CollectionError
from gt2yolo.task_types import LabelTask

STATE_VERSION = 1


class MemberSource(StrEnum):
    LABELING_JOB = "labeling-job"
    MANIFEST_DROP = "manifest-drop"


@dataclass(frozen=True)
class Member:
    """One labeling job (or dropped manifest) of a collection, as of its completion."""

    name: str  # the labeling job's name, or the dropped manifest's bucket key
    manifest_uri: str
    completed_at: str  # ISO-8601 UTC, e.g. 2026-03-01T08:15:00Z
    label_attribute: str  # the job's LabelAttributeName (lines may carry it with `-ref`)
    task: LabelTask
    source: MemberSource = MemberSource.LABELING_JOB
    label_config_uri: str | None = None
    manifest_version: str = ""  # the manifest object's version (ETag), to tell a re-drop
    # The member's own class order (its label config, else its lines' class-maps in id order):
    # a line naming a class by id only is read with these names. Set by `collection_input`.
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        completion_time(self.completed_at, self.name)

    @property
    def order(self) -> tuple[datetime, str]:
        return completion_time(self.completed_at, self.name), self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "manifest_uri": self.manifest_uri,
            "completed_at": self.completed_at,
            "label_attribute": self.label_attribute,
            "task": str(self.task),
            "source": str(self.source),
            "label_config_uri": self.label_config_uri,
            "manifest_version": self.manifest_version,
            "classes": list(self.classes),
        }

    @classmethod
    def from_json(cls, document: object, where: str) -> Member:
        read = _Fields(document, where)
        name = read.text("name")
        where = f"{where} ({name})"
        read.where = where
        try:
            task = LabelTask(read.text("task"))
            source = MemberSource(read.text("source"))
        except ValueError as exc:
            raise CollectionError(f"{where}: {exc}") from None
        return cls(
            name=name,
            manifest_uri=read.text("manifest_uri"),
            completed_at=read.text("completed_at"),
            label_attribute=read.text("label_attribute"),
            task=task,
            source=source,
            label_config_uri=read.optional_text("label_config_uri"),
            manifest_version=read.text("manifest_version"),
            classes=read.texts("classes"),
        )


def completion_time(text: str, member: str) -> datetime:
    """A member's completion time, which orders the members: ISO-8601 with a UTC offset."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise CollectionError(
            f"member {member!r}: completed_at {text!r} is not an ISO-8601 time with a time zone "
            "(e.g. 2026-03-01T08:15:00Z)"
        )
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Membership:
    """The members a version of a collection's dataset holds, and its class list so far."""

    collection: str
    members: tuple[Member, ...] = ()
    # The dataset's class order: only ever grows (a class is never renumbered).
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [m.name for m in self.members]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise CollectionError(f"collection {self.collection!r} lists member(s) twice: {twice}")
        ordered = tuple(sorted(self.members, key=lambda m: m.order))
        object.__setattr__(self, "members", ordered)

    def with_member(self, member: Member) -> Membership:
        """This membership with `member` added, or replacing the member of its name (a job
        converted again, a manifest dropped again)."""
        others = tuple(m for m in self.members if m.name != member.name)
        return replace(self, members=(*others, member))

    def restricted_to(self, definition: CollectionDefinition) -> tuple[Membership, tuple[str, ...]]:
        """The members `definition` still matches, and the names of those it no longer does
        (gone from the next version)."""
        kept = tuple(m for m in self.members if _matches(definition, m))
        removed = tuple(m.name for m in self.members if not _matches(definition, m))
        return replace(self, members=kept), removed

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": STATE_VERSION,
                "collection": self.collection,
                "classes": list(self.classes),
                "members": [m.to_json() for m in self.members],
            },
            indent=1,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Membership:
        where = "collection.json"
        try:
            document = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CollectionError(f"{where} is not JSON: {exc}") from None
        read = _Fields(document, where)
        if document.get("version") != STATE_VERSION:
            raise CollectionError(
                f"{where}: version {document.get('version')!r} is unknown (this gt2yolo reads "
                f"{STATE_VERSION})"
            )
        members = read.objects("members")
        return cls(
            collection=read.text("collection"),
            members=tuple(
                Member.from_json(m, f"{where} members[{i}]") for i, m in enumerate(members)
            ),
            classes=read.texts("classes"),
        )


def _matches(definition: CollectionDefinition, member: Member) -> bool:
    if member.source is MemberSource.LABELING_JOB:
        return definition.has_job(member.name)
    return definition.has_manifest(member.name)


@dataclass
class _Fields:
    """Strict reads of one JSON object of collection.json: every key present and typed."""

    document: object
    where: str
    _keys: Mapping[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.document, dict):
            raise CollectionError(f"{self.where} is not a JSON object")
        self._keys = self.document

    def _get(self, key: str) -> Any:
        if key not in self._keys:
            raise CollectionError(f"{self.where}: no {key!r}")
        return self._keys[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise CollectionError(f"{self.where}: {key} is {value!r}, not a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key)
        return None if value is None else self.text(key)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CollectionError(f"{self.where}: {key} is not a list of strings")
        return tuple(value)

    def objects(self, key: str) -> list[object]:
        value = self._get(key)
        if not isinstance(value, list):
            raise CollectionError(f"{self.where}: {key} is not a list")
        return value
