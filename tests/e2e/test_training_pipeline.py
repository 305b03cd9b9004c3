"""`training` on the local cloud: a published version of a listed dataset starts one SageMaker
training job (`createTrainingJob.sync`), whose run leaves best.pt and metrics.json under
`models/`, and Model Ready tells of them; a failed job notifies and leaves the dataset as it was.

Every function runs as deployed (PrepareTraining from its own code asset, which carries
`training/`). The job is `localrun.training`: the request validated against SageMaker's model,
the source tarball PrepareTraining put in the bucket unpacked as the training toolkit does,
train.py run in its own process with SageMaker's variables and folders, every S3 request of
the job signed as the execution role and checked against its policies. Ultralytics is not in
this venv: a stub of it (tests/fixtures/fake_ultralytics) trains here; `make verify` trains the
demo dataset with the real one (verify/train_check.py).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly, synthesize
from localrun.training_jobs import JobEnd
from samples.detection import CUSTOMER_IMAGES, SampleJob, make_sample_job, relabeled
from tests.e2e.conftest import E2E_CONTEXT

STUB = Path(__file__).resolve().parents[1] / "fixtures" / "fake_ultralytics"
DATASET = "demo-shapes"  # the sample job's name, so its dataset's
TRAINING = {
    "datasets": [DATASET],
    "instanceType": "ml.m5.xlarge",
    "model": "yolo11n.yaml",
    "epochs": 1,
    "imgsz": 64,
    "spot": True,
}
CONTEXT = {**E2E_CONTEXT, "training": json.dumps(TRAINING)}
TRAINING_STATES = ["TrainModel?", "PrepareTraining", "Train?", "Train", "ModelReady"]


@pytest.fixture(scope="module")
def training_assembly() -> Assembly:
    return synthesize(CONTEXT)


def _cloud(assembly: Assembly, python_path: list[Path]) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, training_python_path=python_path) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        yield local


@pytest.fixture
def train_cloud(training_assembly: Assembly) -> Iterator[LocalCloud]:
    yield from _cloud(training_assembly, [STUB])


@pytest.fixture
def broken_cloud(training_assembly: Assembly) -> Iterator[LocalCloud]:
    # No Ultralytics at all on the job's path: train.py cannot import it, the job fails.
    yield from _cloud(training_assembly, [])


def _job(cloud: LocalCloud, job_name: str = DATASET) -> SampleJob:
    job = make_sample_job(cloud.bucket, job_name=job_name, images=12, image_bucket=CUSTOMER_IMAGES)
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    return job


def _run(cloud: LocalCloud, job: SampleJob) -> Any:
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None
    return execution


def _keys(cloud: LocalCloud, prefix: str) -> dict[str, str]:
    """Key -> ETag of every object under the prefix."""
    s3 = cloud.client("s3")
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=cloud.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def _read(cloud: LocalCloud, key: str) -> bytes:
    return bytes(cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read())


def _listen_for_model_ready(cloud: LocalCloud) -> str:
    """A queue a rule on the default bus sends every Model Ready event to, as a subscriber's
    rule would (its URL)."""
    sqs, events = cloud.client("sqs"), cloud.client("events")
    url = sqs.create_queue(QueueName="model-ready-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["gt2yolo"], "detail-type": ["Model Ready"]}
    events.put_rule(Name="model-ready-listener", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="model-ready-listener", Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def _received(cloud: LocalCloud, url: str) -> list[dict[str, Any]]:
    messages = cloud.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def _snapshot_datasets_when_the_job_starts(cloud: LocalCloud) -> dict[str, dict[str, str]]:
    """The dataset's objects as they were when the training job started (filled then)."""
    seen: dict[str, dict[str, str]] = {}
    run = cloud.training_jobs.runner
    assert run is not None

    def snapshotting(request: dict[str, Any]) -> Any:
        seen["datasets"] = _keys(cloud, "datasets/")
        return run(request)

    cloud.training_jobs.runner = snapshotting
    return seen


