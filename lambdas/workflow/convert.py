"""Convert: one ConversionRequest -> a new version of the dataset under `datasets/<name>/`.

Idempotent: the fingerprint (manifest and config ETags, attribute, split settings) is compared
with the published `_SUCCESS`; the same input converts once. Different input becomes a new
version (gt2yolo/versions.py) written against the current one: only changed label files are
written and only new or moved images copied; readers keep the current version until Publish
flips the pointer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from gt2yolo import ConversionOptions
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.exports.formats import ExportFormat, parse_exports
from gt2yolo.fanout import DEFAULT_CHUNK_BYTES, plan_fan_out
from gt2yolo.incremental import Baseline, convert_version
from gt2yolo.manifest import ManifestSource
from gt2yolo.split import SplitFractions
from gt2yolo.storage import (
    ObjectInfo,
    ObjectMissing,
    ObjectStore,
    ReadDenied,
    S3Uri,
    object_at,
    read_or_none,
    store_manifest,
)
from gt2yolo.task_types import LabelTask
from gt2yolo.versions import new_version_id, version_key
from gt2yolo_config import defaults

from workflow import dataset_lock
from workflow.collection import collection_run, conversion_input, write_membership
from workflow.image_access import ImageAccess, access_denied, require_image_access
from workflow.models import (
    ConversionOutcome,
    ConversionRequest,
    ConversionSummary,
    FanOutStarted,
    SuccessMarker,
)
from workflow.ports import StoragePorts

SUCCESS_NAME = "_SUCCESS"
# A fan-out's plan and its chunk list (the Distributed Map's ItemReader), beside the parts, in
# the version being written (`versions/<v>/_parts/`).
PLAN_NAME = "_parts/plan.json"
CHUNKS_NAME = "_parts/chunks.json"


# When Convert plans a fan-out instead of converting in one Lambda (gt2yolo_config.defaults).
DEFAULT_FAN_OUT_BYTES = defaults.FAN_OUT_BYTES
DEFAULT_SEQUENCES_PER_CHUNK = defaults.SEQUENCES_PER_CHUNK
# The head of a manifest read to tell a video frame job from its lines (when no job says so).
VIDEO_SNIFF_BYTES = 64 * 1024
# A fan-out holds the dataset lock across the Map and Finalize: up to the state machine timeout.
FAN_OUT_LOCK_HOLD = timedelta(hours=2, minutes=5)


@dataclass(frozen=True)
class ConvertSettings:
    bucket: str
    datasets_prefix: str = defaults.DATASETS_PREFIX
    val_fraction: float = defaults.SPLIT.val
    test_fraction: float = defaults.SPLIT.test
    copy_images: bool = True
    fan_out_bytes: int = DEFAULT_FAN_OUT_BYTES
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    images_prefix: str = defaults.IMAGES_PREFIX
    image_buckets: str = ""  # the `imageBuckets` entries, comma separated
    sequences_per_chunk: int = DEFAULT_SEQUENCES_PER_CHUNK
    exports: str = defaults.EXPORTS  # the `exports` context value, comma separated

    @property
    def export_formats(self) -> tuple[ExportFormat, ...]:
        return parse_exports([self.exports])

    def dataset_prefix(self, name: str) -> str:
        return f"{self.datasets_prefix}{name}/"

    @property
    def image_access(self) -> ImageAccess:
        return ImageAccess.from_setting(self.bucket, self.images_prefix, self.image_buckets)


def convert_request(
    request: ConversionRequest, settings: ConvertSettings, ports: StoragePorts
) -> ConversionOutcome | FanOutStarted:
    """Convert in this Lambda, or (above `fan_out_bytes`) plan the chunks of a fan-out."""
    prefix = settings.dataset_prefix(request.dataset_name)
    dataset_uri = f"s3://{settings.bucket}/{prefix}"
    dataset = ports.stores.at(dataset_uri)
    manifest = _head(ports, request.manifest_uri)
    if request.collection is not None:
        return convert_member(request, settings, ports, dataset_uri, manifest)
    fingerprint = fingerprint_of(request, settings, ports, manifest)
    marker = read_marker(dataset)
    if marker is not None and marker.fingerprint == fingerprint:
        return _outcome(request, dataset_uri, fingerprint, marker.summary, marker.version)
    if settings.copy_images:
        # Before the lock and any write: images the stack may not read fail here, once.
        require_image_access(
            store_manifest(ports.stores, request.manifest_uri), settings.image_access,
            ports.sources,
        )  # fmt: skip
    video = _is_video(request, ports)
    fan_out = manifest.size > settings.fan_out_bytes or (
        video and _lines(request, ports) > settings.sequences_per_chunk
    )
    chunk_lines = settings.sequences_per_chunk if video else None
    hold = FAN_OUT_LOCK_HOLD if fan_out else dataset_lock.STALE_AFTER
    token = dataset_lock.acquire(dataset, hold=hold)
    try:
        # The current version, read under the lock: no other conversion flips it meanwhile.
        baseline = Baseline.of(dataset)
        target = Target(dataset_uri, new_version_id(token=token), baseline)
        if fan_out:
            return plan_request(request, settings, ports, target, fingerprint, token, chunk_lines)
        return _convert(request, settings, ports, target).model_copy(
            update={"fingerprint": fingerprint, "lock_token": token}
        )
    except BaseException:
        dataset_lock.release(dataset, token)
        raise


@dataclass(frozen=True)
class Target:
    """The version a conversion writes: where, its id, and the version it is written against."""

    dataset_uri: str
    version: str
    baseline: Baseline

    @property
    def version_uri(self) -> str:
        return self.dataset_uri + version_key(self.version)


def conversion_options(
    request: ConversionRequest, settings: ConvertSettings, ports: StoragePorts
) -> ConversionOptions:
    """Options for a single pass or a fan-out's survey (the version is set by who writes)."""
    return ConversionOptions(
        label_attribute=request.label_attribute,
        class_list=_class_list(request.label_config_uri, ports),
        verification_attribute=request.verification_attribute,
        accepted_verdicts=frozenset(request.accepted_verdicts),
        fractions=SplitFractions(settings.val_fraction, settings.test_fraction),
        task=LabelTask(request.task) if request.task else None,
        partial=request.partial,
        # The exports name each image by its URI in the dataset (published: resolved to where
        # the version stores it, gt2yolo.exports.published).
        exports=settings.export_formats,
        export_base=f"s3://{settings.bucket}/{settings.dataset_prefix(request.dataset_name)}",
    )


