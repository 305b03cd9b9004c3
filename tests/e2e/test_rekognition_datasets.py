"""rekognitionProject on the local cloud: a published version becomes the project's TRAIN and
TEST datasets, created from the version's two root Rekognition manifests; the next version
replaces them (DeleteDataset, then CreateDataset once they are gone).

Every function runs as deployed; Rekognition is `localrun.rekognition`: each request validated
against the Rekognition API model and allowed by the function's role, and the manifest and the
images read with the caller's permissions, as the Custom Labels docs say Rekognition reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localrun.account import ACCOUNT, REGION
from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly, synthesize
from samples.detection import CUSTOMER_IMAGES, SampleJob, make_sample_job, relabeled
from tests.e2e.conftest import E2E_CONTEXT

PROJECT = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:project/parts/1764000000000"
CONTEXT = {**E2E_CONTEXT, "exports": ["coco", "rekognition"], "rekognitionProject": PROJECT}


@pytest.fixture(scope="module")
def rekognition_assembly() -> Assembly:
    return synthesize(CONTEXT)


@pytest.fixture
def rek_cloud(rekognition_assembly: Assembly) -> Iterator[LocalCloud]:
    # No real wait between the step's checks (the fake settles after one look anyway).
    with LocalCloud(rekognition_assembly, {"POLL_SECONDS": "0"}) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        local.add_rekognition_project(PROJECT)
        yield local


@pytest.fixture
def rek_job(rek_cloud: LocalCloud) -> SampleJob:
    job = make_sample_job(rek_cloud.bucket, images=12, image_bucket=CUSTOMER_IMAGES)
    rek_cloud.put_objects(job.objects)
    rek_cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    return job


def _publish(cloud: LocalCloud, job: SampleJob) -> tuple[str, dict[str, Any]]:
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.states[-1] == "DatasetPublished"
    assert execution.output is not None and execution.output["published"] is True
    return str(execution.output["version"]), execution.output


def _created(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [request for operation, request in cloud.rekognition_requests
            if operation == "CreateDataset"]  # fmt: skip


def _lines(cloud: LocalCloud, key: str) -> list[dict[str, Any]]:
    body = cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def test_a_published_job_creates_the_projects_train_and_test_datasets_from_its_manifests(
    rek_cloud: LocalCloud, rek_job: SampleJob
) -> None:
    cloud = rek_cloud
    # Given a project without datasets; When a labeling job completes and its version publishes
    version, output = _publish(cloud, rek_job)
    # Then the step created TRAIN and TEST, each from the version's root manifest
    dataset = f"datasets/{rek_job.job_name}/"
    manifests = {
        "TRAIN": f"{dataset}{version}.rekognition.train.manifest",
        "TEST": f"{dataset}{version}.rekognition.test.manifest",
    }
    assert sorted(_created(cloud), key=lambda r: r["DatasetType"]) == [
        {
            "ProjectArn": PROJECT,
            "DatasetType": kind,
            "DatasetSource": {
                "GroundTruthManifest": {"S3Object": {"Bucket": cloud.bucket, "Name": key}}
            },
        }
        for kind, key in sorted(manifests.items())
    ]
    # and waited for them: they are complete, every line an entry (each image one the
    # function's role may read: Rekognition reads as the caller)
    datasets = cloud.rekognition.datasets(PROJECT)
    assert {kind: d.status for kind, d in datasets.items()} == {
        "TRAIN": "CREATE_COMPLETE",
        "TEST": "CREATE_COMPLETE",
    }
    for kind, key in manifests.items():
        lines = _lines(cloud, key)
        assert lines and all(
            line["source-ref"].startswith(f"s3://{cloud.bucket}/{dataset}files/") for line in lines
        )
        assert (datasets[kind].entries, datasets[kind].error_entries) == (len(lines), 0)
    summary = output["rekognition"]["summary"]
    assert summary["done"] and summary["polls"] >= 1 and summary["replaced"] == []
    assert {kind: d["arn"] for kind, d in summary["datasets"].items()} == {
        kind: d.arn for kind, d in datasets.items()
    }
    # with nothing refused by IAM on the way (S3 nor Rekognition)
    assert cloud.denials == []


def test_the_next_version_replaces_the_projects_datasets(
    rek_cloud: LocalCloud, rek_job: SampleJob
) -> None:
    cloud = rek_cloud
    # Given the project's datasets made from a first version
    first, _ = _publish(cloud, rek_job)
    before = {kind: d.arn for kind, d in cloud.rekognition.datasets(PROJECT).items()}
    assert set(before) == {"TRAIN", "TEST"}
    # When the job's relabeled output publishes a second version
    manifest = relabeled(rek_job.objects[rek_job.manifest_key], rek_job.label_attribute, 3)
    cloud.put_objects({rek_job.manifest_key: manifest})
    second, output = _publish(cloud, rek_job)
    assert second != first
    # Then both old datasets were deleted, and new ones created from the second version's files
    assert cloud.rekognition.deleted == [before["TRAIN"], before["TEST"]]
    assert output["rekognition"]["summary"]["replaced"] == [before["TRAIN"], before["TEST"]]
    after = cloud.rekognition.datasets(PROJECT)
    assert {d.status for d in after.values()} == {"CREATE_COMPLETE"}
    assert not {d.arn for d in after.values()} & set(before.values())
    latest = _created(cloud)[-2:]
    assert {r["DatasetSource"]["GroundTruthManifest"]["S3Object"]["Name"] for r in latest} == {
        f"datasets/{rek_job.job_name}/{second}.rekognition.{name}.manifest"
        for name in ("train", "test")
    }
    # and each delete came only after the dataset it replaced had been looked up
    operations = [operation for operation, _ in cloud.rekognition_requests]
    assert operations.count("DeleteDataset") == 2
    assert operations.index("DeleteDataset") > operations.index("DescribeProjects")
