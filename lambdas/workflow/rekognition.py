"""RekognitionDatasets: a published version becomes the TRAIN and TEST datasets of a Rekognition
Custom Labels project (the `rekognitionProject` context value).

A project holds one dataset of each type. Each published version is the whole labeled set (a
collection's version is the union of its members), so the project's datasets are *replaced*,
not extended: the dataset of a type that exists is deleted (DeleteDataset), and once it is gone
(DescribeProjects no longer lists it) the new one is created from the version's root manifest
(CreateDataset, GroundTruthManifest). UpdateDatasetEntries cannot say the same: it only adds or
updates lines by `source-ref`, so an image rejected, relabeled into another split, or left out
of a collection would stay in the project (and could end up in both TRAIN and TEST).

Deleting and creating take a while on Rekognition's side, so the step is a reconciliation that
the state machine calls again after a wait until it reports `done`: each call looks at the
project, takes the next action for each type, and carries what it created (`created`) to the
next call. A dataset it created that fails (CREATE_FAILED) fails the step; the dataset bucket is
never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gt2yolo_config import defaults
from pydantic import BaseModel, ConfigDict, Field

from workflow.models import PublishOutcome

EXPORT = "rekognition"  # the export whose root manifests become the datasets
# Dataset type -> the export's file (`<version>.rekognition.<file>` at the dataset's root).
MANIFEST_FILES = {"TRAIN": "train.manifest", "TEST": "test.manifest"}
DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
# A dataset of ours is usable in either (UPDATE_*: someone added entries while we waited).
COMPLETE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
# While a dataset is being created or updated it cannot be deleted (DeleteDataset's docs).
BUSY = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", DELETE_IN_PROGRESS})
DEFAULT_POLL_SECONDS = defaults.REKOGNITION_POLL_SECONDS
DEFAULT_MAX_POLLS = defaults.REKOGNITION_MAX_POLLS


class RekognitionDatasetFailed(Exception):
    """A dataset could not be created from the version's manifest (its error names the type, the
    manifest and Rekognition's status message)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class DatasetState:
    """A dataset as DescribeProjects / DescribeDataset show it."""

    arn: str
    status: str
    status_message: str = ""
    entries: int | None = None  # DatasetStats.TotalEntries, once described
    error_entries: int | None = None  # DatasetStats.ErrorEntries (lines Rekognition refused)


class CustomLabels(Protocol):
    """The Rekognition Custom Labels operations the step uses."""

    def datasets(self, project_arn: str) -> dict[str, DatasetState]:
        """The project's datasets, by type (DescribeProjects)."""
        ...

    def create(self, project_arn: str, dataset_type: str, bucket: str, key: str) -> str:
        """CreateDataset from a Ground Truth format manifest; the new dataset's ARN."""
        ...

    def delete(self, dataset_arn: str) -> None: ...

    def describe(self, dataset_arn: str) -> DatasetState: ...


@dataclass(frozen=True)
class RekognitionSettings:
    project_arn: str
    poll_seconds: int = DEFAULT_POLL_SECONDS
    max_polls: int = DEFAULT_MAX_POLLS


class CreatedDataset(_Model):
    arn: str
    manifest_uri: str
    entries: int | None = None
    error_entries: int | None = None


class RekognitionProgress(_Model):
    """The step's answer; the state machine keeps it under `$.rekognition.summary` and passes it
    back on the next call."""

    project_arn: str
    done: bool
    wait_seconds: int = 0  # how long the state machine waits before calling again
    polls: int = 0
    created: dict[str, str] = Field(default_factory=dict)  # type -> ARN made by this execution
    replaced: list[str] = Field(default_factory=list)  # ARNs of the datasets deleted
    datasets: dict[str, CreatedDataset] = Field(default_factory=dict)  # when done
    skipped: str | None = None


class RekognitionStep(_Model):
    summary: RekognitionProgress


class RekognitionRequest(PublishOutcome):
    """Publish's answer, plus the previous call's progress (absent on the first call)."""

    rekognition: RekognitionStep | None = None


def sync_datasets(
    request: RekognitionRequest, labels: CustomLabels, settings: RekognitionSettings
) -> RekognitionProgress:
    """One reconciliation pass: the next action for each dataset type of the project."""
    skipped = _skip_reason(request)
    if skipped is not None:
        return RekognitionProgress(project_arn=settings.project_arn, done=True, skipped=skipped)
    previous = request.rekognition.summary if request.rekognition else None
    polls = previous.polls + 1 if previous else 0
    if polls > settings.max_polls:
        raise RekognitionDatasetFailed(
            f"project {settings.project_arn}: the datasets were not ready after {polls - 1} "
            f"checks {settings.poll_seconds} s apart"
        )
    created = dict(previous.created) if previous else {}
    replaced = list(previous.replaced) if previous else []
    wanted = manifests_of(request)
    current = labels.datasets(settings.project_arn)
    ready: dict[str, CreatedDataset] = {}
    for dataset_type, manifest in wanted.items():
        state = current.get(dataset_type)
        if dataset_type in created:
            made = _created_state(labels, dataset_type, created[dataset_type], state, manifest)
            if made is not None:
                ready[dataset_type] = made
        elif state is not None:
            # Another dataset (an earlier version's): replace it once Rekognition lets us.
            if state.status not in BUSY:
                labels.delete(state.arn)
                replaced.append(state.arn)
        elif manifest is not None:
            bucket, key = _bucket_key(manifest)
            created[dataset_type] = labels.create(settings.project_arn, dataset_type, bucket, key)
    finished = [t for t, m in wanted.items() if t in ready or (m is None and t not in current)]
    done = len(finished) == len(wanted)
    return RekognitionProgress(
        project_arn=settings.project_arn,
        done=done,
        wait_seconds=0 if done else settings.poll_seconds,
        polls=polls,
        created=created,
        replaced=replaced,
        datasets=ready if done else {},
    )


def _skip_reason(request: RekognitionRequest) -> str | None:
    if not request.published:
        return f"nothing was published ({request.reason})"
    if request.partial:
        return "a partial (live) dataset: only complete versions become Rekognition datasets"
    if EXPORT not in request.summary.exports:
        return f"version {request.version} has no {EXPORT} export (task {request.summary.task})"
    return None


def manifests_of(request: PublishOutcome) -> dict[str, str | None]:
    """Dataset type -> the version's root manifest (`<dataset>/<version>.rekognition.<file>`),
    or None when the version has no image for it (that type is then left without a dataset)."""
    files = request.summary.exports.get(EXPORT, {})
    return {
        dataset_type: f"{request.dataset_uri}{request.version}.{EXPORT}.{name}"
        if files.get(name, 0) > 0
        else None
        for dataset_type, name in MANIFEST_FILES.items()
    }


def _created_state(
    labels: CustomLabels,
    dataset_type: str,
    arn: str,
    listed: DatasetState | None,
    manifest: str | None,
) -> CreatedDataset | None:
    """The dataset this execution created, if it is complete; None while it is being created."""
    if listed is not None and listed.arn == arn and listed.status in BUSY:
        return None
    state = labels.describe(arn)
    if state.status in BUSY:
        return None
    if state.status not in COMPLETE:
        raise RekognitionDatasetFailed(
            f"the {dataset_type} dataset {arn} from {manifest} is {state.status}: "
            f"{state.status_message or 'Rekognition gives no reason'}"
        )
    return CreatedDataset(
        arn=arn,
        manifest_uri=manifest or "",
        entries=state.entries,
        error_entries=state.error_entries,
    )


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key
