"""Builds the CDK app, so that `app.py`, `cdk synth` and the tests synthesize the same thing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.gt2yolo_stack import Gt2YoloStack

STACK_NAME = "Gt2Yolo"
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def build_app(
    context: Mapping[str, Any] | None = None,
    with_nag: bool = True,
    *,
    validate_template: bool = True,
    outdir: str | None = None,
) -> tuple[cdk.App, Gt2YoloStack]:
    """The app with its one stack; with `with_nag`, synth fails on any unacknowledged finding.

    The context of cdk.json (feature flags included) is applied here too, so a test that calls
    this without the CDK CLI gets the template `cdk synth` produces; `context` overrides it.
    `validate_template=False` skips CDK's built-in CloudFormation validation (about 10 s on the
    first synth of a process): for tests that only read the template. `outdir`: where the
    cloud assembly is written (default: a temporary folder, or the CLI's `cdk.out`).
    """
    app = cdk.App(
        context={**cdk_json_context(), **(context or {})},
        builtin_cloud_formation_validation=validate_template,
        outdir=outdir,
    )
    stack = Gt2YoloStack(
        app,
        STACK_NAME,
        description="gt2yolo: SageMaker Ground Truth bounding boxes to YOLO datasets",
    )
    if with_nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def cdk_json_context() -> dict[str, Any]:
    """The "context" block of cdk.json (empty when the file is absent)."""
    if not CDK_JSON.is_file():
        return {}
    context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return dict(context)
