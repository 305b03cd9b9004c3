"""The Report step's pieces: its Pillow layer, its permissions, its settings.

ConversionWorkflow composes them into one more function and one more state (Convert -> Report
-> Publish). The step is not fatal: the workflow catches its errors and publishes anyway.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.dataset_storage import DATASETS_PREFIX, GROUNDTRUTH_PREFIX, DatasetStorage

# Built by `make layers` (a manylinux aarch64 wheel for Lambda's python3.14): no Docker needed,
# and synth stays offline once built. See the Makefile.
REPO_ROOT = Path(__file__).resolve().parents[2]
PILLOW_LAYER_DIR = REPO_ROOT / "build" / "layers" / "pillow"
PILLOW_REQUIREMENTS = REPO_ROOT / "requirements-layer-pillow.txt"
# What Report writes into a dataset, and nothing else there.
REPORT_OUTPUTS = ("previews/*", "report.html", "workers.csv", "workers_daily.csv")
PREVIEW_SAMPLE = 50
PREVIEW_FLAGGED_LIMIT = 500


class PillowLayerMissing(RuntimeError):
    """The layer folder is not built: synth would ship a Report function that cannot draw."""


def pillow_layer(
    scope: Construct, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> lambda_.LayerVersion:
    if not (PILLOW_LAYER_DIR / "python" / "PIL").is_dir():
        raise PillowLayerMissing(
            f"the Pillow layer is not built ({PILLOW_LAYER_DIR}/python/PIL is missing): "
            "run `make layers` (or `make install`) first"
        )
    return lambda_.LayerVersion(
        scope,
        "PillowLayer",
        code=lambda_.Code.from_asset(str(PILLOW_LAYER_DIR)),
        compatible_runtimes=[runtime],
        compatible_architectures=[architecture],
        description=f"{pillow_requirement()} for the Report function (draws previews)",
    )


def pillow_requirement() -> str:
    """The pinned requirement the layer is built from (`pillow==x.y.z`)."""
    lines = PILLOW_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return next(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def report_environment() -> dict[str, str]:
    return {
        "GROUNDTRUTH_PREFIX": GROUNDTRUTH_PREFIX,
        "PREVIEW_SAMPLE": str(PREVIEW_SAMPLE),
        "PREVIEW_FLAGGED_LIMIT": str(PREVIEW_FLAGGED_LIMIT),
    }


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
