"""Notifications: the SNS topic that tells people a dataset was published or a run failed."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.settings import Settings


class Notifications(Construct):
    """An SSE-KMS topic that only accepts TLS, publishable by this stack's Lambdas and alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        stack_key: kms.Key | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # The stack's key if it has one (`kmsKey=create`), else a key of the topic's own. Not
        # alias/aws/sns: CloudWatch alarms cannot publish to a topic encrypted with the AWS
        # managed key, whose key policy cannot grant them kms:Decrypt.
        self.key = (
            stack_key
            if stack_key is not None
            else kms.Key(
                self,
                "Key",
                description="gt2yolo notifications topic",
                enable_key_rotation=True,
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
        )
        self.topic = sns.Topic(
            self, "Topic", display_name="gt2yolo", master_key=self.key, enforce_ssl=True
        )
        self._allow_cloudwatch_alarms()
        if settings.notification_email:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(settings.notification_email)
            )

    def _allow_cloudwatch_alarms(self) -> None:
        stack = cdk.Stack.of(self)
        principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        # Only alarms of this account and region (confused-deputy protection).
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToTheTopic",
                principals=[principal],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" means this key
                conditions=conditions,
            )
        )
