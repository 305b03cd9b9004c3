"""DatasetStorage: a private, versioned, encrypted, logged bucket that reports to EventBridge."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from .cfn import only, properties, render, resources
from .synthesis import Synthesize

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _data_bucket(template: assertions.Template) -> str:
    # The data bucket is the one that sends its object events to EventBridge.
    return only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )


def _log_bucket(template: assertions.Template) -> str:
    logging = properties(template, _data_bucket(template))["LoggingConfiguration"]
    log_bucket: str = logging["DestinationBucketName"]["Ref"]
    return log_bucket


def _encryption(template: assertions.Template, bucket: str) -> dict[str, Any]:
    rules = properties(template, bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert len(rules) == 1
    rule: dict[str, Any] = rules[0]
    return rule


def test_there_are_exactly_the_data_bucket_and_its_access_log_bucket(
    template: assertions.Template,
) -> None:
    assert set(resources(template, "AWS::S3::Bucket")) == {
        _data_bucket(template),
        _log_bucket(template),
    }


def test_both_buckets_block_all_public_access(template: assertions.Template) -> None:
    for bucket in (_data_bucket(template), _log_bucket(template)):
        assert properties(template, bucket)["PublicAccessBlockConfiguration"] == BLOCK_ALL


def test_both_buckets_deny_every_request_without_tls(template: assertions.Template) -> None:
    for bucket in (_data_bucket(template), _log_bucket(template)):
        policy = only(template, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket})
        statements = properties(template, policy)["PolicyDocument"]["Statement"]
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": [f"<{bucket}.Arn>", f"<{bucket}.Arn>/*"],
        } in render(statements)


def test_data_bucket_is_versioned_and_survives_stack_deletion(
    template: assertions.Template,
) -> None:
    bucket = template.to_json()["Resources"][_data_bucket(template)]
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def test_old_object_versions_do_not_pile_up_forever(template: assertions.Template) -> None:
    rules = properties(template, _data_bucket(template))["LifecycleConfiguration"]["Rules"]
    assert [rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in rules] == [30]


def test_data_bucket_uses_s3_managed_encryption_by_default(template: assertions.Template) -> None:
    encryption = _encryption(template, _data_bucket(template))
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    # Only the notification topic's key exists: no bucket key is created by default.
    assert len(resources(template, "AWS::KMS::Key")) == 1


def test_kms_key_create_encrypts_the_bucket_with_a_new_rotated_key(
    kms_template: assertions.Template,
) -> None:
    encryption = _encryption(kms_template, _data_bucket(kms_template))
    by_default = encryption["ServerSideEncryptionByDefault"]
    assert by_default["SSEAlgorithm"] == "aws:kms"
    key_id = by_default["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert properties(kms_template, key_id)["EnableKeyRotation"] is True
    assert encryption["BucketKeyEnabled"] is True
    assert kms_template.to_json()["Resources"][key_id]["DeletionPolicy"] == "Retain"


def test_kms_key_arn_encrypts_the_bucket_with_that_key(synthesize: Synthesize) -> None:
    key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    template = synthesize({"kmsKey": key_arn})
    by_default = _encryption(template, _data_bucket(template))["ServerSideEncryptionByDefault"]
    assert by_default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert len(resources(template, "AWS::KMS::Key")) == 1  # the topic's key only


def test_access_logs_go_to_a_separate_sse_s3_bucket_that_expires_them(
    template: assertions.Template,
) -> None:
    data_bucket, log_bucket = _data_bucket(template), _log_bucket(template)
    assert log_bucket != data_bucket
    assert properties(template, data_bucket)["LoggingConfiguration"]["LogFilePrefix"]
    # S3 server access logging cannot write to an SSE-KMS bucket.
    encryption = _encryption(template, log_bucket)
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    rules = properties(template, log_bucket)["LifecycleConfiguration"]["Rules"]
    assert [rule["ExpirationInDays"] for rule in rules] == [90]


def test_log_bucket_stays_sse_s3_when_the_data_bucket_uses_kms(
    kms_template: assertions.Template,
) -> None:
    encryption = _encryption(kms_template, _log_bucket(kms_template))
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_object_events_reach_eventbridge_without_a_custom_resource(
    template: assertions.Template,
) -> None:
    assert _data_bucket(template)
    assert not resources(template, "Custom::S3BucketNotifications")


def test_cors_lets_the_ground_truth_worker_ui_only_get_objects(
    template: assertions.Template,
) -> None:
    cors = properties(template, _data_bucket(template))["CorsConfiguration"]["CorsRules"]
    assert cors == [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]


def test_bucket_name_comes_from_context_when_given(
    template: assertions.Template, synthesize: Synthesize
) -> None:
    assert "BucketName" not in properties(template, _data_bucket(template))
    named = synthesize({"bucketName": "my-gt2yolo-data"})
    assert properties(named, _data_bucket(named))["BucketName"] == "my-gt2yolo-data"
