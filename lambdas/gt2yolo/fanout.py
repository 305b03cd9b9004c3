"""Fan-out: one conversion cut into chunks that convert in parallel, then merged into one dataset.

    plan_fan_out   pass 1 (the survey) over every manifest, cutting it at line ends into chunks
    convert_chunk  pass 2 over one chunk: label files in place, its part of every table aside
    finalize       the parts concatenated in chunk order, counters summed, summary files last

Every rule runs in the same code as `convert_manifests` (the task's pass), the class order, the common
folder and the names of colliding images come from one survey of the whole input (carried in the
plan), and splits hash the source-ref: the merged dataset is byte for byte the one a single pass
writes (tests hold it so).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gt2yolo.classes import ClassList
from gt2yolo.convert import (
    ConversionOptions,
    ConversionResult,
    Progress,
    _raise_for_unusable,
    _require_unique_names,
    conversion_pass,
    survey_and_name,
)
from gt2yolo.errors import ConversionError
from gt2yolo.manifest import ManifestSource
from gt2yolo.names import DatasetNames
from gt2yolo.storage import ImageSink, ObjectStore, SourceObjects, Storage, remove_prefix
from gt2yolo.survey import Survey
from gt2yolo.task_types import LabelTask

PLAN_VERSION = 2
PARTS_PREFIX = "_parts/"
COUNTERS_NAME = "counters.json"
# 64 MiB of manifest (~90k lines of a typical job) converts in about a minute on one vCPU: far
# from Lambda's 15 minutes, and few enough chunks that merging stays cheap.
DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024


class RangedManifest(ManifestSource, Protocol):
    """A manifest that can also stream the lines inside a byte range (cut at line ends)."""

    def lines_between(self, start: int, end: int) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class Chunk:
    """Bytes [start, end) of one manifest, whose first line has number `first_line`."""

    index: int
    manifest: str
    start: int
    end: int
    first_line: int

    def as_item(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "manifest": self.manifest,
            "start": self.start,
            "end": self.end,
            "first_line": self.first_line,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Chunk:
        return cls(
            int(item["index"]),
            str(item["manifest"]),
            int(item["start"]),
            int(item["end"]),
            int(item["first_line"]),
        )

    @property
    def prefix(self) -> str:
        """Where this chunk's parts live, relative to the dataset root."""
        return f"{PARTS_PREFIX}{self.index:06d}/"


@dataclass(frozen=True)
class FanOutPlan:
    """What every chunk must agree on (the survey's answers) and the chunks themselves."""

    survey: Survey
    chunks: tuple[Chunk, ...]

    def to_json(self) -> str:
        classes = self.survey.class_list
        return json.dumps({
            "version": PLAN_VERSION,
            "label_attribute": self.survey.label_attribute,
            "classes": list(classes.names),
            "class_source": classes.source,
            "class_warnings": list(classes.warnings),
            "class_maps": classes.from_class_maps,
            "common_folder": list(self.survey.common_folder),
            "lines": self.survey.lines,
            "names": self.survey.names.to_json(),
            "task": str(self.survey.task),
            "chunks": [chunk.as_item() for chunk in self.chunks],
        })  # fmt: skip

    @classmethod
    def from_json(cls, text: str | bytes) -> FanOutPlan:
        document = json.loads(text)
        if document.get("version") != PLAN_VERSION:
            raise ConversionError(f"fan-out plan version {document.get('version')!r} is unknown")
        classes = ClassList(
            tuple(document["classes"]),
            document["class_source"],
            tuple(document["class_warnings"]),
            from_class_maps=bool(document.get("class_maps")),
        )
        survey = Survey(
            document["label_attribute"],
            classes,
            tuple(document["common_folder"]),
            document["lines"],
            DatasetNames.from_json(document["names"]),
            # Plans written before task types existed are bounding-box plans.
            LabelTask(document.get("task", LabelTask.BOUNDING_BOX)),
        )
        return cls(survey, tuple(Chunk.from_item(item) for item in document["chunks"]))


