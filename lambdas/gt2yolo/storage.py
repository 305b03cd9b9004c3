"""Where a dataset is written: one small interface, a local folder or an S3 prefix behind it.

The core only ever names keys relative to the dataset root (`labels/train/a/x.txt`).
"""

from __future__ import annotations

import os
import shutil
import weakref
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


class SourceObjects(Protocol):
    """Reads what manifest lines refer to by s3:// URI: segmentation masks, image headers."""

    def read(self, uri: str, max_bytes: int | None = None) -> bytes:
        """The object's bytes (only the first `max_bytes` when given).

        FileNotFoundError if there is no such object; PermissionError if it may not be read."""
        ...


class S3Mirror:
    """A local copy of buckets: `s3://BUCKET/KEY` is `DIR/BUCKET/KEY`, the layout
    `aws s3 sync s3://BUCKET DIR/BUCKET` makes. Reads masks, image headers and images alike."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"--s3-mirror {root} is not a folder")

    def path(self, uri: str) -> Path:
        segments = source_ref_segments(uri)  # refuses `..`, empty segments, non-s3 URIs
        return self.root.joinpath(*segments)

    def read(self, uri: str, max_bytes: int | None = None) -> bytes:
        path = self.path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"not in the mirror: {path}")
        with path.open("rb") as stream:
            return stream.read() if max_bytes is None else stream.read(max_bytes)


class MirrorImageSink:
    """Copies images from an S3Mirror into a local dataset."""

    def __init__(self, mirror: S3Mirror, out: LocalStorage) -> None:
        self.mirror = mirror
        self.out = out

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        failures: dict[str, str] = {}
        for source_ref, key in items:
            source = self.mirror.path(source_ref)
            if not source.is_file():
                failures[key] = f"not in the --s3-mirror folder: {source}"
                continue
            shutil.copyfile(source, self.out._path(key))
        return failures


class LocalStorage:
    """A dataset root on the local file system."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._root = str(self.root)
        # Checked folder key ("labels/train/a") -> its path, created: label files share a few
        # folders, so the checks and the mkdir run once per folder, not once per file.
        self._folders: dict[str, str] = {}
        # Folder key -> an open descriptor of it, for creating label files by name in it: the
        # kernel then walks one path component per file instead of the whole dataset path.
        self._folder_fds: dict[str, int] = {}
        self._close_folders = weakref.finalize(self, _close_all, self._folder_fds)

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # Keys come from sanitized dataset paths; this is the last line of defence. A textual
        # check, not Path.resolve(): resolving costs a dozen syscalls per label file.
        folder, slash, name = key.rpartition("/")
        if name in ("", ".", "..") or "\x00" in name or (slash and not folder):
            raise ValueError(f"key {key!r} leaves the dataset folder")
        directory = self._folders.get(folder)
        if directory is None:
            directory = self._make_folder(key, folder)
        return directory + os.sep + name

    def _make_folder(self, key: str, folder: str) -> str:
        parts = folder.split("/") if folder else []  # "": a key without `/`, in the root
        if any(p in ("", ".", "..") for p in parts) or "\x00" in folder:
            raise ValueError(f"key {key!r} leaves the dataset folder")
        directory = os.path.join(self._root, *parts)
        os.makedirs(directory, exist_ok=True)
        if len(self._folders) < MAX_REMEMBERED_FOLDERS:
            self._folders[folder] = directory
        return directory

    def write_bytes(self, key: str, data: bytes) -> None:
        # os.open/os.write: what Path.write_bytes does, without a file object per label file.
        path = self._file(key)
        fd = self._create(key, path)
        try:
            written = os.write(fd, data) if data else 0
            if written < len(data):  # a short write: the rest, as often as it takes
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def _create(self, key: str, path: str) -> int:
        """os.open(path) for writing; relative to the folder's open descriptor where it can."""
        if _FOLDER_FDS:
            folder, _, name = key.rpartition("/")
            folder_fd = self._folder_fds.get(folder)
            if folder_fd is None and len(self._folder_fds) < MAX_OPEN_FOLDERS:
                folder_fd = os.open(path[: -len(name) - 1], _FOLDER_FLAGS)
                self._folder_fds[folder] = folder_fd
            if folder_fd is not None:
                try:  # not contextlib.suppress: this runs for every label file
                    return os.open(name, _WRITE_FLAGS, 0o666, dir_fd=folder_fd)
                except OSError:
                    pass  # the full path's open below raises it again, naming the whole path
        return os.open(path, _WRITE_FLAGS, 0o666)

    def close(self) -> None:
        """Close the folders' descriptors (also done when the storage is garbage collected)."""
        _close_all(self._folder_fds)

    @contextmanager
    def open_text(self, key: str) -> Iterator[TextIO]:
        with open(self._file(key), "w", encoding="utf-8", newline="\n") as stream:
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
        _close_all(self._folder_fds)  # some may be of removed folders
        shutil.rmtree(self.root.joinpath(*parts), ignore_errors=True)
        # Forget the removed folders: a later key under them must create them again.
        removed = "/".join(parts)
        self._folders = {
            k: v
            for k, v in self._folders.items()
            if k != removed and not k.startswith(removed + "/")
        }

    def location(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


# Path.write_bytes opens with "wb": create or truncate, write only (and O_BINARY on Windows).
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
MAX_REMEMBERED_FOLDERS = 65536
LINES_BUFFER = 1024 * 1024
# Label files go to a few folders (one per split and source folder); beyond this many, by path.
MAX_OPEN_FOLDERS = 64
_FOLDER_FDS = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def _close_all(fds: dict[str, int]) -> None:
    for fd in fds.values():
        os.close(fd)
    fds.clear()


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
        # 1 MiB, not the default 8 KiB: one read per ~1,400 lines of a box job, not per ~11.
        with self.path.open("rb", buffering=LINES_BUFFER) as stream:
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


class FolderObjects:
    """A dataset root's objects in a local folder, by key (a published dataset's versions)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.storage = LocalStorage(root)

    def read_bytes(self, key: str) -> bytes | None:
        path = self.storage._path(key)
        return path.read_bytes() if path.is_file() else None

    def write_bytes(self, key: str, data: bytes) -> None:
        self.storage.write_bytes(key, data)

    def list_keys(self, prefix: str) -> Iterator[str]:
        root = self.storage.root
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix):
                    yield key

    def list_folders(self, prefix: str) -> Iterator[str]:
        folder = self.storage.root.joinpath(*prefix.strip("/").split("/"))
        if folder.is_dir():
            yield from sorted(p.name for p in folder.iterdir() if p.is_dir())

    def delete_keys(self, keys: Sequence[str]) -> None:
        for key in keys:
            path = self.storage._path(key)
            path.unlink(missing_ok=True)
            # Empty folders too, as a prefix with no objects is gone from S3.
            for folder in path.parents:
                if folder == self.storage.root or any(folder.iterdir()):
                    break
                folder.rmdir()
        # Forget removed folders (their paths and open handles): made again on their next use.
        self.storage._folders.clear()
        self.storage.close()

    def copy_keys(self, pairs: Sequence[tuple[str, str]]) -> None:
        for source, target in pairs:
            shutil.copyfile(self.storage._path(source), self.storage._path(target))
