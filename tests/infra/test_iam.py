"""IAM: every role holds exactly the actions its job needs, on exactly its own resources."""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from .cfn import (
    as_list,
    function_id,
    function_role_id,
    only,
    properties,
    render,
    resources,
    role_permissions,
    role_statements,
    statements,
    via_service,
)

LABELING_JOBS = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/"
DEFAULT_BUS = "arn:aws:events:us-east-1:111122223333:event-bus/default"
XRAY = {"xray:PutTraceSegments": {"*"}, "xray:PutTelemetryRecords": {"*"}}


def _names(template: assertions.Template) -> dict[str, str]:
    data_bucket = only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    topic = only(template, "AWS::SNS::Topic")
    return {
        "bucket": f"<{data_bucket}.Arn>",
        "topic": f"<{topic}>",
        "topic_key": render(properties(template, topic)["KmsMasterKeyId"]),
    }


def _own_logs(template: assertions.Template, handler: str) -> dict[str, set[str]]:
    function = properties(template, function_id(template, handler))
    log_group = f"<{function['LoggingConfig']['LogGroup']['Ref']}.Arn>"
    return {"logs:CreateLogStream": {log_group}, "logs:PutLogEvents": {log_group}}


def _expected(template: assertions.Template, handler: str) -> dict[str, set[str]]:
    n = _names(template)
    bucket = n["bucket"]
    datasets = f"{bucket}/datasets/*"
    topic = {
        "sns:Publish": {n["topic"]},
        "kms:Decrypt": {n["topic_key"]},
        "kms:GenerateDataKey": {n["topic_key"]},
    }
    own = {
        "handlers.resolve.handler": {
            "sagemaker:DescribeLabelingJob": {f"{LABELING_JOBS}*"},
            "s3:GetObject": {f"{bucket}/manifests/*"},
            # limited to manifests/ by condition: S3 then answers 404 for a missing sidecar
            "s3:ListBucket": {bucket},
        },
        "handlers.convert.handler": {
            "s3:GetObject": {
                f"{bucket}/groundtruth/*",
                f"{bucket}/manifests/*",
                f"{bucket}/images/*",
                datasets,
            },
            "s3:PutObject": {datasets},
            # a conversion writes a new version and deletes nothing but the lock it took
            "s3:DeleteObject": {f"{bucket}/datasets/*/_LOCK"},
            "s3:ListBucket": {bucket},
        },
        "handlers.report.handler": {
            "s3:GetObject": {datasets, f"{bucket}/groundtruth/*", f"{bucket}/images/*"},
            # its own files only: the dataset itself stays as Convert wrote it
            "s3:PutObject": {
                f"{bucket}/datasets/*/previews/*",
                f"{bucket}/datasets/*/report.html",
                f"{bucket}/datasets/*/workers.csv",
                f"{bucket}/datasets/*/workers_daily.csv",
            },
            "s3:ListBucket": {bucket},
        },
        "handlers.publish.handler": {
            "s3:GetObject": {datasets},
            "s3:PutObject": {datasets},
            # the flip deletes the versions no longer kept, then releases the lock
            "s3:DeleteObject": {datasets},
            "s3:ListBucket": {bucket},
            "events:PutEvents": {DEFAULT_BUS},
            **topic,
        },
        "handlers.notify_failure.handler": topic,
    }[handler]
    return {**own, **_own_logs(template, handler), **XRAY}


@pytest.mark.parametrize(
    "handler",
    [
        "handlers.resolve.handler",
        "handlers.convert.handler",
        "handlers.report.handler",
        "handlers.publish.handler",
        "handlers.notify_failure.handler",
    ],
)
def test_each_function_may_do_only_its_own_job(template: assertions.Template, handler: str) -> None:
    role = function_role_id(template, handler)
    assert role_permissions(template, role) == _expected(template, handler)
    assert not properties(template, role).get("ManagedPolicyArns")


def test_convert_may_list_only_where_it_reads(
    template: assertions.Template,
) -> None:
    role = function_role_id(template, "handlers.convert.handler")
    [policy] = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    listings = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:ListBucket"
    ]
    # datasets/: a new dataset has no pointer (404, not 403); the others: a missing image is
    # then 404, not 403
    assert sorted(s["Condition"]["StringLike"]["s3:prefix"] for s in listings) == [
        ["datasets/*"],
        ["groundtruth/*", "manifests/*"],
        ["images/*"],
    ]


def test_resolve_may_describe_only_jobs_named_with_the_prefix(
    filtered_template: assertions.Template,
) -> None:
    role = function_role_id(filtered_template, "handlers.resolve.handler")
    permissions = role_permissions(filtered_template, role)
    assert permissions["sagemaker:DescribeLabelingJob"] == {f"{LABELING_JOBS}dogs-*"}


@pytest.mark.parametrize(
    ("handler", "key_actions"),
    [
        ("handlers.resolve.handler", {"kms:Decrypt"}),
        ("handlers.convert.handler", {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}),
        ("handlers.report.handler", {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}),
        ("handlers.publish.handler", {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}),
        ("handlers.notify_failure.handler", set()),
    ],
)
def test_with_a_bucket_key_readers_decrypt_and_writers_also_encrypt(
    kms_template: assertions.Template, handler: str, key_actions: set[str]
) -> None:
    bucket = only(
        kms_template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    encryption = properties(kms_template, bucket)["BucketEncryption"]
    key_id = encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
        "KMSMasterKeyID"
    ]["Fn::GetAtt"][0]
    role = function_role_id(kms_template, handler)
    # The same key encrypts the topic: only its use through S3 is the bucket's.
    granted = {
        action
        for statement in role_statements(kms_template, role)
        if via_service(statement) == "s3.us-east-1.amazonaws.com"
        and f"<{key_id}.Arn>" in render(as_list(statement["Resource"]))
        for action in as_list(statement["Action"])
    }
    assert granted == key_actions


def test_key_use_is_allowed_only_through_the_services_that_hold_the_data(
    kms_template: assertions.Template,
) -> None:
    for _, statement in statements(kms_template):
        actions = as_list(statement["Action"])
        if statement["Effect"] != "Allow" or "Principal" in statement:
            continue  # resource policies: the key policies are checked elsewhere
        if any(action.startswith("kms:") for action in actions):
            assert via_service(statement) in {
                f"{service}.us-east-1.amazonaws.com"
                for service in ("s3", "sns", "sqs", "dynamodb")  # bucket, topic; the intake's
            }


def _is_default_key_administration(statement: dict[str, object]) -> bool:
    # AWS's default key policy statement: the account (root) administers the key through IAM.
    # Without it a key can become unmanageable, so it is the one wildcard action accepted.
    principal = render(statement.get("Principal"))
    return statement["Action"] == "kms:*" and principal == {"AWS": "arn:aws:iam::111122223333:root"}


@pytest.mark.parametrize("variant", ["template", "kms_template", "filtered_template"])
def test_no_statement_allows_a_wildcard_action(
    variant: str, request: pytest.FixtureRequest
) -> None:
    template: assertions.Template = request.getfixturevalue(variant)
    wildcards = [
        (holder, action)
        for holder, statement in statements(template)
        if statement["Effect"] == "Allow" and not _is_default_key_administration(statement)
        for action in as_list(statement["Action"])
        if "*" in action
    ]
    # Deny statements are exempt on purpose: the TLS-only policies deny s3:*, sqs:*.
    assert wildcards == []
