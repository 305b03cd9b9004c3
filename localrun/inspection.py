"""What tests and the demo look at after the fact: executions, notifications, published datasets."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from localrun.published import version_files

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# How long a local execution may run before the runner gives up: a guard against a hung
# execution, not a speed check. A cold first call imports the handlers and botocore's models
# from a slow disk (30 s seen on an idle VM, more on a busy CI machine).
EXECUTION_TIMEOUT = 900.0


@dataclass
class Execution:
    """A state machine execution that ended: its outcome and the states it entered, in order."""

    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    states: list[str]


def wait_for_execution(sfn: Any, arn: str, timeout: float = EXECUTION_TIMEOUT) -> Execution:
    """Wait for an execution to end; what it did."""
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still {described['status']}")
        time.sleep(0.05)
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    states = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    output = described.get("output")
    return Execution(
        arn=arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause"),
        states=states,
    )


def drain_notifications(sqs: Any, inbox_url: str) -> list[dict[str, Any]]:
    """SNS messages delivered so far to the subscriber queue (removed from it)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=inbox_url, MaxNumberOfMessages=10)
        if not batch.get("Messages"):
            return messages
        for message in batch["Messages"]:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=inbox_url, ReceiptHandle=message["ReceiptHandle"])


def dataset_files(
    s3: Any, bucket: str, prefix: str, version: str | None = None
) -> dict[str, bytes]:
    """A published dataset's files by dataset key: its current version (or `version`)."""
    return version_files(s3, bucket, prefix, version)
