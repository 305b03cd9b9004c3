"""Where a dataset is written: one small interface, a local folder or an S3 prefix behind it.

The core only ever names keys relative to the dataset root (`labels/train/a/x.txt`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Protocol, TextIO

from gt2yolo.paths import source_ref_segments


class Storage(Protocol):
    """Write-only view of a dataset root."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write one object; may be queued, but must be durable once `flush` returns."""

    def open_text(self, key: str) -> AbstractContextManager[TextIO]:
        """A text stream (UTF-8, `\\n` newlines) stored under `key` when the block exits."""
        ...

    def flush(self) -> None:
        """Wait for queued writes; raise the first write error."""

    def location(self, key: str = "") -> str:
        """Where `key` lives, for messages, reports and data.yaml (`/abs/path` or `s3://...`)."""
        ...


class PartReader(Protocol):
    """Reads back what fan-out chunks wrote under a dataset root (their parts), then removes it."""

    def open_binary(self, key: str) -> AbstractContextManager[IO[bytes]]:
        """A stream of the object's bytes (never read whole into memory)."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """A small object's bytes (counters, digests)."""
        ...

    def remove_prefix(self, prefix: str) -> None:
        """Delete every object under `prefix` (relative to the root)."""


class ImageSink(Protocol):
    """Copies images into the dataset (images/<split>/<path>)."""

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Copy (source_ref, dataset_key) pairs; return {dataset_key: reason} for failures."""
        ...


class LocalStorage:
    """A dataset root on the local file system."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._made: set[Path] = set()

    def _path(self, key: str) -> Path:
        # Keys come from sanitized dataset paths; this is the last line of defence. A textual
        # check, not Path.resolve(): resolving costs a dozen syscalls per label file.
        parts = key.split("/")
        if key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in key:
            raise ValueError(f"key {key!r} leaves the dataset folder")
        path = self.root.joinpath(*parts)
        folder = path.parent
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        return path

    def write_bytes(self, key: str, data: bytes) -> None:
        self._path(key).write_bytes(data)

    @contextmanager
    def open_text(self, key: str) -> Iterator[TextIO]:
        with self._path(key).open("w", encoding="utf-8", newline="\n") as stream:
            yield stream

    def flush(self) -> None:
        return None

    @contextmanager
    def open_binary(self, key: str) -> Iterator[IO[bytes]]:
        with self._path(key).open("rb") as stream:
            yield stream

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def remove_prefix(self, prefix: str) -> None:
        # A prefix is a folder here; the same textual checks as for keys.
        parts = prefix.strip("/").split("/")
        if prefix.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"prefix {prefix!r} leaves the dataset folder")
        shutil.rmtree(self.root.joinpath(*parts), ignore_errors=True)
        self._made = {folder for folder in self._made if folder.exists()}

    def location(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


class LocalImageSink:
    """Copies images from a local folder where the user already synced the bucket."""

    def __init__(
        self, images_from: str | os.PathLike[str], common: Sequence[str], out: LocalStorage
    ):
        self.images_from = Path(images_from)
        self.common = tuple(common)
        self.out = out

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        failures: dict[str, str] = {}
        for source_ref, key in items:
            relative = source_ref_segments(source_ref)[len(self.common) :]
            source = self.images_from.joinpath(*relative)
            if not source.is_file():
                failures[key] = f"not found under --images-from: {source}"
                continue
            shutil.copyfile(source, self.out._path(key))
        return failures


class LocalManifest:
    """A manifest file on disk, streamed line by line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._name = str(path)

    @property
    def name(self) -> str:
        return self._name

    def lines(self) -> Iterator[bytes]:
        with self.path.open("rb") as stream:
            yield from stream

    def lines_between(self, start: int, end: int) -> Iterator[bytes]:
        """The lines in bytes [start, end): a chunk cut at line ends by the fan-out plan."""
        with self.path.open("rb") as stream:
            stream.seek(start)
            position = start
            while position < end:
                raw = stream.readline()
                if not raw:
                    return
                position += len(raw)
                yield raw
