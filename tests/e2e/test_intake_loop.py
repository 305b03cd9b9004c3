"""The whole intake loop on the synthesized stack: dropped images -> input manifest ->
StartLabelingJob (CreateLabelingJob checked against the SageMaker model) -> simulated labeling ->
completion event -> conversion -> dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from localrun.cloud import LocalCloud
from localrun.demo import DEMO_CONTEXT, INTAKE_DATASET, INTAKE_JOB, STRAY_FILE, run_intake_loop
from localrun.lambda_events import object_created_event
from localrun.synth import Assembly, synthesize
from samples.detection import CLASSES


@pytest.fixture(scope="module")
def intake_assembly() -> Assembly:
    return synthesize(DEMO_CONTEXT)


@pytest.fixture
def cloud(intake_assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(intake_assembly) as local:
        yield local


def _read(cloud: LocalCloud, key: str) -> bytes:
    return bytes(cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read())


def test_dropped_images_become_a_labeling_job_whose_completion_becomes_a_dataset(
    cloud: LocalCloud,
) -> None:
    loop = run_intake_loop(cloud, images=8)
    # The input manifest lists every dropped image once, and not the stray text file
    images = {f"s3://{cloud.bucket}/{k}" for k in loop.job.objects if k.startswith("images/")}
    listed = [json.loads(line)["source-ref"] for line in loop.manifest_lines]
    assert sorted(listed) == sorted(images)
    assert f"s3://{cloud.bucket}/{STRAY_FILE}" not in listed
    # StartLabelingJob created the job the state machine prepared
    assert loop.started.status == "SUCCEEDED", loop.started.cause
    assert loop.started.states == ["PrepareLabelingJob", "CreateLabelingJob", "LabelingJobCreated"]
    assert loop.started.output is not None
    assert loop.started.output["images"] == len(images)
    request = loop.request
    assert request["LabelingJobName"] == INTAKE_JOB
    assert request["OutputConfig"]["S3OutputPath"] == f"s3://{cloud.bucket}/groundtruth/"
    config_key = request["LabelCategoryConfigS3Uri"].split(f"{cloud.bucket}/", 1)[1]
    assert json.loads(_read(cloud, config_key))["labels"] == [{"label": c} for c in CLASSES]
    # The job's completion flowed into the conversion pipeline: the dataset is published
    assert loop.converted is not None
    assert loop.converted.status == "SUCCEEDED", loop.converted.cause
    report = json.loads(cloud.dataset(f"datasets/{INTAKE_JOB}/")["report.json"])
    assert report["images"] == len(images)
    assert report["classes"] == list(CLASSES)


def test_a_redelivered_image_event_leaves_the_manifest_unchanged(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    key = f"images/{INTAKE_DATASET}/one.png"
    s3.put_object(Bucket=cloud.bucket, Key=key, Body=b"\x89PNG")
    event = object_created_event(cloud.bucket, key, 4)
    assert cloud.put_event(event) is None  # no conversion starts for an image
    cloud.put_event(event)
    assert cloud.deliver_queued() == 2
    manifest = _read(cloud, f"manifests/input/{INTAKE_DATASET}.manifest").decode()
    assert manifest.splitlines() == [json.dumps({"source-ref": f"s3://{cloud.bucket}/{key}"})]


def test_starting_a_job_for_a_dataset_without_images_fails_with_the_reason(
    cloud: LocalCloud,
) -> None:
    execution = cloud.start_labeling_job({"dataset": "nothing-here", "labels": ["a"]})
    assert execution.status == "FAILED"
    assert execution.states[-1] == "StartLabelingJobFailed"
    assert execution.error == "LabelingJobError"
    assert "drop images under images/nothing-here/ first" in (execution.cause or "")