def plan_request(
    request: ConversionRequest,
    settings: ConvertSettings,
    ports: StoragePorts,
    target: Target,
    fingerprint: str,
    lock_token: str,
    chunk_lines: int | None = None,
) -> FanOutStarted:
    """Pass 1 over the manifest: the plan every chunk follows, and the chunk list for the Map.

    `chunk_lines`: cut every that many lines too (a video job's sequences per chunk)."""
    options = conversion_options(request, settings, ports)
    plan = plan_fan_out(
        [store_manifest(ports.stores, request.manifest_uri)], options, settings.chunk_bytes,
        chunk_lines=chunk_lines,
    )  # fmt: skip
    document = {
        "request": request.model_dump(),
        "plan": json.loads(plan.to_json()),
        "dataset_uri": target.dataset_uri,
        "version": target.version,
        "baseline": target.baseline.version,
    }
    storage = ports.stores.at(target.version_uri, buffered=True)
    try:
        storage.write_bytes(PLAN_NAME, json.dumps(document).encode())
        items = [chunk.as_item() for chunk in plan.chunks]
        storage.write_bytes(CHUNKS_NAME, json.dumps(items).encode())
    finally:
        storage.close()
    location = S3Uri.parse(target.version_uri)
    return FanOutStarted(
        **request.model_dump(),
        dataset_uri=target.dataset_uri,
        version=target.version,
        previous_version=target.baseline.version,
        fingerprint=fingerprint,
        lock_token=lock_token,
        plan_uri=str(location.join(PLAN_NAME)),
        chunks_bucket=location.bucket,
        chunks_key=location.join(CHUNKS_NAME).key,
        chunks=len(plan.chunks),
        lines=plan.survey.lines,
    )


def _is_video(request: ConversionRequest, ports: StoragePorts) -> bool:
    """Whether this is a video frame job: the job says so, else a dropped manifest's first
    lines do (their metadata type)."""
    if request.task:
        return LabelTask(request.task).video
    store, key = object_at(ports.stores, request.manifest_uri)
    with store.open_binary(key, 0, VIDEO_SNIFF_BYTES) as stream:
        head = stream.read()
    return any(task.value.encode() in head for task in LabelTask if task.video)


def _lines(request: ConversionRequest, ports: StoragePorts) -> int:
    """Non-blank lines: a video manifest is one short line per sequence (streamed, not held)."""
    manifest = store_manifest(ports.stores, request.manifest_uri)
    return sum(1 for line in manifest.lines() if line.strip())


