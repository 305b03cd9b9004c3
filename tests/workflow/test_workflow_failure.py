"""The failure notification names the job and the cause, whatever step failed."""

from __future__ import annotations

import json
from typing import Any

from workflow.failure import failure_message


def test_a_lambda_error_cause_is_read_from_its_json() -> None:
    cause = json.dumps({"errorType": "ImageAccessDenied", "errorMessage": "bucket x refused"})
    subject, body, fields = failure_message(
        {"job_name": "pets", "error": {"Error": "ImageAccessDenied", "Cause": cause}}
    )
    assert subject == "YOLO conversion failed: pets"
    assert "Cause: ImageAccessDenied: bucket x refused" in body
    assert "Change the setting or policy named above" in body
    assert fields == {"job_name": "pets", "error": "ImageAccessDenied", "cause": "bucket x refused"}


def test_the_job_name_comes_from_the_event_when_no_step_named_it() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:1:labeling-job/cats"
    _, _, fields = failure_message({"resources": [arn], "error": {"Error": "X", "Cause": "y"}})
    assert fields["job_name"] == "cats" and fields["cause"] == "y"
    _, _, dropped = failure_message({"detail": {"object": {"key": "manifests/a.manifest"}}})
    assert dropped["job_name"] == "manifests/a.manifest"


VERSION = "20261202T081500Z-3fa9c1"
TRAINING_JOB = f"gt2yolo-pets-{VERSION}-0a1b2c3d"


def _after_training(error: dict[str, str]) -> dict[str, Any]:
    """The state the training step's Catch hands NotifyFailure: Publish's outcome, `training`
    (its request built) and the error."""
    return {
        "published": True,
        "dataset_uri": "s3://b/datasets/pets/",
        "job_name": "pets-labels",
        "version": VERSION,
        "training": {
            "train": True,
            "dataset": "pets",
            "version": VERSION,
            "task": "detect",
            "job_name": TRAINING_JOB,
            "models_prefix": f"models/pets/{VERSION}/",
            "request": {
                "TrainingJobName": TRAINING_JOB,
                "OutputDataConfig": {"S3OutputPath": f"s3://b/models/pets/{VERSION}/"},
            },
        },
        "error": error,
    }


def test_a_failed_training_job_says_the_version_is_published_and_why_sagemaker_failed() -> None:
    # Given a `.sync` failure: the cause is DescribeTrainingJob's answer, as JSON
    described = {
        "TrainingJobName": TRAINING_JOB,
        "TrainingJobStatus": "Failed",
        "FailureReason": "AlgorithmError: no data file 'x.yaml' in the dataset channel",
    }
    state = _after_training({"Error": "States.TaskFailed", "Cause": json.dumps(described)})
    # When the failure is told
    subject, body, fields = failure_message(state)
    # Then it is a training failure of the dataset version, which stays published
    assert subject == f"Training failed: pets {VERSION}"
    assert f"Dataset pets version {VERSION} is published and untouched" in body
    assert f"Training job: {TRAINING_JOB}" in body
    # and the cause is the job's status and SageMaker's reason
    assert f"training job {TRAINING_JOB} is Failed: AlgorithmError: no data file" in body
    assert fields["job_name"] == TRAINING_JOB and fields["error"] == "TrainingJobFailed"
    assert "YOLO conversion failed" not in subject and "Rekognition" not in body


def test_a_model_ready_lambda_error_after_training_is_a_training_failure_too() -> None:
    # Given ModelReady failed (a Lambda error: its cause is JSON with errorMessage)
    cause = json.dumps({"errorType": "ModelNotReady", "errorMessage": "no best.pt in x"})
    state = _after_training({"Error": "ModelNotReady", "Cause": cause})
    subject, body, fields = failure_message(state)
    assert subject == f"Training failed: pets {VERSION}"
    assert "Cause: ModelNotReady: no best.pt in x" in body
    assert fields == {
        "job_name": TRAINING_JOB,
        "error": "ModelNotReady",
        "cause": "no best.pt in x",
    }


def test_a_stopped_job_without_a_reason_still_names_its_status() -> None:
    described = {"TrainingJobName": TRAINING_JOB, "TrainingJobStatus": "Stopped"}
    _, body, _ = failure_message(
        _after_training({"Error": "States.TaskFailed", "Cause": json.dumps(described)})
    )
    assert f"training job {TRAINING_JOB} is Stopped: SageMaker gave no failure reason" in body


def test_a_state_with_training_not_yet_requested_keeps_the_earlier_messages() -> None:
    # Given a failure after Publish whose state names training but built no request yet
    state = _after_training({"Error": "X", "Cause": "y"})
    training = dict(state["training"])
    del training["request"]
    subject, _, _ = failure_message(state | {"training": training})
    # Then the message is the one after Publish (RekognitionDatasets), as before
    assert subject.startswith("Rekognition datasets failed")
