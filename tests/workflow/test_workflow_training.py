"""The CreateTrainingJob request of one published version: valid for the SageMaker API model
(botocore), spot and on-demand as SageMaker takes them, a deterministic valid job name per
(dataset, version), and the version's own entry as the training data."""

from __future__ import annotations

import dataclasses
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters
from gt2yolo_config.training import TrainingSettings
from gt2yolo_config.training_images import training_image
from workflow.training import (
    JOB_NAME,
    MAX_JOB_NAME,
    TrainingRequestError,
    TrainingTarget,
    training_job_name,
    training_job_request,
)

from training.metric_lines import metric_regex

VERSION = "20261202T081500Z-3fa9c1"
LATER = "20261203T090000Z-77aa01"
ROLE = "arn:aws:iam::111122223333:role/Gt2Yolo-ModelTrainingRole-ABC"
SOURCE = "s3://stack-bucket/training/source/gt2yolo-train-1.tar.gz"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ON_DEMAND = TrainingSettings(datasets=("parts", "leaves"), epochs=50, imgsz=960)
SPOT = dataclasses.replace(ON_DEMAND, spot=True, max_runtime_hours=8)
TARGET = TrainingTarget(
    bucket="stack-bucket",
    dataset="parts",
    version=VERSION,
    task="detect",
    role_arn=ROLE,
    source_uri=SOURCE,
    image=training_image("eu-west-1", "ml.g5.xlarge"),
    region="eu-west-1",
)
_MODEL = botocore.session.get_session().get_service_model("sagemaker")
_INPUT = _MODEL.operation_model("CreateTrainingJob").input_shape


def _valid(request: dict[str, Any]) -> dict[str, Any]:
    """The request, once botocore's model of CreateTrainingJob accepts it (as the client would
    before sending it: required members, types, lengths, no unknown member)."""
    validate_parameters(request, _INPUT)
    return request


@pytest.mark.parametrize("settings", [ON_DEMAND, SPOT])
@pytest.mark.parametrize("task", ["detect", "segment", "classify"])
@pytest.mark.parametrize("kms_key", [None, KEY])
def test_every_request_validates_against_the_sagemaker_api_model(
    settings: TrainingSettings, task: str, kms_key: str | None
) -> None:
    # Given any mix of spot, task and key; Then botocore's model accepts the request
    target = dataclasses.replace(TARGET, task=task, kms_key=kms_key)
    request = _valid(training_job_request(settings, target))
    # and every hyperparameter is a string, within SageMaker's 2,500 characters
    assert all(isinstance(v, str) and len(v) <= 2500 for v in request["HyperParameters"].values())


def test_a_detect_request_reads_the_dataset_and_writes_under_models() -> None:
    request = _valid(training_job_request(ON_DEMAND, TARGET))
    # The whole dataset folder is the one File-mode channel
    assert request["InputDataConfig"] == [
        {
            "ChannelName": "dataset",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://stack-bucket/datasets/parts/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
        }
    ]
    # The model goes under models/<dataset>/<version>/, without a key when there is none
    assert request["OutputDataConfig"] == {
        "S3OutputPath": f"s3://stack-bucket/models/parts/{VERSION}/"
    }
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 50,
    }
    assert request["RoleArn"] == ROLE
    assert request["AlgorithmSpecification"]["TrainingImage"] == (
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
        "pytorch-training:2.8.0-gpu-py312-cu129-ubuntu22.04-sagemaker"
    )
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert {"Key": "gt2yolo:dataset", "Value": "parts"} in request["Tags"]
    assert {"Key": "gt2yolo:version", "Value": VERSION} in request["Tags"]


def test_the_hyperparameters_run_train_py_from_the_tarball_on_the_versions_yaml() -> None:
    request = training_job_request(ON_DEMAND, TARGET)
    assert request["HyperParameters"] == {
        "model": "yolo11n.pt",
        "epochs": "50",
        "imgsz": "960",
        "data": f"{VERSION}.yaml",
        "task": "detect",
        "onnx": "false",
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": SOURCE,
        "sagemaker_region": "eu-west-1",
    }


def test_a_classification_version_trains_on_its_folder_of_splits() -> None:
    # Given a classification version (no YAML: a folder per split)
    request = training_job_request(ON_DEMAND, dataclasses.replace(TARGET, task="classify"))
    # Then the data is the version's files folder, and the metrics are top1/top5
    assert request["HyperParameters"]["data"] == f"files/{VERSION}/"
    assert request["HyperParameters"]["task"] == "classify"
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "top1", "Regex": metric_regex("top1")},
        {"Name": "top5", "Regex": metric_regex("top5")},
    ]


