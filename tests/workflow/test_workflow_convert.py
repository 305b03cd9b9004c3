"""Convert on in-memory ports: a new version under datasets/<name>/, once per input."""

from __future__ import annotations

import json

import pytest
from gt2yolo.memory_store import MemoryObjects
from gt2yolo.versions import INDEX_NAME, version_key
from workflow.convert import (
    CHUNKS_NAME,
    PLAN_NAME,
    ConvertSettings,
    convert_request,
    fingerprint_of,
)
from workflow.dataset_lock import LOCK_NAME
from workflow.models import ConversionOutcome, ConversionRequest, FanOutStarted
from workflow_fakes import BUCKET, memory_ports

DATASET = f"s3://{BUCKET}/datasets/pets/"


def _convert(objects: MemoryObjects, request: ConversionRequest, **settings: object) -> object:
    return convert_request(request, ConvertSettings(BUCKET, **settings), memory_ports(objects))  # type: ignore[arg-type]


def test_given_a_manifest_when_converted_then_a_version_holds_its_labels_and_images(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    outcome = _convert(objects, request_)
    assert isinstance(outcome, ConversionOutcome)
    assert outcome.summary.images == 2 and outcome.summary.boxes == 2
    assert outcome.version and outcome.lock_token and not outcome.already_published
    keys = objects.keys(DATASET)
    assert version_key(outcome.version, INDEX_NAME) in keys
    assert version_key(outcome.version, "data.yaml") in keys
    images = [k for k in keys if k.startswith("files/") and k.endswith(".jpg")]
    labels = [k for k in keys if k.startswith("files/") and k.endswith(".txt")]
    assert len(images) == 2 and len(labels) == 2
    assert sorted(objects.get(DATASET + k) for k in images) == [b"jpeg-a", b"jpeg-b"]
    # The lock stays held for Publish, which releases it with the token.
    assert json.loads(objects.get(DATASET + LOCK_NAME) or b"")["token"] == outcome.lock_token


def test_given_the_published_fingerprint_when_converted_again_then_nothing_is_written(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    settings = ConvertSettings(BUCKET)
    fingerprint = fingerprint_of(request_, settings, memory_ports(objects))
    summary = {"images": 1, "boxes": 1, "rejected_lines": 0, "dropped_boxes": 0,
               "clamped_boxes": 0, "classes": 1, "images_per_split": {"train": 1}}  # fmt: skip
    marker = {"fingerprint": fingerprint, "job_name": "pets", "dataset_uri": DATASET,
              "summary": summary, "published_at": "2024-01-01T00:00:00", "version": "v-old"}  # fmt: skip
    objects.put(DATASET + "_SUCCESS", json.dumps(marker))
    outcome = _convert(objects, request_)
    assert isinstance(outcome, ConversionOutcome)
    assert outcome.already_published and outcome.version == "v-old"
    assert objects.keys(DATASET) == ["_SUCCESS"]


def test_the_fingerprint_changes_with_the_manifest_bytes(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    ports, settings = memory_ports(objects), ConvertSettings(BUCKET)
    before = fingerprint_of(request_, settings, ports)
    objects.put(request_.manifest_uri, (objects.get(request_.manifest_uri) or b"") + b"\n")
    assert fingerprint_of(request_, settings, ports) != before


def test_given_no_manifest_when_converted_then_it_is_filenotfound_and_nothing_written(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    missing = request_.model_copy(update={"manifest_uri": f"s3://{BUCKET}/manifests/gone.manifest"})
    with pytest.raises(FileNotFoundError, match=r"gone\.manifest does not exist"):
        _convert(objects, missing)
    assert objects.keys(DATASET) == []


def test_given_a_big_manifest_when_converted_then_a_fan_out_is_planned_under_the_lock(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    started = _convert(objects, request_, fan_out_bytes=10, chunk_bytes=100)
    assert isinstance(started, FanOutStarted)
    assert started.chunks == 2 and started.lines == 2
    version = DATASET + version_key(started.version)
    assert started.plan_uri == version + PLAN_NAME
    chunks = json.loads(objects.get(version + CHUNKS_NAME) or b"")
    assert len(chunks) == 2 and started.chunks_key.endswith(CHUNKS_NAME)
    assert objects.get(DATASET + LOCK_NAME) is not None


def test_given_a_failing_conversion_then_the_lock_is_released(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    objects.put(request_.manifest_uri, "not json\n")
    with pytest.raises(Exception):  # noqa: B017 - whatever the core raises, the lock goes
        _convert(objects, request_)
    assert LOCK_NAME not in objects.keys(DATASET)
