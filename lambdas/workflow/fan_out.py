"""ConvertChunk and Finalize: the two halves of a fan-out conversion that Convert planned.

ConvertChunk runs once per Distributed Map item (a byte range of the manifest); Finalize merges
the chunks' parts into the dataset's tables and summary. The lock Convert took stays held until
Publish writes `_SUCCESS` (or Finalize fails and releases it).
"""

from __future__ import annotations

import json
from contextlib import suppress
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
from gt2yolo.split import SplitFractions
from gt2yolo_aws.s3 import (
    ImageReadDenied,
    S3ImageSink,
    S3Manifest,
    S3Objects,
    S3Storage,
    S3Uri,
    read_object,
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


def _load_plan(plan_uri: str, client: Any) -> tuple[ConversionRequest, FanOutPlan]:
    document = json.loads(read_object(plan_uri, client))
    request = ConversionRequest.model_validate(document["request"])
    return request, FanOutPlan.from_json(json.dumps(document["plan"]))


def _options(request: ConversionRequest, settings: ConvertSettings) -> ConversionOptions:
    # Label attribute and classes come from the plan's survey, never read again per chunk.
    return ConversionOptions(
        verification_attribute=request.verification_attribute,
        accepted_verdicts=frozenset(request.accepted_verdicts),
        fractions=SplitFractions(settings.val_fraction, settings.test_fraction),
        partial=request.partial,
    )


def _dataset_uri(plan_uri: str) -> str:
    location = S3Uri.parse(plan_uri)
    prefix = location.key.rsplit("_parts/", 1)[0]
    return f"s3://{location.bucket}/{prefix}"


def convert_chunk_task(task: ChunkTask, settings: ConvertSettings, client: Any) -> dict[str, Any]:
    """Convert one chunk; return its counts (the Map discards them: Finalize reads the parts)."""
    request, plan = _load_plan(task.plan_uri, client)
    chunk = Chunk.from_item(task.chunk)
    storage = S3Storage(_dataset_uri(task.plan_uri), client)
    sink = S3ImageSink(storage) if settings.copy_images else None
    try:
        counters = convert_chunk(
            plan, chunk, S3Manifest(chunk.manifest, client), storage,
            _options(request, settings), sink, S3Objects(client),
        )  # fmt: skip
    except ImageReadDenied as denied:  # Convert probed the manifest's head, not every bucket
        raise access_denied(denied, settings.image_access) from denied
    finally:
        storage.close()
    return {"chunk": chunk.index, "images": counters["images"], "boxes": counters["boxes"]}


def finalize_fan_out(
    started: FanOutStarted, settings: ConvertSettings, client: Any
) -> ConversionOutcome:
    """Merge the parts into the dataset; on any error release the lock before raising."""
    location = S3Uri.parse(started.dataset_uri)
    try:
        # Present (even null: moto's interpreter catches a failed Map without details) only
        # when the Map's Catch routed here.
        if "error" in started.model_fields_set:
            raise FanOutFailed(_chunk_failure(started.error or {}))
        request, plan = _load_plan(started.plan_uri, client)
        _require_every_chunk(client, location, plan)
        storage = S3Storage(started.dataset_uri, client)
        try:
            result = finalize(plan, storage, storage, _options(request, settings))
        finally:
            storage.close()
    except BaseException:
        dataset_lock.release(client, location.bucket, location.key, started.lock_token)
        raise
    return ConversionOutcome(
        **request.model_dump(),
        dataset_uri=started.dataset_uri,
        fingerprint=started.fingerprint,
        summary=ConversionSummary.from_report(result.report),
        lock_token=started.lock_token,
    )


def _require_every_chunk(client: Any, dataset: S3Uri, plan: FanOutPlan) -> None:
    """Each chunk writes its counters last: a missing one is a chunk that did not finish.

    Checked even though a failed Map is caught before: a merge of partial parts would publish
    a dataset with images silently missing.
    """
    paginator = client.get_paginator("list_objects_v2")
    prefix = dataset.key + PARTS_PREFIX
    present = {
        item["Key"].removeprefix(dataset.key)
        for page in paginator.paginate(Bucket=dataset.bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    }
    missing = [c.index for c in plan.chunks if c.prefix + COUNTERS_NAME not in present]
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
