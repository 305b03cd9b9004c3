"""Every Ground Truth image task through the synthesized state machine, every function run as
deployed (the Convert and ConvertChunk functions with their OpenCV layer).

A semantic segmentation job and image classification jobs complete: Resolve learns the task
from DescribeLabelingJob's pre-annotation Lambda, Convert reads the masks from where Ground Truth
wrote them and publishes the dataset of the task, the same dataset a local `gt2yolo convert`
writes. A big segmentation manifest fans out to chunks with the same result; a dropped manifest
(no SageMaker call) needs no job to say its task; a video job is skipped, saying why.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.exports.formats import parse_exports
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalStorage, S3Mirror
from gt2yolo_config import defaults

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.lambda_events import object_created_event
from localrun.synth import Assembly
from samples.detection import CUSTOMER_IMAGES, SampleJob
from samples.image_tasks import make_classification_job, make_segmentation_job
from samples.video import make_video_job

SMALL_FAN_OUT = {"FAN_OUT_BYTES": "1000", "CHUNK_BYTES": "2500"}


def _complete(cloud: LocalCloud, job: SampleJob) -> dict[str, Any]:
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None
    return execution.__dict__


def _dataset(cloud: LocalCloud, name: str) -> dict[str, bytes]:
    """The published dataset's current version, every file by its key in the dataset."""
    return cloud.dataset(f"datasets/{name}/")


def _local_reference(
    job: SampleJob, bucket: str, tmp_path: Path, published: dict[str, bytes]
) -> dict[str, bytes]:
    """The same job converted by the core locally, from a mirror of both buckets, with the
    deployed exports and the published version's id (which COCO's info names)."""
    mirror = tmp_path / "mirror"
    for at, objects in ((bucket, job.objects), (CUSTOMER_IMAGES, job.image_objects)):
        for key, body in objects.items():
            path = mirror / at / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    out = tmp_path / "local"
    source = _Manifest(f"s3://{bucket}/{job.manifest_key}", job.objects[job.manifest_key])
    config = job.objects[job.config_key]
    options = ConversionOptions(
        label_attribute=job.label_attribute,
        class_list=class_list_from_label_config(config, f"s3://{bucket}/{job.config_key}"),
        fractions=SplitFractions(0.2, 0.0),
        version=json.loads(published["report.json"])["version"],
        exports=parse_exports([defaults.EXPORTS]),
    )
    convert_manifests([source], LocalStorage(out), options, objects=S3Mirror(mirror))
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


class _Manifest:
    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data

    def lines(self) -> Iterator[bytes]:
        yield from self.data.splitlines(keepends=True)


# The files the pipeline adds or that differ by nature: published marker, report page and
# previews (Report step), copied images (the local reference copies none).
def _comparable(files: dict[str, bytes]) -> dict[str, Any]:
    skipped = ("_SUCCESS", "report.html", "previews/", "images/", "workers", "daily", "insights")
    kept: dict[str, Any] = {
        k: v
        for k, v in files.items()
        if not k.startswith(skipped) and not k.endswith((".jpg", ".gt2yolo-dataset"))
    }
    # The published version is named in report.json; a local conversion names none.
    kept["report.json"] = {
        k: v for k, v in json.loads(files["report.json"]).items() if k != "version"
    }
    # A missing mask's detail says where it was looked for: S3's answer, or the mirror's path.
    kept["rejected.jsonl"] = [
        {k: v for k, v in entry.items() if entry["reason"] != "mask_not_found" or k != "detail"}
        for entry in map(json.loads, files["rejected.jsonl"].splitlines())
    ]
    return kept


