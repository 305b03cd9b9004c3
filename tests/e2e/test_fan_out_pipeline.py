"""A manifest above the fan-out threshold converts through the synthesized Distributed Map.

The dataset it publishes is the one the pure core writes in a single pass (byte for byte, all
but the copied images and `_SUCCESS`); a failing chunk fails the execution, notifies, and frees
the dataset for the next attempt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.exports.formats import parse_exports
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalStorage
from gt2yolo_config import defaults

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly
from samples.detection import CUSTOMER_IMAGES, SampleJob, make_sample_job

# The sample manifest is a few KiB: these make Convert plan chunks of a few lines each.
SMALL_FAN_OUT = {"FAN_OUT_BYTES": "1000", "CHUNK_BYTES": "2500"}


class _Manifest:
    """The job's manifest bytes under its S3 name, for the local single-pass reference."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data

    def lines(self) -> Iterator[bytes]:
        yield from self.data.splitlines(keepends=True)


@pytest.fixture
def fan_out_cloud(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, env_overrides=SMALL_FAN_OUT) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        yield local


@pytest.fixture
def big_job(fan_out_cloud: LocalCloud) -> SampleJob:
    """Its images in the customer's bucket: each chunk copies them from there."""
    sample = make_sample_job(fan_out_cloud.bucket, images=12, image_bucket=CUSTOMER_IMAGES)
    fan_out_cloud.put_objects(sample.objects)
    fan_out_cloud.put_objects(sample.image_objects, CUSTOMER_IMAGES)
    return sample


def _objects(cloud: LocalCloud, prefix: str) -> dict[str, bytes]:
    s3 = cloud.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=cloud.bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {
        key.removeprefix(prefix): s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read()
        for key in keys
    }


def _single_pass(job: SampleJob, bucket: str, out: Path, version: str) -> dict[str, bytes]:
    config_uri = f"s3://{bucket}/{job.config_key}"
    config = job.objects[job.config_key]
    manifest = _Manifest(f"s3://{bucket}/{job.manifest_key}", job.objects[job.manifest_key])
    options = ConversionOptions(
        label_attribute=job.describe_response()["LabelAttributeName"],
        class_list=class_list_from_label_config(config, config_uri),
        fractions=SplitFractions(0.2, 0.0),
        version=version,
        # The deployed default: COCO beside the YOLO files (exports/coco/<split>.json)
        exports=parse_exports([defaults.EXPORTS]),
    )
    convert_manifests([manifest], LocalStorage(out), options)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_big_manifest_fans_out_and_publishes_the_single_pass_dataset(
    fan_out_cloud: LocalCloud, big_job: SampleJob, tmp_path: Path
) -> None:
    # Given a finished job whose manifest is above the (lowered) fan-out threshold
    fan_out_cloud.expect_describe_labeling_job(big_job.describe_response())

    # When SageMaker sends the completion event
    execution = fan_out_cloud.put_event(completion_event(big_job.job_name))

    # Then the Distributed Map converted several chunks, Finalize merged them, Publish published
    assert execution is not None
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.states[-6:] == [
        "FanOut?", "ConvertChunks", "Finalize", "Report", "Publish", "DatasetPublished"
    ]  # fmt: skip
    # (the Map's child executions ran ConvertChunk once per chunk, in-process)
    chunks = [e for h, e in fan_out_cloud.invocations if h == "handlers.convert_chunk.handler"]
    assert len(chunks) >= 3
    assert sorted(e["chunk"]["index"] for e in chunks) == list(range(len(chunks)))
    prefix = f"datasets/{big_job.job_name}/"
    stored = _objects(fan_out_cloud, prefix)
    assert "_SUCCESS" in stored and "current.json" in stored
    assert not [key for key in stored if "_parts/" in key or key.startswith("_LOCK")]
    published = fan_out_cloud.dataset(prefix)
    version = json.loads(stored["current.json"])["version"]

    # And every file but the copied images (and the Report step's pages) is the single pass's,
    # byte for byte
    reference = _single_pass(big_job, fan_out_cloud.bucket, tmp_path / "single", version)
    not_converted = ("images/", "previews/", "report.html", "workers")
    converted = {k: v for k, v in published.items() if not k.startswith(not_converted)}
    assert sorted(converted) == sorted(reference)
    assert converted == reference
    assert len([k for k in published if k.startswith("images/")]) == len(big_job.truth)
    assert fan_out_cloud.denials == []  # ConvertChunk's role reads the customer's bucket


def test_a_failing_chunk_fails_the_execution_notifies_and_frees_the_dataset(
    fan_out_cloud: LocalCloud, big_job: SampleJob
) -> None:
    # Given chunks whose conversion breaks (a bug, an S3 outage beyond retries)
    fan_out_cloud.expect_describe_labeling_job(big_job.describe_response())
    fan_out_cloud.fail_function("handlers.convert_chunk.handler", "RuntimeError", "disk on fire")

    # When the job's completion event arrives
    execution = fan_out_cloud.put_event(completion_event(big_job.job_name))

    # Then the execution fails through Finalize and NotifyFailure. In AWS the failed Map's Catch
    # leads there (asserted on the template); moto's interpreter ends the Map run "succeeded"
    # even when child executions fail, so here Finalize's own check finds the missing chunks.
    assert execution is not None
    assert execution.status == "FAILED"
    assert execution.states[-3:] == ["Finalize", "NotifyFailure", "ConversionFailed"]
    assert execution.error == "FanOutFailed"
    assert "3 of 3 chunks did not finish" in (execution.cause or "")
    messages = fan_out_cloud.notifications()
    assert any("converting the chunks failed" in json.dumps(message) for message in messages)
    # and the dataset is not published, nor locked against the next attempt
    left = _objects(fan_out_cloud, f"datasets/{big_job.job_name}/")
    assert "_SUCCESS" not in left
    assert "_LOCK" not in left
