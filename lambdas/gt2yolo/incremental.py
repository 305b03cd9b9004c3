"""Incremental conversion: a new version of a published dataset, written against the current one.

The conversion itself runs in full (every rule, every table), so the new version is byte for
byte what a conversion into an empty dataset writes; only its writes are incremental: a label
file whose bytes the current version already holds, or an image it already copied from the same
source-ref to the same key, is named again instead of written (see versions.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gt2yolo.convert import ConversionOptions, ConversionResult, Progress, convert_manifests
from gt2yolo.errors import ConversionError
from gt2yolo.manifest import ManifestSource
from gt2yolo.storage import ImageSink, ObjectStore, SourceObjects, Storage
from gt2yolo.versions import (
    FileIndex,
    VersionedImageSink,
    VersionedStorage,
    close_version,
    read_index,
    read_pointer,
)


@dataclass(frozen=True)
class Baseline:
    """What a new version is written against: the current version and its index."""

    version: str | None
    index: FileIndex | None

    @classmethod
    def of(cls, objects: ObjectStore) -> Baseline:
        """The current version; none for a new dataset or a classification one (Ultralytics
        reads those as one folder tree, not lists: each version holds every file)."""
        pointer = read_pointer(objects)
        if pointer is None or pointer.task == "classify":
            return cls(None, None)
        return cls.of_version(objects, pointer.version)

    @classmethod
    def of_version(cls, objects: ObjectStore, version: str | None) -> Baseline:
        """A named version (a fan-out chunk follows the one its plan names)."""
        if version is None:
            return cls(None, None)
        try:
            return cls(version, read_index(objects, version))
        except ConversionError:  # a lost or damaged index: this version is written whole
            return cls(None, None)


@dataclass(frozen=True)
class VersionResult:
    result: ConversionResult
    version: str
    previous: str | None
    written: int  # dataset files written or copied by this version
    reused: int  # dataset files named from an earlier version


def versioned(
    storage: Storage, version: str, baseline: Baseline, images: ImageSink | None
) -> tuple[VersionedStorage, VersionedImageSink | None]:
    """The storage and image sink a (part of a) conversion writes version `version` through."""
    store = VersionedStorage(storage, version, baseline.index)
    return store, (VersionedImageSink(images, store) if images is not None else None)


def convert_version(
    sources: Sequence[ManifestSource],
    objects: ObjectStore,
    storage: Storage,
    options: ConversionOptions,
    version: str,
    baseline: Baseline,
    images: ImageSink | None = None,
    source_objects: SourceObjects | None = None,
    progress: Progress | None = None,
) -> VersionResult:
    """Convert into version `version` of the dataset at `objects` (`storage` writes the same
    root); close it (index, entry files). The flip is the caller's: `publish_version`."""
    store, sink = versioned(storage, version, baseline, images)
    result = convert_manifests(
        sources, store, replace(options, version=version), sink, progress, source_objects
    )
    store.flush()
    moved = close_version(objects, version, store.entries, options.export_base)
    # A file copied to keep an image beside its changed label is written, not reused.
    return VersionResult(
        result, version, baseline.version, store.written + moved, store.reused - moved
    )