def test_a_segmentation_job_publishes_the_polygon_dataset_the_core_writes(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given a finished semantic segmentation job (masks in the job's output, images in the
    # customer's bucket)
    job = make_segmentation_job(cloud.bucket, image_bucket=CUSTOMER_IMAGES)

    # When its completion event arrives
    execution = _complete(cloud, job)

    # Then the execution succeeds and Resolve passed on the job's task
    assert execution["status"] == "SUCCEEDED", execution["cause"]
    published = _dataset(cloud, job.job_name)
    report = json.loads(published["report.json"])
    assert report["task"] == "segment"
    assert "task: segment" in published["data.yaml"].decode()
    # And every label file, table and list is what the core writes locally from a mirror
    reference = _local_reference(job, cloud.bucket, tmp_path, published)
    assert _comparable(published) == _comparable(reference)
    # And each convertible image was copied, each rejected one counted (none copied)
    copied = [k for k in published if k.startswith("images/")]
    assert len(copied) == report["images"] == len(job.truth)
    assert set(report["rejected"]) == {
        "mask_not_found", "mask_size_mismatch", "mask_unknown_colors", "failed_object",
        "not_labeled",
    }  # fmt: skip
    # And every S3 request of the functions was allowed by their roles
    assert cloud.denials == []


@pytest.mark.parametrize("multilabel", [False, True], ids=["single-label", "multi-label"])
def test_a_classification_job_publishes_class_folders_or_a_labels_table(
    cloud: LocalCloud, tmp_path: Path, multilabel: bool
) -> None:
    # Given a finished image classification job
    job = make_classification_job(
        cloud.bucket, "pets-multi" if multilabel else "pets", multilabel=multilabel,
        image_bucket=CUSTOMER_IMAGES,
    )  # fmt: skip

    # When its completion event arrives
    execution = _complete(cloud, job)

    # Then the dataset is the core's: class folders (single label) or labels.csv (multi-label)
    assert execution["status"] == "SUCCEEDED", execution["cause"]
    published = _dataset(cloud, job.job_name)
    assert _comparable(published) == _comparable(
        _local_reference(job, cloud.bucket, tmp_path, published)
    )
    report = json.loads(published["report.json"])
    assert report["task"] == "classify"
    assert report["classification"]["multilabel"] is multilabel
    if multilabel:
        assert "labels.csv" in published
        assert sum(k.startswith("images/") for k in published) == len(job.truth)
    else:
        for ref, (name,) in job.truth.items():
            image = ref.rsplit("/", 2)
            assert f"{'train'}/{name}/{image[1]}/{image[2]}" in published or (
                f"val/{name}/{image[1]}/{image[2]}" in published
            )
    assert "data.yaml" not in published


@pytest.fixture
def fan_out_cloud(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, env_overrides=SMALL_FAN_OUT) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        yield local


def test_a_big_segmentation_manifest_fans_out_to_the_same_dataset(
    fan_out_cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given a segmentation job whose manifest is above the (lowered) fan-out threshold
    job = make_segmentation_job(fan_out_cloud.bucket, image_bucket=CUSTOMER_IMAGES)

    # When it completes
    execution = _complete(fan_out_cloud, job)

    # Then the Distributed Map converted its chunks (ConvertChunk, with the OpenCV layer), and
    # the merged dataset is the single-pass one
    assert execution["status"] == "SUCCEEDED", execution["cause"]
    assert "ConvertChunks" in execution["states"]
    published = _dataset(fan_out_cloud, job.job_name)
    assert _comparable(published) == _comparable(
        _local_reference(job, fan_out_cloud.bucket, tmp_path, published)
    )


def test_a_dropped_segmentation_manifest_converts_by_its_lines_metadata(cloud: LocalCloud) -> None:
    # Given the output manifest of an old segmentation job, dropped under manifests/ (no job)
    job = make_segmentation_job(cloud.bucket, image_bucket=CUSTOMER_IMAGES)
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    body = job.objects[job.manifest_key]
    key = "manifests/archive/streets.manifest"
    cloud.client("s3").put_object(Bucket=cloud.bucket, Key=key, Body=body)

    # When its Object Created event arrives
    execution = cloud.put_event(object_created_event(cloud.bucket, key, len(body)))

    # Then the lines' metadata type says segmentation, and the classes come from their color maps
    assert execution is not None and execution.status == "SUCCEEDED", execution
    report = json.loads(_dataset(cloud, "archive/streets")["report.json"])
    assert report["task"] == "segment"
    assert report["classes"] == ["road", "car", "person"]
    assert report["images"] == len(job.truth)


def test_a_video_classification_job_is_skipped_naming_its_task(cloud: LocalCloud) -> None:
    # Given a finished job of a task gt2yolo does not convert (video classification)
    job = make_segmentation_job(cloud.bucket, "traffic-video", image_bucket=CUSTOMER_IMAGES)
    described = job.describe_response()
    described["HumanTaskConfig"]["PreHumanTaskLambdaArn"] = (
        "arn:aws:lambda:us-east-1:432418664414:function:PRE-VideoClassification"
    )
    cloud.put_objects(job.objects)
    cloud.expect_describe_labeling_job(described)

    # When its completion event arrives
    execution = cloud.put_event(completion_event(job.job_name))

    # Then nothing is converted and the execution ends saying which task it was
    assert execution is not None and execution.status == "SUCCEEDED", execution
    listed = cloud.client("s3").list_objects_v2(
        Bucket=cloud.bucket, Prefix=f"datasets/{job.job_name}/"
    )
    assert not listed.get("Contents")
    assert "PRE-VideoClassification" in json.dumps(execution.output)


@pytest.mark.parametrize("per_chunk", [None, "1"], ids=["one Convert", "fan-out by sequence"])
def test_a_video_tracking_job_publishes_frames_split_by_sequence_and_mot_tracks(
    assembly: Assembly, tmp_path: Path, per_chunk: str | None
) -> None:
    # Given a finished video frame tracking job (sequence files and SeqLabel.json in the job's
    # output, frames in the customer's bucket); fanned out one sequence per chunk, or not
    overrides = {"SEQUENCES_PER_CHUNK": per_chunk} if per_chunk else {}
    with LocalCloud(assembly, env_overrides=overrides) as cloud:
        cloud.create_bucket(CUSTOMER_IMAGES)
        job = make_video_job(cloud.bucket, image_bucket=CUSTOMER_IMAGES)

        # When its completion event arrives
        execution = _complete(cloud, job)

        # Then the dataset is the one the core writes locally, MOT files included
        assert execution["status"] == "SUCCEEDED", execution["cause"]
        assert ("ConvertChunks" in execution["states"]) is (per_chunk is not None)
        published = _dataset(cloud, job.job_name)
        assert _comparable(published) == _comparable(
            _local_reference(job, cloud.bucket, tmp_path, published)
        )
        report = json.loads(published["report.json"])
        assert report["video"]["sequences"] == len(job.tracks)
        assert report["video"]["tracks"] == sum(len(t) for t in job.tracks.values())
        # And every frame of a sequence is in one split
        rows = list(csv.DictReader(io.StringIO(published["images.csv"].decode())))
        splits = {(row["sequence"], row["split"]) for row in rows}
        assert len(splits) == len({row["sequence"] for row in rows})
        # And each sequence has its MOT ground truth
        for sequence in job.tracks:
            assert f"mot/{sequence}/gt/gt.txt" in published
        assert cloud.denials == []
