"""Convert: one ConversionRequest -> a dataset under `datasets/<name>/` (no `_SUCCESS` yet).

Idempotent: the fingerprint (manifest and config ETags, attribute, split settings) is compared
with the published `_SUCCESS`; the same input converts once. Different input clears the old
dataset first, so no stale label file of an earlier run survives.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.split import SplitFractions
from gt2yolo_aws.s3 import S3ImageSink, S3Manifest, S3Storage, S3Uri, get_if_exists, read_object

from workflow import dataset_lock
from workflow.models import ConversionOutcome, ConversionRequest, ConversionSummary, SuccessMarker

SUCCESS_NAME = "_SUCCESS"


@dataclass(frozen=True)
class ConvertSettings:
    bucket: str
    datasets_prefix: str = "datasets/"
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    copy_images: bool = True

    def dataset_prefix(self, name: str) -> str:
        return f"{self.datasets_prefix}{name}/"


def convert_request(
    request: ConversionRequest, settings: ConvertSettings, client: Any
) -> ConversionOutcome:
    prefix = settings.dataset_prefix(request.dataset_name)
    dataset_uri = f"s3://{settings.bucket}/{prefix}"
    fingerprint = fingerprint_of(request, settings, client)
    marker = read_marker(client, settings.bucket, prefix)
    if marker is not None and marker.fingerprint == fingerprint:
        return _outcome(request, dataset_uri, fingerprint, marker.summary, already_published=True)
    token = dataset_lock.acquire(client, settings.bucket, prefix)
    try:
        clear_dataset(client, settings.bucket, prefix)
        summary = _convert(request, settings, client, dataset_uri)
    except BaseException:
        dataset_lock.release(client, settings.bucket, prefix, token)
        raise
    outcome = _outcome(request, dataset_uri, fingerprint, summary, already_published=False)
    return outcome.model_copy(update={"lock_token": token})


def _convert(
    request: ConversionRequest, settings: ConvertSettings, client: Any, dataset_uri: str
) -> ConversionSummary:
    options = ConversionOptions(
        label_attribute=request.label_attribute,
        class_list=_class_list(request.label_config_uri, client),
        verification_attribute=request.verification_attribute,
        accepted_verdicts=frozenset(request.accepted_verdicts),
        fractions=SplitFractions(settings.val_fraction, settings.test_fraction),
    )
    storage = S3Storage(dataset_uri, client)
    sink = S3ImageSink(storage) if settings.copy_images else None
    try:
        result = convert_manifests(
            [S3Manifest(request.manifest_uri, client)], storage, options, sink
        )
    finally:
        storage.close()
    return ConversionSummary.from_report(result.report)


def _class_list(uri: str | None, client: Any) -> ClassList | None:
    return None if uri is None else class_list_from_label_config(read_object(uri, client), uri)


def _outcome(
    request: ConversionRequest,
    dataset_uri: str,
    fingerprint: str,
    summary: ConversionSummary,
    already_published: bool,
) -> ConversionOutcome:
    return ConversionOutcome(
        **request.model_dump(),
        dataset_uri=dataset_uri,
        fingerprint=fingerprint,
        summary=summary,
        already_published=already_published,
    )


def fingerprint_of(request: ConversionRequest, settings: ConvertSettings, client: Any) -> str:
    """Identity of a conversion's input: same fingerprint, same dataset."""
    parts = {
        "manifest": _etag(client, request.manifest_uri),
        "config": _etag(client, request.label_config_uri) if request.label_config_uri else None,
        "attribute": request.label_attribute,
        "verification": [request.verification_attribute, sorted(request.accepted_verdicts)],
        "split": [settings.val_fraction, settings.test_fraction],
        "images": settings.copy_images,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _etag(client: Any, uri: str) -> str:
    location = S3Uri.parse(uri)
    try:
        head = client.head_object(Bucket=location.bucket, Key=location.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "403"):
            # 403: Convert may not list where Ground Truth writes; absent or unreadable alike.
            raise FileNotFoundError(f"{uri} does not exist (or is not readable)") from None
        raise
    return str(head.get("VersionId") or head["ETag"])


def read_marker(client: Any, bucket: str, prefix: str) -> SuccessMarker | None:
    raw = get_if_exists(client, bucket, prefix + SUCCESS_NAME)
    if raw is None:
        return None
    try:
        return SuccessMarker.model_validate_json(raw)
    except ValueError:
        return None  # a marker we can't read is treated as absent: convert again


def clear_dataset(client: Any, bucket: str, prefix: str) -> int:
    """Delete an earlier run's files (the lock excepted); return how many went."""
    paginator = client.get_paginator("list_objects_v2")
    deleted = 0
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        lock = prefix + dataset_lock.LOCK_NAME
        keys = [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] != lock]
        for start in range(0, len(keys), 1000):
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000]})
        deleted += len(keys)
    return deleted
