"""1,000 images dropped at once: the input manifest lists each exactly once.

The batches run on a thread pool through the real adapters against moto, so intake batches
interleave between any two AWS calls, as concurrent Lambdas do. moto itself is not thread-safe
inside one request (a conditional put is a check, then a write); AWS is atomic per request. One
lock per request gives moto AWS's semantics without serializing the intake's own steps.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from gt2yolo_aws.intake import DynamoImageRegistry, S3InputManifests, S3ObjectInspector
from moto.core.botocore_stubber import BotocoreStubber
from workflow.intake import (
    Drop,
    InputManifests,
    IntakePorts,
    StoredManifest,
    ensure_manifest_current,
    take_in,
)

IMAGES = 1000
REDELIVERED = 150  # S3 and EventBridge deliver at least once: some events come twice
WORKERS = 8
# SQS hands the intake up to 100 messages per batch; smaller batches mean more concurrent
# manifest rewrites racing each other (and a slower test: each rewrite reads every image).
BATCH_SIZES = (10, 100)


@pytest.fixture
def atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def one_request_at_a_time(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_request_at_a_time)
    yield


def _ports(aws_client: Any, bucket: Any, table: str) -> IntakePorts:
    s3 = aws_client("s3")
    return IntakePorts(
        objects=S3ObjectInspector(s3),
        registry=DynamoImageRegistry(aws_client("dynamodb"), table),
        manifests=S3InputManifests(s3, bucket.name),
    )


def _listed(bucket: Any, dataset: str) -> list[str]:
    body = bucket.read(f"manifests/input/{dataset}.manifest").decode()
    return [json.loads(line)["source-ref"] for line in body.splitlines()]


def test_a_thousand_concurrent_drops_are_each_listed_exactly_once(
    bucket, registry_table, aws_client, atomic_moto_requests
) -> None:
    # Given 1,000 images in the bucket, and their events (some twice) in random small batches
    keys = [f"images/burst/{i // 100:02d}/img-{i:04d}.jpg" for i in range(IMAGES)]
    for key in keys:
        bucket.put(key, b"\xff\xd8")
    rng = random.Random(4)
    drops = [Drop(f"m{i}", bucket.name, key) for i, key in enumerate(keys)]
    drops += [
        Drop(f"again{i}", bucket.name, key) for i, key in enumerate(rng.sample(keys, REDELIVERED))
    ]
    rng.shuffle(drops)
    batches: list[list[Drop]] = []
    while drops:
        size = rng.randint(*BATCH_SIZES)
        batches.append(drops[:size])
        drops = drops[size:]
    ports = _ports(aws_client, bucket, registry_table)

    # When all batches are taken in at once, 8 at a time
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        reports = list(pool.map(lambda batch: take_in(batch, bucket.name, ports), batches))

    # Then no batch failed, every image was registered once, and the manifest lists each once
    assert [r.failed for r in reports if r.failed] == []
    assert sum(len(r.registered) for r in reports) == IMAGES
    assert sum(len(r.duplicates) for r in reports) == REDELIVERED
    listed = _listed(bucket, "burst")
    assert len(listed) == IMAGES
    assert set(listed) == {bucket.uri(key) for key in keys}


class _Interloper:
    """Manifests that let another writer replace the manifest between our read and our write."""

    def __init__(self, inner: S3InputManifests, interfere: Any) -> None:
        self.inner = inner
        self.interfere = interfere
        self.refused = 0

    def head(self, key: str) -> StoredManifest | None:
        return self.inner.head(key)

    def replace(self, key: str, body: bytes, version: int, expected: StoredManifest | None) -> bool:
        self.interfere()
        written = self.inner.replace(key, body, version, expected)
        self.refused += not written
        return written


def test_a_writer_that_read_an_older_manifest_cannot_overwrite_a_newer_one(
    bucket, registry_table, aws_client
) -> None:
    # Given one registered image, and another batch that registers a second image and writes
    # its manifest just after we read the manifest (the race S3's lack of append creates)
    ports = _ports(aws_client, bucket, registry_table)
    for key in ("images/race/a.jpg", "images/race/b.jpg"):
        bucket.put(key, b"\xff\xd8")
    take_in([Drop("1", bucket.name, "images/race/a.jpg")], bucket.name, ports)
    stale_refs = list(ports.registry.source_refs("race"))
    ports.registry.bump_version("race")  # a change we are about to materialize

    def other_batch() -> None:
        if not interloper.refused:
            take_in([Drop("2", bucket.name, "images/race/b.jpg")], bucket.name, ports)

    interloper = _Interloper(S3InputManifests(aws_client("s3"), bucket.name), other_batch)
    manifests: InputManifests = interloper
    # When we materialize
    refresh = ensure_manifest_current("race", IntakePorts(ports.objects, ports.registry, manifests))
    # Then our first write was refused (the object changed since we read it), and what is
    # left lists both images, not the stale list we had
    assert interloper.refused == 1
    assert len(stale_refs) == 1
    assert refresh.version >= 2
    assert sorted(_listed(bucket, "race")) == [
        bucket.uri("images/race/a.jpg"),
        bucket.uri("images/race/b.jpg"),
    ]
