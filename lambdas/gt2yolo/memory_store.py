"""The object store in memory: S3 as the tests see it, without a network or moto.

It behaves as S3 does where the code depends on it: keys are strings (no folders: "a/b" and
"a/b/c" may both exist; a listing is by string prefix, in key order), an object is replaced
whole, a missing key raises `ObjectMissing` (also as a copy source), a conditional create
fails on an existing key, a ranged read of an empty object is empty. Buckets the test marks
`denied` refuse reads as S3 refuses a role (`ReadDenied`).
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TextIO

from gt2yolo.storage import ObjectInfo, ObjectMissing, ReadDenied, S3Uri


@dataclass
class MemoryObjects:
    """Every bucket's objects: {bucket: {key: bytes}}. The `stores`, `sources` and
    `images` of a test's ports all read and write these."""

    buckets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)  # buckets that refuse reads
    lock: threading.RLock = field(default_factory=threading.RLock)

    def bucket(self, name: str) -> dict[str, bytes]:
        return self.buckets.setdefault(name, {})

    def put(self, uri: str, data: bytes | str) -> None:
        """Set up an object (test arrangement)."""
        location = S3Uri.parse(uri)
        with self.lock:
            self.bucket(location.bucket)[location.key] = (
                data.encode() if isinstance(data, str) else data
            )

    def get(self, uri: str) -> bytes | None:
        location = S3Uri.parse(uri)
        return self.buckets.get(location.bucket, {}).get(location.key)

    def keys(self, uri: str) -> list[str]:
        """Every key under a prefix URI, relative to it (test assertion)."""
        location = S3Uri.parse(uri)
        objects = self.buckets.get(location.bucket, {})
        return sorted(k[len(location.key) :] for k in objects if k.startswith(location.key))

    def at(self, uri: str, *, buffered: bool = False) -> MemoryStorage:
        return MemoryStorage(self, uri)

    def refuse(self, bucket: str, key: str, operation: str) -> None:
        if bucket in self.denied:
            raise ReadDenied(f"s3://{bucket}/{key}", "AccessDenied", operation, "Access Denied")


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


class MemoryStorage:
    """The objects under `s3://bucket/prefix/` in a MemoryObjects (unbuffered writes)."""

    def __init__(self, objects: MemoryObjects, uri: str) -> None:
        self.objects = objects
        self.root = S3Uri.parse(uri)

    @property
    def _bucket(self) -> dict[str, bytes]:
        return self.objects.bucket(self.root.bucket)

    def _key(self, key: str) -> str:
        return self.root.join(key).key

    def _get(self, key: str) -> bytes:
        self.objects.refuse(self.root.bucket, self._key(key), "GetObject")
        with self.objects.lock:
            data = self._bucket.get(self._key(key))
        if data is None:
            raise ObjectMissing(self.location(key))
        return data

    def read_bytes(self, key: str) -> bytes:
        return self._get(key)

    @contextmanager
    def open_binary(self, key: str, start: int = 0, end: int | None = None) -> Iterator[IO[bytes]]:
        yield io.BytesIO(self._get(key)[start:end])

    def stat(self, key: str) -> ObjectInfo:
        data = self._get(key)
        return ObjectInfo(len(data), etag_of(data))

    def exists(self, key: str) -> bool:
        with self.objects.lock:
            return self._key(key) in self._bucket

    def list_keys(self, prefix: str) -> Iterator[str]:
        start = self._key("")
        with self.objects.lock:
            keys = sorted(k for k in self._bucket if k.startswith(start + prefix))
        for key in keys:
            yield key[len(start) :]

    def list_folders(self, prefix: str) -> Iterator[str]:
        start = self._key(prefix)
        with self.objects.lock:
            names = {
                k[len(start) :].partition("/")[0]
                for k in self._bucket
                if k.startswith(start) and "/" in k[len(start) :]
            }
        yield from sorted(names)

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.objects.lock:
            self._bucket[self._key(key)] = bytes(data)

    def create(self, key: str, data: bytes) -> bool:
        with self.objects.lock:
            if self._key(key) in self._bucket:
                return False
            self._bucket[self._key(key)] = bytes(data)
            return True

    @contextmanager
    def open_text(self, key: str) -> Iterator[TextIO]:
        buffer = io.StringIO(newline="\n")
        yield buffer
        self.write_bytes(key, buffer.getvalue().encode("utf-8"))

    def flush(self) -> None:
        return None

    def copy_keys(self, pairs: Sequence[tuple[str, str]]) -> None:
        for source, target in pairs:
            self.write_bytes(target, self._get(source))

    def delete_keys(self, keys: Sequence[str]) -> None:
        with self.objects.lock:
            for key in keys:
                self._bucket.pop(self._key(key), None)

    def location(self, key: str = "") -> str:
        return str(self.root.join(key)) if key else str(self.root)

    def close(self) -> None:
        return None


class MemorySources:
    """Masks and image headers by URI, from a MemoryObjects (the SourceObjects port)."""

    def __init__(self, objects: MemoryObjects) -> None:
        self.objects = objects

    def read(self, uri: str, max_bytes: int | None = None) -> bytes:
        try:
            location = S3Uri.parse(uri)
        except ValueError as exc:
            raise FileNotFoundError(str(exc)) from None
        self.objects.refuse(location.bucket, location.key, "GetObject")
        data = self.objects.get(uri)
        if data is None or (max_bytes is not None and not data):
            raise ObjectMissing(f"{uri}: NoSuchKey")  # S3 refuses a range of an empty object
        return data if max_bytes is None else data[:max_bytes]


class MemoryImageSink:
    """Copies images from a MemoryObjects into a store of it, as S3's CopyObject does."""

    def __init__(self, objects: MemoryObjects, store: MemoryStorage) -> None:
        self.objects = objects
        self.store = store

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        failures: dict[str, str] = {}
        for source_ref, key in items:
            location = S3Uri.parse(source_ref)
            self.objects.refuse(location.bucket, location.key, "CopyObject")
            data = self.objects.get(source_ref)
            if data is None:
                failures[key] = f"image not readable: {source_ref} (NoSuchKey)"
                continue
            self.store.write_bytes(key, data)
        return failures


class MemoryImageCopier:
    """Makes the image sink of a store of the same MemoryObjects (the workflow's copier)."""

    def __init__(self, objects: MemoryObjects) -> None:
        self.objects = objects

    def into(self, store: object) -> MemoryImageSink:
        if not isinstance(store, MemoryStorage):
            raise TypeError(f"copies into a MemoryStorage only, not {store!r}")
        return MemoryImageSink(self.objects, store)
