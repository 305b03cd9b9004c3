"""Notifications and Monitoring: who hears about published datasets and failures, and how."""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from .cfn import conversion_state_machine, only, only_in, properties, render, resources
from .synthesis import Synthesize


def _topic(template: assertions.Template) -> str:
    return only(template, "AWS::SNS::Topic")


def _alarm(template: assertions.Template, metric: str) -> str:
    """The conversion's alarm on `metric` (the intake has its own; see test_intake.py)."""
    return only_in(template, "Monitoring", "AWS::CloudWatch::Alarm", MetricName=metric)


def test_topic_is_encrypted_with_a_rotated_customer_managed_key(
    template: assertions.Template,
) -> None:
    key = properties(template, _topic(template))["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert properties(template, key)["EnableKeyRotation"] is True


def test_topic_accepts_only_tls(template: assertions.Template) -> None:
    policy = only(template, "AWS::SNS::TopicPolicy")
    statements = properties(template, policy)["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": {"Ref": _topic(template)},
            "Sid": "AllowPublishThroughSSLOnly",
        }
    ]


def test_only_this_accounts_alarms_may_publish_and_use_the_key(
    template: assertions.Template,
) -> None:
    topic = _topic(template)
    key = properties(template, topic)["KmsMasterKeyId"]["Fn::GetAtt"][0]
    topic_policy = properties(template, only(template, "AWS::SNS::TopicPolicy"))
    key_policy = properties(template, key)["KeyPolicy"]
    for statement_list in (topic_policy["PolicyDocument"]["Statement"], key_policy["Statement"]):
        [cloudwatch] = [
            s
            for s in statement_list
            if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        ]
        assert render(cloudwatch["Condition"]) == {
            "StringEquals": {"aws:SourceAccount": "111122223333"},
            "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:*"},
        }


def test_no_subscription_without_an_email(template: assertions.Template) -> None:
    assert not resources(template, "AWS::SNS::Subscription")


def test_notification_email_subscribes_that_address(synthesize: Synthesize) -> None:
    template = synthesize({"notificationEmail": "labels@example.org"})
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "labels@example.org",
            "TopicArn": {"Ref": _topic(template)},
        },
    )


@pytest.mark.parametrize(
    ("metric", "namespace"),
    [
        ("ExecutionsFailed", "AWS/States"),
        ("ExecutionsTimedOut", "AWS/States"),
        ("ApproximateNumberOfMessagesVisible", "AWS/SQS"),
    ],
)
def test_alarms_page_the_topic_from_the_first_occurrence(
    template: assertions.Template, metric: str, namespace: str
) -> None:
    alarm = properties(template, _alarm(template, metric))
    assert alarm["Namespace"] == namespace
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": _topic(template)}]


def test_failure_alarm_watches_the_state_machine_and_dlq_alarm_the_queue(
    template: assertions.Template,
) -> None:
    state_machine = conversion_state_machine(template)
    queue = only_in(template, "Triggers", "AWS::SQS::Queue")
    failed = properties(template, _alarm(template, "ExecutionsFailed"))
    visible = properties(template, _alarm(template, "ApproximateNumberOfMessagesVisible"))
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": state_machine}}]
    assert visible["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
    ]


def test_outputs_name_the_bucket_state_machine_and_topic(template: assertions.Template) -> None:
    outputs = template.to_json()["Outputs"]
    bucket = only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    assert outputs["BucketName"]["Value"] == {"Ref": bucket}
    assert outputs["StateMachineArn"]["Value"] == {"Ref": conversion_state_machine(template)}
    assert outputs["TopicArn"]["Value"] == {"Ref": _topic(template)}


def test_every_resource_is_tagged_with_the_project(template: assertions.Template) -> None:
    untaggable = {
        "AWS::IAM::Policy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::Events::Rule",
        "AWS::SNS::Subscription",
        "AWS::Lambda::LayerVersion",  # CloudFormation has no Tags property for layers
        "AWS::Scheduler::Schedule",  # nor for schedules (only schedule groups take tags)
    }
    for logical_id, resource in template.to_json()["Resources"].items():
        if resource["Type"] in untaggable:
            continue
        tags = resource["Properties"].get("Tags")
        assert tags and {"Key": "project", "Value": "gt2yolo"} in tags, logical_id
