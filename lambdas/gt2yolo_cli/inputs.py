"""Where the CLI reads from: manifests, label configs, masks and images (a folder, an
--s3-mirror sync, or S3), for the one-process run (`main`) and the workers (`jobs`) alike."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from gt2yolo import ConversionError
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.manifest import ManifestSource
from gt2yolo.paths import Layout
from gt2yolo.storage import (
    ImageSink,
    LocalImageSink,
    LocalManifest,
    LocalStorage,
    MirrorImageSink,
    S3Mirror,
    SourceObjects,
    Storage,
)


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def open_manifest(location: str, mirror: S3Mirror | None = None) -> ManifestSource:
    if is_s3(location) and mirror is not None:
        location = str(mirror.path(location))
    elif is_s3(location):
        from gt2yolo_aws.s3 import S3Manifest

        return S3Manifest(location)
    if not Path(location).is_file():
        raise ConversionError(f"manifest not found: {location}")
    return LocalManifest(location)


def load_class_list(location: str | None, mirror: S3Mirror | None = None) -> ClassList | None:
    if location is None:
        return None
    if is_s3(location) and mirror is not None:
        try:
            return class_list_from_label_config(mirror.read(location), location)
        except FileNotFoundError as exc:
            raise ConversionError(f"label config: {exc}") from None
    if is_s3(location):
        from gt2yolo_aws.s3 import read_object

        return class_list_from_label_config(read_object(location), location)
    path = Path(location)
    if not path.is_file():
        raise ConversionError(f"label config not found: {location}")
    return class_list_from_label_config(path.read_bytes(), location)


class Objects:
    """Where masks and image headers are read: the --s3-mirror folder, else S3 (made on first
    use: a bounding-box or classification job never needs it)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.source: SourceObjects | None = None

    def read(self, uri: str, max_bytes: int | None = None) -> bytes:
        if self.source is None:
            if self.args.s3_mirror:
                self.source = S3Mirror(self.args.s3_mirror)
            else:
                from gt2yolo_aws.s3 import S3Objects

                self.source = S3Objects()
        return self.source.read(uri, max_bytes)


class LazyImageSink:
    """Picks the image source once the survey knows the common folder (needed by --images-from)."""

    def __init__(self, args: argparse.Namespace, storage: Storage) -> None:
        self.args = args
        self.storage = storage
        self.sink: ImageSink | None = None
        self.common: tuple[str, ...] = ()

    def copy_batch(self, items: Sequence[tuple[str, str]]) -> dict[str, str]:
        if self.sink is None:
            self.sink = self._make(items[0][0], items[0][1])
        return dict(self.sink.copy_batch(items))

    def _make(self, source_ref: str, key: str) -> ImageSink:
        if self.args.s3_mirror:
            assert isinstance(self.storage, LocalStorage), "--s3-mirror writes a local --out"
            return MirrorImageSink(S3Mirror(self.args.s3_mirror), self.storage)
        if self.args.images_from:
            assert isinstance(self.storage, LocalStorage)
            return LocalImageSink(
                self.args.images_from,
                _common_from(source_ref, key, Layout(self.args.layout)),
                self.storage,
            )
        if isinstance(self.storage, LocalStorage):
            from gt2yolo_aws.s3 import S3ToLocalImageSink

            return S3ToLocalImageSink(str(self.storage.root))
        from gt2yolo_aws.s3 import S3ImageSink, S3Storage

        assert isinstance(self.storage, S3Storage)
        return S3ImageSink(self.storage)


def _common_from(source_ref: str, key: str, layout: Layout) -> tuple[str, ...]:
    """The common folder, recovered from one (source-ref, images/<split>/<path>) pair: the path
    has as many folders as the source-ref below it (renames change only the file name)."""
    from gt2yolo.paths import source_ref_segments, unflat_path

    segments = source_ref_segments(source_ref)
    path = key.split("/", 2)[2]  # minus `images/<split>/`
    if layout is Layout.FLAT:
        path = unflat_path(path)
    depth = path.count("/") + 1
    return segments[: len(segments) - depth]
