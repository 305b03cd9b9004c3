"""StartLabelingJob's two functions: prepare (manifest, labels, template, request) and create.

CreateLabelingJob is answered by a botocore Stubber, which checks the request against the
SageMaker API model (names, patterns, required fields, value ranges) before answering.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gt2yolo.labeling_job import LabelingJobError

from localrun.lambda_events import object_created_event, sqs_event

LABELS = ["car", "truck", "bus"]
JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/cars-1"


def _dropped(intake, bucket, names: list[str], dataset: str = "cars") -> None:
    events = []
    for name in names:
        key = f"images/{dataset}/{name}"
        bucket.put(key, b"\xff\xd8 jpeg")
        events.append(object_created_event(bucket.name, key, 7))
    intake(sqs_event(events))


def test_a_job_is_built_from_the_current_manifest_and_created_as_built(
    intake, prepare_job, create_job, sagemaker, bucket
) -> None:
    # Given two images dropped into "cars"
    _dropped(intake, bucket, ["a.jpg", "b.jpg"])
    # When the state machine's input asks for a job with three labels
    prepared = prepare_job({"dataset": "cars", "labels": LABELS, "job_name": "cars-1"})
    # Then the request points at the dataset's manifest, the groundtruth/ output, the files
    # written for this job, and the region's built-in bounding-box Lambdas
    request = prepared["request"]
    assert prepared["images"] == 2
    assert request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] == bucket.uri(
        "manifests/input/cars.manifest"
    )
    assert request["OutputConfig"]["S3OutputPath"] == bucket.uri("groundtruth/")
    assert request["LabelAttributeName"] == "cars-1-boxes"
    task = request["HumanTaskConfig"]
    assert task["PreHumanTaskLambdaArn"] == (
        "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox"
    )
    config_key = "manifests/input/jobs/cars-1/label-categories.json"
    assert request["LabelCategoryConfigS3Uri"] == bucket.uri(config_key)
    assert json.loads(bucket.read(config_key))["labels"] == [{"label": label} for label in LABELS]
    template_key = "manifests/input/jobs/cars-1/worker-task-template.liquid.html"
    assert task["UiConfig"]["UiTemplateS3Uri"] == bucket.uri(template_key)
    assert b"<crowd-bounding-box" in bucket.read(template_key)
    # And create sends exactly that request (validated against the SageMaker model)
    sagemaker.stubber.add_response("create_labeling_job", {"LabelingJobArn": JOB_ARN}, request)
    started = create_job(prepared)
    assert started["job_arn"] == JOB_ARN
    assert started["label_attribute"] == "cars-1-boxes"


def test_prepare_brings_the_manifest_up_to_date_before_counting(
    intake, prepare_job, bucket
) -> None:
    # Given registered images whose manifest was lost (deleted by hand)
    _dropped(intake, bucket, ["a.jpg", "b.jpg", "c.png"])
    bucket.client.delete_object(Bucket=bucket.name, Key="manifests/input/cars.manifest")
    # When a job is prepared
    prepared = prepare_job({"dataset": "cars", "labels": LABELS})
    # Then the manifest was materialized again from the registry
    assert prepared["images"] == 3
    assert len(bucket.read("manifests/input/cars.manifest").decode().splitlines()) == 3


def test_the_default_job_name_starts_with_the_job_name_prefix(
    intake, prepare_job, bucket, monkeypatch
) -> None:
    monkeypatch.setenv("JOB_NAME_PREFIX", "yolo-")
    _dropped(intake, bucket, ["a.jpg"], dataset="Street_Scenes")
    prepared = prepare_job({"dataset": "Street_Scenes", "labels": LABELS})
    assert prepared["job_name"].startswith("yolo-street-scenes-")


def _refusal(prepare_job, event: dict[str, Any]) -> str:
    with pytest.raises(LabelingJobError) as refused:
        prepare_job(event)
    return str(refused.value)


def test_a_dataset_without_images_is_refused(intake, prepare_job, bucket) -> None:
    # Nothing dropped: the materialized manifest is empty
    assert "cars.manifest is empty: drop images under images/cars/ first" in _refusal(
        prepare_job, {"dataset": "cars", "labels": LABELS}
    )
    # A blank manifest put there by hand (the registry knows nothing newer) is empty too
    bucket.put("manifests/input/cars.manifest", "\n\n")
    assert "is empty: drop images under images/cars/ first" in _refusal(
        prepare_job, {"dataset": "cars", "labels": LABELS}
    )


def test_a_missing_work_team_is_refused_before_anything_is_written(
    intake, prepare_job, bucket, monkeypatch
) -> None:
    _dropped(intake, bucket, ["a.jpg"])
    monkeypatch.setenv("WORKTEAM_ARN", "")
    before = bucket.keys()
    assert "no work team" in _refusal(prepare_job, {"dataset": "cars", "labels": LABELS})
    assert bucket.keys() == before


def test_more_than_fifty_labels_are_refused(intake, prepare_job, bucket) -> None:
    _dropped(intake, bucket, ["a.jpg"])
    labels = [f"class-{i}" for i in range(51)]
    assert "at most 50" in _refusal(prepare_job, {"dataset": "cars", "labels": labels})


def test_a_region_without_built_in_task_lambdas_is_refused(
    intake, prepare_job, bucket, monkeypatch
) -> None:
    _dropped(intake, bucket, ["a.jpg"])
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    monkeypatch.setenv(
        "WORKTEAM_ARN", "arn:aws:sagemaker:eu-north-1:123456789012:workteam/private-crowd/x"
    )
    message = _refusal(prepare_job, {"dataset": "cars", "labels": LABELS})
    assert "eu-north-1" in message
    assert "no built-in Ground Truth bounding-box Lambdas" in message


def test_sagemakers_refusal_is_a_labeling_job_error_with_its_reason(
    intake, prepare_job, create_job, sagemaker, bucket
) -> None:
    _dropped(intake, bucket, ["a.jpg"])
    prepared = prepare_job({"dataset": "cars", "labels": LABELS, "job_name": "cars-1"})
    sagemaker.stubber.add_client_error(
        "create_labeling_job",
        service_error_code="ValidationException",
        service_message="Workteam arn ... does not exist",
        http_status_code=400,
    )
    with pytest.raises(LabelingJobError, match=r"refused labeling job cars-1.*does not exist"):
        create_job(prepared)


def test_an_unknown_input_field_is_refused(prepare_job) -> None:
    # A typo in the execution input must not silently start a job without it.
    with pytest.raises(ValueError, match="workteam"):
        prepare_job({"dataset": "cars", "labels": LABELS, "workteam": "x"})
