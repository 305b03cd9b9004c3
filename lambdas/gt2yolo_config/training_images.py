"""The PyTorch training image a training job runs: AWS Deep Learning Containers, pinned.

One framework version, for SageMaker (the `-sagemaker` tags: the SageMaker training toolkit,
which runs `sagemaker_program` from `sagemaker_submit_directory`), a GPU and a CPU build:

- PyTorch 2.8.0, Python 3.12, Ubuntu 22.04; the GPU build with CUDA 12.9. Tags from the table
  "Prior SageMaker Framework Containers" of aws/deep-learning-containers
  `docs/reference/available_images.md` (PyTorch 2.8.0 training, CPU and GPU, py312); release
  notes: `docs/releasenotes/pytorch/2.8-training-sagemaker.md` (CUDA 12.9 on Ubuntu 22.04).
- The account that publishes the images in each region: the same file's "Region
  Availability" table, checked against the registries the SageMaker Python SDK gives for
  pytorch training 2.8.0 (aws/sagemaker-python-sdk
  `sagemaker-core/src/sagemaker/core/image_uri_config/pytorch.json`, commit a24812666d25). Only
  regions of the `aws` partition where both sources agree are listed: ap-east-2 is left out
  (the two name different accounts), as are the China and GovCloud partitions.

The stack chooses GPU or CPU by the instance family (`ml.g*`, `ml.p*`: GPU) and refuses a region
this table does not hold.
"""

from __future__ import annotations

import re

REPOSITORY = "pytorch-training"
FRAMEWORK_VERSION = "2.8.0"
GPU_TAG = "2.8.0-gpu-py312-cu129-ubuntu22.04-sagemaker"
CPU_TAG = "2.8.0-cpu-py312-ubuntu22.04-sagemaker"
# Region -> the account whose ECR registry there holds the Deep Learning Containers.
_MAIN_ACCOUNT = "763104351884"
IMAGE_ACCOUNTS: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-1": _MAIN_ACCOUNT,
    "ap-northeast-2": _MAIN_ACCOUNT,
    "ap-northeast-3": "364406365360",
    "ap-south-1": _MAIN_ACCOUNT,
    "ap-south-2": "772153158452",
    "ap-southeast-1": _MAIN_ACCOUNT,
    "ap-southeast-2": _MAIN_ACCOUNT,
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-7": "590183813437",
    "ca-central-1": _MAIN_ACCOUNT,
    "ca-west-1": "204538143572",
    "eu-central-1": _MAIN_ACCOUNT,
    "eu-central-2": "380420809688",
    "eu-north-1": _MAIN_ACCOUNT,
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": _MAIN_ACCOUNT,
    "eu-west-2": _MAIN_ACCOUNT,
    "eu-west-3": _MAIN_ACCOUNT,
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "mx-central-1": "637423239942",
    "sa-east-1": _MAIN_ACCOUNT,
    "us-east-1": _MAIN_ACCOUNT,
    "us-east-2": _MAIN_ACCOUNT,
    "us-west-1": _MAIN_ACCOUNT,
    "us-west-2": _MAIN_ACCOUNT,
}
# Accelerated families with NVIDIA GPUs (g4dn, g5, g6, g6e, p3, p4d, p5, ...).
_GPU_INSTANCE = re.compile(r"^ml\.[gp]\d")


class UnknownRegionError(ValueError):
    """No pinned training image is known for the region."""


def uses_gpu(instance_type: str) -> bool:
    return bool(_GPU_INSTANCE.match(instance_type))


def image_tag(instance_type: str) -> str:
    return GPU_TAG if uses_gpu(instance_type) else CPU_TAG


def image_account(region: str) -> str:
    try:
        return IMAGE_ACCOUNTS[region]
    except KeyError:
        raise UnknownRegionError(
            f"no PyTorch training image is pinned for region {region!r}; training runs in: "
            + ", ".join(sorted(IMAGE_ACCOUNTS))
        ) from None


def registry(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def training_image(region: str, instance_type: str) -> str:
    """The image URI for a job on `instance_type` in `region` (UnknownRegionError if none)."""
    return f"{registry(image_account(region), region)}/{REPOSITORY}:{image_tag(instance_type)}"


def repository_arn(region: str, partition: str = "aws") -> str:
    """The ECR repository the image is pulled from (what the execution role may read)."""
    return f"arn:{partition}:ecr:{region}:{image_account(region)}:repository/{REPOSITORY}"
