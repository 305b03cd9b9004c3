"""Members of a collection for the unit suite: manifests in memory, completions, conversions."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.collection import (
    CollectionDefinition,
    CollectionInput,
    Member,
    MemberInput,
    MemberSource,
    collection_input,
)
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalStorage, split_lines
from gt2yolo.task_types import LabelTask
from gt_builders import label_config


class ListManifest:
    """A manifest held in memory (a ranged ManifestSource, as S3's and a local file's are)."""

    def __init__(self, name: str, lines: Sequence[str | Mapping[str, Any]]) -> None:
        self._name = name
        self.data = "".join(
            (entry if isinstance(entry, str) else json.dumps(entry)) + "\n" for entry in lines
        ).encode()

    @property
    def name(self) -> str:
        return self._name

    def lines(self) -> Iterator[bytes]:
        yield from split_lines(io.BytesIO(self.data))

    def lines_between(self, start: int, end: int) -> Iterator[bytes]:
        yield from split_lines(io.BytesIO(self.data[start:end]))


def member(
    name: str,
    completed_at: str = "2026-03-01T08:00:00Z",
    attribute: str | None = None,
    task: LabelTask = LabelTask.BOUNDING_BOX,
    source: MemberSource = MemberSource.LABELING_JOB,
) -> Member:
    return Member(
        name=name,
        manifest_uri=f"s3://bucket/groundtruth/{name}/manifests/output/output.manifest",
        completed_at=completed_at,
        label_attribute=attribute or name,
        task=task,
        source=source,
    )


def config(*names: str) -> ClassList:
    return class_list_from_label_config(label_config(*names), "data.json")


def entry(
    job: Member, lines: Sequence[str | Mapping[str, Any]], classes: Sequence[str] | None = None
) -> MemberInput:
    return MemberInput(
        job, ListManifest(job.manifest_uri, lines), None if classes is None else config(*classes)
    )


PARTS = CollectionDefinition("parts", jobs=("parts-batch-*",))
OPTIONS = ConversionOptions(fractions=SplitFractions(val=0.25))


def convert_collection(
    out: Path,
    members: Sequence[MemberInput],
    definition: CollectionDefinition = PARTS,
    previous: Sequence[str] = (),
    options: ConversionOptions = OPTIONS,
    **facts: Any,
) -> tuple[CollectionInput, dict[str, Any]]:
    given = collection_input(definition, members, options, previous, **facts)
    result = convert_manifests(given.sources, LocalStorage(out), given.options)
    return given, result.report


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def labels_by_name(root: Path, classes: Sequence[str]) -> dict[str, list[str]]:
    """Every label file with its class ids replaced by class names."""
    named: dict[str, list[str]] = {}
    for path in sorted((root / "labels").rglob("*.txt")):
        rows = path.read_text().splitlines()
        named[path.relative_to(root).as_posix()] = [
            " ".join([classes[int(row.split()[0])], *row.split()[1:]]) for row in rows
        ]
    return named


def completed(job: Member, when: str) -> Member:
    return replace(job, completed_at=when)
