"""`gt2yolo convert --jobs N`: one conversion on every core, through the core's fan-out.

The parent surveys the manifests once (`plan_fan_out`, cutting them at line ends), worker
processes convert the chunks (`convert_chunk`, each writing its label files in place and its
part of every table under `_parts/`), and the parent merges the parts in chunk order
(`finalize`): the dataset is byte for byte the one `--jobs 1` writes, as the fan-out's tests
hold for every task.

Small inputs convert in one process: starting workers and merging parts costs more than it
saves below MIN_FAN_OUT_BYTES of manifest (MIN_FAN_OUT_SEQUENCES for a video frame job, whose
short lines are whole sequences of frames).

Workers are started with `fork` on Linux: they start in milliseconds with the modules already
imported, and the parent runs no threads of its own while the pool starts. Elsewhere (macOS,
Windows, where forking is unsafe or missing) `spawn`: everything a worker gets is plain data (the
plan as JSON, a chunk item, the options, the parsed arguments) and it rebuilds its own storage,
image sink and mirror from them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol, cast

from gt2yolo import ConversionError, ConversionOptions, ConversionResult
from gt2yolo.fanout import (
    Chunk,
    FanOutPlan,
    RangedManifest,
    convert_chunk,
    finalize,
    plan_fan_out,
)
from gt2yolo.manifest import ManifestSource
from gt2yolo.storage import LocalManifest, LocalStorage, S3Mirror
from gt2yolo.task_types import LabelTask

from gt2yolo_cli.inputs import LazyImageSink, Objects, open_manifest

# Below this much manifest (~11k lines of a typical bounding-box job, under a second on one core)
# a pool costs more than it saves.
MIN_FAN_OUT_BYTES = 8 * 1024 * 1024
# A video frame job's line is a sequence of up to 2,000 frames: fewer sequences convert in one.
MIN_FAN_OUT_SEQUENCES = 8
# About this many chunks per worker, so one slow chunk does not leave the others idle at the end.
CHUNKS_PER_JOB = 4
# Smaller chunks merge more parts for no gain.
MIN_CHUNK_BYTES = 1024 * 1024
# The head of a manifest read to tell a video frame job from its lines.
VIDEO_SNIFF_BYTES = 64 * 1024


class ChunkProgress(Protocol):
    def __call__(self, phase: str, lines: int) -> None: ...

    def expect(self, phase: str, total: int, unit: str) -> None: ...


@dataclass(frozen=True)
class Cut:
    """How the plan cuts the manifests: every `chunk_bytes`, and every `chunk_lines` lines."""

    chunk_bytes: int
    chunk_lines: int | None = None


@dataclass(frozen=True)
class ChunkWork:
    """All a worker needs for one chunk, as plain data (picklable for `spawn`)."""

    args: argparse.Namespace
    plan: str
    chunk: dict[str, Any]
    manifest: str  # the chunk's manifest as given on the command line
    root: str
    options: ConversionOptions


def fan_out_cut(sources: Sequence[ManifestSource], jobs: int) -> Cut | None:
    """How to cut the manifests for `jobs` workers, or None when one process is the faster."""
    if jobs < 2:
        return None
    if _is_video(sources):
        sequences = sum(1 for source in sources for raw in source.lines() if raw.strip())
        if sequences < MIN_FAN_OUT_SEQUENCES:
            return None
        # Cut by sequences only: bytes say little of a sequence's frames.
        return Cut(sys.maxsize, max(1, sequences // (jobs * CHUNKS_PER_JOB)))
    total = sum(_manifest_bytes(source) for source in sources)
    if total < MIN_FAN_OUT_BYTES:
        return None
    return Cut(max(MIN_CHUNK_BYTES, total // (jobs * CHUNKS_PER_JOB)))


def convert_in_workers(
    args: argparse.Namespace,
    sources: Sequence[ManifestSource],
    storage: LocalStorage,
    options: ConversionOptions,
    progress: ChunkProgress,
) -> ConversionResult | None:
    """The dataset converted by `args.jobs` workers into `storage`; None (nothing done) when the
    input is too small for workers to pay off."""
    cut = fan_out_cut(sources, args.jobs)
    if cut is None:
        return None
    plan = plan_fan_out(sources, options, cut.chunk_bytes, cut.chunk_lines, progress)
    given = {
        source.name: location for source, location in zip(sources, args.manifests, strict=True)
    }
    plan_json = plan.to_json()
    root = str(storage.root)
    work = [
        ChunkWork(args, plan_json, chunk.as_item(), given[chunk.manifest], root, options)
        for chunk in plan.chunks
    ]
    progress.expect("chunks", len(work), " chunks")
    if len(work) < 2:
        for item in work:
            convert_work(item)
            progress("chunks", 1)
    else:
        _run_pool(work, args.jobs, progress)
    return finalize(plan, storage, storage, options)


def _run_pool(work: Sequence[ChunkWork], jobs: int, progress: ChunkProgress) -> None:
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=_context())
    try:
        futures: list[Future[dict[str, Any]]] = [pool.submit(convert_work, w) for w in work]
        # In chunk order: of several failing chunks, the error is the first line's, as in one pass.
        for future in futures:
            future.result()
            progress("chunks", 1)
    except BrokenProcessPool as exc:
        raise ConversionError(f"a worker process died ({exc}); try --jobs 1") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    method = "fork" if sys.platform == "linux" else "spawn"
    return multiprocessing.get_context(method)


def convert_work(work: ChunkWork) -> dict[str, Any]:
    """In a worker: one chunk, with the storage, image sink and objects rebuilt from `work`."""
    args = work.args
    storage = LocalStorage(work.root)
    source = open_manifest(work.manifest, S3Mirror(args.s3_mirror) if args.s3_mirror else None)
    sink = LazyImageSink(args, storage) if args.images == "copy" else None
    plan = FanOutPlan.from_json(work.plan)
    chunk = Chunk.from_item(work.chunk)
    ranged = cast(RangedManifest, source)  # local files and S3 objects both read byte ranges
    return convert_chunk(plan, chunk, ranged, storage, work.options, sink, Objects(args))


def _is_video(sources: Sequence[ManifestSource]) -> bool:
    """Whether the first manifest's head holds a video frame job's metadata type."""
    head = bytearray()
    for raw in sources[0].lines():
        head += raw
        if len(head) >= VIDEO_SNIFF_BYTES:
            break
    return any(task.value.encode() in head for task in LabelTask if task.video)


def _manifest_bytes(source: ManifestSource) -> int:
    if isinstance(source, LocalManifest):
        return source.path.stat().st_size
    from gt2yolo_aws.s3 import S3Manifest

    if isinstance(source, S3Manifest):
        head = source.client.head_object(Bucket=source.uri.bucket, Key=source.uri.key)
        return int(head["ContentLength"])
    return 0
