"""boto3 adapters of the intake ports: DynamoDB image registry, S3 manifests and objects, SNS,
SageMaker CreateLabelingJob."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from gt2yolo.intake import AcceptedImage
from gt2yolo.labeling_job import LabelingJobError
from workflow.intake import ObjectFacts, StoredManifest

from gt2yolo_aws.adapters import transient_errors

# Registry items: (dataset, object_key). One item per image; one per dataset holds its version.
DATASET = "dataset"
OBJECT_KEY = "object_key"
VERSION_ITEM = "#version"  # never an image key: those start with "images/"
VERSION_METADATA = "intake-version"  # x-amz-meta-intake-version on the manifest object
MANIFEST_CONTENT_TYPE = "application/jsonl; charset=utf-8"
_ABSENT = frozenset({"404", "NoSuchKey", "NotFound"})
_CHANGED = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class DynamoImageRegistry:
    """The images of every dataset, one item each, in a DynamoDB table."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, dataset: str, object_key: str) -> dict[str, Any]:
        return {DATASET: {"S": dataset}, OBJECT_KEY: {"S": object_key}}

    def register(self, image: AcceptedImage) -> bool:
        item = {
            **self._key(image.dataset, image.key),
            "source_ref": {"S": image.source_ref},
            "registered_at": {"S": datetime.now(UTC).isoformat()},
        }
        try:
            with transient_errors():
                self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": OBJECT_KEY},
                )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False  # a redelivered event: the image is already registered
            raise
        return True

    def streamed(self, image: AcceptedImage) -> bool:
        with transient_errors():
            item = self.client.get_item(
                TableName=self.table,
                Key=self._key(image.dataset, image.key),
                ConsistentRead=True,
                ProjectionExpression="streamed_at",
            ).get("Item", {})
        return "streamed_at" in item

    def mark_streamed(self, image: AcceptedImage) -> None:
        with transient_errors():
            self.client.update_item(
                TableName=self.table,
                Key=self._key(image.dataset, image.key),
                UpdateExpression="SET streamed_at = :now",
                ExpressionAttributeValues={":now": {"S": datetime.now(UTC).isoformat()}},
            )

    def bump_version(self, dataset: str) -> int:
        with transient_errors():
            answer = self.client.update_item(
                TableName=self.table,
                Key=self._key(dataset, VERSION_ITEM),
                UpdateExpression="ADD #v :one",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        return int(answer["Attributes"]["version"]["N"])

    def version(self, dataset: str) -> int:
        with transient_errors():
            item = self.client.get_item(
                TableName=self.table, Key=self._key(dataset, VERSION_ITEM), ConsistentRead=True
            ).get("Item", {})
        return int(item.get("version", {}).get("N", "0"))

    def source_refs(self, dataset: str) -> Iterator[str]:
        """Every registered image of `dataset`, in key order (a stable manifest)."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            ConsistentRead=True,  # the version read before this query must cover what it lists
            KeyConditionExpression="#d = :d AND begins_with(#k, :images)",
            ExpressionAttributeNames={"#d": DATASET, "#k": OBJECT_KEY},
            ExpressionAttributeValues={":d": {"S": dataset}, ":images": {"S": "images/"}},
            ProjectionExpression="source_ref",
        )
        with transient_errors():
            for page in pages:
                for item in page.get("Items", []):
                    yield item["source_ref"]["S"]


class S3InputManifests:
    """Input manifests in the bucket, replaced only by conditional writes."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def head(self, key: str) -> StoredManifest | None:
        try:
            with transient_errors():
                answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _ABSENT:
                return None
            raise
        version = answer.get("Metadata", {}).get(VERSION_METADATA, "0")
        return StoredManifest(etag=answer["ETag"], version=int(version) if version.isdigit() else 0)

    def replace(self, key: str, body: bytes, version: int, expected: StoredManifest | None) -> bool:
        condition = {"IfMatch": expected.etag} if expected else {"IfNoneMatch": "*"}
        try:
            with transient_errors():
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=MANIFEST_CONTENT_TYPE,
                    Metadata={VERSION_METADATA: str(version)},
                    **condition,
                )
        except ClientError as exc:
            if _code(exc) in _CHANGED:
                return False  # someone else wrote it since we looked: look again
            raise
        return True

    def count_lines(self, key: str) -> int | None:
        """Non-blank lines of the manifest, or None when it does not exist."""
        try:
            with transient_errors():
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if _code(exc) in _ABSENT:
                return None
            raise
        try:
            return sum(1 for line in body.iter_lines() if line.strip())
        finally:
            body.close()

    def put(self, key: str, body: bytes, content_type: str) -> str:
        with transient_errors():
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        return self.uri(key)


class S3ObjectInspector:
    """Size and content type of a dropped object, by its key as the event spelled it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def inspect(self, bucket: str, key: str) -> ObjectFacts | None:
        # S3 notifications to SQS/Lambda URL-encode keys, EventBridge's do not: try both.
        for candidate in dict.fromkeys([key, unquote_plus(key)]):
            try:
                with transient_errors():
                    answer = self.client.head_object(Bucket=bucket, Key=candidate)
            except ClientError as exc:
                if _code(exc) in _ABSENT:
                    continue
                raise
            return ObjectFacts(
                candidate, int(answer["ContentLength"]), answer.get("ContentType", "")
            )
        return None


class SnsStreamingTopic:
    """The input topic of a streaming labeling job."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, message: str) -> None:
        with transient_errors():
            self.client.publish(TopicArn=self.topic_arn, Message=message)


class SageMakerLabelingJobCreator:
    def __init__(self, client: Any) -> None:
        self.client = client

    def create(self, request: dict[str, Any]) -> str:
        """CreateLabelingJob; SageMaker's refusals become LabelingJobError with its reason."""
        try:
            with transient_errors():
                answer = self.client.create_labeling_job(**request)
        except ClientError as exc:
            if _code(exc) in ("ValidationException", "ResourceInUse", "ResourceLimitExceeded"):
                message = exc.response.get("Error", {}).get("Message", str(exc))
                raise LabelingJobError(
                    f"SageMaker refused labeling job {request['LabelingJobName']}: "
                    f"{_code(exc)}: {message}"
                ) from exc
            raise
        return str(answer["LabelingJobArn"])


# The CORS rule AWS documents for Ground Truth input images (sms-cors-update).
GROUND_TRUTH_CORS_RULE: dict[str, Any] = {
    "AllowedHeaders": [],
    "AllowedMethods": ["GET"],
    "AllowedOrigins": ["*"],
    "ExposeHeaders": [],
}


def ensure_ground_truth_cors(client: Any, bucket: str) -> bool:
    """Add Ground Truth's CORS rule to the bucket unless a rule already allows it; keep the
    bucket's other rules. True when the configuration was changed."""
    try:
        rules = list(client.get_bucket_cors(Bucket=bucket).get("CORSRules", []))
    except ClientError as exc:
        if _code(exc) != "NoSuchCORSConfiguration":
            raise
        rules = []
    if any(
        "GET" in rule.get("AllowedMethods", []) and "*" in rule.get("AllowedOrigins", [])
        for rule in rules
    ):
        return False
    client.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": [*rules, GROUND_TRUTH_CORS_RULE]}
    )
    return True
