"""Intake: dropped images -> registry -> `manifests/input/<dataset>.manifest` (and streaming).

S3 cannot append, and a thousand images may be dropped at once, so the manifest is never edited
in place. Instead:

1. every accepted image is one registry item (dataset, key), written with a conditional put, so
   a redelivered event finds its item and adds nothing (no duplicates, by construction);
2. after its puts, each batch bumps the dataset's version (an atomic counter);
3. the manifest is materialized from the registry and records the version it was read at; it
   is replaced only with an S3 conditional write on the ETag that was read (`If-Match`), and
   only when its version is behind the counter.

Why nothing is lost: a batch bumps the version only after its items are written, so whoever
reads version >= v reads it after those items exist, and its query sees them. A manifest
marked with version v is never replaced by an older one (the conditional write fails, the
writer re-reads), and each batch leaves only when the manifest's version is at least the one
it read after its own bump. So when the last batch is done, the manifest lists every image.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gt2yolo.intake import (
    AcceptedImage,
    SkippedObject,
    SkipReason,
    input_manifest_key,
    judge_dropped_object,
    manifest_body,
    streaming_message,
)

from workflow.errors import TransientAwsError

MANIFEST_WRITE_ATTEMPTS = 10


@dataclass(frozen=True)
class ObjectFacts:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True)
class StoredManifest:
    etag: str
    version: int  # 0 for a manifest not written by the intake (no version recorded)


class ObjectInspector(Protocol):
    def inspect(self, bucket: str, key: str) -> ObjectFacts | None: ...


class ImageRegistry(Protocol):
    def register(self, image: AcceptedImage) -> bool: ...

    def streamed(self, image: AcceptedImage) -> bool: ...

    def mark_streamed(self, image: AcceptedImage) -> None: ...

    def bump_version(self, dataset: str) -> int: ...

    def version(self, dataset: str) -> int: ...

    def source_refs(self, dataset: str) -> Iterator[str]: ...


class InputManifests(Protocol):
    def head(self, key: str) -> StoredManifest | None: ...

    def replace(self, key: str, body: bytes, version: int, expected: StoredManifest | None) -> bool:
        """Write unless the object changed since `expected` was read; False if it did."""
        ...


class StreamingTopic(Protocol):
    def publish(self, message: str) -> None: ...


class ManifestContention(TransientAwsError):
    """The manifest kept changing under us: retried later (the registry already has the images)."""


@dataclass(frozen=True)
class Drop:
    """One S3 Object Created event, as delivered (`message_id` identifies it in its batch)."""

    message_id: str
    bucket: str
    key: str


@dataclass(frozen=True)
class ManifestRefresh:
    dataset: str
    manifest_key: str
    version: int
    written: bool
    images: int | None = None  # lines written (None when the manifest was already current)


@dataclass
class IntakeReport:
    registered: list[AcceptedImage] = field(default_factory=list)
    duplicates: list[AcceptedImage] = field(default_factory=list)
    skipped: list[SkippedObject] = field(default_factory=list)
    streamed: list[AcceptedImage] = field(default_factory=list)
    refreshed: list[ManifestRefresh] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # message id -> error


@dataclass(frozen=True)
class IntakePorts:
    objects: ObjectInspector
    registry: ImageRegistry
    manifests: InputManifests
    topic: StreamingTopic | None = None


def take_in(drops: Sequence[Drop], bucket: str, ports: IntakePorts) -> IntakeReport:
    """Register a batch of dropped objects, stream new images, then refresh each manifest."""
    report = IntakeReport()
    by_dataset: dict[str, list[str]] = {}
    for drop in drops:
        try:
            image = _take_in_one(drop, bucket, ports, report)
        except Exception as exc:  # one bad record must not fail the others: it is retried alone
            report.failed[drop.message_id] = f"{type(exc).__name__}: {exc}"
            continue
        if image is not None:
            by_dataset.setdefault(image.dataset, []).append(drop.message_id)
    for dataset, message_ids in by_dataset.items():
        try:
            bumped = ports.registry.bump_version(dataset)
            report.refreshed.append(ensure_manifest_current(dataset, ports, bumped))
        except Exception as exc:  # redelivered, these records bump and refresh again
            report.failed.update(dict.fromkeys(message_ids, f"{type(exc).__name__}: {exc}"))
    return report


def _take_in_one(
    drop: Drop, bucket: str, ports: IntakePorts, report: IntakeReport
) -> AcceptedImage | None:
    if drop.bucket != bucket:
        raise ValueError(f"event for bucket {drop.bucket!r}, not this stack's {bucket!r}")
    facts = ports.objects.inspect(drop.bucket, drop.key)
    if facts is None:
        report.skipped.append(SkippedObject(drop.key, SkipReason.GONE, "deleted before intake"))
        return None
    judged = judge_dropped_object(drop.bucket, facts.key, facts.size, facts.content_type)
    if isinstance(judged, SkippedObject):
        report.skipped.append(judged)
        return None
    new = ports.registry.register(judged)
    (report.registered if new else report.duplicates).append(judged)
    if ports.topic is not None and (new or not ports.registry.streamed(judged)):
        ports.topic.publish(streaming_message(judged.source_ref))
        ports.registry.mark_streamed(judged)
        report.streamed.append(judged)
    return judged


def ensure_manifest_current(
    dataset: str, ports: IntakePorts, needed: int | None = None
) -> ManifestRefresh:
    """Make `manifests/input/<dataset>.manifest` cover version `needed` (default: the current
    version, i.e. every image registered so far).

    A batch needs only the version its own bump returned: later bumps are their batches' job.
    So in a burst, the first writer to cover a version releases every batch waiting for it,
    instead of each batch chasing a counter that keeps moving. The order of the reads matters:
    the manifest, then the version, then the items.
    """
    key = input_manifest_key(dataset)
    if needed is None:
        needed = ports.registry.version(dataset)
    for _ in range(MANIFEST_WRITE_ATTEMPTS):
        stored = ports.manifests.head(key)
        if stored is not None and stored.version >= needed:
            return ManifestRefresh(dataset, key, stored.version, written=False)
        version = ports.registry.version(dataset)  # >= needed: the items of `needed` and more
        refs = list(ports.registry.source_refs(dataset))
        if ports.manifests.replace(key, manifest_body(refs), version, stored):
            return ManifestRefresh(dataset, key, version, written=True, images=len(refs))
    raise ManifestContention(f"{key} changed {MANIFEST_WRITE_ATTEMPTS} times while being written")