def test_a_published_version_is_trained_and_its_model_published_under_models(
    train_cloud: LocalCloud,
) -> None:
    cloud = train_cloud
    job = _job(cloud)
    seen = _snapshot_datasets_when_the_job_starts(cloud)
    listener = _listen_for_model_ready(cloud)
    # When the labeling job completes and its version publishes
    execution = _run(cloud, job)
    assert execution.status == "SUCCEEDED", execution.cause
    # Then the training states ran after Publish, and the execution ends as before
    assert execution.states[-len(TRAINING_STATES) - 1 :] == [*TRAINING_STATES, "DatasetPublished"]
    version = execution.output["version"]
    # And exactly one job was asked for, SageMaker's model accepting its request (the fake
    # validates every request; a refused one would have failed the Train state)
    [request] = cloud.training_requests()
    assert request["TrainingJobName"].startswith(f"gt2yolo-{DATASET}-")
    assert request["HyperParameters"]["data"] == f"{version}.yaml"
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{cloud.bucket}/datasets/{DATASET}/"
    )
    # And the job ran the tarball PrepareTraining put in the bucket: train.py and its modules
    source = request["HyperParameters"]["sagemaker_submit_directory"]
    assert source.startswith(f"s3://{cloud.bucket}/training/source/")
    tarball = _read(cloud, source.removeprefix(f"s3://{cloud.bucket}/"))
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        names = sorted(archive.getnames())
    assert names == ["contract.py", "metric_lines.py", "requirements.txt", "train.py"]
    [run] = cloud.training_runs
    assert run.described["TrainingJobStatus"] == "Completed", run.logs
    assert sorted(p.name for p in (run.root / "code").iterdir()) == names
    # And SageMaker's archives are under the version's models folder, best.pt and metrics.json
    # among them
    models = f"models/{DATASET}/{version}/"
    job_output = f"{models}{request['TrainingJobName']}/output/"
    with tarfile.open(fileobj=io.BytesIO(_read(cloud, job_output + "model.tar.gz"))) as archive:
        assert "best.pt" in archive.getnames()
    with tarfile.open(fileobj=io.BytesIO(_read(cloud, job_output + "output.tar.gz"))) as archive:
        member = archive.extractfile("metrics.json")
        assert member is not None
        metrics = json.loads(member.read())
    assert metrics["version"] == version
    assert set(metrics["metrics"]) == {"mAP50", "mAP50-95", "precision", "recall"}
    # And the job's final metrics are those train.py printed
    final = {m["MetricName"]: m["Value"] for m in run.described["FinalMetricDataList"]}
    assert final == pytest.approx(metrics["metrics"])
    # And Model Ready published the model beside its version: the files unpacked under
    # models/<dataset>/<version>/, model.json, then latest.json naming it
    ready = execution.output["model"]["summary"]
    assert ready["model_uri"] == f"s3://{cloud.bucket}/{models}best.pt"
    stored = _keys(cloud, models)
    for name in ("best.pt", "last.pt", "results.csv", "args.yaml", "metrics.json", "model.json"):
        assert f"{models}{name}" in stored, sorted(stored)
    latest = json.loads(_read(cloud, f"models/{DATASET}/latest.json"))
    assert latest["version"] == version
    assert ready["metrics"] == pytest.approx(metrics["metrics"])
    assert ready["previous"] is None
    # And the Model Ready event carries them: best.pt, metrics.json, the metrics
    [event] = _received(cloud, listener)
    detail = event["detail"]
    assert (detail["dataset"], detail["version"]) == (DATASET, version)
    assert detail["model_uri"] == ready["model_uri"]
    assert detail["files"]["metrics.json"] == f"s3://{cloud.bucket}/{models}metrics.json"
    assert detail["metrics"] == pytest.approx(metrics["metrics"])
    # And the subscribers got the Model Ready e-mail with the metrics
    [message] = [n for n in cloud.notifications() if n["Subject"].startswith("Model ready")]
    assert version in message["Subject"]
    assert "mAP50" in message["Message"] and ready["model_uri"] in message["Message"]
    # And the version's report links the model; nothing else of the dataset changed while it
    # trained, and no request of any role was refused (the execution role read the dataset and
    # wrote models/ only)
    report = f"datasets/{DATASET}/versions/{version}/report."
    after = _keys(cloud, "datasets/")
    changed = {key for key in after if after[key] != seen["datasets"].get(key)}
    assert changed == {f"{report}json", f"{report}html"}
    assert set(after) == set(seen["datasets"])
    assert json.loads(_read(cloud, f"{report}json"))["model"]["version"] == version
    assert ready["model_uri"] in _read(cloud, f"{report}html").decode()
    assert cloud.denials == []


