"""boto3 adapters of the workflow's ports (SageMaker, S3 reads, SNS, EventBridge)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from gt2yolo.storage import ObjectStore
from workflow.backfill import PAGE_SIZE, JobPage
from workflow.errors import THROTTLING_CODES, TransientAwsError
from workflow.ports import StoragePorts

from gt2yolo_aws.s3 import S3ImageSink, S3Objects, S3Storage, S3Stores, get_if_exists


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


class S3ImageCopier:
    """Server-side copies into an S3 dataset (CopyObject: the bytes never pass through here)."""

    def into(self, store: ObjectStore) -> S3ImageSink:
        if not isinstance(store, S3Storage):
            raise TypeError(f"S3 copies images only into an S3 store, not {store!r}")
        return S3ImageSink(store)


def s3_storage_ports(client: Any) -> StoragePorts:
    """The conversion steps' storage: S3 through one client."""
    return StoragePorts(S3Stores(client), S3Objects(client), S3ImageCopier())


class SageMakerLabelingJobs:
    def __init__(self, client: Any) -> None:
        self.client = client

    def describe(self, job_name: str) -> dict[str, Any]:
        with transient_errors():
            return dict(self.client.describe_labeling_job(LabelingJobName=job_name))

    def in_progress(self) -> Iterator[str]:
        """Names of the account's labeling jobs in progress (in this region), every page."""
        pages = self.client.get_paginator("list_labeling_jobs").paginate(StatusEquals="InProgress")
        with transient_errors():
            for page in pages:
                for summary in page.get("LabelingJobSummaryList", []):
                    yield str(summary["LabelingJobName"])

    def page(
        self, status: str, name_contains: str, since: datetime | None, next_token: str | None
    ) -> JobPage:
        """One page of ListLabelingJobs (the backfill pages itself: a throttled page is retried
        alone, not the listing)."""
        request: dict[str, Any] = {"StatusEquals": status, "MaxResults": PAGE_SIZE}
        if name_contains:
            request["NameContains"] = name_contains
        if since is not None:
            request["CreationTimeAfter"] = since
        if next_token:
            request["NextToken"] = next_token
        with transient_errors():
            answer = self.client.list_labeling_jobs(**request)
        return JobPage(list(answer.get("LabelingJobSummaryList", [])), answer.get("NextToken"))


class S3Listing:
    """Listings only: ListBucket is all the live sweep may do in the bucket."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def folders(self, bucket: str, prefix: str) -> list[str]:
        """The names of the folders right under `prefix` (its common prefixes)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        with transient_errors():
            return [
                common["Prefix"].removeprefix(prefix).rstrip("/")
                for page in pages
                for common in page.get("CommonPrefixes", [])
            ]

    def etag(self, bucket: str, key: str) -> str | None:
        """The object's ETag from a listing (no GetObject needed), or None if it is absent."""
        with transient_errors():
            page = self.client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        found = page.get("Contents", [])
        return str(found[0]["ETag"]).strip('"') if found and found[0]["Key"] == key else None


class StepFunctionsExecutions:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, state_input: dict[str, Any]) -> bool:
        try:
            with transient_errors():
                self.client.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=name,
                    input=json.dumps(state_input),
                )
        except ClientError as exc:
            # Names are unique per state machine (kept 90 days after the execution closed).
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def event_id(self, name: str) -> str | None:
        """The `id` of the input the execution of that name started with."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        try:
            with transient_errors():
                described = self.client.describe_execution(executionArn=arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
        try:
            state_input = json.loads(described.get("input") or "{}")
        except ValueError:
            return None
        return str(state_input.get("id")) if isinstance(state_input, dict) else None


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
