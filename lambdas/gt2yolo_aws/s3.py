"""S3 behind the core's interfaces: streamed manifest reads, bounded-concurrency writes.

S3 answers 503 SlowDown near 3,500 PUT/s per prefix: botocore's adaptive retry mode backs off
and rate-limits the client, and the thread pools bound how many requests are in flight.
Throughput against S3 comes from concurrency (each small request waits tens of ms on S3); what
is left is botocore's CPU per request (about 4 ms on a slow 2-vCPU VM, see benchmarks/README.md),
so every request avoided (a HeadObject per copy) and every byte not hashed counts.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from gt2yolo.storage import ObjectInfo, ObjectMissing, ReadDenied, S3Uri, StoredManifest

DEFAULT_CONCURRENCY = 32
SPOOL_BYTES = 8 * 1024 * 1024


def s3_client(concurrency: int = DEFAULT_CONCURRENCY) -> Any:
    """One thread-safe client for all workers: adaptive retries, a pool sized to the workers.

    The pool holds two connections per worker slot: the label writer (`S3Storage`) and the image
    copier (`S3ImageSink`) share the client, each with up to `concurrency` requests in flight,
    and a full pool would open and discard a connection per request. Checksums are computed only
    where S3 requires them: a CRC32 per small PUT is CPU the writer spends for nothing on TLS.
    """
    config = Config(
        retries={"mode": "adaptive", "max_attempts": 10},
        max_pool_connections=max(10, 2 * concurrency),
        request_checksum_calculation="when_required",
    )
    return boto3.client("s3", config=config)


class S3Manifest(StoredManifest):
    """A manifest object, streamed (never downloaded whole); each pass is a new GET."""

    def __init__(self, uri: str, client: Any | None = None) -> None:
        self.uri = S3Uri.parse(uri)
        self.client = client or s3_client()
        folder, _, name = uri.rpartition("/")
        super().__init__(S3Storage(folder + "/", self.client), name)


def get_if_exists(client: Any, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or None when it is absent.

    S3 answers 404 only to callers allowed to list; a role whose ListBucket is limited to a
    prefix (the pipeline's least privilege) gets 403 for a missing key, so a 403 is checked
    with a prefix listing before it is taken for a real permission problem.
    """
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            return None
        if code not in ("AccessDenied", "403"):
            raise
        listed = client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
        if any(item["Key"] == key for item in listed):
            raise
        return None


def read_object(uri: str, client: Any | None = None) -> bytes:
    """A small object (label config, sidecar) read whole."""
    location = S3Uri.parse(uri)
    response = (client or s3_client()).get_object(Bucket=location.bucket, Key=location.key)
    return cast(bytes, response["Body"].read())


class S3Objects:
    """Reads what manifest lines refer to (segmentation masks, image headers) from S3.

    A missing object is FileNotFoundError (the line is a counted rejection); an object this role
    may not read is ImageReadDenied (a configuration error that names the bucket)."""

    def __init__(self, client: Any | None = None) -> None:
        self.client = client or s3_client()

    def read(self, uri: str, max_bytes: int | None = None) -> bytes:
        try:
            location = S3Uri.parse(uri)
        except ValueError as exc:
            raise ObjectMissing(str(exc)) from None
        extra = {} if max_bytes is None else {"Range": f"bytes=0-{max_bytes - 1}"}
        try:
            response = self.client.get_object(Bucket=location.bucket, Key=location.key, **extra)
        except ClientError as exc:
            denied = ImageReadDenied.of(exc, location, "GetObject")
            if denied is not None:
                raise denied from exc
            code = exc.response.get("Error", {}).get("Code")
            if code in {*UNREADABLE_IMAGE_CODES, _EMPTY_RANGE}:
                raise ObjectMissing(f"{uri}: {code}") from None
            raise
        return cast(bytes, response["Body"].read())