def test_the_next_version_is_trained_and_compared_with_the_last_model(
    train_cloud: LocalCloud,
) -> None:
    cloud = train_cloud
    # Given a trained first version; When the job's output is converted again, relabeled
    job = _job(cloud)
    first = _run(cloud, job)
    assert first.status == "SUCCEEDED", first.cause
    attribute = job.describe_response()["LabelAttributeName"]
    manifest = relabeled(job.objects[job.manifest_key], attribute, count=2)
    cloud.put_objects({job.manifest_key: manifest})
    second = _run(cloud, job)
    assert second.status == "SUCCEEDED", second.cause
    # Then a second job trained the new version, and Model Ready compared it with the first
    assert len(cloud.training_requests()) == 2
    ready = second.output["model"]["summary"]
    assert ready["previous"]["version"] == first.output["version"]
    assert set(ready["changes"]) == set(ready["metrics"])
    latest = json.loads(_read(cloud, f"models/{DATASET}/latest.json"))
    assert latest["version"] == second.output["version"]


def test_a_dataset_not_listed_is_not_trained(train_cloud: LocalCloud) -> None:
    cloud = train_cloud
    # Given a job whose dataset the option does not list
    execution = _run(cloud, _job(cloud, job_name="other-parts"))
    # Then the version publishes, PrepareTraining says why not, and no job starts
    assert execution.status == "SUCCEEDED", execution.cause
    assert "Train" not in execution.states
    assert "not in training.datasets" in execution.output["training"]["reason"]
    assert cloud.training_requests() == []
    assert _keys(cloud, "training/") == {}


def test_a_failed_training_notifies_and_leaves_the_dataset_as_it_was(
    broken_cloud: LocalCloud,
) -> None:
    cloud = broken_cloud
    job = _job(cloud)
    seen = _snapshot_datasets_when_the_job_starts(cloud)
    # When the version publishes and its training job fails (train.py cannot import Ultralytics)
    execution = _run(cloud, job)
    # Then the execution fails after Train, through NotifyFailure
    assert execution.status == "FAILED"
    assert "Train" in execution.states and "ModelReady" not in execution.states
    assert execution.states[-2:] == ["NotifyFailure", "ConversionFailed"]
    [run] = cloud.training_runs
    assert run.described["TrainingJobStatus"] == "Failed"
    assert "ultralytics" in run.described["FailureReason"].lower()
    # And the subscribers were told the training failed, the version being published
    subjects = [n["Subject"] for n in cloud.notifications()]
    assert any(s.startswith("Training failed") for s in subjects), subjects
    # And the dataset is as the job found it: published, nothing touched
    assert _keys(cloud, "datasets/") == seen["datasets"]
    assert json.loads(_read(cloud, f"datasets/{DATASET}/current.json"))["version"] == (
        run.described["HyperParameters"]["data"].removesuffix(".yaml")
    )
    assert not any(key.endswith("best.pt") for key in _keys(cloud, "models/"))
    assert cloud.denials == []


def test_a_stopped_training_notifies_and_leaves_the_dataset_as_it_was(
    train_cloud: LocalCloud,
) -> None:
    cloud = train_cloud
    job = _job(cloud)
    seen: dict[str, dict[str, str]] = {}

    # Given a job SageMaker stops (its MaxRuntime reached) before it ends
    def stopped(request: dict[str, Any]) -> JobEnd:
        seen["datasets"] = _keys(cloud, "datasets/")  # the dataset as the job found it
        return JobEnd("Stopped", "MaxRuntimeExceeded: the job ran past its MaxRuntimeInSeconds")

    cloud.training_jobs.runner = stopped
    # When the version publishes and its job is stopped
    execution = _run(cloud, job)
    # Then the execution fails after Train through NotifyFailure, and ModelReady never ran
    assert execution.status == "FAILED"
    assert "ModelReady" not in execution.states
    assert execution.states[-2:] == ["NotifyFailure", "ConversionFailed"]
    [message] = [n for n in cloud.notifications() if n["Subject"].startswith("Training failed")]
    assert "Stopped" in message["Message"] and "MaxRuntimeExceeded" in message["Message"]
    # And the dataset is as the job found it; no model was published
    assert _keys(cloud, "datasets/") == seen["datasets"]
    assert not any(key.endswith(("best.pt", "latest.json")) for key in _keys(cloud, "models/"))
