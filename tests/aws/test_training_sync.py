"""`createTrainingJob.sync` on the local cloud: a state machine starts a training job and waits
for its end, as Step Functions does with SageMaker (moto's interpreter alone forwards SageMaker
calls only for `.waitForTaskToken`; localrun.training_jobs adds `.sync`).

The runner here stands in for the job itself (localrun.training runs the entry point); what is
specified is the integration: the request validated against SageMaker's model, the state's
output the job's description, a failed job failing the state with States.TaskFailed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localrun.account import ACCOUNT
from localrun.emulator import Endpoint, moto_app, moto_bucket_policy, no_retry_sleep, serving
from localrun.iam import S3Gate
from localrun.inspection import wait_for_execution
from localrun.training_jobs import JobEnd, TrainingJobs, sync_patched

ROLE = f"arn:aws:iam::{ACCOUNT}:role/training"


def _request(name: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:x",
            "TrainingInputMode": "File",
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/models/parts/v1/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


@pytest.fixture
def jobs() -> Iterator[tuple[Endpoint, TrainingJobs]]:
    fake = TrainingJobs()
    gate = S3Gate(moto_app(), moto_bucket_policy)
    with serving(gate) as endpoint, no_retry_sleep(), fake.patched(), sync_patched():
        yield endpoint, fake


def _run(endpoint: Endpoint, parameters: dict[str, Any]) -> Any:
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": parameters,
                "End": True,
            }
        },
    }
    sfn = endpoint.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="train", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    return wait_for_execution(sfn, arn, timeout=60)


def test_a_sync_training_state_waits_for_the_job_and_outputs_its_description(
    jobs: tuple[Endpoint, TrainingJobs],
) -> None:
    # Given a runner whose job completes with metrics
    endpoint, fake = jobs
    fake.runner = lambda request: JobEnd("Completed", metrics={"mAP50": 0.5})
    # When a state machine runs createTrainingJob.sync
    execution = _run(endpoint, _request("parts-v1"))
    # Then the runner got the request as sent, and the state's output is the job's description
    assert execution.status == "SUCCEEDED", execution.cause
    assert [r["TrainingJobName"] for r in fake.requests] == ["parts-v1"]
    assert execution.output["TrainingJobStatus"] == "Completed"
    assert execution.output["FinalMetricDataList"][0]["MetricName"] == "mAP50"
    assert execution.output["ModelArtifacts"]["S3ModelArtifacts"] == (
        "s3://bucket/models/parts/v1/parts-v1/output/model.tar.gz"
    )


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_failed_or_stopped_training_job_fails_the_state_with_its_description(
    jobs: tuple[Endpoint, TrainingJobs], status: str
) -> None:
    # Given a runner whose job fails, or is stopped (MaxRuntime, a StopTrainingJob)
    endpoint, fake = jobs
    fake.runner = lambda request: JobEnd(status, failure_reason="AlgorithmError: boom")
    # When the state machine runs it
    execution = _run(endpoint, _request(f"parts-v2-{status.lower()}"))
    # Then the execution fails with States.TaskFailed and the description as its cause
    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed"
    cause = json.loads(execution.cause)
    assert (cause["TrainingJobStatus"], cause["FailureReason"]) == (status, "AlgorithmError: boom")


def test_a_request_sagemaker_would_refuse_fails_before_any_job_runs(
    jobs: tuple[Endpoint, TrainingJobs],
) -> None:
    # Given a request missing a required field
    endpoint, fake = jobs
    fake.runner = lambda request: JobEnd("Completed")
    request = _request("parts-v3")
    del request["RoleArn"]
    # When the state machine sends it
    execution = _run(endpoint, request)
    # Then it fails naming the field, and nothing ran
    assert execution.status == "FAILED"
    assert "RoleArn" in (execution.cause or "")
    assert fake.requests == []
