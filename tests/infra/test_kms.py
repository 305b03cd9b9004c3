"""Encryption with the stack's key (`kmsKey=create`): every log group, queue, table and topic the
stack creates uses that one key, and its key policy lets in only the services that write there."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions

from .cfn import (
    as_list,
    function_role_id,
    only,
    properties,
    render,
    resources,
    role_statements,
    statements,
    via_service,
)
from .synthesis import EVERY_OPTION, INTAKE_CONTEXT, Synthesize

KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ACCOUNT_ROOT = {"AWS": "arn:aws:iam::111122223333:root"}
# The resources that hold data at rest, and the property naming their key.
ENCRYPTED = {
    "AWS::Logs::LogGroup": "KmsKeyId",
    "AWS::SQS::Queue": "KmsMasterKeyId",
    "AWS::SNS::Topic": "KmsMasterKeyId",
}


@pytest.fixture(scope="module")
def every_option(synthesize: Synthesize) -> assertions.Template:
    return synthesize(EVERY_OPTION)


def _stack_key(template: assertions.Template) -> str:
    return only(template, "AWS::KMS::Key")


def _key_policy(template: assertions.Template) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = properties(template, _stack_key(template))["KeyPolicy"][
        "Statement"
    ]
    return statements


def _service_statement(template: assertions.Template, service: str) -> dict[str, Any]:
    [statement] = [
        s for s in _key_policy(template) if render(s["Principal"]) == {"Service": service}
    ]
    return statement


def test_the_stack_has_one_key_the_bucket_uses(every_option: assertions.Template) -> None:
    bucket = only(
        every_option,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    encryption = properties(every_option, bucket)["BucketEncryption"]
    [rule] = encryption["ServerSideEncryptionConfiguration"]
    key_id = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert key_id == _stack_key(every_option)


@pytest.mark.parametrize(("resource_type", "key_property"), ENCRYPTED.items())
def test_every_log_group_queue_and_topic_uses_the_stacks_key(
    every_option: assertions.Template, resource_type: str, key_property: str
) -> None:
    found = resources(every_option, resource_type)
    assert found
    key = {"Fn::GetAtt": [_stack_key(every_option), "Arn"]}
    for logical_id, resource in found.items():
        assert resource["Properties"].get(key_property) == key, logical_id


def test_the_registry_table_uses_the_stacks_key(every_option: assertions.Template) -> None:
    tables = resources(every_option, "AWS::DynamoDB::Table")
    assert tables
    for table in tables.values():
        assert table["Properties"]["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Fn::GetAtt": [_stack_key(every_option), "Arn"]},
        }


def test_cloudwatch_logs_may_use_the_key_for_this_stacks_log_groups_only(
    every_option: assertions.Template,
) -> None:
    statement = _service_statement(every_option, "logs.us-east-1.amazonaws.com")
    assert render(statement["Condition"]) == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": [
                "arn:aws:logs:us-east-1:111122223333:log-group:<AWS::StackName>-*",
                "arn:aws:logs:us-east-1:111122223333:log-group:/aws/vendedlogs/states/gt2yolo-*",
            ]
        }
    }
    assert "kms:CreateGrant" not in statement["Action"]


def test_every_log_group_name_is_one_the_key_policy_allows(
    every_option: assertions.Template,
) -> None:
    # Unnamed log groups get `<stack name>-<logical ID>-<suffix>` from CloudFormation.
    names = [
        render(group["Properties"].get("LogGroupName"))
        for group in resources(every_option, "AWS::Logs::LogGroup").values()
    ]
    named = [name for name in names if name is not None]
    assert len(named) == 3  # the three state machines' (conversion, intake, backfill)
    for name in named:
        assert name.startswith("/aws/vendedlogs/states/gt2yolo-"), name


def test_eventbridge_may_only_produce_into_the_queues_for_rules_of_this_account(
    every_option: assertions.Template,
) -> None:
    statement = _service_statement(every_option, "events.amazonaws.com")
    assert sorted(as_list(statement["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert render(statement["Condition"]) == {"StringEquals": {"aws:SourceAccount": "111122223333"}}


def test_every_service_in_the_key_policy_is_conditioned(
    every_option: assertions.Template,
) -> None:
    services = []
    for statement in _key_policy(every_option):
        if render(statement["Principal"]) == ACCOUNT_ROOT:
            continue  # the account administers the key through IAM (AWS's default statement)
        assert statement.get("Condition"), statement.get("Sid")
        services.append(render(statement["Principal"])["Service"])
    assert sorted(services) == [
        "cloudwatch.amazonaws.com",  # alarms publish to the topic
        "events.amazonaws.com",  # rules send to the intake queue and the dead-letter queues
        "logs.us-east-1.amazonaws.com",
    ]


def test_roles_use_the_key_only_through_the_service_that_holds_the_data(
    every_option: assertions.Template,
) -> None:
    through = set()
    for _, statement in statements(every_option):
        if "Principal" in statement:
            continue  # resource policies (the key policy is checked above)
        if any(action.startswith("kms:") for action in as_list(statement["Action"])):
            through.add(via_service(statement))
    assert through == {
        f"{service}.us-east-1.amazonaws.com" for service in ("s3", "sns", "sqs", "dynamodb")
    }


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (
            "handlers.intake.handler",
            {
                "sqs": {"kms:Decrypt"},  # reads its queue's messages
                "dynamodb": {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"},
            },
        ),
        ("handlers.start_job.prepare", {"dynamodb": {"kms:Decrypt"}}),
        ("handlers.start_job.create", {}),
    ],
)
def test_intake_functions_use_the_key_for_their_queue_and_table(
    every_option: assertions.Template, handler: str, expected: dict[str, set[str]]
) -> None:
    role = function_role_id(every_option, handler)
    granted: dict[str, set[str]] = {}
    for statement in role_statements(every_option, role):
        via = via_service(statement)
        if via is None or via.startswith(("s3.", "sns.")):
            continue
        assert render(statement["Resource"]) == f"<{_stack_key(every_option)}.Arn>"
        granted.setdefault(via.split(".")[0], set()).update(as_list(statement["Action"]))
    assert granted == expected


# --- without the stack's key: what the stack did before, unchanged ----------------------------


def _topic_key(template: assertions.Template) -> str:
    key: str = properties(template, only(template, "AWS::SNS::Topic"))["KmsMasterKeyId"][
        "Fn::GetAtt"
    ][0]
    return key


@pytest.mark.parametrize("context", [INTAKE_CONTEXT, {**INTAKE_CONTEXT, "kmsKey": KEY_ARN}])
def test_without_the_stacks_key_queues_use_sse_sqs_and_the_table_its_aws_key(
    synthesize: Synthesize, context: dict[str, str]
) -> None:
    template = synthesize(context)
    for logical_id, queue in resources(template, "AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
        assert "KmsMasterKeyId" not in queue["Properties"], logical_id
    [table] = resources(template, "AWS::DynamoDB::Table").values()
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}


@pytest.mark.parametrize("context", [INTAKE_CONTEXT, {**INTAKE_CONTEXT, "kmsKey": KEY_ARN}])
def test_without_the_stacks_key_logs_use_cloudwatch_keys_and_the_topic_a_key_of_its_own(
    synthesize: Synthesize, context: dict[str, str]
) -> None:
    # An existing key (an ARN) encrypts only the bucket: the stack cannot extend its key policy.
    template = synthesize(context)
    for logical_id, group in resources(template, "AWS::Logs::LogGroup").items():
        assert "KmsKeyId" not in group["Properties"], logical_id
    assert list(resources(template, "AWS::KMS::Key")) == [_topic_key(template)]
    key_policy = properties(template, _topic_key(template))["KeyPolicy"]["Statement"]
    assert {render(s["Principal"]).get("Service") for s in key_policy} == {
        None,  # the account root
        "cloudwatch.amazonaws.com",
    }
