"""The Report step's pieces: its Pillow layer, its permissions, its settings.

ConversionWorkflow composes them into one more function and one more state (Convert -> Report
-> Publish). The step is not fatal: the workflow catches its errors and publishes anyway.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from gt2yolo_config.defaults import PREVIEW_FLAGGED_LIMIT, PREVIEW_SAMPLE
from gt2yolo_config.environment import ReportEnv, render

from stacks.constructs.dataset_storage import DATASETS_PREFIX, GROUNDTRUTH_PREFIX, DatasetStorage
from stacks.constructs.layers import BUILT_LAYERS_DIR, REPO_ROOT, built_layer

# Built by `make layers`, as every layer of ours (stacks/constructs/layers.py).
PILLOW_LAYER_DIR = BUILT_LAYERS_DIR / "pillow"
PILLOW_REQUIREMENTS = REPO_ROOT / "requirements-layer-pillow.txt"
# What Report writes into a dataset, and nothing else there.
REPORT_OUTPUTS = ("previews/*", "report.html", "workers.csv", "workers_daily.csv")


def pillow_layer(
    scope: Construct, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> lambda_.LayerVersion:
    return built_layer(
        scope,
        "PillowLayer",
        folder=PILLOW_LAYER_DIR,
        package="PIL",
        requirements=PILLOW_REQUIREMENTS,
        used_by="the Report function (draws previews)",
        runtime=runtime,
        architecture=architecture,
    )


def report_environment() -> dict[str, str]:
    return render(
        ReportEnv,
        GROUNDTRUTH_PREFIX=GROUNDTRUTH_PREFIX,
        PREVIEW_SAMPLE=PREVIEW_SAMPLE,
        PREVIEW_FLAGGED_LIMIT=PREVIEW_FLAGGED_LIMIT,
    )


def report_statements(storage: DatasetStorage) -> list[iam.PolicyStatement]:
    """Read the dataset and the Ground Truth output; write only the report's own files."""
    bucket = storage.bucket.bucket_arn
    return [
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[
                storage.objects_arn(DATASETS_PREFIX),
                storage.objects_arn(GROUNDTRUTH_PREFIX),
            ],
        ),
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[f"{bucket}/{DATASETS_PREFIX}*/{output}" for output in REPORT_OUTPUTS],
        ),
        # Lists worker responses, and lets S3 answer 404 (not 403) for a missing image or label.
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket],
            conditions={
                "StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*", f"{GROUNDTRUTH_PREFIX}*"]}
            },
        ),
    ]
