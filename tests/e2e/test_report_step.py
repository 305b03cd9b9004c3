"""The Report step in the synthesized state machine: after Convert, before Publish, not fatal."""

from __future__ import annotations

import csv
import io
import json

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from samples.detection import WORKERS, SampleJob


def _keys(cloud: LocalCloud, prefix: str) -> set[str]:
    pages = (
        cloud.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=cloud.bucket, Prefix=prefix)
    )
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _read(cloud: LocalCloud, key: str) -> str:
    body = cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read()
    return bytes(body).decode("utf-8")


def test_a_converted_job_gets_previews_a_report_and_labeler_insights(
    cloud: LocalCloud, job: SampleJob
) -> None:
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None and execution.status == "SUCCEEDED", execution
    assert execution.states[-3:] == ["Report", "Publish", "DatasetPublished"]
    prefix = f"datasets/{job.job_name}/"
    files = cloud.dataset(prefix)  # the report is part of the version it describes
    assert {"report.html", "workers.csv", "workers_daily.csv"} <= set(files)
    previews = [k for k in files if k.startswith("previews/")]
    assert len(previews) == len(job.truth)  # 12 images: all sampled (default sample 50)
    workers = list(csv.DictReader(io.StringIO(files["workers.csv"].decode())))
    assert {row["worker_id"] for row in workers} <= set(WORKERS) and len(workers) > 1
    assert any(row["mean_iou"] for row in workers)  # several workers shared objects
    [ready] = [n for n in cloud.notifications() if "ready" in n["Subject"]]
    version = json.loads(_read(cloud, prefix + "current.json"))["version"]
    assert f"{prefix}versions/{version}/report.html" in ready["Message"]


def test_a_failing_report_step_still_publishes_the_dataset(
    cloud: LocalCloud, job: SampleJob
) -> None:
    # Given a Report function that fails (an image Pillow cannot draw, say)
    cloud.fail_function(
        "handlers.report.handler",
        "UnidentifiedImageError",
        "cannot identify image file (simulated)",
    )
    cloud.expect_describe_labeling_job(job.describe_response())
    # When the job completes
    execution = cloud.put_event(completion_event(job.job_name))
    # Then the execution succeeds through Publish, the dataset is published without a report,
    # and the notification says the report step failed
    assert execution is not None and execution.status == "SUCCEEDED", execution
    assert execution.states[-3:] == ["Report", "Publish", "DatasetPublished"]
    assert "NotifyFailure" not in execution.states
    prefix = f"datasets/{job.job_name}/"
    keys = _keys(cloud, prefix)
    assert prefix + "_SUCCESS" in keys and prefix + "data.yaml" in keys
    assert "report.html" not in cloud.dataset(prefix)
    [ready] = [n for n in cloud.notifications() if "ready" in n["Subject"]]
    assert "Report step failed" in ready["Message"]
    assert "cannot identify image file (simulated)" in ready["Message"]
