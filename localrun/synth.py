"""Synthesize the stack in-process (no CDK CLI, no AWS, no Docker) and return its template."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk

from stacks.app_factory import build_app

# Code assets are zipped from lambdas/ as-is; skipping bundling keeps synth offline and fast.
LOCAL_CONTEXT: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


def synthesized_template(context: dict[str, Any] | None = None) -> dict[str, Any]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    _app, stack = build_app(context={**LOCAL_CONTEXT, **(context or {})}, with_nag=False)
    return dict(cdk.assertions.Template.from_stack(stack).to_json())
