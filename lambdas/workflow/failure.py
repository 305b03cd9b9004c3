"""Failure notification: a readable cause from the Step Functions error of any step."""

from __future__ import annotations

import json
from typing import Any

from gt2yolo_config import defaults

from workflow.resolve import JOB_ARN_MARKER

# What to do before converting again, by error type (default: the input is at fault).
FIXES = {"ImageAccessDenied": "Change the setting or policy named above (then redeploy)"}


def job_name_of(state: dict[str, Any]) -> str:
    """The job or dataset name, from whatever the failing step had as input."""
    for key in ("job_name", "dataset_name"):
        if isinstance(state.get(key), str):
            return str(state[key])
    resources = state.get("resources") or []
    if resources and JOB_ARN_MARKER in str(resources[0]):
        return str(resources[0]).split(JOB_ARN_MARKER, 1)[1]
    drop = ((state.get("detail") or {}).get("object") or {}).get("key")
    return str(drop) if drop else "unknown"


def readable_cause(error: dict[str, Any]) -> tuple[str, str]:
    """(error type, message) from `{"Error": ..., "Cause": ...}`; Lambda causes are JSON."""
    error_type = str(error.get("Error", "Error"))
    cause = error.get("Cause", "")
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed.get("errorType", error_type)), str(parsed["errorMessage"])
    return error_type, str(cause)[:2000]


def failure_message(state: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    job_name = job_name_of(state)
    error_type, message = readable_cause(state.get("error") or {})
    training = state.get("training")
    if isinstance(training, dict) and isinstance(training.get("request"), dict):
        return _training_failed(state, training, error_type, message)
    if state.get("published") is True:
        return _after_publish(state, job_name, error_type, message)
    subject = f"YOLO conversion failed: {job_name}"[:100]
    fix = FIXES.get(error_type, "Fix the input")
    body = "\n".join([
        f"Converting {job_name} failed; no dataset was published (no _SUCCESS).",
        f"Cause: {error_type}: {message}",
        f"{fix} and re-drop the manifest under manifests/, or re-send the job event.",
    ])  # fmt: skip
    return subject, body, {"job_name": job_name, "error": error_type, "cause": message}


def _after_publish(
    state: dict[str, Any], job_name: str, error_type: str, message: str
) -> tuple[str, str, dict[str, str]]:
    """A step after Publish failed (RekognitionDatasets): the dataset itself is published."""
    subject = f"Rekognition datasets failed: {job_name}"[:100]
    body = "\n".join([
        f"Dataset {state.get('dataset_uri')} version {state.get('version')} is published "
        "(its Dataset Ready message was sent); creating the Rekognition Custom Labels datasets "
        "from it failed.",
        f"Cause: {error_type}: {message}",
        "The project may now lack a TRAIN or TEST dataset: create them from the version's "
        "manifests (<version>.rekognition.train.manifest, .test.manifest) with CreateDataset, "
        "or publish a new version.",
    ])  # fmt: skip
    return subject, body, {"job_name": job_name, "error": error_type, "cause": message}


def training_cause(error: dict[str, Any]) -> tuple[str, str] | None:
    """(status, reason) of a SageMaker `.sync` failure, whose Cause is DescribeTrainingJob's
    answer as JSON; None for any other cause."""
    cause = error.get("Cause", "")
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        return None
    if not isinstance(parsed, dict) or "TrainingJobStatus" not in parsed:
        return None
    reason = parsed.get("FailureReason") or "SageMaker gave no failure reason"
    return str(parsed["TrainingJobStatus"]), str(reason)[:2000]


def _training_failed(
    state: dict[str, Any], training: dict[str, Any], error_type: str, message: str
) -> tuple[str, str, dict[str, str]]:
    """The training job (or Model Ready after it) failed: the dataset version is published."""
    dataset = str(training.get("dataset") or job_name_of(state))
    version = str(training.get("version") or state.get("version") or "")
    request = training["request"]
    job = str(training.get("job_name") or request.get("TrainingJobName") or "unknown")
    error = state.get("error") or {}
    sagemaker = training_cause(error) if isinstance(error, dict) else None
    if sagemaker is not None:
        status, reason = sagemaker
        error_type, message = f"TrainingJob{status}", reason
        cause = f"Cause: training job {job} is {status}: {reason}"
    else:
        cause = f"Cause: {error_type}: {message}"
    subject = f"Training failed: {dataset} {version}"[:100]
    body = "\n".join([
        f"Dataset {dataset} version {version} is published and untouched (its Dataset Ready "
        "message was sent); training a model on it failed, and no Model Ready message follows.",
        f"Training job: {job}",
        cause,
        f"Its files, if any, are under {request.get('OutputDataConfig', {}).get('S3OutputPath', '')}"
        f"{job}/ and its log in CloudWatch ({defaults.TRAINING_LOG_GROUP}, stream {job}/...).",
        "To train again: fix the cause, then publish a new version (a job name is used once).",
    ])  # fmt: skip
    return subject, body, {"job_name": job, "error": error_type, "cause": message}
