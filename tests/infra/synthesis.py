"""Synthesizes the app in-process, once per variant of context."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

# jsii starts Node on the first aws_cdk import; keep its end-of-life banner out of the output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The CDK app lives in the repository root (`stacks`), which pytest does not put on sys.path.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aws_cdk import assertions  # noqa: E402

from stacks.app_factory import build_app  # noqa: E402

# No bundling anywhere (the Lambda code is a plain folder asset; this only saves time).
BASE_CONTEXT: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
KMS_CONTEXT = {"kmsKey": "create"}
FILTERED_CONTEXT = {"jobNamePrefix": "dogs-", "convertStoppedJobs": "true"}
WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/labelers"
STREAMING_TOPIC_ARN = "arn:aws:sns:us-east-1:111122223333:gt-streaming-input"
# The intake in both modes: batch (a work team for StartLabelingJob) and streaming.
INTAKE_CONTEXT = {"workteamArn": WORKTEAM_ARN, "streamingInputTopicArn": STREAMING_TOPIC_ARN}
# Images in the customer's buckets: a whole bucket and two prefixes of another, SSE-KMS.
IMAGE_KEY_ARN = "arn:aws:kms:us-east-1:444455556666:key/0e5c1e6a-1111-4222-8333-944455556666"
IMAGE_SOURCES_CONTEXT = {
    "imageBuckets": "customer-images,archive.example-corp/gt/2024/,archive.example-corp/gt/2025/",
    "imageKmsKeys": IMAGE_KEY_ARN,
}
# A Custom Labels project of the account the templates render (tests/infra/cfn.py).
REKOGNITION_PROJECT = "arn:aws:rekognition:us-east-1:111122223333:project/parts/1700000000000"
REKOGNITION_CONTEXT = {"exports": "coco,rekognition", "rekognitionProject": REKOGNITION_PROJECT}
# Training two datasets on spot instances (the execution role only: no step uses it yet).
# (Its JSON text, as -c gives it: the synthesized templates are cached by context.)
TRAINING_CONTEXT = {"training": '{"datasets": ["parts", "leaves.v2"], "spot": true}'}
# Every option on: the stack's own key, the intake in both modes, filtered jobs, a subscription,
# images and job outputs in other buckets.
EVERY_OPTION = {
    **KMS_CONTEXT,
    **FILTERED_CONTEXT,
    **INTAKE_CONTEXT,
    **IMAGE_SOURCES_CONTEXT,
    **REKOGNITION_CONTEXT,
    **TRAINING_CONTEXT,
    # Past jobs' output in the team's own buckets (see test_backfill.py).
    "sourceBuckets": "team-labels/jobs/,partner-labels",
    "notificationEmail": "labels@example.org",
}

Synthesize = Callable[[Mapping[str, Any]], assertions.Template]


def synth(context: Mapping[str, Any] | None = None) -> assertions.Template:
    """The template for `context` (on top of cdk.json's); cached per context."""
    return _synth(tuple(sorted((context or {}).items())))


@cache
def _synth(context_items: tuple[tuple[str, Any], ...]) -> assertions.Template:
    # Template assertions only: cdk-nag and the slow built-in CloudFormation validation run in
    # test_compliance.py, on purpose and once.
    app, stack = build_app(
        {**BASE_CONTEXT, **dict(context_items)}, with_nag=False, validate_template=False
    )
    app.synth()
    return assertions.Template.from_stack(stack)
