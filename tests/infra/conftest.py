"""Session fixtures: the templates of the variants of context most tests read."""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from .synthesis import FILTERED_CONTEXT, KMS_CONTEXT, Synthesize, synth


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
def synthesize() -> Synthesize:
    """Synthesize another variant of context (cached)."""
    return synth
