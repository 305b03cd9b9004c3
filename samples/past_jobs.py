"""An account's past labeling jobs, as a team holding years of them has them (for the backfill).

Each is a finished sample bounding-box job (`samples.detection`) with SageMaker's description:
its output in the stack's bucket under `groundtruth/`, or in a bucket of the team's own under
any prefix (where most past jobs wrote it); its images in another bucket; created on a given
day; of a task gt2yolo converts or not; stopped before it wrote any output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from samples.detection import SampleJob, make_sample_job

GROUNDTRUTH = "groundtruth/"


@dataclass
class PastJob:
    job: SampleJob
    described: dict[str, Any]  # DescribeLabelingJob's answer
    objects: dict[str, dict[str, bytes]] = field(default_factory=dict)  # bucket -> key -> body

    @property
    def name(self) -> str:
        return self.job.job_name

    @property
    def manifest_uri(self) -> str | None:
        output = self.described.get("LabelingJobOutput") or {}
        return output.get("OutputDatasetS3Uri")


def past_job(
    name: str,
    output_bucket: str,
    image_bucket: str,
    *,
    created: datetime,
    output_prefix: str = GROUNDTRUTH,
    images: int = 3,
    pre_annotation: str = "PRE-BoundingBox",
    status: str = "Completed",
    has_output: bool = True,
    image_folder: str = "photos",
) -> PastJob:
    """A job that wrote its output to s3://<output_bucket>/<output_prefix><name>/."""
    job = make_sample_job(output_bucket, name, images=images, image_bucket=image_bucket,
                          dataset=f"{image_folder}/{name}")  # fmt: skip
    job.pre_annotation = pre_annotation
    described = job.describe_response(status)
    described["CreationTime"] = described["LastModifiedTime"] = created
    outputs = {_moved(key, output_prefix): body for key, body in job.objects.items()}
    moved = f"s3://{output_bucket}/{_moved(job.output_prefix, output_prefix)}"
    described["OutputConfig"]["S3OutputPath"] = f"s3://{output_bucket}/{output_prefix}"
    described["LabelingJobOutput"]["OutputDatasetS3Uri"] = (
        f"{moved}manifests/output/output.manifest"
    )
    described["LabelCategoryConfigS3Uri"] = f"{moved}annotation-tool/data.json"
    if not has_output:  # stopped before any label: no output manifest at all
        described.pop("LabelingJobOutput")
        outputs = {}
    objects: dict[str, dict[str, bytes]] = {output_bucket: outputs}
    objects.setdefault(image_bucket, {}).update(job.image_objects)
    return PastJob(job, described, objects)


def _moved(key: str, output_prefix: str) -> str:
    return output_prefix + key.removeprefix(GROUNDTRUTH)
