"""A fan-out on fakes: chunks converted, then merged; a missing chunk fails and frees the lock."""

from __future__ import annotations

import pytest
from gt2yolo.memory_store import MemoryObjects
from workflow.convert import ConvertSettings, convert_request
from workflow.dataset_lock import LOCK_NAME
from workflow.errors import FanOutFailed
from workflow.fan_out import convert_chunk_task, finalize_fan_out
from workflow.models import ChunkTask, ConversionOutcome, ConversionRequest, FanOutStarted
from workflow_fakes import BUCKET, memory_ports

SETTINGS = ConvertSettings(BUCKET, fan_out_bytes=10, chunk_bytes=100)
DATASET = f"s3://{BUCKET}/datasets/pets/"


def _plan(objects: MemoryObjects, request: ConversionRequest) -> FanOutStarted:
    started = convert_request(request, SETTINGS, memory_ports(objects))
    assert isinstance(started, FanOutStarted)
    return started


def _chunks(objects: MemoryObjects, started: FanOutStarted) -> list[dict]:
    import json

    return json.loads(objects.get(f"s3://{started.chunks_bucket}/{started.chunks_key}") or b"")


def test_every_chunk_converted_then_finalized_is_one_version_of_the_whole_manifest(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    started = _plan(objects, request_)
    ports = memory_ports(objects)
    counts = [
        convert_chunk_task(ChunkTask(plan_uri=started.plan_uri, chunk=item), SETTINGS, ports)
        for item in _chunks(objects, started)
    ]
    assert sum(c["images"] for c in counts) == 2
    outcome = finalize_fan_out(started, SETTINGS, ports)
    assert isinstance(outcome, ConversionOutcome)
    assert outcome.summary.images == 2 and outcome.version == started.version
    assert outcome.files_written > 0 and outcome.lock_token == started.lock_token
    assert not [k for k in objects.keys(DATASET) if "/_parts/" in k]  # parts removed


def test_a_chunk_that_did_not_finish_fails_the_merge_and_releases_the_lock(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    started = _plan(objects, request_)
    ports = memory_ports(objects)
    first = _chunks(objects, started)[0]
    convert_chunk_task(ChunkTask(plan_uri=started.plan_uri, chunk=first), SETTINGS, ports)
    with pytest.raises(FanOutFailed, match="1 of 2 chunks did not finish"):
        finalize_fan_out(started, SETTINGS, ports)
    assert LOCK_NAME not in objects.keys(DATASET)
