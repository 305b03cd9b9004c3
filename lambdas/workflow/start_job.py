"""Start a batch labeling job from the current input manifest of a dataset.

Two steps, so that the state machine retries each on its own and the CLI can show the request
before sending it: `prepare_labeling_job` (bring the manifest up to date, refuse an empty one,
write the label categories and the worker task template next to it, build the request) and
`create_labeling_job` (CreateLabelingJob). Every rule comes from `gt2yolo.labeling_job`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from gt2yolo.intake import IMAGES_PREFIX, INTAKE_PREFIX, input_manifest_key
from gt2yolo.labeling_job import (
    WORKER_TASK_TEMPLATE,
    JobPlan,
    LabelingJobError,
    built_in_bounding_box_lambdas,
    check_job_name,
    check_workteam,
    create_labeling_job_request,
    default_job_name,
    label_categories,
    label_category_config,
)
from pydantic import BaseModel, ConfigDict, Field

from workflow.intake import IntakePorts, ensure_manifest_current

JOBS_FOLDER = f"{INTAKE_PREFIX}jobs/"  # label categories and template of each job started here


class StartJobRequest(BaseModel):
    """What starts a job: the execution input of the state machine, or the CLI's arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(min_length=1, pattern=r"^[^/]+$")
    labels: list[str]
    job_name: str | None = None
    task_title: str = ""
    task_description: str = ""
    workers_per_image: int = Field(default=1, ge=1, le=9)


class PreparedJob(BaseModel):
    """Prepare's answer (the state passed to Create): the request, ready to send."""

    model_config = ConfigDict(frozen=True)

    job_name: str
    dataset: str
    images: int
    manifest_uri: str
    request: dict[str, Any]


class StartedJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_name: str
    job_arn: str
    dataset: str
    images: int
    label_attribute: str
    output_path: str


@dataclass(frozen=True)
class StartJobSettings:
    bucket: str
    region: str
    role_arn: str
    workteam_arn: str | None
    job_name_prefix: str = ""
    output_prefix: str = "groundtruth/"


class ManifestFiles(Protocol):
    def count_lines(self, key: str) -> int | None: ...

    def put(self, key: str, body: bytes, content_type: str) -> str: ...


class LabelingJobCreator(Protocol):
    def create(self, request: dict[str, Any]) -> str: ...


def prepare_labeling_job(
    request: StartJobRequest,
    settings: StartJobSettings,
    files: ManifestFiles,
    intake: IntakePorts | None = None,
    now: datetime | None = None,
) -> PreparedJob:
    """Check everything that can be checked before a write, then refresh and write."""
    labels = label_categories(request.labels)
    check_workteam(settings.workteam_arn, settings.region)
    built_in_bounding_box_lambdas(settings.region)
    job_name = check_job_name(
        request.job_name
        or default_job_name(settings.job_name_prefix, request.dataset, now or datetime.now(UTC)),
        settings.job_name_prefix,
    )
    manifest_key = input_manifest_key(request.dataset)
    if intake is not None:
        ensure_manifest_current(request.dataset, intake)  # "current" = everything dropped so far
    images = files.count_lines(manifest_key)
    if not images:
        raise LabelingJobError(
            f"input manifest s3://{settings.bucket}/{manifest_key} is "
            f"{'empty' if images == 0 else 'missing'}: drop images under "
            f"{IMAGES_PREFIX}{request.dataset}/ first"
        )
    folder = f"{JOBS_FOLDER}{job_name}/"
    config = json.dumps(label_category_config(labels), ensure_ascii=False, indent=2)
    plan = JobPlan(
        job_name=job_name,
        region=settings.region,
        manifest_uri=f"s3://{settings.bucket}/{manifest_key}",
        output_path=f"s3://{settings.bucket}/{settings.output_prefix}",
        label_config_uri=files.put(
            folder + "label-categories.json", config.encode(), "application/json"
        ),
        template_uri=files.put(
            folder + "worker-task-template.liquid.html",
            WORKER_TASK_TEMPLATE.encode(),
            "text/html; charset=utf-8",
        ),
        role_arn=settings.role_arn,
        workteam_arn=str(settings.workteam_arn),
        labels=tuple(labels),
        task_title=request.task_title,
        task_description=request.task_description,
        workers_per_image=request.workers_per_image,
    )
    return PreparedJob(
        job_name=job_name,
        dataset=request.dataset,
        images=images,
        manifest_uri=plan.manifest_uri,
        request=create_labeling_job_request(plan),
    )


def create_labeling_job(prepared: PreparedJob, jobs: LabelingJobCreator) -> StartedJob:
    arn = jobs.create(prepared.request)
    return StartedJob(
        job_name=prepared.job_name,
        job_arn=arn,
        dataset=prepared.dataset,
        images=prepared.images,
        label_attribute=prepared.request["LabelAttributeName"],
        output_path=prepared.request["OutputConfig"]["S3OutputPath"],
    )
