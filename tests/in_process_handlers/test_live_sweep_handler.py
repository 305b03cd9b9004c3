"""LiveSweep handler: each watched job in progress gets one conversion per new intermediate
manifest, the newest one; jobs elsewhere, and jobs with nothing labeled yet, get none.

SageMaker is stubbed (ListLabelingJobs, DescribeLabelingJob); S3 and Step Functions are moto's,
so the execution names really are unique per state machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from handlers.events import LiveDatasetTick
from workflow.live import IntermediateManifest, newest_iteration

JOB = "demo-shapes"
INTERMEDIATE = f"groundtruth/{JOB}/manifests/intermediate/"
# Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards,
# or " # % \ ^ | ~ ` $ & , ; : /.
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


@pytest.fixture
def state_machine(aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """The conversion state machine the sweep starts (a stand-in: executions stay RUNNING)."""
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
    arn = aws_client("stepfunctions").create_state_machine(
        name="gt2yolo-conversion",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/gt2yolo-states",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return str(arn)


def _executions(aws_client: Callable[[str], Any], arn: str) -> list[dict[str, Any]]:
    sfn = aws_client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


def _in_progress(sample_objects: Any, job_name: str = JOB, **changes: Any) -> dict[str, Any]:
    """DescribeLabelingJob of a job in progress: no output manifest yet."""
    response: dict[str, Any] = sample_objects.describe_response("InProgress")
    response.pop("LabelingJobOutput")
    response["LabelingJobName"] = job_name
    response.update(changes)
    return response


def _intermediate(bucket: Any, *iterations: str, body: str = '{"source-ref": "s3://x/a.jpg"}\n'):
    for iteration in iterations:
        bucket.put(f"{INTERMEDIATE}{iteration}/output.manifest", body)


# -- which manifest ----------------------------------------------------------------------------


def test_the_newest_intermediate_folder_is_the_highest_number_not_the_last_name() -> None:
    # Then 10 beats 9 (names sort "10" < "9"), and folders that are no number are ignored
    assert newest_iteration(["1", "9", "10", "2"]) == 10
    assert newest_iteration(["9", "tmp", "10-old", "", "\u0661\u0662", "v11"]) == 9
    assert newest_iteration(["tmp"]) is None
    assert newest_iteration([]) is None


def test_the_newest_intermediate_manifest_is_converted_10_after_9(
    live_sweep, sagemaker, sample_objects, bucket, state_machine, aws_client
) -> None:
    # Given a job in progress whose intermediate folders are 1, 9, 10 and a stray one
    _intermediate(bucket, "1", "9", "10", "latest")
    sagemaker.lists_in_progress(JOB)
    sagemaker.describes(_in_progress(sample_objects))
    # When the schedule ticks
    summary = live_sweep({})
    # Then one execution converts folder 10, with a tick Resolve reads
    assert summary["started"] == [JOB]
    (execution,) = _executions(aws_client, state_machine)
    tick = json.loads(execution["input"])
    LiveDatasetTick.model_validate(tick)
    assert tick["detail"]["job_name"] == JOB
    assert tick["detail"]["manifest_uri"] == bucket.uri(f"{INTERMEDIATE}10/output.manifest")
    assert tick["detail"]["iteration"] == 10


# -- which jobs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output_path",
    [
        "s3://someone-elses-bucket/groundtruth/",  # another bucket
        "s3://gt2yolo-test-bucket/elsewhere/",  # the bucket, outside the Ground Truth prefix
        "s3://gt2yolo-test-bucket-2/groundtruth/",  # a bucket whose name starts like ours
    ],
)
def test_jobs_writing_outside_the_stacks_ground_truth_prefix_are_ignored(
    live_sweep, sagemaker, sample_objects, bucket, state_machine, aws_client, output_path
) -> None:
    # Given a job in progress whose output goes elsewhere (with manifests in our bucket anyway)
    _intermediate(bucket, "1")
    sagemaker.lists_in_progress(JOB)
    sagemaker.describes(_in_progress(sample_objects, OutputConfig={"S3OutputPath": output_path}))
    # When the schedule ticks
    summary = live_sweep({})
    # Then nothing starts
    assert summary["not_ours"] == [JOB]
    assert _executions(aws_client, state_machine) == []


def test_jobs_lacking_the_name_prefix_are_neither_described_nor_converted(
    live_sweep, sagemaker, bucket, state_machine, aws_client, monkeypatch
) -> None:
    # Given the stack converts only jobs named prod-* (no DescribeLabelingJob answer is queued)
    monkeypatch.setenv("JOB_NAME_PREFIX", "prod-")
    _intermediate(bucket, "1")
    sagemaker.lists_in_progress(JOB)
    # When the schedule ticks
    summary = live_sweep({})
    # Then the job is passed over without a call about it
    assert summary == {
        "in_progress": 1, "started": [], "already_converted": [], "not_ours": [JOB],
        "no_intermediate_manifest": [],
    }  # fmt: skip
    assert _executions(aws_client, state_machine) == []


def test_every_page_of_jobs_in_progress_is_swept(
    live_sweep, sagemaker, sample_objects, bucket, state_machine, aws_client
) -> None:
    # Given two jobs in progress, listed on two pages, each with an intermediate manifest
    other = "demo-shapes-2"
    _intermediate(bucket, "3")
    bucket.put(f"groundtruth/{other}/manifests/intermediate/1/output.manifest", "{}\n")
    sagemaker.lists_in_progress(JOB, other)
    sagemaker.describes(_in_progress(sample_objects))
    sagemaker.describes(_in_progress(sample_objects, other))
    # When the schedule ticks
    summary = live_sweep({})
    # Then both get their conversion
    assert summary["started"] == [JOB, other]
    assert len(_executions(aws_client, state_machine)) == 2


# -- nothing yet, nothing new ----------------------------------------------------------------------


@pytest.mark.parametrize("written", [[], ["2/annotations.json"]], ids=["no folder", "no manifest"])
def test_a_job_without_an_intermediate_manifest_gets_no_run(
    live_sweep, sagemaker, sample_objects, bucket, state_machine, aws_client, written
) -> None:
    # Given a job in progress that has written no intermediate output.manifest yet
    for key in written:
        bucket.put(INTERMEDIATE + key, "{}")
    sagemaker.lists_in_progress(JOB)
    sagemaker.describes(_in_progress(sample_objects))
    # When the schedule ticks
    summary = live_sweep({})
    # Then nothing starts
    assert summary["no_intermediate_manifest"] == [JOB]
    assert _executions(aws_client, state_machine) == []


def test_a_second_tick_for_the_same_manifest_starts_no_second_execution(
    live_sweep, sagemaker, sample_objects, bucket, state_machine, aws_client
) -> None:
    # Given a job whose newest intermediate manifest was converted by an earlier tick
    _intermediate(bucket, "4")
    for _ in range(3):
        sagemaker.lists_in_progress(JOB)
        sagemaker.describes(_in_progress(sample_objects))
    live_sweep({})
    # When the next tick comes while that conversion still runs, and again after it ended
    live_sweep({})
    (execution,) = _executions(aws_client, state_machine)
    aws_client("stepfunctions").stop_execution(executionArn=execution["executionArn"])
    summary = live_sweep({})
    # Then still one execution: the same manifest converts once
    assert len(_executions(aws_client, state_machine)) == 1
    assert summary["already_converted"] == [JOB] and summary["started"] == []


def test_a_rewritten_or_newer_intermediate_manifest_converts_again(
    live_sweep, sagemaker, sample_objects, bucket, state_machine, aws_client
) -> None:
    # Given folder 4 converted once
    _intermediate(bucket, "4")
    for _ in range(3):
        sagemaker.lists_in_progress(JOB)
        sagemaker.describes(_in_progress(sample_objects))
    live_sweep({})
    # When Ground Truth rewrites it with more labels, then writes folder 5
    _intermediate(
        bucket, "4", body='{"source-ref": "s3://x/a.jpg"}\n{"source-ref": "s3://x/b.jpg"}\n'
    )
    live_sweep({})
    _intermediate(bucket, "5")
    live_sweep({})
    # Then each version of the newest manifest got its own execution
    inputs = [json.loads(e["input"])["detail"] for e in _executions(aws_client, state_machine)]
    assert sorted((d["iteration"], d["etag"]) for d in inputs) == sorted(
        {(d["iteration"], d["etag"]) for d in inputs}
    )
    assert sorted(d["iteration"] for d in inputs) == [4, 4, 5]


def test_execution_names_fit_step_functions_and_differ_per_job_folder_and_etag() -> None:
    longest = "j" * 63  # SageMaker's longest job name
    names = {
        IntermediateManifest(job, n, "s3://b/k", etag).execution_name()
        for job in (longest, longest[:-1] + "k", "a")
        for n in (9, 10, 12345678901234567890)
        for etag in ("d41d8cd98f00b204e9800998ecf8427e", "9b2cf535f27731c974343645a3985328-12")
    }
    assert len(names) == 3 * 3 * 2
    assert all(EXECUTION_NAME.fullmatch(name) for name in names), names
