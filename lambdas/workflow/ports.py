"""The ports the conversion steps reach storage through (no boto3 here: handlers pass S3
adapters, tests the in-memory ones of `gt2yolo.memory_store`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gt2yolo.storage import ImageSink, ObjectStore, ObjectStores, SourceObjects


class ImageCopier(Protocol):
    def into(self, store: ObjectStore) -> ImageSink:
        """The sink that copies images into `store` (server side, where the store allows)."""
        ...


@dataclass(frozen=True)
class StoragePorts:
    """Datasets and manifests (`stores`), what manifest lines point at (`sources`), and the
    copier of images into a dataset (`images`)."""

    stores: ObjectStores
    sources: SourceObjects
    images: ImageCopier
