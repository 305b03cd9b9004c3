"""ConvertChunk and Finalize: the two halves of a fan-out conversion that Convert planned.

ConvertChunk runs once per Distributed Map item (a byte range of the manifest) and writes its
dataset files into the new version, against the version Convert read (the baseline); Finalize
merges the chunks' parts into the version's tables, summary and index. The lock Convert took
stays held until Publish writes `_SUCCESS` (or Finalize fails and releases it).
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from gt2yolo import ConversionOptions
from gt2yolo.fanout import (
    COUNTERS_NAME,
    PARTS_PREFIX,
    Chunk,
    FanOutPlan,
    convert_chunk,
    finalize,
)
from gt2yolo.incremental import Baseline, versioned
from gt2yolo.split import SplitFractions
from gt2yolo.storage import ObjectStore, ReadDenied, object_at, store_manifest
from gt2yolo.versions import (
    INDEX_NAME,
    FileIndex,
    close_version,
    dump_index,
    load_index,
    version_key,
)

from workflow import dataset_lock
from workflow.convert import ConvertSettings
from workflow.errors import FanOutFailed
from workflow.image_access import access_denied
from workflow.models import (
    ChunkTask,
    ConversionOutcome,
    ConversionRequest,
    ConversionSummary,
    FanOutStarted,
)
from workflow.ports import StoragePorts


@dataclass(frozen=True)
class _Planned:
    """What Convert's plan document holds: the request, the survey's plan, the version."""

    request: ConversionRequest
    plan: FanOutPlan
    dataset_uri: str
    version: str
    baseline: str | None

    @property
    def version_uri(self) -> str:
        return self.dataset_uri + version_key(self.version)


def _load_plan(plan_uri: str, ports: StoragePorts) -> _Planned:
    store, key = object_at(ports.stores, plan_uri)
    document = json.loads(store.read_bytes(key))
    return _Planned(
        ConversionRequest.model_validate(document["request"]),
        FanOutPlan.from_json(json.dumps(document["plan"])),
        str(document["dataset_uri"]),
        str(document["version"]),
        document.get("baseline"),
    )


def _options(
    request: ConversionRequest, settings: ConvertSettings, version: str
) -> ConversionOptions:
    # Label attribute and classes come from the plan's survey, never read again per chunk.
    return ConversionOptions(
        verification_attribute=request.verification_attribute,
        accepted_verdicts=frozenset(request.accepted_verdicts),
        fractions=SplitFractions(settings.val_fraction, settings.test_fraction),
        version=version,
        partial=request.partial,
        exports=settings.export_formats,
        export_base=f"s3://{settings.bucket}/{settings.dataset_prefix(request.dataset_name)}",
    )


def _baseline(planned: _Planned, ports: StoragePorts) -> Baseline:
    return Baseline.of_version(ports.stores.at(planned.dataset_uri), planned.baseline)


def convert_chunk_task(
    task: ChunkTask, settings: ConvertSettings, ports: StoragePorts
) -> dict[str, Any]:
    """Convert one chunk; return its counts (the Map discards them: Finalize reads the parts)."""
    planned = _load_plan(task.plan_uri, ports)
    chunk = Chunk.from_item(task.chunk)
    storage = ports.stores.at(planned.dataset_uri, buffered=True)
    store, sink = versioned(
        storage,
        planned.version,
        _baseline(planned, ports),
        ports.images.into(storage) if settings.copy_images else None,
    )
    try:
        counters = convert_chunk(
            planned.plan, chunk, store_manifest(ports.stores, chunk.manifest), store,
            _options(planned.request, settings, planned.version), sink, ports.sources,
        )  # fmt: skip
        # Which files this chunk wrote or named: Finalize merges them into the version's index.
        store.write_bytes(chunk.prefix + INDEX_NAME, dump_index(store.entries))
        store.flush()
    except ReadDenied as denied:  # Convert probed the manifest's head, not every bucket
        raise access_denied(denied, settings.image_access) from denied
    finally:
        storage.close()
    return {"chunk": chunk.index, "images": counters["images"], "boxes": counters["boxes"]}


def finalize_fan_out(
    started: FanOutStarted, settings: ConvertSettings, ports: StoragePorts
) -> ConversionOutcome:
    """Merge the parts into the version; on any error release the lock before raising."""
    dataset = ports.stores.at(started.dataset_uri)
    try:
        # Present (even null: moto's interpreter catches a failed Map without details) only
        # when the Map's Catch routed here.
        if "error" in started.model_fields_set:
            raise FanOutFailed(_chunk_failure(started.error or {}))
        planned = _load_plan(started.plan_uri, ports)
        parts = ports.stores.at(planned.version_uri, buffered=True)
        _require_every_chunk(parts, planned.plan)
        storage = ports.stores.at(started.dataset_uri, buffered=True)
        try:
            entries = _merged_index(parts, planned.plan)
            store, _ = versioned(storage, planned.version, Baseline(None, None), None)
            options = _options(planned.request, settings, planned.version)
            result = finalize(planned.plan, parts, store, options)
            close_version(dataset, planned.version, entries, options.export_base)
        finally:
            storage.close()
            parts.close()
    except BaseException:
        dataset_lock.release(dataset, started.lock_token)
        raise
    written = sum(1 for stored in entries.values() if stored.version == planned.version)
    return ConversionOutcome(
        **planned.request.model_dump(),
        dataset_uri=started.dataset_uri,
        fingerprint=started.fingerprint,
        summary=ConversionSummary.from_report(result.report),
        lock_token=started.lock_token,
        version=planned.version,
        previous_version=planned.baseline,
        files_written=written,
        files_reused=len(entries) - written,
    )


def _merged_index(parts: ObjectStore, plan: FanOutPlan) -> FileIndex:
    entries: FileIndex = {}
    for chunk in plan.chunks:
        entries.update(load_index(parts.read_bytes(chunk.prefix + INDEX_NAME)))
    return entries


def _require_every_chunk(parts: ObjectStore, plan: FanOutPlan) -> None:
    """Each chunk writes its counters and its index last: a missing one is a chunk that did not
    finish.

    Checked even though a failed Map is caught before: a merge of partial parts would publish
    a dataset with images silently missing.
    """
    present = set(parts.list_keys(PARTS_PREFIX))
    missing = [
        c.index
        for c in plan.chunks
        if c.prefix + COUNTERS_NAME not in present or c.prefix + INDEX_NAME not in present
    ]
    if missing:
        shown = ", ".join(str(index) for index in missing[:20])
        raise FanOutFailed(
            f"converting the chunks failed: {len(missing)} of {len(plan.chunks)} chunks did not "
            f"finish (chunk {shown}); see the ConvertChunk logs"
        )


def _chunk_failure(error: dict[str, Any]) -> str:
    cause = str(error.get("Cause") or "")
    with suppress(ValueError, AttributeError):  # a Lambda error's cause is its error document
        cause = str(json.loads(cause).get("errorMessage", cause))
    return f"converting the chunks failed ({error.get('Error', 'unknown error')}): {cause}"[:2000]
