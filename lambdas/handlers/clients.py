"""boto3 clients, made on first use and kept for warm invocations."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from gt2yolo_aws.s3 import s3_client

_RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})


@cache
def s3() -> Any:
    return s3_client()


@cache
def sagemaker() -> Any:
    return boto3.client("sagemaker", config=_RETRIES)


@cache
def sns() -> Any:
    return boto3.client("sns", config=_RETRIES)


@cache
def events() -> Any:
    return boto3.client("events", config=_RETRIES)


@cache
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=_RETRIES)


@cache
def stepfunctions() -> Any:
    return boto3.client("stepfunctions", config=_RETRIES)


@cache
def rekognition() -> Any:
    return boto3.client("rekognition", config=_RETRIES)


def reset() -> None:
    for factory in (s3, sagemaker, sns, events, dynamodb, stepfunctions, rekognition):
        factory.cache_clear()
