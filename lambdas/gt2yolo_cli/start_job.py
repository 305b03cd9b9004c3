"""`gt2yolo start-job`: a bounding-box labeling job from a dataset's current input manifest.

The same steps as the stack's StartLabelingJob state machine (`workflow.start_job`), run from a
laptop with the standard AWS configuration. It reads `manifests/input/<dataset>.manifest` as it
is (the deployed intake keeps it current), and adds Ground Truth's CORS rule to the bucket if no
rule allows it yet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

COMMAND = "start-job"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        COMMAND,
        help="start a bounding-box labeling job from a dataset's input manifest",
        description="Create a Ground Truth bounding-box labeling job from "
        "s3://BUCKET/manifests/input/DATASET.manifest. Its output goes to "
        "s3://BUCKET/groundtruth/, where the deployed pipeline converts it when it completes.",
    )
    parser.add_argument("--bucket", required=True, help="the dataset bucket")
    parser.add_argument("--dataset", required=True, help="the folder under images/")
    parser.add_argument("--labels", required=True, metavar="FILE",
                        help="label categories: one per line, a JSON list, or a label category "
                        "config; their order becomes the YOLO class ids (at most 50)")  # fmt: skip
    parser.add_argument("--workteam-arn", help="the work team that labels the images")
    parser.add_argument("--role-arn", required=True,
                        help="the execution role SageMaker assumes (stack output "
                        "GroundTruthRoleArn)")  # fmt: skip
    parser.add_argument("--job-name", help="default: <prefix><dataset>-<UTC time>")
    parser.add_argument("--job-name-prefix", default="",
                        help="the stack's jobNamePrefix, so the job's output is converted")  # fmt: skip
    parser.add_argument("--title", default="", help="task title workers see")
    parser.add_argument("--description", default="", help="task description workers see")
    parser.add_argument("--workers-per-image", type=int, default=1, metavar="N",
                        help="workers who label each image (1-9; default 1)")  # fmt: skip
    parser.add_argument("--region", help="default: the AWS configuration's region")
    parser.add_argument("--dry-run", action="store_true",
                        help="write the label categories and template, print the request, "
                        "create nothing")  # fmt: skip


def aws_clients(region: str | None) -> tuple[str, Any, Any]:
    """(region, S3 client, SageMaker client) from the standard AWS configuration."""
    import boto3

    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise ValueError("no AWS region: pass --region or configure one")
    return session.region_name, session.client("s3"), session.client("sagemaker")


def main(args: argparse.Namespace) -> int:
    # Imported here, not at module level: every `gt2yolo` command builds this parser.
    from botocore.exceptions import BotoCoreError, ClientError
    from gt2yolo.labeling_job import LabelingJobError
    from pydantic import ValidationError

    try:
        print(run(args))
    except (LabelingJobError, ValidationError, OSError, ValueError) as exc:
        print(f"gt2yolo: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"gt2yolo: error: AWS: {exc}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> str:
    from gt2yolo.labeling_job import parse_label_file
    from gt2yolo_aws.intake import (
        S3InputManifests,
        SageMakerLabelingJobCreator,
        ensure_ground_truth_cors,
    )
    from workflow.start_job import (
        StartJobRequest,
        StartJobSettings,
        create_labeling_job,
        prepare_labeling_job,
    )

    labels = parse_label_file(Path(args.labels).read_text(encoding="utf-8"))
    request = StartJobRequest(
        dataset=args.dataset,
        labels=labels,
        job_name=args.job_name,
        task_title=args.title,
        task_description=args.description,
        workers_per_image=args.workers_per_image,
    )
    region, s3, sagemaker = aws_clients(args.region)
    settings = StartJobSettings(
        bucket=args.bucket,
        region=region,
        role_arn=args.role_arn,
        workteam_arn=args.workteam_arn,
        job_name_prefix=args.job_name_prefix,
    )
    prepared = prepare_labeling_job(request, settings, S3InputManifests(s3, args.bucket))
    if args.dry_run:
        return json.dumps(prepared.request, indent=2, ensure_ascii=False)
    cors = (
        "added Ground Truth's CORS rule to the bucket; "
        if ensure_ground_truth_cors(s3, args.bucket)
        else ""
    )
    started = create_labeling_job(prepared, SageMakerLabelingJobCreator(sagemaker))
    return (
        f"{cors}labeling job {started.job_name} created: {started.images} images, "
        f"label attribute {started.label_attribute}, output {started.output_path}\n"
        f"{started.job_arn}"
    )


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
