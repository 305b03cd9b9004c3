"""Batch labeling jobs: the rules behind one CreateLabelingJob request for bounding boxes.

Everything here is pure (no AWS call): label categories, job and label attribute names, the
region's built-in Ground Truth Lambdas, the worker task template and the request itself. The
AWS side (writing the files to S3, calling SageMaker) lives in `workflow.start_job`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gt2yolo.nesting import loads_bounded

MAX_BOUNDING_BOX_LABELS = 50  # Ground Truth quota for bounding-box label categories
LABEL_CONFIG_DOCUMENT_VERSION = "2018-11-28"
# CreateLabelingJob: LabelingJobName and LabelAttributeName patterns.
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")
_WORKTEAM_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):[0-9]{12}:workteam/.+$")
JOB_NAME_MAX = 63
LABEL_ATTRIBUTE_SUFFIX = "-boxes"
TASK_TITLE_MAX = 128
TASK_DESCRIPTION_MAX = 255

# The accounts that own the built-in PRE-BoundingBox and ACS-BoundingBox Lambdas, per region,
# as listed in the SageMaker API reference (HumanTaskConfig.PreHumanTaskLambdaArn and
# AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn). The same account serves both.
BUILT_IN_TASK_ACCOUNTS: dict[str, str] = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}

# For image bounding boxes the API takes a worker task template (UiTemplateS3Uri): this is
# AWS's starter bounding-box template. PRE-BoundingBox fills task.input (the image, the header
# and the labels); `grant_read_access` gives the worker's browser a pre-signed URL.
WORKER_TASK_TEMPLATE = """\
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-bounding-box
    name="boundingBox"
    src="{{ task.input.taskObject | grant_read_access }}"
    header="{{ task.input.header }}"
    labels="{{ task.input.labels | to_json | escape }}"
  >
    <full-instructions header="Bounding box instructions">
      <ol>
        <li>Draw one box around each object of the listed categories.</li>
        <li>Keep the box tight: touch the object's outermost pixels.</li>
        <li>Box the visible part only; an image without any object needs no box.</li>
      </ol>
    </full-instructions>
    <short-instructions>
      <p>Draw a tight box around every object of the listed categories.</p>
    </short-instructions>
  </crowd-bounding-box>
</crowd-form>
"""


class LabelingJobError(ValueError):
    """A labeling job cannot be created as asked. The message says what to change."""


@dataclass(frozen=True)
class BuiltInTaskLambdas:
    pre_human_task: str
    annotation_consolidation: str


def built_in_bounding_box_lambdas(region: str) -> BuiltInTaskLambdas:
    """The region's built-in pre-annotation and consolidation Lambdas for bounding boxes."""
    account = BUILT_IN_TASK_ACCOUNTS.get(region)
    if account is None:
        regions = ", ".join(sorted(BUILT_IN_TASK_ACCOUNTS))
        raise LabelingJobError(
            f"region {region!r} has no built-in Ground Truth bounding-box Lambdas; "
            f"create the job in one of: {regions}"
        )
    base = f"arn:aws:lambda:{region}:{account}:function"
    return BuiltInTaskLambdas(f"{base}:PRE-BoundingBox", f"{base}:ACS-BoundingBox")


# --- label categories ----------------------------------------------------------------------


def label_categories(labels: Sequence[str]) -> list[str]:
    """The job's classes in the given order (which becomes the YOLO class ids), validated."""
    cleaned = [label.strip() for label in labels]
    if not cleaned:
        raise LabelingJobError("no label categories: give at least one label")
    if any(not label for label in cleaned):
        raise LabelingJobError("a label category is blank")
    duplicates = sorted(label for label, count in Counter(cleaned).items() if count > 1)
    if duplicates:
        raise LabelingJobError(f"label categories appear twice: {', '.join(duplicates)}")
    if len(cleaned) > MAX_BOUNDING_BOX_LABELS:
        raise LabelingJobError(
            f"{len(cleaned)} label categories: Ground Truth bounding-box jobs allow at most "
            f"{MAX_BOUNDING_BOX_LABELS}"
        )
    return cleaned