def test_detect_reports_box_metrics_and_segment_mask_metrics_too() -> None:
    box = ["mAP50", "mAP50-95", "precision", "recall"]
    expected = {"detect": box, "segment": [*box, *(f"mask_{name}" for name in box)]}
    for task, metrics in expected.items():
        request = training_job_request(ON_DEMAND, dataclasses.replace(TARGET, task=task))
        names = [d["Name"] for d in request["AlgorithmSpecification"]["MetricDefinitions"]]
        assert names == metrics
        assert request["HyperParameters"]["data"] == f"{VERSION}.yaml"


def test_an_on_demand_job_has_no_spot_wait_and_no_checkpoints() -> None:
    request = _valid(training_job_request(ON_DEMAND, TARGET))
    assert request["EnableManagedSpotTraining"] is False
    # SageMaker refuses MaxWaitTimeInSeconds unless EnableManagedSpotTraining is true
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 8 * 3600}
    assert "CheckpointConfig" not in request


def test_a_spot_job_waits_at_least_its_runtime_and_checkpoints_under_its_model() -> None:
    request = _valid(training_job_request(SPOT, TARGET))
    assert request["EnableManagedSpotTraining"] is True
    stopping = request["StoppingCondition"]
    assert stopping["MaxRuntimeInSeconds"] == 8 * 3600
    assert stopping["MaxWaitTimeInSeconds"] >= stopping["MaxRuntimeInSeconds"]
    assert request["CheckpointConfig"] == {
        "S3Uri": f"s3://stack-bucket/models/parts/{VERSION}/checkpoints/",
        "LocalPath": "/opt/ml/checkpoints",
    }


def test_with_the_stack_key_the_model_is_encrypted_with_it() -> None:
    request = _valid(training_job_request(ON_DEMAND, dataclasses.replace(TARGET, kms_key=KEY)))
    assert request["OutputDataConfig"]["KmsKeyId"] == KEY


@pytest.mark.parametrize(
    "dataset",
    [
        "parts",
        "a",
        "x" * 128,  # the longest dataset name
        "parts_2024.v1",  # characters a job name cannot hold
        "9-lives",
        "a.b_c--d",
    ],
)
def test_job_names_fit_sagemakers_pattern_and_length(dataset: str) -> None:
    name = training_job_name(dataset, VERSION)
    assert JOB_NAME.fullmatch(name), name
    assert len(name) <= MAX_JOB_NAME
    assert name.startswith("gt2yolo-")
    # and botocore's model accepts it in a request
    settings = TrainingSettings(datasets=(dataset,))
    _valid(training_job_request(settings, dataclasses.replace(TARGET, dataset=dataset)))


def test_job_names_are_the_same_for_a_version_and_distinct_across_versions_and_datasets() -> None:
    # Given the same version twice, two versions, and datasets that shorten alike
    assert training_job_name("parts", VERSION) == training_job_name("parts", VERSION)
    names = {
        training_job_name(dataset, version)
        for dataset in ("parts", "parts.v2", "parts_v2", "parts-v2", "x" * 127 + "a", "x" * 128)
        for version in (VERSION, LATER)
    }
    # Then every (dataset, version) has its own name
    assert len(names) == 12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": "nuts"}, "not in training.datasets"),
        ({"task": "pose"}, "cannot be trained"),
        ({"version": "v0002"}, "not a dataset version id"),
        ({"source_uri": "https://example.com/src.tar.gz"}, "s3:// URI of a .tar.gz"),
        ({"source_uri": "s3://stack-bucket/training/source/train.zip"}, ".tar.gz"),
    ],
)
def test_a_target_the_settings_do_not_train_is_refused(
    change: dict[str, str], message: str
) -> None:
    with pytest.raises(TrainingRequestError, match=message):
        training_job_request(ON_DEMAND, dataclasses.replace(TARGET, **change))


def test_the_job_runs_ultralytics_offline_sending_no_analytics() -> None:
    # Ultralytics' usage analytics, crash reports and pip auto-updates are off in the job
    request = _valid(training_job_request(ON_DEMAND, TARGET))
    assert request["Environment"] == {"YOLO_OFFLINE": "1"}