class S3Storage:
    """The objects under an S3 prefix: the S3 adapter of the core's `ObjectStore`.

    `buffered`: label files are queued on a bounded thread pool (durable at `flush`); else each
    write is one PutObject, durable when it returns (the version files, the pointer flip).
    """

    COPY_CONCURRENCY = 32

    def __init__(
        self,
        root: str,
        client: Any | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        buffered: bool = True,
    ) -> None:
        self.root = S3Uri.parse(root)
        self.client = client or s3_client(concurrency)
        self.buffered = buffered
        self._concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(concurrency * 4)
        self._pending: list[Future[None]] = []

    def _key(self, key: str) -> str:
        return self.root.join(key).key

    def write_bytes(self, key: str, data: bytes) -> None:
        if not self.buffered:
            self._put(self._key(key), data)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="s3-put")
        # The semaphore keeps queued bodies bounded: memory stays flat on a million labels.
        self._slots.acquire()
        future = self._pool.submit(self._put, self._key(key), data)
        future.add_done_callback(lambda _: self._slots.release())
        self._pending.append(future)
        if len(self._pending) >= 4096:
            self._pending = [f for f in self._pending if not f.done() or f.exception()]

    def _put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.root.bucket, Key=key, Body=data)

    def create(self, key: str, data: bytes) -> bool:
        try:
            self.client.put_object(
                Bucket=self.root.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
            )
        except ClientError as exc:
            # 412: the object exists; 409: a concurrent conditional write of it is in flight.
            if _code(exc) not in _CHANGED:
                raise
            return False
        return True

    @contextmanager
    def open_text(self, key: str) -> Iterator[TextIO]:
        # Spooled: small tables stay in memory, big ones (annot.csv of 1M boxes) go to /tmp.
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b") as raw:
            text = io.TextIOWrapper(cast(IO[bytes], raw), encoding="utf-8", newline="\n")
            yield text
            text.flush()
            text.detach()  # hand the bytes back without closing the spool
            raw.seek(0)
            # put_object, not upload_fileobj: the transfer manager closes the file it is given.
            if raw.tell() == 0 and _size(raw) <= SPOOL_BYTES:
                self.client.put_object(Bucket=self.root.bucket, Key=self._key(key), Body=raw.read())
            else:
                self.client.upload_fileobj(raw, self.root.bucket, self._key(key))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def location(self, key: str = "") -> str:
        return str(self.root.join(key)) if key else str(self.root)

    @contextmanager
    def open_binary(self, key: str, start: int = 0, end: int | None = None) -> Iterator[IO[bytes]]:
        extra = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = self._get(key, **extra)["Body"]
        except ClientError as exc:
            if _code(exc) != _EMPTY_RANGE:  # a range of an empty object: empty
                raise
            yield io.BytesIO(b"")
            return
        try:
            yield cast(IO[bytes], body)
        finally:
            body.close()

    def _get(self, key: str, **extra: str) -> dict[str, Any]:
        """GetObject; ObjectMissing if the key is absent (see `get_if_exists` for the 403s)."""
        full = self._key(key)
        try:
            return dict(self.client.get_object(Bucket=self.root.bucket, Key=full, **extra))
        except ClientError as exc:
            code = _code(exc)
            if code in _ABSENT or (
                code in _DENIED and not _listed(self.client, self.root.bucket, full)
            ):
                raise ObjectMissing(self.location(key)) from None
            raise

    def read_bytes(self, key: str) -> bytes:
        return bytes(self._get(key)["Body"].read())

    def stat(self, key: str) -> ObjectInfo:
        try:
            head = self.client.head_object(Bucket=self.root.bucket, Key=self._key(key))
        except ClientError as exc:
            code = _code(exc)
            if code in _ABSENT:
                raise ObjectMissing(self.location(key)) from None
            if code in _DENIED:  # a HEAD has no body: absent and refused look alike
                raise ReadDenied(self.location(key), code, "HeadObject") from None
            raise
        version = head.get("VersionId")
        return ObjectInfo(
            int(head.get("ContentLength", 0)), str(head["ETag"]), version and str(version)
        )

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectMissing:
            return False
        return True

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = self.root.join("").key
        for page in paginator.paginate(Bucket=self.root.bucket, Prefix=start + prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(start) :]

    def list_folders(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = self.root.join(prefix).key
        pages = paginator.paginate(Bucket=self.root.bucket, Prefix=start, Delimiter="/")
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                yield common["Prefix"][len(start) :].rstrip("/")

    def delete_keys(self, keys: Sequence[str]) -> None:
        for first in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
            batch = [{"Key": self._key(key)} for key in keys[first : first + 1000]]
            response = self.client.delete_objects(
                Bucket=self.root.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if response.get("Errors"):
                error = response["Errors"][0]
                raise OSError(
                    f"deleting {error.get('Key')} failed: {error.get('Code')} {error.get('Message')}"
                )

    def copy_keys(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Server-side copies, in parallel (one request each, as many as a rerun changed)."""

        def copy(pair: tuple[str, str]) -> None:
            source, target = pair
            try:
                self.client.copy_object(
                    Bucket=self.root.bucket,
                    Key=self._key(target),
                    CopySource={"Bucket": self.root.bucket, "Key": self._key(source)},
                )
            except ClientError as exc:
                if _code(exc) in _ABSENT:
                    raise ObjectMissing(self.location(source)) from None
                raise

        with ThreadPoolExecutor(max_workers=self.COPY_CONCURRENCY) as pool:
            list(pool.map(copy, pairs))

    def close(self) -> None:
        self.flush()
        if self._pool is not None:
            self._pool.shutdown()


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


UNREADABLE_IMAGE_CODES = frozenset({"404", "NoSuchKey", "403", "AccessDenied", "NoSuchBucket"})
# S3's refusals (a HEAD has no body: its code is the status). With ListBucket granted a missing
# key is a 404, so a 403 on an image means the role, a bucket policy or a KMS key refused.
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
# The ranged GET of an empty object: it exists, it is readable.
_EMPTY_RANGE = "InvalidRange"
_ABSENT = frozenset({"NoSuchKey", "404", "NotFound"})
_DENIED = frozenset({"AccessDenied", "403"})
# A conditional write's refusals. 412: the object exists; 409: a concurrent one is in flight.
_CHANGED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _listed(client: Any, bucket: str, key: str) -> bool:
    """Whether a prefix listing shows `key` (a 403 on it then is a real refusal)."""
    listed = client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return any(item["Key"] == key for item in listed)


class ImageReadDenied(ReadDenied):
    """S3 refused to let this role read an image: a configuration error, not a missing image."""

    def __init__(self, source: S3Uri, code: str, operation: str, detail: str = "") -> None:
        super().__init__(str(source), code, operation, detail)
        self.source = source

    @classmethod
    def of(cls, exc: ClientError, source: S3Uri, operation: str) -> ImageReadDenied | None:
        """The denial `exc` is, or None when S3 answered something else."""
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code not in ACCESS_DENIED_CODES and not code.startswith("KMS."):
            return None
        return cls(source, code, operation, str(error.get("Message", "")))


def probe_image(client: Any, source: S3Uri) -> None:
    """Read the first byte of an image: raise ImageReadDenied if S3 refuses, return if it is
    readable or missing (a missing image stays a counted rejection).

    A GET, not a HEAD: it needs what a CopyObject from there needs (s3:GetObject, and kms:Decrypt
    for an SSE-KMS object); a HEAD of an SSE-KMS object succeeds without the key.
    """
    try:
        response = client.get_object(Bucket=source.bucket, Key=source.key, Range="bytes=0-0")
    except ClientError as exc:
        denied = ImageReadDenied.of(exc, source, "GetObject")
        if denied is not None:
            raise denied from exc
        if exc.response.get("Error", {}).get("Code") in {*UNREADABLE_IMAGE_CODES, _EMPTY_RANGE}:
            return
        raise
    response["Body"].close()


def _copy_failure(exc: ClientError, source_ref: str) -> str:
    """The rejection reason for an image that can't be read; other errors propagate."""
    code = exc.response.get("Error", {}).get("Code", "")
    if code not in UNREADABLE_IMAGE_CODES:
        raise exc
    return f"image not readable: {source_ref} ({code})"


class _ParallelImageSink:
    """Runs one copy per (source_ref, dataset_key) on a thread pool, a batch at a time."""

    def __init__(self, concurrency: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        futures = {key: self._pool.submit(self._guarded, ref, key) for ref, key in items}
        return {key: reason for key, f in futures.items() if (reason := f.result()) is not None}

    def _guarded(self, source_ref: str, key: str) -> str | None:
        try:
            self._copy(S3Uri.parse(source_ref), key)
        except ClientError as exc:
            return _copy_failure(exc, source_ref)
        return None

    def _copy(self, source: S3Uri, key: str) -> None:
        raise NotImplementedError


class S3ImageSink(_ParallelImageSink):
    """Server-side copies of images into the dataset, a batch at a time, in parallel.

    One CopyObject per image: the transfer manager (`client.copy`) would add a HeadObject and a
    thread pool per image. Only a source above CopyObject's 5 GiB limit takes that path. A
    missing image is a failure of its line; S3 refusing access raises ImageReadDenied, which
    stops the conversion: every other image of that bucket would be refused too.
    """

    def __init__(self, storage: S3Storage, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        super().__init__(concurrency, "s3-copy")
        self.storage = storage

    def _guarded(self, source_ref: str, key: str) -> str | None:
        source = S3Uri.parse(source_ref)
        try:
            self._copy(source, key)
        except ClientError as exc:
            denied = ImageReadDenied.of(exc, source, "CopyObject")
            if denied is not None:
                raise denied from exc
            return _copy_failure(exc, source_ref)
        return None

    def _copy(self, source: S3Uri, key: str) -> None:
        client, bucket = self.storage.client, self.storage.root.bucket
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        try:
            client.copy_object(CopySource=copy_source, Bucket=bucket, Key=self.storage._key(key))
        except ClientError as exc:
            # S3's answer to a CopyObject source above 5 GiB; the transfer manager copies it in parts.
            if exc.response.get("Error", {}).get("Code") != "InvalidRequest":
                raise
            client.copy(copy_source, bucket, self.storage._key(key))


class S3ToLocalImageSink(_ParallelImageSink):
    """Downloads images from S3 into a local dataset folder (the CLI's `--images copy`)."""

    def __init__(self, out_root: str, client: Any | None = None, concurrency: int = 16) -> None:
        super().__init__(concurrency, "s3-get")
        self.out_root = Path(out_root)
        self.client = client or s3_client(concurrency)

    def _copy(self, source: S3Uri, key: str) -> None:
        target = self.out_root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(source.bucket, source.key, str(target))


class S3ResponseFiles:
    """Worker-response files under an S3 prefix, listed then fetched in parallel."""

    def __init__(
        self, prefix: str, client: Any | None = None, concurrency: int = DEFAULT_CONCURRENCY
    ) -> None:
        self.prefix = S3Uri.parse(prefix if prefix.endswith("/") else prefix + "/")
        self.client = client or s3_client(concurrency)
        self.concurrency = concurrency

    def _keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.prefix.bucket, Prefix=self.prefix.key
        )
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"].endswith(".json"):
                    yield item["Key"]

    def _get(self, key: str) -> tuple[str, bytes]:
        body = self.client.get_object(Bucket=self.prefix.bucket, Key=key)["Body"].read()
        return key[len(self.prefix.key) :], bytes(body)

    def files(self) -> Iterator[tuple[str, bytes]]:
        # One small object per answer: thousands of GETs, so they overlap on a thread pool.
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3-responses") as pool:
            yield from pool.map(self._get, self._keys())

    def location(self) -> str:
        return str(self.prefix)


class S3Stores:
    """S3 prefixes as stores, all through one client."""

    def __init__(self, client: Any | None = None) -> None:
        self.client = client or s3_client()

    def at(self, uri: str, *, buffered: bool = False) -> S3Storage:
        return S3Storage(uri, self.client, buffered=buffered)
