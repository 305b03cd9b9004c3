"""Checkov, the independent scanner of the synthesized templates: skips, one resource at a time.

A check that does not apply to a resource is skipped on that resource with the reason, in the
resource's `Metadata` (checkov's documented form: `{"checkov": {"skip": [{"id", "comment"}]}}`),
never for the whole template. `tests/infra/test_checkov.py` runs the scan.
"""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
from constructs import IConstruct

CHECKOV_METADATA = "checkov"

# Why each skipped check does not apply (docs/security.md lists them); `{name}`s
# are filled in where the skip is applied.
_RESERVING = (
    "Reserved concurrency would be taken from the account's shared pool even while idle, and"
    " fails to deploy where the account's quota is low (new accounts have 10, all of which"
    " Lambda keeps unreserved)."
)
LAMBDA_OUTSIDE_VPC = (
    "The function calls only AWS service APIs (S3, SageMaker, SNS, EventBridge, DynamoDB), over"
    " TLS and authorized by its own role; it reaches nothing in a private network. A VPC would"
    " add NAT gateways or one interface endpoint per service, and no protection."
)
LAMBDA_ENVIRONMENT_HAS_NO_SECRET = (
    "The environment holds no secret, only resource names and ARNs, key prefixes and tuning"
    " numbers; Lambda encrypts it at rest with its AWS managed key."
)
STATE_MACHINE_TASK_NEEDS_NO_DLQ = (
    "Invoked only synchronously, by a Step Functions task that retries its transient errors and"
    " catches the rest (the execution fails or notifies); a function's dead-letter queue only"
    " ever receives failed asynchronous invocations."
)
STATE_MACHINE_PACES_CALLS = (
    "Called only by this stack's state machines: once per execution, plus retries (ConvertChunk"
    " at most maxChunkConcurrency times at once, through the Distributed Map); an execution"
    f" starts per finished labeling job, dropped manifest or requested job. {_RESERVING}"
)
QUEUE_CONSUMER_NEEDS_NO_DLQ = (
    "Invoked only synchronously, by its SQS event source mapping: a message that keeps failing"
    " moves to the intake queue's redrive dead-letter queue (alarmed); a function's dead-letter"
    " queue only ever receives failed asynchronous invocations."
)
EVENT_SOURCE_BOUNDS_CONCURRENCY = (
    "Its SQS event source mapping caps its concurrency (ScalingConfig.MaximumConcurrency,"
    " {max_concurrency})." + f" {_RESERVING}"
)
SCHEDULED_NEEDS_NO_DLQ = (
    "Invoked asynchronously by its EventBridge Scheduler schedule only; each run looks at every"
    " labeling job afresh, so the next tick redoes whatever a failed one missed: a dead-letter"
    " queue would only hold events that carry nothing."
)
SCHEDULE_BOUNDS_CALLS = (
    "Invoked only by its schedule, once per liveIntervalMinutes (plus the schedule's retries of"
    f" a failed invocation). {_RESERVING}"
)
LOG_GROUP_SERVICE_KEY = (
    "CloudWatch Logs encrypts the log data at rest with its own keys. A customer managed key is"
    " opt-in: with kmsKey=create this log group is encrypted with the stack's key (an existing"
    " key's ARN cannot be used: the stack cannot add CloudWatch Logs to that key's policy)."
)
QUEUE_SSE_SQS = (
    "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which this check does not recognise:"
    " it looks for KmsMasterKeyId only. With kmsKey=create the queue uses the stack's key."
)
TABLE_AWS_MANAGED_KEY = (
    "Encrypted at rest with the AWS managed key (aws/dynamodb). With kmsKey=create the table uses"
    " the stack's customer managed key."
)
ACCESS_LOG_BUCKET_NOT_LOGGED = (
    "This is the server access log bucket itself: logging it to itself would log every log"
    " delivery, and logging it elsewhere would need a third bucket, for the same reason."
)
ACCESS_LOG_BUCKET_NOT_VERSIONED = (
    "Holds only server access logs, which S3 writes as new objects under unique keys and never"
    " overwrites; no role of the stack may write or delete there, and the lifecycle rule deletes"
    " them after {days} days, which versioning would only postpone."
)


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip checkov's `check_id` on the resource of `construct` (an L1, or an L2's default child),
    with `reason` as the skip's comment; other checkov metadata on the resource is kept."""
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} is not a CloudFormation resource")
    if not reason.strip():
        raise ValueError(f"skipping {check_id} on {resource.node.path} needs a reason")
    metadata = dict(cast(dict[str, Any], resource.get_metadata(CHECKOV_METADATA) or {}))
    skips = list(metadata.get("skip", []))
    if any(skip["id"] == check_id for skip in skips):
        raise ValueError(f"{check_id} is skipped twice on {resource.node.path}")
    metadata["skip"] = [*skips, {"id": check_id, "comment": reason}]
    resource.add_metadata(CHECKOV_METADATA, metadata)