class _CuttingSource:
    """Streams a manifest for the survey and notes a cut at the first line end past each step
    (of bytes, or of lines: a video frame job's line is a whole sequence of frames)."""

    def __init__(
        self, source: ManifestSource, step: int, chunks: list[Chunk], line_step: int | None = None
    ) -> None:
        self.source = source
        self.step = step
        self.line_step = line_step
        self.chunks = chunks
        self.chunks_noted = False

    @property
    def name(self) -> str:
        return self.source.name

    def lines(self) -> Iterator[bytes]:
        if self.chunks_noted:
            # Streamed again (the survey counts the tasks of mixed lines): the cuts stand.
            yield from self.source.lines()
            return
        self.chunks_noted = True
        start = offset = 0
        first_line = number = 1
        cut_any = False
        for raw, size in _sized_lines(self.source):
            yield raw
            offset += size
            number += 1
            if offset - start >= self.step or (
                self.line_step is not None and number - first_line >= self.line_step
            ):
                self._cut(start, offset, first_line)
                start, first_line, cut_any = offset, number, True
        if offset > start or not cut_any:  # an empty manifest still gets its (empty) chunk
            self._cut(start, offset, first_line)

    def _cut(self, start: int, end: int, first_line: int) -> None:
        self.chunks.append(Chunk(len(self.chunks), self.source.name, start, end, first_line))


def _sized_lines(source: ManifestSource) -> Iterator[tuple[bytes, int]]:
    """Each line and its size in the manifest's bytes: a source that rewrites its lines (a
    collection member's) says the raw size, as chunks are byte ranges of the raw manifest."""
    sized = getattr(source, "sized_lines", None)
    if sized is not None:
        yield from sized()
        return
    for raw in source.lines():
        yield raw, len(raw)


class ManifestChunk:
    """One chunk as a ManifestSource: the manifest's name, its own lines, true line numbers."""

    def __init__(self, source: RangedManifest, chunk: Chunk) -> None:
        if source.name != chunk.manifest:
            raise ConversionError(f"chunk {chunk.index} is of {chunk.manifest}, not {source.name}")
        self.source = source
        self.chunk = chunk
        self.first_line = chunk.first_line

    @property
    def name(self) -> str:
        return self.source.name

    def lines(self) -> Iterator[bytes]:
        if self.chunk.end > self.chunk.start:
            yield from self.source.lines_between(self.chunk.start, self.chunk.end)


def plan_fan_out(
    sources: Sequence[ManifestSource],
    options: ConversionOptions,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_lines: int | None = None,
    progress: Progress | None = None,
) -> FanOutPlan:
    """Pass 1 over every manifest; raises ConversionError as `convert_manifests` would.

    `chunk_lines`: also cut every that many lines (video frame jobs: sequences per chunk).
    `progress`: told the lines surveyed, as by `convert_manifests`."""
    if chunk_bytes < 1 or (chunk_lines is not None and chunk_lines < 1):
        raise ValueError("chunk_bytes and chunk_lines must be positive")
    if not sources:
        raise ConversionError("no manifest given")
    _require_unique_names(sources)
    chunks: list[Chunk] = []
    cutting = [_CuttingSource(source, chunk_bytes, chunks, chunk_lines) for source in sources]
    survey = survey_and_name(sources, options, progress, surveyed=cutting)
    return FanOutPlan(survey, tuple(chunks))


def convert_chunk(
    plan: FanOutPlan,
    chunk: Chunk,
    source: RangedManifest,
    storage: Storage,
    options: ConversionOptions,
    images: ImageSink | None = None,
    objects: SourceObjects | None = None,
) -> dict[str, Any]:
    """Pass 2 over one chunk: label files (and images) in place, table parts under _parts/."""
    run = conversion_pass(plan.survey, options, storage, images, objects)
    run.check_ready()
    splits = options.fractions.splits()
    with run.writing(storage, splits, tables_prefix=chunk.prefix, header=False):
        run.convert_source(ManifestChunk(source, chunk), None)
        storage.flush()
    counters = run.report.counters()
    # Counters last: their presence says the chunk's parts are complete.
    storage.write_bytes(chunk.prefix + COUNTERS_NAME, json.dumps(counters).encode())
    storage.flush()
    return counters


def finalize(
    plan: FanOutPlan, parts: ObjectStore, storage: Storage, options: ConversionOptions
) -> ConversionResult:
    """Merge the chunks' parts in order, write the summary files, remove the parts."""
    run = conversion_pass(plan.survey, options, storage, None)
    splits = options.fractions.splits()
    for chunk in plan.chunks:
        run.report.absorb(json.loads(parts.read_bytes(chunk.prefix + COUNTERS_NAME)))
    with run.writing(storage, splits) as writers:
        for writer in writers:
            for key in writer.tables():
                for chunk in plan.chunks:
                    with parts.open_binary(chunk.prefix + key) as part:
                        writer.append_part(key, part)
        report = run.finish()
        run.write_summary(splits, report)
        storage.flush()
    remove_prefix(parts, PARTS_PREFIX)
    _raise_for_unusable(run.report)
    return ConversionResult(report, plan.survey)


__all__ = [
    "Chunk",
    "FanOutPlan",
    "ManifestChunk",
    "RangedManifest",
    "convert_chunk",
    "finalize",
    "plan_fan_out",
]
