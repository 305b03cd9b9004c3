"""The pinned PyTorch training images: one Deep Learning Containers version, GPU or CPU by the
instance family, the publishing account of each region, and a clear refusal elsewhere."""

from __future__ import annotations

import re

import pytest
from gt2yolo_config import training_images
from gt2yolo_config.training_images import (
    IMAGE_ACCOUNTS,
    UnknownRegionError,
    repository_arn,
    training_image,
    uses_gpu,
)

# What AWS documents as a SageMaker PyTorch training tag: <version>-<cpu|gpu>-py3xx[-cuXXX]-
# ubuntu22.04-sagemaker.
TAG = re.compile(r"^\d+\.\d+\.\d+-(cpu|gpu)-py3\d+(-cu\d+)?-ubuntu\d+\.\d+-sagemaker$")


def test_gpu_families_get_the_gpu_build_and_others_the_cpu_build() -> None:
    # Given GPU instance types (g4dn, g5, g6e, p3, p4d, p5) and CPU ones (m5, c5, t3, trn1)
    gpu = ["ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g6e.2xlarge", "ml.p3.2xlarge", "ml.p4d.24xlarge"]
    cpu = ["ml.m5.large", "ml.c5.2xlarge", "ml.t3.medium", "ml.trn1.2xlarge", "ml.r5.xlarge"]
    # Then the first run the CUDA image, the others the CPU one
    for instance in gpu:
        assert uses_gpu(instance), instance
        assert training_image("us-east-1", instance).endswith(training_images.GPU_TAG)
    for instance in cpu:
        assert not uses_gpu(instance), instance
        assert training_image("us-east-1", instance).endswith(training_images.CPU_TAG)


def test_one_framework_version_is_pinned_in_sagemaker_tags() -> None:
    for tag in (training_images.GPU_TAG, training_images.CPU_TAG):
        assert TAG.fullmatch(tag), tag
        assert tag.startswith(training_images.FRAMEWORK_VERSION + "-")
    assert "-cu" in training_images.GPU_TAG and "-cu" not in training_images.CPU_TAG


def test_the_uri_names_the_regions_publishing_account_and_registry() -> None:
    # Given a region of the main account, and regions with an account of their own
    assert training_image("eu-west-1", "ml.g5.xlarge") == (
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
        "pytorch-training:2.8.0-gpu-py312-cu129-ubuntu22.04-sagemaker"
    )
    assert training_image("af-south-1", "ml.m5.large") == (
        "626614931356.dkr.ecr.af-south-1.amazonaws.com/"
        "pytorch-training:2.8.0-cpu-py312-ubuntu22.04-sagemaker"
    )
    assert IMAGE_ACCOUNTS["ap-northeast-3"] == "364406365360"
    assert IMAGE_ACCOUNTS["eu-south-1"] == "692866216735"


def test_the_table_holds_plain_regions_and_account_ids() -> None:
    assert len(IMAGE_ACCOUNTS) >= 30
    for region, account in IMAGE_ACCOUNTS.items():
        assert re.fullmatch(r"[a-z]{2}-[a-z]+-\d", region), region
        assert re.fullmatch(r"\d{12}", account), region
    # Other partitions (China, GovCloud) are not in the table
    assert not [r for r in IMAGE_ACCOUNTS if r.startswith(("cn-", "us-gov-", "us-iso"))]


def test_the_repository_arn_is_the_one_the_image_is_pulled_from() -> None:
    assert repository_arn("us-west-2") == (
        "arn:aws:ecr:us-west-2:763104351884:repository/pytorch-training"
    )
    assert repository_arn("me-south-1").split(":")[4] == "217643126080"


def test_an_unknown_region_is_refused_with_the_regions_that_work() -> None:
    # Given a region the table does not hold
    for call, argument in ((training_image, "ml.g5.xlarge"), (_repository, "aws")):
        # Then the error names it and lists where training runs
        with pytest.raises(UnknownRegionError, match="xx-nowhere-1") as raised:
            call("xx-nowhere-1", argument)
        assert "us-east-1" in str(raised.value)


def _repository(region: str, partition: str) -> str:
    return repository_arn(region, partition)
