"""Versions: a published dataset is a series of immutable versions that share unchanged files.

A conversion writes a new version beside the current one and only the files that changed; a
pointer written last makes it current. Readers that follow the pointer (or a version's own
entry files) see one complete version, never a mix: no object a version names is ever
rewritten, and none is deleted while a kept version names it.

Layout under the dataset root (`datasets/<name>/`):

    current.json                  the pointer: which version is current, the kept ones
    data.yaml  obj.data           the current version's entry files (copied at the flip)
    <v>.yaml  <v>.obj.data        version v's entry files: its splits are lists of its images
    <v>.train.txt  <v>.val.txt    lines `./files/<w>/images/<split>/<path>`
    versions/<v>/                 what the conversion writes beside the files: tables, lists,
                                  report.json, data.yaml (split folders), files.jsonl.gz, report
    files/<v>/<key>               a dataset file (image, label file, MOT file) first written
                                  by version v, at its key in the dataset (`images/train/a.jpg`)

`files.jsonl.gz` is a version's index: for every dataset file its key, the version whose
`files/` holds it, and a digest (of its bytes; of its source-ref for a copied image). The next
conversion compares against it: an unchanged label file is not written, an image copied from
the same source-ref to the same key is not copied again. Entry lists live in the dataset root
because Ultralytics resolves `./` in a list against the list's own folder (and replaces every
`./` of the line), so a list can only name files below its folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple, TextIO

from gt2yolo.errors import ConversionError
from gt2yolo.exports.formats import EXPORTS_PREFIX
from gt2yolo.exports.published import publish_exports
from gt2yolo.split import Split
from gt2yolo.storage import ImageSink, ObjectStore, Storage, read_or_none, text_lines
from gt2yolo.writers import CLASSES_TXT, OBJ_DATA, DataYaml, list_key, obj_data

POINTER = "current.json"
VERSIONS = "versions/"
FILES = "files/"
INDEX_NAME = "files.jsonl.gz"
# What a conversion writes under `_parts/` (a fan-out chunk's tables) belongs to its version too.
PARTS = "_parts/"
DEFAULT_KEEP = 3
# Version ids sort by time: `20261202T081500Z-3fa9c1`.
_VERSION_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


class Stored(NamedTuple):
    """Where one dataset file of a version lives and what it holds."""

    version: str  # files/<version>/<key>
    digest: str


FileIndex = dict[str, Stored]


def new_version_id(now: datetime | None = None, token: str = "") -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    salt = token or hashlib.sha256(moment.isoformat().encode() + os.urandom(8)).hexdigest()
    return f"{moment:%Y%m%dT%H%M%SZ}-{salt[:6]}"


def is_version_id(text: str) -> bool:
    return bool(_VERSION_ID.match(text))


def version_key(version: str, key: str = "") -> str:
    return f"{VERSIONS}{version}/{key}"


def file_key(version: str, key: str) -> str:
    return f"{FILES}{version}/{key}"


def is_dataset_file(key: str) -> bool:
    """Dataset files (images, labels, MOT files, class folders) are shared between versions;
    what sits in the root or under `_parts/` or `exports/` (tables, lists, report, the export
    files, which name images by dataset key) is the version's own."""
    return "/" in key and not key.startswith((PARTS, EXPORTS_PREFIX))


