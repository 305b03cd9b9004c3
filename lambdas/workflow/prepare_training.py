"""PrepareTraining: after Publish, whether the version is trained, and the job that trains it.

For a version Publish published, complete (not a live dataset's partial one), of a dataset the
`training` option lists, it:

1. puts the training source tarball (train.py, what it imports, requirements.txt) into the
   bucket under `training/source/<digest>.tar.gz`: the digest is of the bytes, which are the
   same for the same sources (sorted members, no times, no owners), so a deploy that changes
   train.py gives a new key and a job never runs a tarball another deploy half-wrote;
2. answers the CreateTrainingJob request (`workflow.training`), which the state machine's
   `createTrainingJob.sync` step sends as it is.

Anything else is answered `train: false` with the reason (the state machine ends there). Nothing
here reads or writes the dataset.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gt2yolo.storage import ObjectStore, S3Uri
from gt2yolo_config import defaults
from gt2yolo_config.training import TrainingSettings, models_prefix
from pydantic import BaseModel, ConfigDict, Field

from workflow.models import PublishOutcome
from workflow.training import TrainingTarget, training_job_name, training_job_request

TARBALL_MODE = 0o644
DIGEST_LENGTH = 16


@dataclass(frozen=True)
class TrainingDeployment:
    """What the stack says about training: the option, and the job's role, image and key."""

    settings: TrainingSettings
    bucket: str  # the stack's bucket: datasets, the source tarball, models
    role_arn: str
    image: str
    region: str
    kms_key: str | None = None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TrainingPlan(_Model):
    """PrepareTraining's answer (the state's `training`)."""

    train: bool
    reason: str = ""
    dataset: str = ""
    version: str = ""
    task: str = ""
    job_name: str = ""
    models_prefix: str = ""
    source_uri: str = ""
    request: dict[str, Any] = Field(default_factory=dict)


def prepare_training(
    outcome: PublishOutcome,
    deployment: TrainingDeployment,
    bucket: ObjectStore,
    sources: Mapping[str, bytes],
) -> TrainingPlan:
    """The plan for Publish's `outcome`; `bucket`: the stack bucket's root; `sources`: the
    training source files by name (train.py among them)."""
    skipped = _skip_reason(outcome, deployment.settings)
    if skipped is not None:
        return TrainingPlan(train=False, reason=skipped)
    dataset = dataset_name(outcome.dataset_uri)
    version = str(outcome.version)
    tarball = source_tarball(sources)
    key = source_key(tarball)
    bucket.create(key, tarball)  # absent: written; present: the same bytes already
    source_uri = bucket.location(key)
    target = TrainingTarget(
        bucket=S3Uri.parse(outcome.dataset_uri).bucket,
        dataset=dataset,
        version=version,
        task=outcome.summary.task,
        role_arn=deployment.role_arn,
        source_uri=source_uri,
        image=deployment.image,
        region=deployment.region,
        kms_key=deployment.kms_key,
    )
    request = training_job_request(deployment.settings, target)
    return TrainingPlan(
        train=True,
        dataset=dataset,
        version=version,
        task=outcome.summary.task,
        job_name=training_job_name(dataset, version),
        models_prefix=models_prefix(dataset, version),
        source_uri=source_uri,
        request=request,
    )


def _skip_reason(outcome: PublishOutcome, settings: TrainingSettings) -> str | None:
    if not outcome.published:
        return f"nothing new was published ({outcome.reason})"
    if outcome.partial:
        return "a live dataset's partial version is not trained"
    if not outcome.version:
        return "the dataset has no version id"
    dataset = dataset_name(outcome.dataset_uri)
    if not settings.trains(dataset):
        return f"dataset {dataset!r} is not in training.datasets ({', '.join(settings.datasets)})"
    return None


def dataset_name(dataset_uri: str) -> str:
    """`s3://<bucket>/datasets/<name>/` -> `<name>`."""
    key = S3Uri.parse(dataset_uri).key
    return key.removeprefix(defaults.DATASETS_PREFIX).strip("/")


def source_tarball(sources: Mapping[str, bytes]) -> bytes:
    """A gzipped tar of `sources` at its root, the same bytes for the same files: members
    sorted, no modification times, owners or modes of this machine."""
    if defaults.TRAINING_PROGRAM not in sources:
        raise ValueError(f"the training sources lack {defaults.TRAINING_PROGRAM}")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(sources):
            info = tarfile.TarInfo(name)
            info.size = len(sources[name])
            info.mode = TARBALL_MODE
            info.mtime = 0
            archive.addfile(info, io.BytesIO(sources[name]))
    return gzip.compress(raw.getvalue(), mtime=0)


def source_key(tarball: bytes) -> str:
    digest = hashlib.sha256(tarball).hexdigest()[:DIGEST_LENGTH]
    return f"{defaults.TRAINING_SOURCE_PREFIX}{digest}.tar.gz"