def convert_member(
    request: ConversionRequest,
    settings: ConvertSettings,
    ports: StoragePorts,
    dataset_uri: str,
    manifest: ObjectInfo,
) -> ConversionOutcome:
    """A member of a collection completed: the collection's next version, from every member
    (workflow.collection). Converted in this Lambda: a version writes about the new member's
    files only, the rest are named from the current version."""
    dataset = ports.stores.at(dataset_uri)
    split = (settings.val_fraction, settings.test_fraction)
    run = collection_run(request, dataset, manifest, ports)
    fingerprint = run.fingerprint(split, settings.copy_images)
    marker = read_marker(dataset)
    if marker is not None and marker.fingerprint == fingerprint:
        return _outcome(request, dataset_uri, fingerprint, marker.summary, marker.version)
    if settings.copy_images:
        require_image_access(
            store_manifest(ports.stores, request.manifest_uri), settings.image_access,
            ports.sources,
        )  # fmt: skip
    token = dataset_lock.acquire(dataset, hold=dataset_lock.STALE_AFTER)
    try:
        # Read again under the lock: a member that completed meanwhile is in the version now.
        run = collection_run(request, dataset, manifest, ports)
        target = Target(dataset_uri, new_version_id(token=token), Baseline.of(dataset))
        base = conversion_options(request, settings, ports)
        grown = conversion_input(run, base, dataset, ports)
        outcome = _convert(request, settings, ports, target, list(grown.sources), grown.options)
        write_membership(ports.stores.at(target.version_uri), grown.membership())
    except BaseException:
        dataset_lock.release(dataset, token)
        raise
    return outcome.model_copy(
        update={
            "fingerprint": run.fingerprint(split, settings.copy_images),
            "lock_token": token,
            "members": [member.name for member in grown.members],
            "new_classes": list(grown.new_classes),
            "removed_members": list(run.removed),
        }
    )


def _convert(
    request: ConversionRequest,
    settings: ConvertSettings,
    ports: StoragePorts,
    target: Target,
    sources: list[ManifestSource] | None = None,
    options: ConversionOptions | None = None,
) -> ConversionOutcome:
    """Convert into the target version: the request's manifest, or the sources given."""
    options = options or conversion_options(request, settings, ports)
    storage = ports.stores.at(target.dataset_uri, buffered=True)
    sink = ports.images.into(storage) if settings.copy_images else None
    try:
        written = convert_version(
            sources or [store_manifest(ports.stores, request.manifest_uri)],
            ports.stores.at(target.dataset_uri), storage, options, target.version,
            target.baseline, sink, ports.sources,
        )  # fmt: skip
    except ReadDenied as denied:  # a bucket first named after the manifest's head
        raise access_denied(denied, settings.image_access) from denied
    finally:
        storage.close()
    return ConversionOutcome(
        **request.model_dump(),
        dataset_uri=target.dataset_uri,
        fingerprint="",
        summary=ConversionSummary.from_report(written.result.report),
        version=target.version,
        previous_version=target.baseline.version,
        files_written=written.written,
        files_reused=written.reused,
    )


def _class_list(uri: str | None, ports: StoragePorts) -> ClassList | None:
    if uri is None:
        return None
    store, key = object_at(ports.stores, uri)
    return class_list_from_label_config(store.read_bytes(key), uri)


def _outcome(
    request: ConversionRequest,
    dataset_uri: str,
    fingerprint: str,
    summary: ConversionSummary,
    version: str | None,
) -> ConversionOutcome:
    """The answer for input that is already published: nothing converted, nothing written."""
    return ConversionOutcome(
        **request.model_dump(),
        dataset_uri=dataset_uri,
        fingerprint=fingerprint,
        summary=summary,
        already_published=True,
        version=version,
    )


def fingerprint_of(
    request: ConversionRequest,
    settings: ConvertSettings,
    ports: StoragePorts,
    manifest: ObjectInfo | None = None,
) -> str:
    """Identity of a conversion's input: same fingerprint, same dataset."""
    head = manifest or _head(ports, request.manifest_uri)
    parts = {
        "manifest": head.version_id or head.etag,
        "config": _etag(ports, request.label_config_uri) if request.label_config_uri else None,
        "attribute": request.label_attribute,
        "verification": [request.verification_attribute, sorted(request.accepted_verdicts)],
        "split": [settings.val_fraction, settings.test_fraction],
        "images": settings.copy_images,
    }
    if request.task is not None:  # absent for bounding boxes: their fingerprints stay as they were
        parts["task"] = request.task
    if settings.exports:  # what the dataset holds besides YOLO: a new export, a new version
        parts["exports"] = settings.exports
    if request.partial:
        # A live dataset never counts as the job's final one, even from identical bytes.
        parts["partial"] = True
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _etag(ports: StoragePorts, uri: str) -> str:
    head = _head(ports, uri)
    return head.version_id or head.etag


def _head(ports: StoragePorts, uri: str) -> ObjectInfo:
    store, key = object_at(ports.stores, uri)
    try:
        return store.stat(key)
    except (ObjectMissing, ReadDenied):
        # Refused: Convert may not list where Ground Truth writes; absent or unreadable alike.
        raise FileNotFoundError(f"{uri} does not exist (or is not readable)") from None


def read_marker(dataset: ObjectStore) -> SuccessMarker | None:
    raw = read_or_none(dataset, SUCCESS_NAME)
    if raw is None:
        return None
    try:
        return SuccessMarker.model_validate_json(raw)
    except ValueError:
        return None  # a marker we can't read is treated as absent: convert again
