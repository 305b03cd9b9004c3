"""End-to-end fixtures: the CDK-synthesized stack deployed into moto, once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.cloud import LocalCloud
from localrun.samples import SampleJob, make_sample_job
from localrun.synth import Assembly, synthesize


@pytest.fixture(scope="session")
def assembly() -> Assembly:
    return synthesize()


@pytest.fixture
def cloud(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly) as local:
        yield local


@pytest.fixture
def job(cloud: LocalCloud) -> SampleJob:
    """A finished sample labeling job, its images and output already in the bucket."""
    sample = make_sample_job(cloud.bucket, images=12)
    cloud.put_objects(sample.objects)
    return sample
