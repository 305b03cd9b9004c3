"""Dataset versions on the local cloud, every function as deployed: a rerun writes only what
changed, and a reader racing it sees one whole version at every read, never a mix."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from gt2yolo.versions import label_of

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly
from samples.detection import CUSTOMER_IMAGES, SampleJob, make_sample_job, relabeled

RELABELED = 3  # lines whose boxes move in the rerun


def _publish(cloud: LocalCloud, job: SampleJob) -> str:
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None and execution.status == "SUCCEEDED", execution
    assert execution.output is not None and execution.output["published"] is True
    version = _current(cloud, job)
    assert execution.output["version"] == version == execution.output["kept_versions"][0]
    return version


def _current(cloud: LocalCloud, job: SampleJob) -> str:
    pointer = cloud.client("s3").get_object(
        Bucket=cloud.bucket, Key=f"datasets/{job.job_name}/current.json"
    )
    return str(json.loads(pointer["Body"].read())["version"])


def _rerun_input(cloud: LocalCloud, job: SampleJob) -> None:
    manifest = relabeled(job.objects[job.manifest_key], job.label_attribute, RELABELED)
    cloud.client("s3").put_object(Bucket=cloud.bucket, Key=job.manifest_key, Body=manifest)
    cloud.expect_describe_labeling_job(job.describe_response())


@dataclass
class Reader:
    """Reads the dataset as Ultralytics does, over and over: data.yaml -> its split lists ->
    every listed image (HEAD) and its label file (`/images/` -> `/labels/`, `.txt`)."""

    s3: Any
    bucket: str
    prefix: str
    snapshots: list[tuple[float, str, dict[str, bytes]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read())

    def snapshot(self) -> tuple[str, dict[str, bytes]]:
        document = yaml.safe_load(self._get("data.yaml"))
        version = str(document["train"]).split(".", 1)[0]
        labels: dict[str, bytes] = {}
        for split in ("train", "val"):
            for entry in self._get(document[split]).decode().splitlines():
                assert entry.startswith("./files/"), entry
                image = entry[2:]
                self.s3.head_object(Bucket=self.bucket, Key=self.prefix + image)
                stem = image.rsplit("/images/", 1)
                label = f"{stem[0]}/labels/{stem[1].rsplit('.', 1)[0]}.txt"
                # By dataset key: the same file is stored under the version that wrote it.
                labels[label.split("/", 2)[2]] = self._get(label)
        return version, labels

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()  # a snapshot is stamped with when its read began
            try:
                version, labels = self.snapshot()
            except (ClientError, KeyError, AssertionError) as exc:
                self.errors.append(repr(exc))
                continue
            self.snapshots.append((started, version, labels))

    def read_since(self, moment: float, timeout: float = 60) -> None:
        """Wait for a snapshot whose read began after `moment`."""
        deadline = time.monotonic() + timeout
        while not any(at > moment for at, _, _ in self.snapshots) and not self.errors:
            assert time.monotonic() < deadline, "the reader made no read after the flip"
            time.sleep(0.05)


@contextmanager
def racing_reader(cloud: LocalCloud, prefix: str) -> Iterator[Reader]:
    reader = Reader(cloud.client("s3"), cloud.bucket, prefix)
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    try:
        while not reader.snapshots and not reader.errors:
            time.sleep(0.01)
        yield reader
    finally:
        reader.stop.set()
        thread.join(timeout=60)


def _labels_of(cloud: LocalCloud, prefix: str, version: str) -> dict[str, bytes]:
    files = cloud.dataset(prefix, version)
    return {key: data for key, data in files.items() if key.startswith("labels/")}


def test_a_reader_racing_a_rerun_sees_one_whole_version_at_every_read(
    cloud: LocalCloud, job: SampleJob
) -> None:
    # Given a published dataset, and a reader reading it again and again
    prefix = f"datasets/{job.job_name}/"
    first = _publish(cloud, job)
    _rerun_input(cloud, job)
    with racing_reader(cloud, prefix) as reader:
        # When the relabeled job converts and publishes while the reader reads
        started = time.monotonic()
        execution = cloud.wait(cloud.put_event_async(completion_event(job.job_name)) or "")
        ended = time.monotonic()
        reader.read_since(ended)
    assert execution.status == "SUCCEEDED", execution
    second = _current(cloud, job)
    # Then every read saw a whole version: every listed image and label file there, and the
    # labels exactly the ones of the version its data.yaml named
    assert reader.errors == []
    expected = {first: _labels_of(cloud, prefix, first), second: _labels_of(cloud, prefix, second)}
    assert expected[first] != expected[second]
    for _, version, labels in reader.snapshots:
        assert labels == expected[version]
    # The reads raced the conversion: the old version was read while the new one was written
    during = [version for at, version, _ in reader.snapshots if started <= at <= ended]
    assert first in during
    assert {version for at, version, _ in reader.snapshots if at > ended} == {second}
    assert cloud.denials == []


def _count(requests: Counter[tuple[str, str]], function: str, kind: str) -> int:
    """S3 requests of one kind made by the function named `function` in the template."""
    return sum(
        n for (name, k), n in requests.items() if k == kind and f"{function}Function" in name
    )


@pytest.fixture
def keep_one(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, env_overrides={"KEEP_VERSIONS": "1"}) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        yield local


def test_a_relabeling_rerun_writes_only_the_changed_label_files(keep_one: LocalCloud) -> None:
    # Given a published job of 24 images, kept one version deep
    cloud = keep_one
    job = make_sample_job(cloud.bucket, images=24, image_bucket=CUSTOMER_IMAGES)
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    prefix = f"datasets/{job.job_name}/"
    first = _publish(cloud, job)
    full = cloud.s3_gate.requests.copy()
    # When RELABELED lines get new boxes and the job's output converts again
    _rerun_input(cloud, job)
    second = _publish(cloud, job)
    rerun = cloud.s3_gate.requests - full
    # Then the new version wrote exactly the changed label files, each image copied beside its
    # label (server-side, from the version before: readers find labels next to images)
    s3 = cloud.client("s3")
    listed = s3.list_objects_v2(Bucket=cloud.bucket, Prefix=f"{prefix}files/{second}/")
    written = [item["Key"].split(f"{second}/", 1)[1] for item in listed.get("Contents", [])]
    labels = sorted(key for key in written if key.startswith("labels/"))
    assert len(labels) == RELABELED
    assert sorted(label_of(key) for key in written if key.startswith("images/")) == labels
    assert _count(full, "Convert", "COPY") == len(job.truth)
    assert _count(rerun, "Convert", "COPY") == RELABELED
    # (the version's own files, tables to exports, are written by both: the difference is
    # exactly the label files left as they were)
    unchanged = len(job.truth) - RELABELED
    assert _count(full, "Convert", "PUT") - _count(rerun, "Convert", "PUT") == unchanged
    # And the version before it is gone (keepVersions 1), but not the files the new one names
    assert json.loads(
        s3.get_object(Bucket=cloud.bucket, Key=prefix + "current.json")["Body"].read()
    )["versions"] == [second]
    assert not s3.list_objects_v2(Bucket=cloud.bucket, Prefix=f"{prefix}versions/{first}/").get(
        "Contents"
    )
    files = cloud.dataset(prefix)
    assert len([key for key in files if key.startswith("images/")]) == len(job.truth)
    assert cloud.denials == []  # Publish's role may delete what it collects
    # And the notification says what the version wrote
    ready = [n["Message"] for n in cloud.notifications() if "ready" in n["Subject"]]
    assert f"Version: {second} ({2 * RELABELED} files written" in ready[-1]
    assert f"unchanged from {first}" in ready[-1]
