"""The synthesized state machine, run by moto's interpreter, each function run as deployed."""

from __future__ import annotations

import json
from typing import Any

import yaml

from localrun.cloud import LocalCloud
from localrun.demo import completion_event, object_created_event
from samples.detection import CLASSES, SampleJob


def _read(cloud: LocalCloud, key: str) -> bytes:
    return bytes(cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read())


def _keys(cloud: LocalCloud, prefix: str) -> set[str]:
    pages = (
        cloud.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=cloud.bucket, Prefix=prefix)
    )
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _labels(files: dict[str, bytes]) -> dict[str, list[list[float]]]:
    return {
        key: [[float(v) for v in line.split()] for line in data.decode().splitlines()]
        for key, data in files.items()
        if key.startswith("labels/")
    }


def test_completed_job_event_publishes_a_dataset_that_holds_the_truth(
    cloud: LocalCloud, job: SampleJob
) -> None:
    # Given a finished job and SageMaker's description of it
    cloud.expect_describe_labeling_job(job.describe_response())
    # When SageMaker sends the documented completion event
    execution = cloud.put_event(completion_event(job.job_name))
    # Then the rule matched and the synthesized state machine published the dataset
    assert execution is not None
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.states[-1] == "DatasetPublished"
    prefix = f"datasets/{job.job_name}/"
    for name in ("current.json", "data.yaml", "_SUCCESS"):
        assert prefix + name in _keys(cloud, prefix)
    files = cloud.dataset(prefix)
    for name in ("data.yaml", "classes.txt", "annot.csv", "images.csv", "train.txt", "val.txt",
                 "report.json", "rejected.jsonl"):  # fmt: skip
        assert name in files
    data = yaml.safe_load(_read(cloud, prefix + "data.yaml"))
    assert data["names"] == dict(enumerate(CLASSES))  # the job's order, not alphabetical
    report = json.loads(files["report.json"])
    assert report["images"] == len(job.truth)
    assert report["rejected"] == {"failed_object": 1, "not_labeled": 1}
    assert report["clamped_boxes"] == 1
    assert report["boxes"] == sum(len(shapes) for shapes in job.truth.values())
    # every image was copied next to its label, and every label value is normalized
    labels = _labels(files)
    assert len(labels) == len(job.truth)
    assert all(0 <= v <= 1 for rows in labels.values() for row in rows for v in row[1:])
    images = [k for k in files if k.startswith("images/")]
    assert len(images) == len(job.truth)
    # copied from the customer's bucket, every S3 request of every function allowed by its role
    assert all(ref.startswith("s3://customer-images/") for ref in job.truth)
    assert cloud.s3_gate.checked > len(job.truth) and cloud.denials == []


def test_each_label_file_matches_the_drawn_shapes(cloud: LocalCloud, job: SampleJob) -> None:
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None and execution.status == "SUCCEEDED"
    files = cloud.dataset(f"datasets/{job.job_name}/")
    table = files["images.csv"].decode().splitlines()
    header = table[0].split(",")
    labels = _labels(files)
    for line in table[1:]:
        row = dict(zip(header, line.split(","), strict=True))
        shapes = job.truth[row["source_ref"]]
        rows = labels[row["label"]]
        width, height = int(row["width"]), int(row["height"])
        expected = sorted(
            (CLASSES.index(s.name), (s.left + s.width / 2) / width, (s.top + s.height / 2) / height)
            for s in shapes
        )
        got = sorted((int(r[0]), r[1], r[2]) for r in rows)
        assert [c for c, *_ in got] == [c for c, *_ in expected]
        # the clamped box moves its centre (and may sort elsewhere); every other box sits
        # where it was drawn
        close = sum(any(a[0] == b[0] and abs(a[1] - b[1]) < 1e-4 and abs(a[2] - b[2]) < 1e-4
                        for a in got) for b in expected)  # fmt: skip
        assert close >= len(expected) - 1


def test_a_manifest_dropped_under_manifests_converts_without_sagemaker(
    cloud: LocalCloud, job: SampleJob
) -> None:
    s3 = cloud.client("s3")
    body = job.objects[job.manifest_key]
    s3.put_object(Bucket=cloud.bucket, Key="manifests/team/old-job.manifest", Body=body)
    execution = cloud.put_event(
        object_created_event(cloud.bucket, "manifests/team/old-job.manifest", len(body))
    )
    assert execution is not None and execution.status == "SUCCEEDED", execution
    report = json.loads(cloud.dataset("datasets/team/old-job/")["report.json"])
    assert report["images"] == len(job.truth)
    # No label config: class order comes from the lines' class-maps (ids as the job gave them)
    assert report["classes"] == list(CLASSES)
    assert cloud.sagemaker_calls == []  # SageMaker was never asked


def test_intake_manifests_and_other_files_do_not_start_a_conversion(cloud: LocalCloud) -> None:
    for key in ("manifests/input/ds.manifest", "manifests/notes.json", "images/demo/a.jpg"):
        assert cloud.put_event(object_created_event(cloud.bucket, key, 10)) is None


def test_in_progress_and_failed_jobs_do_not_start_a_conversion(cloud: LocalCloud) -> None:
    for status in ("InProgress", "Failed"):
        event: dict[str, Any] = completion_event("some-job")
        event["detail"] = {"LabelingJobStatus": status}
        assert cloud.put_event(event) is None


def test_a_missing_manifest_fails_with_a_notification_and_no_success_marker(
    cloud: LocalCloud, job: SampleJob
) -> None:
    cloud.client("s3").delete_object(Bucket=cloud.bucket, Key=job.manifest_key)
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None and execution.status == "FAILED"
    assert "NotifyFailure" in execution.states
    assert f"datasets/{job.job_name}/_SUCCESS" not in _keys(cloud, "datasets/")
    notes = cloud.notifications()
    assert len(notes) == 1
    assert job.job_name in notes[0]["Subject"]
    assert "does not exist" in notes[0]["Message"]


def test_the_same_event_twice_yields_one_dataset_and_one_notification(
    cloud: LocalCloud, job: SampleJob
) -> None:
    prefix = f"datasets/{job.job_name}/"
    cloud.expect_describe_labeling_job(job.describe_response())
    first = cloud.put_event(completion_event(job.job_name))
    files_after_first = {k: _read(cloud, k) for k in _keys(cloud, prefix)}
    cloud.expect_describe_labeling_job(job.describe_response())
    second = cloud.put_event(completion_event(job.job_name))
    assert first is not None and second is not None
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert second.output is not None and second.output["published"] is False
    assert {k: _read(cloud, k) for k in _keys(cloud, prefix)} == files_after_first
    ready = [n for n in cloud.notifications() if "ready" in n["Subject"]]
    assert len(ready) == 1


def test_a_job_that_is_still_running_per_sagemaker_is_skipped(
    cloud: LocalCloud, job: SampleJob
) -> None:
    # EventBridge said Completed, DescribeLabelingJob disagrees (a stale duplicate): no dataset
    cloud.expect_describe_labeling_job(job.describe_response(status="InProgress"))
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None and execution.status == "SUCCEEDED"
    assert execution.states[-1] == "Skipped"
    assert not _keys(cloud, "datasets/")


def test_a_failed_execution_carries_the_readable_cause(cloud: LocalCloud, job: SampleJob) -> None:
    cloud.client("s3").delete_object(Bucket=cloud.bucket, Key=job.manifest_key)
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None and execution.status == "FAILED"
    assert execution.error == "FileNotFoundError"
    assert execution.cause is not None and "does not exist" in execution.cause
