"""Event shapes AWS delivers, built without importing the CDK (tests and the local cloud)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from localrun.account import ACCOUNT, REGION


def object_created_event(bucket: str, key: str, size: int) -> dict[str, Any]:
    """S3's EventBridge notification for a new object."""
    return {
        "version": "0", "id": str(uuid.uuid4()),
        "detail-type": "Object Created", "source": "aws.s3", "account": ACCOUNT,
        "time": "2026-11-24T12:30:00Z", "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": key, "size": size, "etag": "0", "sequencer": "1"},
                   "request-id": "LOCAL", "requester": ACCOUNT,
                   "source-ip-address": "127.0.0.1", "reason": "PutObject"},
    }  # fmt: skip


def sqs_record(body: str, message_id: str | None = None, queue_arn: str = "") -> dict[str, Any]:
    """One record of the event an SQS event source mapping gives Lambda."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764000000000",
                       "SenderId": "AIDAEVENTBRIDGE", "ApproximateFirstReceiveTimestamp":
                       "1764000000001"},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn or f"arn:aws:sqs:{REGION}:{ACCOUNT}:local-intake",
        "awsRegion": REGION,
    }  # fmt: skip


def sqs_event(events: Sequence[dict[str, Any]], queue_arn: str = "") -> dict[str, Any]:
    """EventBridge events, as the intake queue hands them to Lambda in one batch."""
    return {"Records": [sqs_record(json.dumps(event), queue_arn=queue_arn) for event in events]}
