"""Synthesizes the app once per variant of context and shares the templates between tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

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


@cache
def _synth(context_items: tuple[tuple[str, Any], ...]) -> assertions.Template:
    # Template assertions only: the slow built-in CloudFormation validation and cdk-nag run in
    # test_compliance.py, on purpose and once.
    app, stack = build_app(
        {**BASE_CONTEXT, **dict(context_items)}, with_nag=False, validate_template=False
    )
    app.synth()
    return assertions.Template.from_stack(stack)


def synth(context: Mapping[str, Any] | None = None) -> assertions.Template:
    """The template for `context` (on top of cdk.json's); cached per context."""
    return _synth(tuple(sorted((context or {}).items())))


@pytest.fixture(scope="session")
def template() -> assertions.Template:
    """The stack with default context: SSE-S3, every labeling job, completed jobs only."""
    return synth()


@pytest.fixture(scope="session")
def kms_template() -> assertions.Template:
    """The stack with a customer managed key for the bucket (`kmsKey=create`)."""
    return synth(KMS_CONTEXT)


@pytest.fixture(scope="session")
def filtered_template() -> assertions.Template:
    """The stack converting stopped jobs too, only for jobs named `dogs-*`."""
    return synth(FILTERED_CONTEXT)


@pytest.fixture(scope="session")
def synthesize() -> Callable[[Mapping[str, Any]], assertions.Template]:
    """Synthesize another variant of context (cached)."""
    return synth
