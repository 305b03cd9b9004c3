"""boto3 adapters of the workflow's ports (SageMaker, S3 reads, SNS, EventBridge)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError
from workflow.errors import THROTTLING_CODES, TransientAwsError

from gt2yolo_aws.s3 import get_if_exists


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise throttling as TransientAwsError, the error name the state machine retries."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            raise TransientAwsError(f"{code}: {exc}") from exc
        raise


class SageMakerLabelingJobs:
    def __init__(self, client: Any) -> None:
        self.client = client

    def describe(self, job_name: str) -> dict[str, Any]:
        with transient_errors():
            return dict(self.client.describe_labeling_job(LabelingJobName=job_name))


class S3ObjectReader:
    def __init__(self, client: Any) -> None:
        self.client = client

    def read_if_exists(self, bucket: str, key: str) -> bytes | None:
        with transient_errors():
            return get_if_exists(self.client, bucket, key)


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def notify(self, subject: str, message: str) -> None:
        # SNS subjects must be ASCII, one line, under 100 characters.
        safe = subject.encode("ascii", "replace").decode().replace("\n", " ")[:99]
        with transient_errors():
            self.client.publish(TopicArn=self.topic_arn, Subject=safe, Message=message)


class EventBridgeBus:
    def __init__(self, client: Any, bus_name: str, source: str) -> None:
        self.client = client
        self.bus_name = bus_name
        self.source = source

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self.bus_name,
        }
        with transient_errors():
            response = self.client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise TransientAwsError(f"PutEvents failed: {response['Entries']}")
