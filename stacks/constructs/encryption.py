"""The stack's customer managed key (`kmsKey=create`): which AWS services may use it, and for what.

The key encrypts the dataset bucket, every log group, queue, table and topic of the stack. IAM
principals of the stack get their own statements (through a service: `kms:ViaService`); the
services below act for no principal of ours, so only the key policy can let them in.
"""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.steps import STATE_MACHINE_LOG_GROUPS

# What CloudWatch Logs does with a log group's key (AWS documents these as Encrypt*, Decrypt*,
# ReEncrypt*, GenerateDataKey*, Describe*; spelled out here, without the asymmetric key pairs).
LOGS_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
]
# What SQS needs from a producer's key permissions to store an encrypted message.
QUEUE_PRODUCER_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"]


def encrypted_queue(
    scope: Construct, construct_id: str, key: kms.Key | None, **options: Any
) -> sqs.Queue:
    """A TLS-only queue encrypted with the stack's key, or with SSE-SQS when there is none.

    The key is set on the CloudFormation resource, not given to `sqs.Queue`: a queue that knows
    its key makes CDK's grants widen the key policy (an EventBridge target gets Encrypt,
    ReEncrypt* and GenerateDataKey*, and its dead-letter queue nothing). The key use that
    producers and consumers need is written out instead: `allow_stack_services` for EventBridge,
    the consumer's own role statement for Lambda.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=None if key else sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **options,
    )
    if key is not None:
        cast(sqs.CfnQueue, queue.node.default_child).kms_master_key_id = key.key_arn
    return queue


def allow_stack_services(key: kms.Key) -> None:
    """Key policy statements for the services that write into the stack's encrypted resources."""
    _allow_cloudwatch_logs(key)
    _allow_eventbridge_to_send_to_queues(key)


def _allow_cloudwatch_logs(key: kms.Key) -> None:
    stack = cdk.Stack.of(key)
    # Only for this stack's log groups, by the encryption context CloudWatch Logs sends (the log
    # group's ARN): CloudFormation names the functions' log groups `<stack name>-<id>-<suffix>`,
    # the state machines' are named by `vended_log_group`. The ARNs themselves cannot
    # be named here: each log group refers to the key, so the key cannot refer to them.
    log_groups = [
        stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{name}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        for name in (f"{cdk.Aws.STACK_NAME}-", STATE_MACHINE_LOG_GROUPS)
    ]
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsForThisStacksLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.amazonaws.com")],
            actions=LOGS_KEY_ACTIONS,
            resources=["*"],  # in a key policy "*" means this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )
    )


def _allow_eventbridge_to_send_to_queues(key: kms.Key) -> None:
    # EventBridge delivers to the intake queue and parks undeliverable events in the dead-letter
    # queues; it sends as the service itself, so SQS needs the key policy to allow it: the two
    # actions a producer needs, for rules of this account only (the condition CDK's own SQS
    # target grant uses). The rules cannot be named: each refers to its queue, which refers to
    # this key.
    stack = cdk.Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowEventBridgeToSendToTheStacksQueues",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=QUEUE_PRODUCER_KEY_ACTIONS,
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        )
    )
