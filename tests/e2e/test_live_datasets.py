"""Live datasets on the local cloud: the schedule's tick runs the LiveSweep function as deployed,
which starts the synthesized state machine on a job in progress; the dataset it publishes is
the labels so far, and says so."""

from __future__ import annotations

import json
from typing import Any

from localrun.cloud import LocalCloud
from samples.detection import SampleJob


def _in_progress(job: SampleJob) -> dict[str, Any]:
    described = job.describe_response("InProgress")
    described.pop("LabelingJobOutput")  # no final output manifest while the job runs
    return described


def _executions(cloud: LocalCloud) -> list[str]:
    listed = cloud.client("stepfunctions").list_executions(stateMachineArn=cloud.state_machine_arn)
    return [execution["executionArn"] for execution in listed["executions"]]


def test_a_tick_publishes_the_newest_intermediate_manifest_of_a_job_in_progress_as_partial(
    cloud: LocalCloud, job: SampleJob
) -> None:
    # Given a job in progress: intermediate manifests 9 and 10 (more labels), no final one yet
    s3 = cloud.client("s3")
    lines = job.objects[job.manifest_key].decode().splitlines(keepends=True)
    s3.delete_object(Bucket=cloud.bucket, Key=job.manifest_key)
    cloud.put_objects({
        job.intermediate_key(9): "".join(lines[:3]).encode(),
        job.intermediate_key(10): "".join(lines[:8]).encode(),
    })  # fmt: skip
    cloud.expect_list_labeling_jobs([job.list_summary()])
    cloud.expect_describe_labeling_job(_in_progress(job))  # the sweep: where the job writes
    cloud.expect_describe_labeling_job(_in_progress(job))  # Resolve: still in progress?

    # When the schedule ticks
    [swept] = cloud.fire_schedules()

    # Then the sweep started one execution, which published folder 10's labels as partial
    assert swept["started"] == [job.job_name]
    [arn] = _executions(cloud)
    execution = cloud.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.states[-1] == "DatasetPublished"
    prefix = f"datasets/{job.job_name}/"  # the name the final dataset has
    report = json.loads(cloud.dataset(prefix)["report.json"])
    assert report["partial"] is True
    pointer = s3.get_object(Bucket=cloud.bucket, Key=prefix + "current.json")["Body"].read()
    assert json.loads(pointer)["partial"] is True
    assert report["lines"] == 8
    [manifest] = report["manifests"]
    assert manifest["manifest"].endswith(job.intermediate_key(10))
    [message] = cloud.notifications()
    assert message["Subject"] == f"YOLO dataset ready (partial): {job.job_name}"
    assert (
        f"PARTIAL dataset: labeling job {job.job_name} is still in progress" in message["Message"]
    )
    assert cloud.denials == []  # the sweep listed only where its role lets it

    # And the next tick, seeing the same manifest, starts nothing
    cloud.expect_list_labeling_jobs([job.list_summary()])
    cloud.expect_describe_labeling_job(_in_progress(job))
    [again] = cloud.fire_schedules()
    assert again["already_converted"] == [job.job_name]
    assert _executions(cloud) == [arn]
    assert cloud.pending_sagemaker_answers == 0
