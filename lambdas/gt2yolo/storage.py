"""Where datasets are read and written: one object-store port, and the folder behind it locally.

The port (`ObjectStore`) is a set of objects under a root, by string key, S3's model: no
folders (a "folder" is a key prefix), keys relative to the root (`labels/train/a/x.txt`). Its
adapters: `LocalStorage` (a folder, here), `S3Storage` (`gt2yolo_aws.s3`) and `MemoryStorage`
(`gt2yolo.memory_store`, the tests' S3 without a network). A missing key has one outcome in
every adapter: reading it (or copying from it) raises `ObjectMissing`; `exists` asks without
raising; `read_or_none` is the reading that maps the absence to None.

Two more small ports read what manifest lines point at, outside the store: `SourceObjects`
(masks, image headers, by s3:// URI) and `ImageSink` (copies images into a store: server side
on S3, from a synced folder or the mirror locally).
"""

from __future__ import annotations

import io
import os
import shutil
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TextIO

from gt2yolo.paths import source_ref_segments


class ObjectMissing(FileNotFoundError):
    """The key names no object (a FileNotFoundError: the core's rejections already catch it).
    Its message is the object's location (and what the store said)."""


class ReadDenied(Exception):
    """The store refused to let this role read an object (an image, a mask): a configuration
    error, not a missing object. `uri` names it, `code` is what the store said."""

    def __init__(self, uri: str, code: str, operation: str, detail: str = "") -> None:
        super().__init__(f"{operation} of {uri} denied ({code}){': ' + detail if detail else ''}")
        self.uri = uri
        self.code = code
        self.operation = operation
        self.detail = detail

    @property
    def bucket(self) -> str:
        return S3Uri.parse(self.uri).bucket

    @property
    def key(self) -> str:
        return S3Uri.parse(self.uri).key


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri}")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri}")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, key: str) -> S3Uri:
        prefix = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Uri(self.bucket, prefix + key)


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD says: the size, and the identity of these bytes (ETag as stored, with S3's
    quotes; the version id where the bucket keeps versions)."""

    size: int
    etag: str
    version_id: str | None = None


class Storage(Protocol):
    """The side of an `ObjectStore` a conversion writes through (the writers need no more;
    `versions.VersionedStorage` is one, over a store)."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write one object. A buffered store may queue it: durable once `flush` returns, in no
        particular order; an unbuffered one is durable when this returns."""

    def open_text(self, key: str) -> AbstractContextManager[TextIO]:
        """A text stream (UTF-8, `\\n` newlines) stored under `key` when the block exits."""
        ...

    def flush(self) -> None:
        """Wait for queued writes; raise the first write error."""

    def location(self, key: str = "") -> str:
        """Where `key` lives, for messages, reports and data.yaml (`/abs/path` or `s3://...`)."""
        ...


class ObjectStore(Storage, Protocol):
    """The objects under one root, by key (relative to the root)."""

    def read_bytes(self, key: str) -> bytes:
        """A small object's bytes; ObjectMissing if there is none."""
        ...

    def open_binary(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[IO[bytes]]:
        """A stream of the object's bytes [start, end) (never read whole into memory); a range
        of an empty object is empty. ObjectMissing if there is no object."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Size and identity; ObjectMissing if there is no object."""
        ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key that starts with `prefix` (a string prefix, as S3 lists), in key order."""
        ...

    def list_folders(self, prefix: str) -> Iterator[str]:
        """The names of the "folders" directly under `prefix` (`versions/` -> version ids)."""
        ...

    def create(self, key: str, data: bytes) -> bool:
        """Write only if there is no object at `key` yet (a conditional write, durable on
        return); False when there is one."""
        ...

    def copy_keys(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Copy objects (source key, target key) within the root; ObjectMissing for a missing
        source."""

    def delete_keys(self, keys: Sequence[str]) -> None:
        """Delete these keys (absent ones are no error)."""

    def close(self) -> None:
        """Flush, then let go of threads and handles."""


class ObjectStores(Protocol):
    """Opens the store at a root URI (`s3://bucket/datasets/name/`): the workflow's way to S3."""

    def at(self, uri: str, *, buffered: bool = False) -> ObjectStore:
        """`buffered`: queue writes (label files by the thousand; `flush` makes them durable)."""
        ...


class ImageSink(Protocol):
    """Copies images into the dataset (images/<split>/<path>)."""

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Copy (source_ref, dataset_key) pairs; return {dataset_key: reason} for failures (an
        image that is not there is a failure of its line). ReadDenied if the source's store
        refuses: every other image from there would be refused too."""
        ...


class SourceObjects(Protocol):
    """Reads what manifest lines refer to by s3:// URI: segmentation masks, image headers."""

    def read(self, uri: str, max_bytes: int | None = None) -> bytes:
        """The object's bytes (only the first `max_bytes` when given).

        FileNotFoundError if there is no such object (or no such URI, or a ranged read of an
        empty one); ReadDenied if it may not be read."""
        ...


# --- reading through the port -------------------------------------------------------------


def read_or_none(store: ObjectStore, key: str) -> bytes | None:
    """The object's bytes, or None when there is none."""
    try:
        return store.read_bytes(key)
    except ObjectMissing:
        return None


def text_lines(store: ObjectStore, key: str) -> Iterator[str]:
    """The object's text lines, streamed and decoded (ends kept); nothing when it is missing."""
    try:
        with store.open_binary(key) as raw, io.TextIOWrapper(raw, "utf-8", newline="") as text:
            yield from text
    except ObjectMissing:
        return


def remove_prefix(store: ObjectStore, prefix: str) -> None:
    """Delete every object under `prefix`."""
    store.delete_keys(list(store.list_keys(prefix)))


def object_at(stores: ObjectStores, uri: str) -> tuple[ObjectStore, str]:
    """The store of the folder an object URI names, and the object's key in it."""
    folder, _, name = uri.rpartition("/")
    return stores.at(folder + "/"), name


LINE_BLOCK = 1024 * 1024


class StoredManifest:
    """A manifest object, streamed (never read whole); each pass is one new read."""

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store = store
        self.key = key

    @property
    def name(self) -> str:
        return self.store.location(self.key)

    def lines(self) -> Iterator[bytes]:
        with self.store.open_binary(self.key) as stream:
            yield from split_lines(stream)

    def lines_between(self, start: int, end: int) -> Iterator[bytes]:
        """The lines in bytes [start, end) (a fan-out chunk): one ranged read."""
        if end <= start:
            return
        with self.store.open_binary(self.key, start, end) as stream:
            yield from split_lines(stream)


def split_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines ending at b"\\n" only, ends kept, as when iterating a local file (a lone b"\\r"
    is JSON whitespace inside a line; fan-out byte offsets count the ends)."""
    pending = b""
    while block := stream.read(LINE_BLOCK):
        lines = (pending + block).split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending


def store_manifest(stores: ObjectStores, uri: str) -> StoredManifest:
    store, key = object_at(stores, uri)
    return StoredManifest(store, key)


# --- the folder adapter -------------------------------------------------------------------


class LocalStorage:
    """The objects under a folder of the local file system (a dataset root): the folder adapter
    of `ObjectStore`. Writes are durable on return; keys are paths below the folder."""

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

    def _existing(self, key: str) -> Path:
        """The path of `key` for reading: the same checks, no folder created."""
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts) or "\x00" in key:
            raise ValueError(f"key {key!r} leaves the dataset folder")
        return self.root.joinpath(*parts)

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

    def create(self, key: str, data: bytes) -> bool:
        try:
            fd = os.open(self._file(key), _WRITE_FLAGS | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        return True

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
    def open_binary(self, key: str, start: int = 0, end: int | None = None) -> Iterator[IO[bytes]]:
        path = self._existing(key)
        try:
            stream = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectMissing(self.location(key)) from None
        with stream:
            if start == 0 and end is None:
                yield stream
                return
            stream.seek(start)
            yield io.BytesIO(stream.read(max(0, end - start) if end is not None else -1))

    def read_bytes(self, key: str) -> bytes:
        with self.open_binary(key) as stream:
            return stream.read()

    def stat(self, key: str) -> ObjectInfo:
        path = self._existing(key)
        if not path.is_file():
            raise ObjectMissing(self.location(key))
        status = path.stat()
        return ObjectInfo(status.st_size, f'"{status.st_mtime_ns:x}-{status.st_size:x}"')

    def exists(self, key: str) -> bool:
        return self._existing(key).is_file()

    def list_keys(self, prefix: str) -> Iterator[str]:
        # Only the folder the prefix names is walked: `versions/v1/_parts/` is a small tree in
        # a dataset of a million label files.
        folder = prefix.rpartition("/")[0]
        top = self._existing(folder) if folder else self.root
        if not top.is_dir():
            return
        found = []
        for directory, _, names in os.walk(top):
            base = Path(directory).relative_to(self.root).as_posix()
            for name in names:
                key = name if base == "." else f"{base}/{name}"
                if key.startswith(prefix):
                    found.append(key)
        yield from sorted(found)

    def list_folders(self, prefix: str) -> Iterator[str]:
        folder = self.root.joinpath(*prefix.strip("/").split("/"))
        if folder.is_dir():
            yield from sorted(p.name for p in folder.iterdir() if p.is_dir())

    def copy_keys(self, pairs: Sequence[tuple[str, str]]) -> None:
        for source, target in pairs:
            path = self._existing(source)
            if not path.is_file():
                raise ObjectMissing(self.location(source))
            shutil.copyfile(path, self._path(target))

    def delete_keys(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        _close_all(self._folder_fds)  # some may be of folders removed below
        for key in keys:
            path = self._existing(key)
            path.unlink(missing_ok=True)
            # Empty folders too, as a prefix with no objects is gone from S3.
            for folder in path.parents:
                if folder == self.root or not folder.is_dir() or any(folder.iterdir()):
                    break
                folder.rmdir()
        # Forget removed folders: a later key under them must create them again.
        self._folders.clear()

    def location(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


class LocalStores:
    """Folders as stores: a root URI is a path (the CLI's dataset folders)."""

    def at(self, uri: str, *, buffered: bool = False) -> LocalStorage:
        return LocalStorage(uri)


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
