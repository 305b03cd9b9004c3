"""Label writes and image copies on S3 (moto): all land, errors surface, concurrency is bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from gt2yolo_aws.s3 import S3ImageSink, S3Manifest, S3Storage, s3_client
from moto import mock_aws

BUCKET = "bkt"
WORKERS = 4


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = s3_client(WORKERS)
        client.create_bucket(Bucket=BUCKET)
        yield client


class Gauge:
    """Counts calls in flight; the first `bound` calls wait for each other at a barrier, so the
    bound is shown reached, and a pool with fewer workers breaks the barrier (10 s) and fails."""

    def __init__(self, bound: int) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.started = 0
        self.barrier = threading.Barrier(bound, timeout=10)
        self.bound = bound

    def __enter__(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.started += 1
            first_round = self.started <= self.bound
        if first_round:
            self.barrier.wait()

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.in_flight -= 1


class GaugedClient:
    """A real client whose put_object and copy_object calls pass through a `Gauge`."""

    def __init__(self, client: Any, gauge: Gauge) -> None:
        self._client, self._gauge = client, gauge

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_object(self, **kwargs: Any) -> Any:
        with self._gauge:
            return self._client.put_object(**kwargs)

    def copy_object(self, **kwargs: Any) -> Any:
        with self._gauge:
            return self._client.copy_object(**kwargs)


def stored(client: Any, prefix: str) -> dict[str, bytes]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def test_the_client_retries_adaptively_and_pools_a_connection_per_request(s3: Any) -> None:
    config = s3_client(16).meta.config
    assert config.retries["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == 11  # botocore's count: 1 try + 10 retries
    # Label writes and image copies share the client, each with up to 16 requests in flight.
    assert config.max_pool_connections == 32
    assert config.request_checksum_calculation == "when_required"


def test_every_queued_label_is_in_s3_once_flush_returns(s3: Any) -> None:
    storage = S3Storage(f"s3://{BUCKET}/ds", s3, concurrency=WORKERS)
    expected = {f"ds/labels/{i:04d}.txt": f"0 0.5 0.5 0.1 {i}\n".encode() for i in range(60)}
    for key, body in expected.items():
        storage.write_bytes(key.removeprefix("ds/"), body)
    storage.flush()
    assert stored(s3, "ds/") == expected
    storage.close()


def test_puts_in_flight_reach_the_bound_and_never_exceed_it(s3: Any) -> None:
    gauge = Gauge(WORKERS)
    storage = S3Storage(f"s3://{BUCKET}/ds", GaugedClient(s3, gauge), concurrency=WORKERS)
    for index in range(10 * WORKERS):
        storage.write_bytes(f"labels/{index}.txt", b"0 0.5 0.5 0.1 0.1\n")
    storage.close()
    assert gauge.peak == WORKERS
    assert len(stored(s3, "ds/")) == 10 * WORKERS


def test_queued_label_bodies_are_bounded_while_s3_is_slow(s3: Any) -> None:
    release = threading.Event()

    class StalledClient:
        def put_object(self, **kwargs: Any) -> None:
            release.wait(10)

    storage = S3Storage(f"s3://{BUCKET}/ds", StalledClient(), concurrency=WORKERS)
    accepted = 0

    def produce() -> None:
        nonlocal accepted
        for index in range(10 * WORKERS):
            storage.write_bytes(f"labels/{index}.txt", b"x")
            accepted += 1

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + 10
    while accepted < 4 * WORKERS and time.monotonic() < deadline:
        time.sleep(0.01)
    producer.join(0.2)  # had the queue no bound, the producer would be done by now
    assert producer.is_alive()
    assert accepted == 4 * WORKERS  # WORKERS in flight, three times as many queued
    release.set()
    producer.join(10)
    storage.close()
    assert accepted == 10 * WORKERS


def test_a_failed_label_write_is_raised_by_flush(s3: Any) -> None:
    storage = S3Storage("s3://no-such-bucket/ds", s3, concurrency=WORKERS)
    for index in range(3 * WORKERS):
        storage.write_bytes(f"labels/{index}.txt", b"0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ClientError, match="NoSuchBucket"):
        storage.flush()
    storage.close()


def test_list_files_are_written_when_their_block_exits(s3: Any) -> None:
    storage = S3Storage(f"s3://{BUCKET}/ds", s3, concurrency=WORKERS)
    with storage.open_text("train.txt") as stream:
        stream.write("images/train/a.jpg\nimages/train/b.jpg\n")
    assert stored(s3, "ds/") == {"ds/train.txt": b"images/train/a.jpg\nimages/train/b.jpg\n"}


def test_images_are_copied_server_side_within_the_bound(s3: Any) -> None:
    sources = {f"s3://{BUCKET}/raw/{i}.jpg": f"jpeg {i}".encode() for i in range(6 * WORKERS)}
    for uri, body in sources.items():
        s3.put_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"), Body=body)
    gauge = Gauge(WORKERS)
    storage = S3Storage(f"s3://{BUCKET}/ds", GaugedClient(s3, gauge), concurrency=WORKERS)
    sink = S3ImageSink(storage, concurrency=WORKERS)
    items = [(uri, f"images/train/{i}.jpg") for i, uri in enumerate(sources)]
    missing = (f"s3://{BUCKET}/raw/missing.jpg", "images/train/missing.jpg")
    failures = sink.copy_batch([*items, missing])
    assert failures == {"images/train/missing.jpg": f"image not readable: {missing[0]} (NoSuchKey)"}
    assert stored(s3, "ds/") == {f"ds/{key}": sources[uri] for uri, key in items}
    assert gauge.peak == WORKERS


def test_a_copy_source_too_large_for_copy_object_goes_to_the_transfer_manager(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/huge.jpg", Body=b"huge")
    calls: list[str] = []

    class TooLarge(GaugedClient):
        def copy_object(self, **kwargs: Any) -> Any:
            calls.append("copy_object")
            raise ClientError({"Error": {"Code": "InvalidRequest"}}, "CopyObject")

        def copy(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("copy")
            return self._client.copy(*args, **kwargs)

    storage = S3Storage(f"s3://{BUCKET}/ds", TooLarge(s3, Gauge(1)), concurrency=1)
    sink = S3ImageSink(storage, concurrency=1)
    assert sink.copy_batch([(f"s3://{BUCKET}/raw/huge.jpg", "images/train/huge.jpg")]) == {}
    assert calls == ["copy_object", "copy"]
    assert stored(s3, "ds/") == {"ds/images/train/huge.jpg": b"huge"}


def test_a_copy_error_other_than_an_unreadable_source_propagates(s3: Any) -> None:
    class Broken(GaugedClient):
        def copy_object(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "InternalError"}}, "CopyObject")

    storage = S3Storage(f"s3://{BUCKET}/ds", Broken(s3, Gauge(1)), concurrency=1)
    with pytest.raises(ClientError, match="InternalError"):
        S3ImageSink(storage, concurrency=1).copy_batch([(f"s3://{BUCKET}/a.jpg", "images/a.jpg")])


def test_a_manifest_is_streamed_across_chunk_boundaries(s3: Any) -> None:
    lines = [b'{"source-ref": "s3://bkt/%06d.jpg"}' % i for i in range(60_000)]  # ~2.2 MB
    s3.put_object(Bucket=BUCKET, Key="output.manifest", Body=b"\n".join(lines))
    read: list[int | None] = []
    manifest = S3Manifest(f"s3://{BUCKET}/output.manifest", s3)
    original = s3.get_object

    def get_object(**kwargs: Any) -> Any:
        response = original(**kwargs)
        body = response["Body"]
        plain_read = body.read

        def counted_read(amt: int | None = None) -> bytes:
            read.append(amt)
            return bytes(plain_read(amt))

        body.read = counted_read
        return response

    s3.get_object = get_object
    # Lines keep their ends, as from a local file: fan-out byte offsets count them.
    assert list(manifest.lines()) == [line + b"\n" for line in lines[:-1]] + [lines[-1]]
    assert read and None not in read  # read in chunks, never whole


def test_a_byte_range_of_a_manifest_yields_exactly_its_lines(s3: Any) -> None:
    body = b'{"a": 1}\n{"b": 2}\r\n{"c":\r 3}\n\n{"d": 4}'
    s3.put_object(Bucket=BUCKET, Key="ranged.manifest", Body=body)
    manifest = S3Manifest(f"s3://{BUCKET}/ranged.manifest", s3)
    # A lone \r is JSON whitespace inside a line, not a line end (botocore's iter_lines splits it).
    assert list(manifest.lines_between(9, 30)) == [b'{"b": 2}\r\n', b'{"c":\r 3}\n', b"\n"]
    assert b"".join(manifest.lines_between(0, len(body))) == body
    assert list(manifest.lines_between(5, 5)) == []