def parse_label_file(text: str) -> list[str]:
    """Labels from a file: a label category config (`{"labels":[{"label":...}]}`), a JSON list
    of strings, or plain text with one label per line (blank lines and `#` comments ignored)."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return label_categories(_labels_from_json(stripped))
    lines = [line.strip() for line in text.splitlines()]
    return label_categories([line for line in lines if line and not line.startswith("#")])


def _labels_from_json(text: str) -> list[str]:
    try:
        document = loads_bounded(text)
    except ValueError as exc:  # json's errors and NestedTooDeep
        raise LabelingJobError(f"label file is not valid JSON: {exc}") from None
    entries = document.get("labels") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise LabelingJobError('label file must hold {"labels": [{"label": ...}]} or a list')
    labels = [entry.get("label") if isinstance(entry, dict) else entry for entry in entries]
    if not all(isinstance(label, str) for label in labels):
        raise LabelingJobError("every label must be a string")
    return [str(label) for label in labels]


def label_category_config(labels: Sequence[str]) -> dict[str, Any]:
    """The label category configuration file Ground Truth reads (LabelCategoryConfigS3Uri)."""
    return {
        "document-version": LABEL_CONFIG_DOCUMENT_VERSION,
        "labels": [{"label": label} for label in label_categories(labels)],
    }


# --- names ---------------------------------------------------------------------------------


def default_job_name(prefix: str, dataset: str, now: datetime) -> str:
    """`<prefix><dataset>-<UTC time>`: unique per second, valid, and starting with the prefix
    the conversion trigger converts."""
    stamp = now.strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", dataset.lower()).strip("-") or "dataset"
    room = JOB_NAME_MAX - len(prefix) - len(stamp) - 1
    if room < 1:
        raise LabelingJobError(f"job name prefix {prefix!r} leaves no room for a job name")
    return f"{prefix}{slug[:room].strip('-') or 'd'}-{stamp}"


def check_job_name(name: str, prefix: str) -> str:
    if not _JOB_NAME.fullmatch(name):
        raise LabelingJobError(
            f"job name {name!r} is not valid: letters, digits and hyphens, at most "
            f"{JOB_NAME_MAX} characters, starting and ending with a letter or digit"
        )
    if not name.startswith(prefix):
        raise LabelingJobError(
            f"job name {name!r} does not start with {prefix!r}: its output would never be converted"
        )
    return name


def label_attribute_name(job_name: str) -> str:
    """The output manifest key of this job's boxes: `<job name>-boxes`.

    Job names are unique per account and region, so every job of a chain (a later adjustment
    or verification job reads this job's output manifest) adds its own attribute and none is
    overwritten or ambiguous. The suffix also keeps the name off the reserved endings
    `-metadata` and `-ref` (the latter is for segmentation and video jobs only).
    """
    name = f"{job_name}{LABEL_ATTRIBUTE_SUFFIX}"
    if not _ATTRIBUTE_NAME.fullmatch(name):  # unreachable for a valid job name
        raise LabelingJobError(f"label attribute {name!r} is not valid")
    return name


def check_workteam(workteam_arn: str | None, region: str) -> str:
    if not workteam_arn:
        raise LabelingJobError(
            "no work team: give the ARN of a private, vendor or public work team "
            "(gt2yolo start-job --workteam-arn, or deploy with -c workteamArn=...)"
        )
    match = _WORKTEAM_ARN.fullmatch(workteam_arn)
    if match is None:
        raise LabelingJobError(f"{workteam_arn!r} is not a SageMaker work team ARN")
    if match.group(1) != region:
        raise LabelingJobError(
            f"work team {workteam_arn} is in {match.group(1)}, the job in {region}: "
            "a labeling job uses a work team of its own region"
        )
    return workteam_arn


# --- the request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobPlan:
    """Everything one bounding-box labeling job is made of."""

    job_name: str
    region: str
    manifest_uri: str
    output_path: str
    label_config_uri: str
    template_uri: str
    role_arn: str
    workteam_arn: str
    labels: tuple[str, ...]
    task_title: str = ""
    task_description: str = ""
    workers_per_image: int = 1
    task_time_limit_seconds: int = 300


def default_task_description(labels: Sequence[str]) -> str:
    text = "Draw a tight box around every " + ", ".join(labels) + " in the image."
    return text if len(text) <= TASK_DESCRIPTION_MAX else text[: TASK_DESCRIPTION_MAX - 3] + "..."


def create_labeling_job_request(plan: JobPlan) -> dict[str, Any]:
    """The CreateLabelingJob parameters of `plan`, checked against the rules above."""
    check_workteam(plan.workteam_arn, plan.region)
    lambdas = built_in_bounding_box_lambdas(plan.region)
    labels = label_categories(plan.labels)
    if not 1 <= plan.workers_per_image <= 9:
        raise LabelingJobError("workers per image must be between 1 and 9")
    title = (plan.task_title or "Draw a box around each object")[:TASK_TITLE_MAX]
    description = (plan.task_description or default_task_description(labels))[:TASK_DESCRIPTION_MAX]
    return {
        "LabelingJobName": plan.job_name,
        "LabelAttributeName": label_attribute_name(plan.job_name),
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": plan.manifest_uri}}},
        "OutputConfig": {"S3OutputPath": plan.output_path},
        "RoleArn": plan.role_arn,
        "LabelCategoryConfigS3Uri": plan.label_config_uri,
        "HumanTaskConfig": {
            "WorkteamArn": plan.workteam_arn,
            "UiConfig": {"UiTemplateS3Uri": plan.template_uri},
            "PreHumanTaskLambdaArn": lambdas.pre_human_task,
            "TaskTitle": title,
            "TaskDescription": description,
            "NumberOfHumanWorkersPerDataObject": plan.workers_per_image,
            "TaskTimeLimitInSeconds": plan.task_time_limit_seconds,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": lambdas.annotation_consolidation
            },
        },
    }
