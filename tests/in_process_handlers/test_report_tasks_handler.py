"""Report handler on segmentation and classification datasets in S3: previews and the page of
the task, read through the same S3 adapters as a detection dataset.

The datasets are converted locally by the CLI (from a local sync of the sample jobs' buckets)
and put into the bucket where Convert writes them; Report only reads what is there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gt2yolo_cli.main import main
from workflow.models import ConversionSummary

from localrun.published import upload_as_version
from samples.detection import SampleJob
from samples.image_tasks import make_classification_job, make_segmentation_job

IMAGES = "customer-images"
JOBS: dict[str, Callable[[str], SampleJob]] = {
    "segment": lambda bucket: make_segmentation_job(bucket, image_bucket=IMAGES),
    "classify": lambda bucket: make_classification_job(bucket, image_bucket=IMAGES),
    "multi-label": lambda bucket: make_classification_job(
        bucket, job_name="demo-tags", multilabel=True, image_bucket=IMAGES, dataset="tags"
    ),
}
# What the page says of each task
ON_THE_PAGE = {
    "segment": ("Polygons per class", 'data-count="regions with holes"', "small_region"),
    "classify": ("Images per class", "Ultralytics id", 'data-count="dropped labels"'),
    "multi-label": ("Classes given together", 'data-count="images without a class"'),
}


def _converted_locally(job: SampleJob, bucket: str, root: Path) -> Path:
    for name, objects in ((bucket, job.objects), (IMAGES, job.image_objects)):
        for key, body in objects.items():
            path = root / "mirror" / name / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    out = root / "dataset"
    assert main([
        "convert", f"s3://{bucket}/{job.manifest_key}", "--s3-mirror", str(root / "mirror"),
        "--out", str(out), "--no-progress",
    ]) == 0  # fmt: skip
    return out


@pytest.mark.parametrize("task", list(JOBS))
def test_report_draws_and_describes_each_task_from_the_dataset_in_s3(
    task: str, report: Callable[[dict[str, Any]], dict[str, Any]], bucket: Any, tmp_path: Path
) -> None:
    # Given the task's dataset where Convert puts it
    job = JOBS[task](bucket.name)
    local = _converted_locally(job, bucket.name, tmp_path)
    dataset = f"datasets/{job.job_name}/"
    version = upload_as_version(bucket.client, bucket.name, dataset, local)
    prefix = f"{dataset}versions/{version}/"  # where the version's report goes
    document = json.loads((local / "report.json").read_text())
    outcome = {
        "source": "labeling-job", "job_name": job.job_name, "dataset_name": job.job_name,
        "manifest_uri": bucket.uri(job.manifest_key), "dataset_uri": bucket.uri(dataset),
        "version": version,
        "fingerprint": "0" * 32,
        "summary": ConversionSummary.from_report(document).model_dump(),
    }  # fmt: skip
    # When the Report Lambda runs on Convert's outcome
    summary = report(outcome)
    # Then every image (fewer than the sample) has a preview in S3, and the page is the task's
    assert summary["previews"] == document["images"]
    previews = [k for k in bucket.keys(prefix + "previews/") if k.endswith(".jpg")]
    assert len(previews) == document["images"]
    page = bucket.read(prefix + "report.html").decode()
    for expected in ON_THE_PAGE[task]:
        assert expected in page
    assert page.count("<figure") == document["images"]
    assert "No readable worker responses." in page  # a labeling job: its responses were looked for
