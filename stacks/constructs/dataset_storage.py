"""DatasetStorage: the one bucket that holds images, labeling output, manifests and datasets."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Where things live in the bucket: the contract's layout. The IAM policies of the workflow are
# scoped to these prefixes.
from gt2yolo_config.defaults import (
    DATASETS_PREFIX,
    GROUNDTRUTH_PREFIX,
    IMAGES_PREFIX,
    INTAKE_PREFIX,
    MANIFESTS_PREFIX,
)

from stacks.settings import KMS_KEY_CREATE, Settings

__all__ = [
    "ACCESS_LOG_RETENTION",
    "DATASETS_PREFIX",
    "GROUNDTRUTH_PREFIX",
    "IMAGES_PREFIX",
    "INTAKE_PREFIX",
    "MANIFESTS_PREFIX",
    "NONCURRENT_VERSION_RETENTION",
    "DatasetStorage",
]

ACCESS_LOG_RETENTION = cdk.Duration.days(90)
NONCURRENT_VERSION_RETENTION = cdk.Duration.days(30)


class DatasetStorage(Construct):
    """A private, versioned, encrypted bucket whose object events go to EventBridge."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        # The key made here (`kmsKey=create`) also encrypts the stack's log groups, queues, table
        # and topic. An existing key (an ARN) encrypts only the bucket: the stack cannot extend
        # that key's policy for the AWS services that write into the others.
        self.stack_key: kms.Key | None = None
        self.encryption_key: kms.IKey | None = None
        if settings.kms_key == KMS_KEY_CREATE:
            self.stack_key = self.encryption_key = _stack_key(self)
        elif settings.kms_key is not None:
            self.encryption_key = kms.Key.from_key_arn(self, "Key", settings.kms_key)
        self.access_log_bucket = _access_log_bucket(self)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=settings.bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            encryption=s3.BucketEncryption.KMS
            if self.encryption_key
            else s3.BucketEncryption.S3_MANAGED,
            encryption_key=self.encryption_key,
            # One data key per bucket instead of one KMS call per object: fewer KMS requests.
            bucket_key_enabled=True if self.encryption_key else None,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="dataset-bucket/",
            cors=[_ground_truth_cors_rule()],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldVersionsAndUploads",
                    noncurrent_version_expiration=NONCURRENT_VERSION_RETENTION,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        _send_object_events_to_eventbridge(self.bucket)

    def objects_arn(self, prefix: str) -> str:
        """ARN pattern of every object under `prefix` (for IAM statements)."""
        return self.bucket.arn_for_objects(f"{prefix}*")


def _stack_key(scope: Construct) -> kms.Key:
    return kms.Key(
        scope,
        "Key",
        description="gt2yolo: dataset bucket, log groups, queues, table and topic",
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def _access_log_bucket(scope: Construct) -> s3.Bucket:
    # S3 server access logging can only deliver to SSE-S3 buckets, whatever the data bucket uses.
    return s3.Bucket(
        scope,
        "AccessLogs",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[s3.LifecycleRule(id="ExpireAccessLogs", expiration=ACCESS_LOG_RETENTION)],
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def _ground_truth_cors_rule() -> s3.CorsRule:
    # The rule AWS documents for Ground Truth input images (sms-cors-update): the worker UI
    # reads images with GET from the browser to honour EXIF orientation. AWS documents origin
    # "*" (workforces are served from several domains: private portals, Mechanical Turk,
    # vendors). CORS grants no access by itself: the objects stay private and are read through
    # pre-signed URLs; the rule is kept narrow by allowing only GET and no extra headers.
    return s3.CorsRule(allowed_methods=[s3.HttpMethods.GET], allowed_origins=["*"])


def _send_object_events_to_eventbridge(bucket: s3.Bucket) -> None:
    # Native CloudFormation (NotificationConfiguration.EventBridgeConfiguration) instead of
    # `event_bridge_enabled=True`, which deploys a CDK custom-resource Lambda holding
    # s3:PutBucketNotification on "*". Do not add `bucket.add_event_notification(...)` too:
    # that custom resource would then overwrite this configuration.
    cfn_bucket = cast(s3.CfnBucket, bucket.node.default_child)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
            event_bridge_enabled=True
        )
    )
