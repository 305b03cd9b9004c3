"""Fan-out of the other tasks: segmentation and classification jobs cut into chunks, converted apart
and merged, are the single-pass dataset byte for byte (images and masks read from a mirror).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.fanout import Chunk, FanOutPlan, convert_chunk, finalize, plan_fan_out
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror

from samples.detection import SampleJob
from samples.image_tasks import make_classification_job, make_segmentation_job

BUCKET, IMAGES = "stack-bucket", "customer-images"


@dataclass(frozen=True)
class MirroredJob:
    mirror: S3Mirror
    manifest: LocalManifest
    options: ConversionOptions


def _mirrored(root: Path, job: SampleJob) -> MirroredJob:
    """The job's objects in a local mirror; its manifest with a malformed and a blank line more."""
    for bucket, objects in ((BUCKET, job.objects), (IMAGES, job.image_objects)):
        for key, data in objects.items():
            path = root / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    manifest = root / BUCKET / job.manifest_key
    lines = manifest.read_bytes().splitlines(keepends=True)
    lines[3:3] = [b'{"source-ref": "s3://customer-images/x.jpg", \n', b"\n"]
    manifest.write_bytes(b"".join(lines))
    classes = class_list_from_label_config(job.objects[job.config_key], "data.json")
    options = ConversionOptions(class_list=classes, fractions=SplitFractions(val=0.25, test=0.15))
    return MirroredJob(S3Mirror(root), LocalManifest(manifest), options)


JOBS: dict[str, Callable[[], SampleJob]] = {
    "segmentation": lambda: make_segmentation_job(BUCKET, image_bucket=IMAGES),
    "classification": lambda: make_classification_job(BUCKET, image_bucket=IMAGES),
    "multilabel": lambda: make_classification_job(
        BUCKET, "demo-tags", multilabel=True, image_bucket=IMAGES, dataset="tags"
    ),
}


@pytest.fixture(scope="module", params=sorted(JOBS))
def job(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MirroredJob:
    return _mirrored(tmp_path_factory.mktemp(f"mirror-{request.param}"), JOBS[request.param]())


def _single_pass(job: MirroredJob, out: Path) -> None:
    storage = LocalStorage(out)
    convert_manifests([job.manifest], storage, job.options,
                      MirrorImageSink(job.mirror, storage), objects=job.mirror)  # fmt: skip


def _fan_out(job: MirroredJob, out: Path, chunk_bytes: int) -> FanOutPlan:
    plan = plan_fan_out([job.manifest], job.options, chunk_bytes)
    # Through JSON, as the state machine hands the plan to the chunks and to the merge.
    plan = FanOutPlan.from_json(plan.to_json())
    storage = LocalStorage(out)
    sink = MirrorImageSink(job.mirror, storage)
    for item in reversed([c.as_item() for c in plan.chunks]):  # any order: chunks run in parallel
        chunk = Chunk.from_item(json.loads(json.dumps(item)))
        convert_chunk(plan, chunk, job.manifest, storage, job.options, sink, job.mirror)
    finalize(plan, storage, storage, job.options)
    return plan


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("chunk_bytes", [1, 1200, 10**9])
def test_fan_out_of_each_task_writes_the_single_pass_dataset_byte_for_byte(
    job: MirroredJob, tmp_path: Path, chunk_bytes: int
) -> None:
    # Given a job of the task in a mirror: accepted lines, failed, unlabeled and broken ones
    # When converting it in one pass and through the fan-out
    _single_pass(job, tmp_path / "single")
    plan = _fan_out(job, tmp_path / "fanned", chunk_bytes)

    # Then both datasets hold the same files with the same bytes, and no part is left behind
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert sorted(fanned) == sorted(single)
    assert fanned == single
    assert not any(name.startswith("_parts/") for name in fanned)
    # And the datasets are of the job's task, with rejections, over several chunks when cut small
    report = json.loads(single["report.json"])
    assert report["task"] == plan.survey.task.yolo_task
    assert report["images"] > 0 and report["rejected_lines"] >= 2
    assert len(plan.chunks) > 1 or chunk_bytes == 10**9
