"""Resolve: an EventBridge event -> what to convert (or why to skip).

Two events start a conversion:
- a Ground Truth labeling-job state change: the job name is only in `resources[0]`; everything
  else comes from DescribeLabelingJob (never build the manifest path by hand);
- an `Object Created` for `manifests/<name>.manifest` in the bucket: no SageMaker call at all,
  for existing manifests (Ground Truth takes no new customers). A sidecar `<name>.manifest.json`
  may carry the label attribute and label config.

A third, the live sweep's tick (`workflow.live`), asks for a partial dataset of a job still in
progress, from its newest intermediate manifest, under the name its final dataset will have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from gt2yolo.collection import CollectionDefinition, collection_of_job, collection_of_manifest
from gt2yolo.errors import ConversionError
from gt2yolo.nesting import loads_bounded
from gt2yolo.task_types import UnsupportedTask, task_of_pre_annotation_lambda

from workflow.errors import ResolveError
from workflow.models import ConversionRequest, Skip
from workflow.sources import SourceBuckets

JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"
OBJECT_CREATED = "Object Created"
# The live sweep's state machine input (never on a bus: the sweep starts executions itself).
LIVE_SOURCE = "gt2yolo.live"
LIVE_TICK = "Live Dataset Tick"
IN_PROGRESS = "InProgress"
INTERMEDIATE_FOLDER = "manifests/intermediate/"  # <S3OutputPath>/<job>/manifests/intermediate/<n>/
INTERMEDIATE_NAME = "output.manifest"
JOB_ARN_MARKER = ":labeling-job/"
MANIFEST_SUFFIX = ".manifest"
SIDECAR_SUFFIX = ".json"
INTAKE_FOLDER = "input/"  # manifests/input/ holds intake manifests, not conversion requests


class LabelingJobs(Protocol):
    def describe(self, job_name: str) -> dict[str, Any]: ...


class ObjectReader(Protocol):
    def read_if_exists(self, bucket: str, key: str) -> bytes | None: ...


@dataclass(frozen=True)
class ResolveSettings:
    bucket: str
    job_name_prefix: str = ""
    convert_stopped_jobs: bool = False
    manifests_prefix: str = "manifests/"
    # Datasets fed by many jobs and dropped manifests (context `collections`).
    collections: tuple[CollectionDefinition, ...] = ()
    # Other buckets (or prefixes) jobs wrote their output to: `sourceBuckets`.
    sources: SourceBuckets = field(default_factory=SourceBuckets)

    @property
    def statuses(self) -> frozenset[str]:
        return frozenset({"Completed", "Stopped"} if self.convert_stopped_jobs else {"Completed"})

    def watches(self, job_name: str) -> bool:
        """Whether the stack converts this job at all (the rule's `resources` prefix)."""
        return job_name.startswith(self.job_name_prefix)


def in_bucket(uri: str, bucket: str) -> bool:
    """Whether an S3 URI names an object of the stack's bucket (the only one it reads)."""
    return uri.startswith(f"s3://{bucket}/")


def job_folder(job: dict[str, Any]) -> str:
    """`<S3OutputPath>/<job name>/`: where Ground Truth writes everything of the job."""
    output_path = str((job.get("OutputConfig") or {}).get("S3OutputPath") or "")
    if not output_path:
        return ""
    return f"{output_path.rstrip('/')}/{job['LabelingJobName']}/"


def resolve_event(
    event: dict[str, Any], settings: ResolveSettings, jobs: LabelingJobs, objects: ObjectReader
) -> ConversionRequest | Skip:
    detail_type = event.get("detail-type")
    if detail_type == JOB_STATE_CHANGE:
        return resolve_labeling_job(event, settings, jobs)
    if detail_type == OBJECT_CREATED:
        return resolve_manifest_drop(event, settings, objects)
    if detail_type == LIVE_TICK:
        return resolve_live_tick(event, settings, jobs)
    raise ResolveError(f"unexpected event detail-type {detail_type!r}")


def job_name_from_event(event: dict[str, Any]) -> str:
    resources = event.get("resources") or []
    arn = resources[0] if resources else ""
    if JOB_ARN_MARKER not in arn:
        raise ResolveError(f"event has no labeling-job ARN in resources: {resources!r}")
    return arn.split(JOB_ARN_MARKER, 1)[1]


def resolve_labeling_job(
    event: dict[str, Any], settings: ResolveSettings, jobs: LabelingJobs
) -> ConversionRequest | Skip:
    job_name = job_name_from_event(event)
    if not settings.watches(job_name):
        return Skip(reason=f"job name lacks prefix {settings.job_name_prefix!r}", job_name=job_name)
    job = jobs.describe(job_name)
    status = job.get("LabelingJobStatus", "")
    if status not in settings.statuses:
        # The event may be a duplicate or stale; DescribeLabelingJob is the source of truth.
        return Skip(reason=f"job status is {status}", job_name=job_name)
    manifest_uri = (job.get("LabelingJobOutput") or {}).get("OutputDatasetS3Uri")
    if not manifest_uri:
        if status == "Stopped":
            return Skip(reason="stopped job has no output manifest", job_name=job_name)
        raise ResolveError(f"job {job_name} is {status} but has no LabelingJobOutput")
    _require_in_bucket(manifest_uri, settings, "output manifest")
    request = _job_request(job_name, job, manifest_uri, settings, partial=False)
    if isinstance(request, Skip):
        return request
    definition = _guarded(lambda: collection_of_job(settings.collections, job_name))
    completed_at = _timestamp(job.get("LastModifiedTime")) or _timestamp(event.get("time"))
    return _as_member(request, definition, completed_at)


def resolve_live_tick(
    event: dict[str, Any], settings: ResolveSettings, jobs: LabelingJobs
) -> ConversionRequest | Skip:
    """A partial dataset of a job in progress, if it still is: its final conversion belongs to
    the Completed event, which must not be overtaken by labels so far."""
    detail = event.get("detail") or {}
    job_name = str(detail.get("job_name") or "")
    manifest_uri = str(detail.get("manifest_uri") or "")
    if not settings.watches(job_name):
        return Skip(reason=f"job name lacks prefix {settings.job_name_prefix!r}", job_name=job_name)
    job = jobs.describe(job_name)
    status = job.get("LabelingJobStatus", "")
    if _guarded(lambda: collection_of_job(settings.collections, job_name)) is not None:
        # A collection grows by whole members: labels so far of one job would replace the
        # member's lines in every image it shares, and publish them as the collection.
        return Skip(
            reason="job is a member of a collection: no live dataset, the collection grows "
            "when the job completes",
            job_name=job_name,
        )
    if status != IN_PROGRESS:
        return Skip(
            reason=f"job status is {status}: no live dataset, the job's final conversion "
            "follows its state change",
            job_name=job_name,
        )
    _require_intermediate_manifest(manifest_uri, job)
    _require_in_bucket(manifest_uri, settings, "intermediate manifest")
    return _job_request(job_name, job, manifest_uri, settings, partial=True)


def _require_intermediate_manifest(manifest_uri: str, job: dict[str, Any]) -> None:
    """The tick may name only one of the job's own intermediate manifests."""
    folder = job_folder(job) + INTERMEDIATE_FOLDER
    iteration = manifest_uri.removeprefix(folder).removesuffix("/" + INTERMEDIATE_NAME)
    if not manifest_uri.startswith(folder) or not is_iteration(iteration):
        raise ResolveError(
            f"{manifest_uri} is not an intermediate manifest of job {job['LabelingJobName']} "
            f"({folder}<n>/{INTERMEDIATE_NAME})"
        )


def _job_request(
    job_name: str,
    job: dict[str, Any],
    manifest_uri: str,
    settings: ResolveSettings,
    *,
    partial: bool,
) -> ConversionRequest | Skip:
    """What DescribeLabelingJob says about how to read the job's manifest."""
    try:
        task = task_of_pre_annotation_lambda(
            (job.get("HumanTaskConfig") or {}).get("PreHumanTaskLambdaArn")
        )
    except UnsupportedTask as unsupported:
        return Skip(reason=str(unsupported), job_name=job_name)
    config_uri = job.get("LabelCategoryConfigS3Uri")
    if config_uri:
        _require_in_bucket(config_uri, settings, "label category config")
    return ConversionRequest(
        source="labeling-job",
        # The final conversion's name: a live dataset is the same dataset, earlier.
        job_name=job_name,
        dataset_name=job_name,
        manifest_uri=manifest_uri,
        label_attribute=job.get("LabelAttributeName"),
        label_config_uri=config_uri,
        task=None if task is None else str(task),
        job_status=job.get("LabelingJobStatus"),
        label_counters=job.get("LabelCounters"),
        partial=partial,
    )


def resolve_manifest_drop(
    event: dict[str, Any], settings: ResolveSettings, objects: ObjectReader
) -> ConversionRequest | Skip:
    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name")
    key = (detail.get("object") or {}).get("key")
    if bucket != settings.bucket or not isinstance(key, str):
        raise ResolveError(f"object event for another bucket or without key: {bucket}/{key}")
    key = _existing_key(bucket, key, objects)
    name = _dataset_name(key, settings.manifests_prefix)
    if name is None:
        return Skip(reason=f"{key} is not a manifest to convert")
    sidecar = _read_sidecar(bucket, key, objects)
    config_uri = sidecar.get("label_config")
    if isinstance(config_uri, str):
        _require_in_bucket(config_uri, settings, "label config named in the sidecar")
    definition = _guarded(lambda: collection_of_manifest(settings.collections, key))
    request = ConversionRequest(
        source="manifest-drop",
        job_name=name,
        dataset_name=name,
        manifest_uri=f"s3://{bucket}/{key}",
        label_attribute=sidecar.get("label_attribute"),
        label_config_uri=config_uri if isinstance(config_uri, str) else None,
        verification_attribute=sidecar.get("verification_attribute"),
        accepted_verdicts=sidecar.get("accepted_verdicts") or ["good"],
    )
    # A dropped manifest completes when it lands (the event's time: S3's LastModified).
    return _as_member(request, definition, _timestamp(event.get("time")))


def _as_member(
    request: ConversionRequest, definition: CollectionDefinition | None, completed_at: str | None
) -> ConversionRequest:
    """A member of a collection converts into the collection's dataset, with the others."""
    if definition is None:
        return request
    return request.model_copy(
        update={
            "dataset_name": definition.name,
            "collection": definition.as_context(),
            # Orders the members (the last one completed wins an image labeled twice).
            "completed_at": completed_at or _timestamp(datetime.now(UTC)),
        }
    )


def _guarded(find: Callable[[], CollectionDefinition | None]) -> CollectionDefinition | None:
    """A job or manifest two collections claim is a configuration error, named as such."""
    try:
        return find()
    except ConversionError as exc:
        raise ResolveError(str(exc)) from None


def _timestamp(value: object) -> str | None:
    """ISO 8601 in UTC, from DescribeLabelingJob's datetime or an event's `time` text."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if isinstance(value, str) and value:
        try:
            return _timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _existing_key(bucket: str, key: str, objects: ObjectReader) -> str:
    """S3 notifications for Lambda/SQS URL-encode keys; EventBridge's do not. Accept both."""
    decoded = unquote_plus(key)
    if decoded != key and objects.read_if_exists(bucket, key) is None:
        return decoded
    return key


def _dataset_name(key: str, prefix: str) -> str | None:
    if not key.startswith(prefix) or not key.endswith(MANIFEST_SUFFIX):
        return None
    relative = key[len(prefix) : -len(MANIFEST_SUFFIX)]
    if not relative or relative.startswith(INTAKE_FOLDER):
        return None
    return relative


def _read_sidecar(bucket: str, key: str, objects: ObjectReader) -> dict[str, Any]:
    raw = objects.read_if_exists(bucket, key + SIDECAR_SUFFIX)
    if raw is None:
        return {}
    try:
        sidecar = loads_bounded(raw)
    except (UnicodeDecodeError, ValueError) as exc:  # NestedTooDeep too
        raise ResolveError(
            f"sidecar s3://{bucket}/{key}{SIDECAR_SUFFIX} is not JSON: {exc}"
        ) from None
    if not isinstance(sidecar, dict):
        raise ResolveError(f"sidecar s3://{bucket}/{key}{SIDECAR_SUFFIX} must be a JSON object")
    return sidecar


def _require_in_bucket(uri: str, settings: ResolveSettings, what: str) -> None:
    """The stack reads its own bucket and the `sourceBuckets` entries (see workflow.sources)."""
    problem = settings.sources.problem(uri, settings.bucket, what)
    if problem:
        raise ResolveError(problem)


def is_iteration(folder: str) -> bool:
    """An intermediate folder's name: a decimal number (ASCII digits, as Ground Truth counts)."""
    return folder.isascii() and folder.isdigit()
