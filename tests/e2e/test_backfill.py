"""`gt2yolo backfill` against the local cloud: the command a user runs, the Backfill state
machine and function as deployed, the conversions they start as a completion would, SageMaker
answering an account's past jobs by name and page, and throttling on both sides.

The account (25 jobs to list, and some that must not be): jobs whose output is in the stack's
bucket and in the team's own bucket (`sourceBuckets`, images there too), jobs converted by
their completion event before the backfill, jobs of tasks gt2yolo does not convert, a job whose
output bucket (of another account) refuses the stack, a job stopped before it wrote output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from gt2yolo_cli.main import main

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly, synthesize
from samples.detection import CUSTOMER_IMAGES, PARTNER_IMAGES
from samples.past_jobs import PastJob, past_job

TEAM = "team-labels"  # the team's own bucket: past outputs under past/, their images too
PARTNER = "partner-labels"  # another account's, whose bucket policy does not name the stack
# The e2e stack's images (conftest.E2E_CONTEXT), and where past jobs wrote their output.
CONTEXT = {
    "imageBuckets": f"{CUSTOMER_IMAGES},{PARTNER_IMAGES}/shapes/",
    "sourceBuckets": f"{TEAM}/past/,{PARTNER}",
    "convertStoppedJobs": "true",
}
SINCE = "2024-01-01"
OLD = datetime(2023, 6, 1, tzinfo=UTC)


def _day(n: int) -> datetime:
    return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=n)


@pytest.fixture(scope="module")
def assembly() -> Assembly:
    return synthesize(CONTEXT)


@pytest.fixture
def cloud(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly) as local:
        for bucket in (CUSTOMER_IMAGES, TEAM):
            local.create_bucket(bucket)
        local.create_bucket(PARTNER_IMAGES, other_account=True)
        local.create_bucket(PARTNER, other_account=True)
        yield local


def _account(bucket: str) -> dict[str, list[PastJob]]:
    """The account's jobs by what the backfill must do with them."""
    here = [past_job(f"parts-{n:02}", bucket, CUSTOMER_IMAGES, created=_day(n)) for n in range(8)]
    team = [past_job(f"parts-team-{n}", TEAM, TEAM, created=_day(10 + n), output_prefix="past/",
                     image_folder="past/photos") for n in range(3)]  # fmt: skip
    converted = [past_job(f"parts-done-{n}", bucket, CUSTOMER_IMAGES, created=_day(20 + n))
                 for n in range(3)]  # fmt: skip
    unsupported = [
        past_job(f"parts-{task.lower()}", bucket, CUSTOMER_IMAGES, created=_day(30 + n),
                 pre_annotation=f"PRE-{task}")
        for n, task in enumerate(["TextMultiClass", "VideoMultiClass", "3DPointCloudObjectDetection",
                                  "NamedEntityRecognition", "TextMultiClassMultiLabel",
                                  "VideoMultiClassMultiLabel", "3DPointCloudSemanticSegmentation",
                                  "TextMultiClassAdjustment", "AdjustmentTextMultiClass"])
    ]  # fmt: skip
    refused = [past_job("parts-partner", PARTNER, PARTNER, created=_day(40))]
    empty = [past_job("parts-stopped-early", bucket, CUSTOMER_IMAGES, created=_day(41),
                      status="Stopped", has_output=False)]  # fmt: skip
    # Listed by no backfill here: another team's, older than --since, still running.
    ignored = [
        past_job("tools-01", bucket, CUSTOMER_IMAGES, created=_day(1)),
        past_job("old-parts-01", bucket, CUSTOMER_IMAGES, created=_day(2)),  # "parts-" inside
        past_job("parts-2023", bucket, CUSTOMER_IMAGES, created=OLD),
        past_job("parts-running", bucket, CUSTOMER_IMAGES, created=_day(3), status="InProgress"),
    ]
    return {"started": here + team, "converted": converted, "unsupported": unsupported,
            "refused": refused, "empty": empty, "ignored": ignored}  # fmt: skip


def _deploy_account(cloud: LocalCloud, account: dict[str, list[PastJob]]) -> None:
    jobs = [job for group in account.values() for job in group]
    for job in jobs:
        for bucket, objects in job.objects.items():
            cloud.put_objects(objects, bucket)
    cloud.sagemaker.add_jobs([job.described for job in jobs])


def _conversions(cloud: LocalCloud) -> dict[str, str]:
    """Execution name -> ARN of every conversion started so far."""
    sfn = cloud.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=cloud.state_machine_arn)
    return {e["name"]: e["executionArn"] for page in pages for e in page["executions"]}


def _table(printed: str) -> dict[str, str]:
    """job -> 'outcome  reason' from the closing table."""
    rows = {}
    for line in printed.splitlines():
        job, _, rest = line.partition("  ")
        if job.startswith("parts-"):
            rows[job.strip()] = " ".join(rest.split())
    return rows


