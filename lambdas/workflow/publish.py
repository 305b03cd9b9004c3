"""Publish: make the new version current (the pointer flip), then tell people.

The flip writes `current.json` and the stable `data.yaml`/`obj.data`, then deletes what no kept
version names (gt2yolo/versions.py). `_SUCCESS` is written after it and with If-None-Match, so
of two executions for the same job exactly one notifies: the other sees the marker with the
same fingerprint and sends nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from gt2yolo.storage import ObjectStore, ObjectStores
from gt2yolo.versions import (
    DEFAULT_KEEP,
    Pointer,
    VersionFiles,
    publish_version,
    read_pointer,
    version_key,
)

from workflow import dataset_lock
from workflow.convert import SUCCESS_NAME, read_marker
from workflow.failure import readable_cause
from workflow.models import (
    ConversionOutcome,
    ConversionSummary,
    PublishOutcome,
    PublishRequest,
    SuccessMarker,
)

DATASET_READY = "Dataset Ready"


class Notifier(Protocol):
    def notify(self, subject: str, message: str) -> None: ...


class EventBus(Protocol):
    def put(self, detail_type: str, detail: dict[str, Any]) -> None: ...


def publish_dataset(
    outcome: PublishRequest,
    stores: ObjectStores,
    notifier: Notifier,
    bus: EventBus,
    keep_versions: int = DEFAULT_KEEP,
) -> PublishOutcome:
    if outcome.already_published:
        return _result(outcome, False, "already published with the same input")
    if outcome.version is None:
        raise ValueError("the conversion names no dataset version to publish")
    marker = SuccessMarker(
        fingerprint=outcome.fingerprint,
        job_name=outcome.job_name,
        dataset_uri=outcome.dataset_uri,
        summary=outcome.summary,
        published_at=datetime.now(UTC).isoformat(),
        version=outcome.version,
    )
    objects = stores.at(outcome.dataset_uri)
    try:
        if _superseded(outcome, read_pointer(objects)):
            return _result(outcome, False, "the job's complete dataset is already current")
        flip = publish_version(
            objects,
            outcome.version,
            keep_versions,
            partial=outcome.partial,
            task=outcome.summary.task,
            job_name=outcome.job_name,
        )
        first = _write_marker(objects, marker)
    finally:
        if outcome.lock_token:
            dataset_lock.release(objects, outcome.lock_token)
    if not first:
        return _result(outcome, False, "another execution published the same input")
    bus.put(DATASET_READY, ready_detail(outcome))
    notifier.notify(*ready_message(outcome))
    return _result(outcome, True, "published").model_copy(
        update={
            "kept_versions": list(flip.pointer.versions),
            "deleted_objects": flip.deleted_objects,
        }
    )


def _superseded(outcome: PublishRequest, current: Pointer | None) -> bool:
    """A live (partial) conversion that waited on the lock while the job completed must not
    replace the complete dataset: its version is left unpublished (collected at the next
    publish)."""
    return (
        outcome.partial
        and current is not None
        and not current.partial
        and current.job_name == outcome.job_name
    )


def _write_marker(dataset: ObjectStore, marker: SuccessMarker) -> bool:
    """Write `_SUCCESS`; False when an equal marker is already there (a duplicate run)."""
    body = marker.model_dump_json(indent=2).encode()
    if dataset.create(SUCCESS_NAME, body):
        return True
    existing = read_marker(dataset)
    if existing is not None and existing.fingerprint == marker.fingerprint:
        return False
    dataset.write_bytes(SUCCESS_NAME, body)  # newer input replaces older
    return True


def _result(outcome: ConversionOutcome, published: bool, reason: str) -> PublishOutcome:
    return PublishOutcome(
        published=published,
        dataset_uri=outcome.dataset_uri,
        job_name=outcome.job_name,
        reason=reason,
        summary=outcome.summary,
        version=outcome.version,
        partial=outcome.partial,
    )


def ready_detail(outcome: ConversionOutcome) -> dict[str, Any]:
    classify = outcome.summary.task == "classify"
    version = outcome.version or ""
    detail: dict[str, Any] = {
        "job_name": outcome.job_name,
        "source": outcome.source,
        "dataset_uri": outcome.dataset_uri,
        "version": outcome.version,
        # Classification datasets have none: Ultralytics reads their version's folder tree.
        "data_yaml": None if classify else outcome.dataset_uri + "data.yaml",
        # What a model's training data is named by: this version's own entry file / folder.
        "version_data": outcome.dataset_uri
        + (f"files/{version}/" if classify else VersionFiles(version).data_yaml),
        "tables_uri": outcome.dataset_uri + version_key(version),
        "files_written": outcome.files_written,
        "files_reused": outcome.files_reused,
        "summary": outcome.summary.model_dump(),
        # A live dataset: the labels so far of a job still in progress.
        "partial": outcome.partial,
        "exports": export_uris(outcome),
    }
    if outcome.collection is not None:
        detail["collection"] = {
            "name": outcome.dataset_name,
            "members": outcome.members,
            "new_classes": outcome.new_classes,
            "removed_members": outcome.removed_members,
        }
    return detail


def export_uris(outcome: ConversionOutcome) -> dict[str, dict[str, str]]:
    """Each written export's files, by the version's root copy (images named where stored)."""
    version = outcome.version or ""
    return {
        export: {name: outcome.dataset_uri + f"{version}.{export}.{name}" for name in files}
        for export, files in outcome.summary.exports.items()
    }


def export_lines(outcome: ConversionOutcome) -> list[str]:
    lines = []
    for export, files in export_uris(outcome).items():
        counts = outcome.summary.exports[export]
        listed = ", ".join(f"{uri} ({counts[name]})" for name, uri in files.items())
        lines.append(f"Export {export}: {listed}")
    return lines


def ready_message(outcome: PublishRequest) -> tuple[str, str]:
    s = outcome.summary
    tables = outcome.dataset_uri + version_key(outcome.version or "")
    ready = "YOLO dataset ready (partial)" if outcome.partial else "YOLO dataset ready"
    subject = f"{ready}: {outcome.dataset_name}"[:100]
    lines = [
        f"Dataset {outcome.dataset_name} is ready ({outcome.source} {outcome.job_name}).",
        *_partial_lines(outcome),
        f"Location: {outcome.dataset_uri}",
        f"Version: {outcome.version} ({_version_note(outcome)})",
        *_counts(s),
        *collection_lines(outcome),
        *export_lines(outcome),
        f"Details: {tables}report.json, {tables}rejected.jsonl",
    ]
    lines += [f"Warning: {w}" for w in s.warnings]
    lines += report_lines(outcome)
    return subject, "\n".join(lines)


def _version_note(outcome: ConversionOutcome) -> str:
    """What the version wrote: a rerun writes only what changed."""
    if outcome.previous_version is None:
        return f"first version: {outcome.files_written} files written"
    return (
        f"{outcome.files_written} files written, {outcome.files_reused} unchanged "
        f"from {outcome.previous_version}"
    )


def collection_lines(outcome: ConversionOutcome) -> list[str]:
    """A collection's version: who is in it, and what changed for a model trained on it."""
    if outcome.collection is None:
        return []
    lines = [
        f"Collection {outcome.dataset_name}: {len(outcome.members)} members "
        f"({outcome.job_name} completed at {outcome.completed_at})."
    ]
    if outcome.new_classes:
        first = outcome.summary.classes - len(outcome.new_classes)
        named = ", ".join(f"{name} (id {first + i})" for i, name in enumerate(outcome.new_classes))
        lines.append(f"New classes, appended (no class is renumbered): {named}")
    if outcome.removed_members:
        lines.append(
            "Left out (no longer in the collection's definition): "
            + ", ".join(outcome.removed_members)
        )
    return lines