def bytes_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def source_digest(source_ref: str) -> str:
    # "s:" keeps a copied image's digest apart from any written file's.
    return (
        "s:"
        + hashlib.blake2b(source_ref.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    )


# --- writing a version --------------------------------------------------------------------


class VersionedStorage:
    """The Storage a conversion writes a version through.

    The version's own files go to `versions/<v>/`; a dataset file whose bytes the previous
    version already holds at the same key is not written again, only recorded."""

    def __init__(self, inner: Storage, version: str, previous: Mapping[str, Stored] | None) -> None:
        self.inner = inner
        self.version = version
        self.previous: Mapping[str, Stored] = previous or {}
        self.entries: FileIndex = {}
        self.written = 0
        self.reused = 0
        self._lock = threading.Lock()

    def write_bytes(self, key: str, data: bytes) -> None:
        if not is_dataset_file(key):
            self.inner.write_bytes(version_key(self.version, key), data)
            return
        digest = bytes_digest(data)
        if not self.reuse(key, digest):
            self.inner.write_bytes(file_key(self.version, key), data)
            self.record(key, Stored(self.version, digest), written=True)

    @contextmanager
    def open_text(self, key: str) -> Iterator[TextIO]:
        if not is_dataset_file(key):
            with self.inner.open_text(version_key(self.version, key)) as stream:
                yield stream
            return
        buffer = io.StringIO(newline="\n")  # dataset files are small (a label file, gt.txt)
        yield buffer
        self.write_bytes(key, buffer.getvalue().encode("utf-8"))

    def flush(self) -> None:
        self.inner.flush()

    def location(self, key: str = "") -> str:
        if key and is_dataset_file(key):
            return self.inner.location(file_key(self.version, key))
        return self.inner.location(version_key(self.version, key))

    def reuse(self, key: str, digest: str) -> bool:
        """Record the previous version's copy of `key` when it holds the same thing."""
        stored = self.previous.get(key)
        if stored is None or stored.digest != digest:
            return False
        self.record(key, stored, written=False)
        return True

    def record(self, key: str, stored: Stored, written: bool) -> None:
        with self._lock:  # label files may be written from a pool (segmentation masks)
            self.entries[key] = stored
            if written:
                self.written += 1
            else:
                self.reused += 1


class VersionedImageSink:
    """Copies only images that are new to their key (or come from another source-ref)."""

    def __init__(self, inner: ImageSink, storage: VersionedStorage) -> None:
        self.inner = inner
        self.storage = storage

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        version = self.storage.version
        copies: list[tuple[str, str]] = []
        wanted: dict[str, tuple[str, str]] = {}  # files/<v>/<key> -> (key, digest)
        for source_ref, key in items:
            digest = source_digest(source_ref)
            if not self.storage.reuse(key, digest):
                stored_key = file_key(version, key)
                copies.append((source_ref, stored_key))
                wanted[stored_key] = (key, digest)
        failures = self.inner.copy_batch(copies) if copies else {}
        result: dict[str, str] = {}
        for stored_key, (key, digest) in wanted.items():
            if stored_key in failures:
                result[key] = failures[stored_key]
            else:
                self.storage.record(key, Stored(version, digest), written=True)
        return result


# --- the index ----------------------------------------------------------------------------


def dump_index(entries: Mapping[str, Stored]) -> bytes:
    """A version's index: one JSON array `[key, version, digest]` per line, sorted by key,
    gzip with mtime 0 (the same entries give the same bytes). JSON, not CSV: a dataset key may
    hold any character a manifest's source-ref held."""
    # Version ids and digests are plain ASCII: only the key needs JSON's escaping.
    lines = (
        f'[{json.dumps(key)}, "{entries[key].version}", "{entries[key].digest}"]\n'
        for key in sorted(entries)
    )
    return gzip.compress("".join(lines).encode("ascii"), compresslevel=6, mtime=0)


def load_index(data: bytes) -> FileIndex:
    try:
        index: FileIndex = {}
        for line in gzip.decompress(data).decode("ascii").splitlines():
            key, version, digest = json.loads(line)
            # A few version ids name a million files: one string each, not one per file.
            index[str(key)] = Stored(sys.intern(str(version)), str(digest))
        return index
    except (OSError, EOFError, ValueError, TypeError) as exc:
        raise ConversionError(f"a version index is unreadable: {exc}") from None


def read_index(objects: ObjectStore, version: str) -> FileIndex:
    data = read_or_none(objects, version_key(version, INDEX_NAME))
    if data is None:
        raise ConversionError(f"version {version} has no {INDEX_NAME}")
    return load_index(data)


# --- closing a version: its index and entry files -----------------------------------------


@dataclass(frozen=True)
class VersionFiles:
    """What a version's root entry files are called."""

    version: str

    @property
    def data_yaml(self) -> str:
        return f"{self.version}.yaml"

    @property
    def obj_data(self) -> str:
        return f"{self.version}.obj.data"

    def list_name(self, split: str) -> str:
        return f"{self.version}.{split}.txt"


def close_version(
    objects: ObjectStore, version: str, entries: FileIndex, export_base: str | None = None
) -> int:
    """Keep each image beside its label file, then write the version's entry files in the root
    (when it has a data.yaml), its exports' root copies and its index; return how many files
    were copied to keep pairs together. Before the flip: nothing here is visible through the
    pointer. `export_base`: the S3 folder the exports' manifests name images under."""
    moved = colocate_pairs(objects, version, entries)
    names = VersionFiles(version)
    data_yaml = read_or_none(objects, version_key(version, "data.yaml"))
    if data_yaml is not None:  # classification datasets have none: readers take the folder
        _write_entry_files(objects, names, data_yaml.decode("utf-8"), entries)
    publish_exports(objects, version, entries, export_base)
    # The index last: its presence says the version is complete (publish_version checks it).
    objects.write_bytes(version_key(version, INDEX_NAME), dump_index(entries))
    return moved


def label_of(image_key: str) -> str:
    """Where readers look for an image's label file: `images/<split>/<path>.<ext>` ->
    `labels/<split>/<path>.txt` (Ultralytics replaces the last `/images/`, Darknet the first;
    dataset paths hold no inner `images` folder, see paths.RESERVED_SEGMENT)."""
    folder, _, name = image_key.removeprefix("images/").rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"labels/{folder}/{stem}.txt" if folder else f"labels/{stem}.txt"


def colocate_pairs(objects: ObjectStore, version: str, entries: FileIndex) -> int:
    """Readers find a label file beside its image (label_of): an image and label file stored
    by different versions would pair the image with the other version's labels. When one of a
    pair changed, the other is copied into this version too (updating `entries`)."""
    copies: list[tuple[str, str]] = []
    for key, stored in list(entries.items()):
        if not key.startswith("images/"):
            continue
        label = entries.get(label_of(key))
        if label is None or label.version == stored.version:
            continue
        for member, at in ((key, stored), (label_of(key), label)):
            if at.version != version:
                copies.append((file_key(at.version, member), file_key(version, member)))
                entries[member] = Stored(version, at.digest)
    if copies:
        objects.copy_keys(copies)
    return len(copies)


def _write_entry_files(
    objects: ObjectStore, names: VersionFiles, data_yaml: str, entries: Mapping[str, Stored]
) -> None:
    version = names.version
    try:
        model = DataYaml.parse(data_yaml)
    except ValueError as exc:
        raise ConversionError(f"version {version}: its data.yaml: {exc}") from None
    for split in model.splits:
        listed = read_or_none(objects, version_key(version, list_key(split))) or b""
        objects.write_bytes(names.list_name(split), _stored_list(listed, entries))
    objects.write_bytes(names.data_yaml, entry_yaml(model, names).encode())
    if objects.exists(version_key(version, OBJ_DATA)):
        objects.write_bytes(names.obj_data, entry_obj_data(model, names).encode())


def _stored_list(listed: bytes, entries: Mapping[str, Stored]) -> bytes:
    """`./images/train/a.jpg` -> `./files/<v>/images/train/a.jpg` (where that version put it)."""
    out = []
    for line in listed.decode("utf-8", "surrogatepass").splitlines():
        key = line.removeprefix("./")
        stored = entries.get(key)
        if stored is None:
            raise ConversionError(f"the list names {key!r}, which the version does not hold")
        out.append(f"./{file_key(stored.version, key)}\n")
    return "".join(out).encode("utf-8", "surrogatepass")


def entry_yaml(model: DataYaml, names: VersionFiles) -> str:
    """The version's data.yaml: its splits are the version's lists."""
    lists = {split: names.list_name(split) for split in model.splits}
    return model.render(lists, names.version)


def entry_obj_data(model: DataYaml, names: VersionFiles) -> str:
    """The version's obj.data: its train and val lists, its own classes.txt."""
    return obj_data(
        model.classes,
        train=names.list_name(Split.TRAIN),
        valid=names.list_name(Split.VAL),
        names=version_key(names.version, CLASSES_TXT),
    )


# --- the pointer and the flip -------------------------------------------------------------


@dataclass(frozen=True)
class Pointer:
    """`current.json`: the current version and the kept ones (newest first)."""

    version: str
    versions: tuple[str, ...]
    published_at: str
    partial: bool = False
    task: str = "detect"
    job_name: str = ""

    def to_json(self) -> bytes:
        names = VersionFiles(self.version)
        document = {
            "version": self.version,
            "versions": list(self.versions),
            "published_at": self.published_at,
            "partial": self.partial,
            "task": self.task,
            "job_name": self.job_name,
            # Where readers start: classification versions are folder trees, the rest lists.
            "data": f"{FILES}{self.version}/" if self.task == "classify" else names.data_yaml,
            "tables": version_key(self.version),
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Pointer:
        document = json.loads(data)
        version = str(document["version"])
        versions = tuple(str(v) for v in document.get("versions", [version]))
        if not all(is_version_id(v) for v in (version, *versions)):
            raise ValueError("a version id is malformed")
        return cls(
            version,
            versions,
            str(document.get("published_at", "")),
            bool(document.get("partial", False)),
            str(document.get("task", "detect")),
            str(document.get("job_name", "")),
        )


def read_pointer(objects: ObjectStore) -> Pointer | None:
    """The current version, or None (a new dataset, or a pointer that cannot be read)."""
    data = read_or_none(objects, POINTER)
    if data is None:
        return None
    try:
        return Pointer.from_json(data)
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Flip:
    pointer: Pointer
    evicted: tuple[str, ...]
    deleted_objects: int


def publish_version(
    objects: ObjectStore,
    version: str,
    keep: int = DEFAULT_KEEP,
    *,
    partial: bool = False,
    task: str = "detect",
    job_name: str = "",
    now: datetime | None = None,
) -> Flip:
    """Make `version` current (the pointer, then the root entry files), then delete what no
    kept version names: older versions beyond `keep`, and versions of crashed runs."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    index = version_key(version, INDEX_NAME)
    if index not in objects.list_keys(index):  # a listing, not a GET of the whole index
        raise ConversionError(f"version {version} is not complete (no {INDEX_NAME})")
    before = read_pointer(objects)
    history = [version] + [v for v in (before.versions if before else ()) if v != version]
    pointer = Pointer(
        version,
        tuple(history[:keep]),
        (now or datetime.now(UTC)).isoformat(),
        partial,
        task,
        job_name,
    )
    objects.write_bytes(POINTER, pointer.to_json())  # the flip: readers get `version` from here
    _copy_entry_files(objects, version)
    evicted = tuple(history[keep:])
    deleted = collect_garbage(objects, pointer.versions)
    if before is None:
        deleted += remove_unversioned(objects)
    return Flip(pointer, evicted, deleted)


# What the dataset root holds besides versions' folders and entry files.
_ROOT_OWN = frozenset({POINTER, "data.yaml", "obj.data", "_LOCK", "_SUCCESS"})


def remove_unversioned(objects: ObjectStore) -> int:
    """Delete a dataset written in place before versions existed (its images/, labels/,
    tables at the root): after the first flip its files would sit beside the versions and
    its split folders would mix into a folder-reading tool's view. Return how many went."""
    stale = [key for key in objects.list_keys("") if not _versioned(key)]
    objects.delete_keys(stale)
    return len(stale)


def _versioned(key: str) -> bool:
    if key in _ROOT_OWN or key.startswith((VERSIONS, FILES)):
        return True
    return "/" not in key and is_version_id(key.split(".", 1)[0])


def _copy_entry_files(objects: ObjectStore, version: str) -> None:
    """The stable names users train from: `data.yaml`, `obj.data` of the current version."""
    names = VersionFiles(version)
    for source, target in ((names.data_yaml, "data.yaml"), (names.obj_data, "obj.data")):
        data = read_or_none(objects, source)
        if data is not None:
            objects.write_bytes(target, data)


def collect_garbage(objects: ObjectStore, kept: Sequence[str]) -> int:
    """Delete every version's objects that no kept version names; return how many went."""
    present = _versions_present(objects)
    doomed = sorted(present - set(kept))
    if not doomed:
        return 0
    still_named = _named_files(objects, kept, set(doomed))
    deleted = 0
    for version in doomed:
        keys = (
            []  # a kept version's index is unreadable: keep every dataset file, to be safe
            if still_named is None
            else [
                key
                for key in objects.list_keys(f"{FILES}{version}/")
                if key.removeprefix(f"{FILES}{version}/") not in still_named.get(version, ())
            ]
        )
        keys += list(objects.list_keys(version_key(version)))
        keys += [k for k in objects.list_keys(f"{version}.") if "/" not in k]
        objects.delete_keys(keys)
        deleted += len(keys)
    return deleted


def _versions_present(objects: ObjectStore) -> set[str]:
    # Folders, not keys: a listing page per 1,000 versions, not per 1,000 dataset files.
    return {
        name
        for prefix in (VERSIONS, FILES)
        for name in objects.list_folders(prefix)
        if is_version_id(name)
    }


def _named_files(
    objects: ObjectStore, kept: Iterable[str], doomed: set[str]
) -> dict[str, set[str]] | None:
    """Per doomed version, the keys of its files a kept version still names (None: a kept
    version's index cannot be read, so which are named is unknown)."""
    named: dict[str, set[str]] = {}
    for version in kept:
        try:
            index = read_index(objects, version)
        except ConversionError:
            return None
        for key, stored in index.items():
            if stored.version in doomed:
                named.setdefault(stored.version, set()).add(key)
    return named


# --- reading a version --------------------------------------------------------------------


class VersionView:
    """One version read by its dataset keys (the report, materialize): the version's own
    files from `versions/<v>/`, dataset files from wherever its index says."""

    def __init__(self, inner: ObjectStore, version: str, index: Mapping[str, Stored]) -> None:
        self.inner = inner
        self.version = version
        self.index = index

    def stored_key(self, key: str) -> str:
        if is_dataset_file(key):
            stored = self.index.get(key)
            # A key the version does not hold reads as absent, as in a folder.
            return file_key(stored.version if stored else self.version, key)
        return version_key(self.version, key)

    def read_bytes(self, key: str) -> bytes | None:
        return read_or_none(self.inner, self.stored_key(key))

    def lines(self, key: str) -> Iterator[str]:
        return text_lines(self.inner, self.stored_key(key))

    def location(self, key: str = "") -> str:
        return self.inner.location(self.stored_key(key) if key else version_key(self.version))


def materialize(objects: ObjectStore, version: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Every file of a version at its dataset key: the plain dataset a single conversion into an
    empty folder writes (plus the report's files). The current version when none is named."""
    if version is None:
        pointer = read_pointer(objects)
        if pointer is None:
            raise ConversionError("the dataset has no current version")
        version = pointer.version
    index = read_index(objects, version)
    own = version_key(version)
    for key in sorted(objects.list_keys(own)):
        name = key[len(own) :]
        if name == INDEX_NAME or name.startswith(PARTS):
            continue
        data = read_or_none(objects, key)
        if data is not None:
            yield name, data
    for key, stored in sorted(index.items()):
        data = read_or_none(objects, file_key(stored.version, key))
        if data is None:
            raise ConversionError(f"version {version} names {key}, which is gone")
        yield key, data
