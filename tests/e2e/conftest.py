"""End-to-end fixtures: the CDK-synthesized stack deployed into moto, once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.cloud import LocalCloud
from localrun.synth import Assembly, synthesize
from samples.detection import CUSTOMER_IMAGES, PARTNER_IMAGES, SampleJob, make_sample_job

# Images in the customer's own buckets, as most real jobs have them: a whole bucket, and the
# `shapes/` prefix of a bucket of another account (see test_image_buckets.py).
E2E_CONTEXT = {"imageBuckets": f"{CUSTOMER_IMAGES},{PARTNER_IMAGES}/shapes/"}


@pytest.fixture(scope="session")
def assembly() -> Assembly:
    return synthesize(E2E_CONTEXT)


@pytest.fixture
def cloud(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        local.create_bucket(PARTNER_IMAGES, other_account=True)
        yield local


@pytest.fixture
def job(cloud: LocalCloud) -> SampleJob:
    """A finished sample labeling job: its output in the stack's bucket, the images it labeled
    in the customer's bucket."""
    sample = make_sample_job(cloud.bucket, images=12, image_bucket=CUSTOMER_IMAGES)
    cloud.put_objects(sample.objects)
    cloud.put_objects(sample.image_objects, CUSTOMER_IMAGES)
    return sample