def _backfill(capsys: pytest.CaptureFixture[str], cloud: LocalCloud, *extra: str) -> str:
    argv = ["backfill", "--stack", cloud.stack_name, "--since", SINCE, "--name-prefix", "parts-",
            "--status", "Completed,Stopped", "--poll", "0.2", *extra]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_a_backfill_converts_each_past_job_once_and_a_rerun_starts_nothing(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an account of past jobs, three of them converted when they completed
    account = _account(cloud.bucket)
    _deploy_account(cloud, account)
    for job in account["converted"]:
        execution = cloud.put_event(completion_event(job.name))
        assert execution is not None and execution.status == "SUCCEEDED", execution
    before = set(_conversions(cloud))
    # and SageMaker and Step Functions throttling the backfill
    cloud.sagemaker.throttle("DescribeLabelingJob", every=5)
    cloud.sagemaker.throttle("ListLabelingJobs", every=2)
    cloud.start_execution.throttle(cloud.state_machine_arn, every=3)

    # When the team backfills
    printed = _backfill(capsys, cloud)

    # Then the closing table says what happened to each of the 25 jobs it listed
    table = _table(printed)
    expected = {job.name for group, jobs in account.items() if group != "ignored" for job in jobs}
    assert set(table) == expected and len(expected) == 25
    for job in account["started"]:
        assert table[job.name] == "started", table[job.name]
    for job in account["converted"]:
        assert table[job.name] == "already converted its dataset is published"
    for job in account["unsupported"]:
        assert table[job.name].startswith("skipped unsupported task: labeling job task PRE-")
    assert table["parts-partner"].startswith(
        f"skipped output unreadable: S3 refused GetObject of s3://{PARTNER}/groundtruth/"
    )
    assert "the stack output SourceBucketPolicy2 to its bucket policy" in table["parts-partner"]
    assert table["parts-stopped-early"] == "skipped no output: the job has no LabelingJobOutput"
    assert "25 jobs: 11 started, 3 already converted, 11 skipped" in printed
    assert cloud.sagemaker.throttled["DescribeLabelingJob"] > 0
    assert cloud.sagemaker.throttled["ListLabelingJobs"] > 0
    assert cloud.start_execution.throttled[cloud.state_machine_arn] > 0

    # And each started job's conversion publishes its dataset, as a completion would
    started = {name: arn for name, arn in _conversions(cloud).items() if name not in before}
    assert len(started) == len(account["started"])
    # each exactly once: Step Functions accepted no backfill start twice
    accepted = [
        n for n in cloud.start_execution.accepted[cloud.state_machine_arn] if n[:3] == "bf-"
    ]
    assert sorted(accepted) == sorted(started)
    for arn in started.values():
        execution = cloud.wait(arn)
        assert execution.status == "SUCCEEDED", execution.cause
        assert execution.states[-1] == "DatasetPublished"
    for job in account["started"]:
        report = json.loads(cloud.dataset(f"datasets/{job.name}/")["report.json"])
        assert report["images"] == len(job.job.truth)
        images = [
            key for key in cloud.dataset(f"datasets/{job.name}/") if key.startswith("images/")
        ]
        assert len(images) == len(job.job.truth)  # copied from the customer's or team's bucket
    [refusal] = {(d.check.action, d.check.resource.split("/")[0]) for d in cloud.denials}
    assert refusal == ("s3:GetObject", f"arn:aws:s3:::{PARTNER}")  # the one refused bucket

    # When the team runs it again, nothing starts, and it says so
    again = _table(rerun := _backfill(capsys, cloud))
    for job in account["started"]:
        assert again[job.name].startswith("already converted")
    assert "25 jobs: 0 started, 14 already converted, 11 skipped" in rerun
    assert "nothing new to start" in rerun
    assert set(_conversions(cloud)) == before | set(started)


def test_a_dry_run_prints_what_would_start_and_starts_nothing(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    account = _account(cloud.bucket)
    _deploy_account(cloud, account)
    printed = _backfill(capsys, cloud, "--dry-run")
    table = _table(printed)
    assert {job for job, said in table.items() if said == "would start"} == {
        job.name for job in account["started"] + account["converted"]
    }  # nothing was converted before here
    assert "dry run: nothing was started" in printed
    assert _conversions(cloud) == {}


def test_a_status_without_output_is_refused_before_anything_starts(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["backfill", "--stack", cloud.stack_name, "--status", "InProgress"]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "gt2yolo: error: statuses are Completed or Stopped (the jobs with output), not InProgress"
    )
    runs = cloud.client("stepfunctions").list_executions(stateMachineArn=cloud.backfill_arn)
    assert runs["executions"] == []
