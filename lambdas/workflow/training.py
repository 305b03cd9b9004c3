"""The training step's request: one CreateTrainingJob per published version of a listed dataset.

Pure (no AWS SDK): `training_job_request` turns the training settings and one version into the
request the SageMaker API takes, and `training_job_name` names the job. The job:

- runs the pinned PyTorch Deep Learning Container (`gt2yolo_config.training_images`), whose
  SageMaker training toolkit downloads the source tarball (`sagemaker_submit_directory`),
  installs its requirements.txt (where Ultralytics is pinned) and runs `sagemaker_program`;
- reads the whole dataset folder `datasets/<name>/` as the File-mode channel `dataset` (the
  version's entry file `<v>.yaml`, or its folder `files/<v>/` for classification, is the `data`
  hyperparameter, relative to the channel);
- writes its model under `models/<dataset>/<version>/` (SageMaker adds `<job>/output/`), encrypted
  with the stack's key when there is one; with spot, its checkpoints go to `checkpoints/` there;
- reports the metrics train.py prints (`training.metric_lines`, shipped with train.py: the
  function that builds this request carries the `training` package in its code asset).

The name is a function of the dataset and the version only: starting the same version twice
asks for the same job, which SageMaker refuses (ResourceInUse) instead of training it twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from gt2yolo.task_types import YoloTask
from gt2yolo.versions import FILES, VersionFiles, is_version_id
from gt2yolo_config import defaults
from gt2yolo_config.training import TrainingSettings, models_prefix

from training.metric_lines import metric_definitions

CHANNEL = "dataset"  # the input channel: /opt/ml/input/data/dataset (SM_CHANNEL_DATASET)
# SageMaker's TrainingJobName: 1 to 63 characters, ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_JOB_NAME = 63
_DIGEST_LENGTH = 8
PROJECT_TAG = {"Key": "project", "Value": "gt2yolo"}
# The container's variables: Ultralytics' offline switch turns off its usage analytics, crash
# reports and pip auto-updates of missing requirements (the job installs requirements.txt, pinned,
# and sends nothing about the user's data); weights it is asked for are still downloaded.
JOB_ENVIRONMENT = {"YOLO_OFFLINE": "1"}
DATASET_TAG = "gt2yolo:dataset"
VERSION_TAG = "gt2yolo:version"


class TrainingRequestError(ValueError):
    """The version cannot be trained as asked (a dataset not listed, an unknown task, ...)."""


@dataclass(frozen=True)
class TrainingTarget:
    """One published version to train, and where the job's inputs are."""

    bucket: str
    dataset: str
    version: str  # a version id, `20261202T081500Z-3fa9c1`
    task: str  # the version's YOLO task: detect, segment or classify
    role_arn: str  # the SageMaker execution role (stacks.constructs.training.ModelTraining)
    source_uri: str  # s3://.../<tarball>.tar.gz: train.py and its requirements.txt
    image: str  # the training image URI (gt2yolo_config.training_images)
    region: str  # where the job runs (the toolkit downloads the tarball from there)
    kms_key: str | None = None  # the stack's key: the model's encryption


def training_job_name(dataset: str, version: str) -> str:
    """`gt2yolo-<dataset, shortened>-<version>-<digest>`: valid for SageMaker, the same for the
    same version, and distinct for distinct (dataset, version) pairs even when two dataset
    names shorten alike (the digest is of both, whole)."""
    digest = hashlib.sha256(f"{dataset}\0{version}".encode()).hexdigest()[:_DIGEST_LENGTH]
    tail = f"-{_slug(version)}-{digest}"
    room = MAX_JOB_NAME - len(defaults.TRAINING_JOB_PREFIX) - len(tail)
    name = f"{defaults.TRAINING_JOB_PREFIX}{_slug(dataset)[:room].strip('-')}{tail}"
    if not JOB_NAME.fullmatch(name):  # a version id that is not one (checked by the caller)
        raise TrainingRequestError(f"cannot name a training job after {dataset!r} {version!r}")
    return name


def _slug(text: str) -> str:
    """Letters and digits kept, every other run of characters one hyphen."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def training_job_request(settings: TrainingSettings, target: TrainingTarget) -> dict[str, Any]:
    """The CreateTrainingJob request for `target` (boto3's `create_training_job(**request)`)."""
    task = _checked(settings, target)
    prefix = models_prefix(target.dataset, target.version)
    output: dict[str, Any] = {"S3OutputPath": f"s3://{target.bucket}/{prefix}"}
    if target.kms_key:
        output["KmsKeyId"] = target.kms_key
    request: dict[str, Any] = {
        "TrainingJobName": training_job_name(target.dataset, target.version),
        "RoleArn": target.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": target.image,
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_definitions(task),
        },
        "HyperParameters": hyperparameters(settings, target, task),
        "Environment": dict(JOB_ENVIRONMENT),
        "InputDataConfig": [
            {
                "ChannelName": CHANNEL,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{target.bucket}/{defaults.DATASETS_PREFIX}"
                        f"{target.dataset}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        ],
        "OutputDataConfig": output,
        "ResourceConfig": {
            "InstanceType": settings.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "EnableManagedSpotTraining": settings.spot,
        "Tags": [
            PROJECT_TAG,
            {"Key": DATASET_TAG, "Value": target.dataset},
            {"Key": VERSION_TAG, "Value": target.version},
        ],
    }
    if settings.spot:
        # Only with spot: SageMaker refuses MaxWaitTimeInSeconds on an on-demand job.
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings.max_wait_seconds
        request["CheckpointConfig"] = {
            "S3Uri": f"s3://{target.bucket}/{prefix}checkpoints/",
            "LocalPath": defaults.TRAINING_CHECKPOINTS_PATH,
        }
    return request


def hyperparameters(
    settings: TrainingSettings, target: TrainingTarget, task: str
) -> dict[str, str]:
    """What train.py is given (strings: the toolkit decodes each value as JSON when it can,
    and keeps the text itself otherwise), and what makes the toolkit run it."""
    return {
        "model": settings.model,
        "epochs": str(settings.epochs),
        "imgsz": str(settings.imgsz),
        "data": data_path(target.version, task),
        "task": task,
        "onnx": "true" if settings.export_onnx else "false",
        "sagemaker_program": defaults.TRAINING_PROGRAM,
        "sagemaker_submit_directory": target.source_uri,
        "sagemaker_region": target.region,
    }


def data_path(version: str, task: str) -> str:
    """The version's entry, relative to the dataset folder: its YAML (detect, segment) or its
    folder of split folders (classify), as the dataset pointer names it."""
    return f"{FILES}{version}/" if task == YoloTask.CLASSIFY else VersionFiles(version).data_yaml


def _checked(settings: TrainingSettings, target: TrainingTarget) -> str:
    """The target's task, once the target is one the settings and the role let train."""
    if not settings.trains(target.dataset):
        raise TrainingRequestError(
            f"dataset {target.dataset!r} is not in training.datasets "
            f"({', '.join(settings.datasets)}): the execution role may not read it"
        )
    if target.task not in set(YoloTask):
        raise TrainingRequestError(
            f"{target.dataset} {target.version}: task {target.task!r} cannot be trained "
            f"(known: {', '.join(YoloTask)})"
        )
    if not is_version_id(target.version):
        raise TrainingRequestError(f"{target.version!r} is not a dataset version id")
    if not target.source_uri.startswith("s3://") or not target.source_uri.endswith(".tar.gz"):
        raise TrainingRequestError(
            f"the training source {target.source_uri!r} must be an s3:// URI of a .tar.gz"
        )
    return str(target.task)