def _partial_lines(outcome: ConversionOutcome) -> list[str]:
    if not outcome.partial:
        return []
    return [
        f"PARTIAL dataset: labeling job {outcome.job_name} is still in progress; this dataset "
        f"holds the labels so far ({outcome.manifest_uri}).",
        "It is replaced by the complete dataset when the job completes.",
    ]


def _counts(s: ConversionSummary) -> list[str]:
    """What the dataset holds, in the task's words (YOLO task: detect, segment, classify)."""
    splits = ", ".join(f"{k} {v}" for k, v in s.images_per_split.items())
    if s.task == "classify":
        return [
            f"Task: classify. Images: {s.images} ({splits}); classes: {s.classes}",
            f"Rejected lines: {s.rejected_lines}",
        ]
    if s.task == "segment":
        return [
            f"Task: segment. Images: {s.images} ({splits}); polygons: {s.boxes}; "
            f"classes: {s.classes}",
            f"Rejected lines: {s.rejected_lines}; dropped regions: {s.dropped_boxes}",
        ]
    return [
        f"Images: {s.images} ({splits}); boxes: {s.boxes}; classes: {s.classes}",
        f"Rejected lines: {s.rejected_lines}; dropped boxes: {s.dropped_boxes}; "
        f"clamped boxes: {s.clamped_boxes}",
    ]


def report_lines(outcome: PublishRequest) -> list[str]:
    """What the notification says about the (non-fatal) Report step."""
    if outcome.report_error is not None:
        error, cause = readable_cause(outcome.report_error.model_dump())
        return [
            f"Report step failed (the dataset is complete and published): {error}: {cause}",
            "report.html, previews and worker insights were not written for this run.",
        ]
    summary = outcome.report.summary if outcome.report else None
    if summary is None or summary.report_uri is None:
        return []
    workers = f", {summary.workers} labelers" if summary.workers else ""
    return [f"Report: {summary.report_uri} ({summary.previews} previews{workers})"]
