"""Triggers: which events start the conversion workflow.

Patterns are taken from the synthesized template and evaluated with moto's EventBridge matcher
(moto 5.2.5 implements exact values, `prefix`, `wildcard` and `anything-but` with a nested
`prefix`; the refusals below would fail if it ignored any of them)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions

from . import sample_events as events
from .cfn import (
    conversion_state_machine,
    only,
    only_in,
    properties,
    render,
    resources,
    rule_logical_id,
    workflow_routes,
)


def _refs(template: assertions.Template) -> dict[str, str]:
    bucket = only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    return {bucket: events.BUCKET}


def _starts(template: assertions.Template, event: dict[str, Any]) -> bool:
    routes = workflow_routes(template, event, _refs(template))
    assert len(routes) <= 1, f"one event would start {len(routes)} executions: {routes}"
    return bool(routes)


# --- Ground Truth labeling jobs ------------------------------------------------------------


def test_documented_completed_event_starts_the_workflow(template: assertions.Template) -> None:
    assert _starts(template, events.labeling_job_state_change("Completed"))


@pytest.mark.parametrize("status", ["InProgress", "Failed", "Stopped"])
def test_unfinished_failed_and_stopped_jobs_are_not_converted_by_default(
    template: assertions.Template, status: str
) -> None:
    assert not _starts(template, events.labeling_job_state_change(status))


def test_stopped_jobs_are_converted_when_convert_stopped_jobs_is_set(
    filtered_template: assertions.Template,
) -> None:
    assert _starts(filtered_template, events.labeling_job_state_change("Stopped", "dogs-1"))
    assert _starts(filtered_template, events.labeling_job_state_change("Completed", "dogs-1"))
    assert not _starts(filtered_template, events.labeling_job_state_change("Failed", "dogs-1"))


def test_other_detail_types_from_sagemaker_are_ignored(template: assertions.Template) -> None:
    event = events.labeling_job_state_change("Completed")
    event["detail-type"] = "SageMaker Training Job State Change"
    assert not _starts(template, event)


def test_job_name_prefix_limits_the_jobs_converted(
    filtered_template: assertions.Template,
) -> None:
    assert _starts(filtered_template, events.labeling_job_state_change(job_name="dogs-batch-7"))
    assert not _starts(filtered_template, events.labeling_job_state_change(job_name="cats-1"))


def test_job_name_prefix_is_matched_on_the_job_arn_of_this_account_and_region(
    filtered_template: assertions.Template,
) -> None:
    rule = rule_logical_id(filtered_template, "LabelingJobFinished")
    pattern = render(properties(filtered_template, rule)["EventPattern"])
    assert pattern["resources"] == [
        {"prefix": "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/dogs-"}
    ]


def test_without_prefix_every_job_name_is_accepted(template: assertions.Template) -> None:
    pattern = properties(template, rule_logical_id(template, "LabelingJobFinished"))
    assert "resources" not in pattern["EventPattern"]


# --- manifests dropped into the bucket -----------------------------------------------------


@pytest.mark.parametrize(
    "key", ["manifests/job1.manifest", "manifests/2024/run a.b.manifest", "manifests/x/y.manifest"]
)
def test_a_manifest_dropped_under_manifests_starts_the_workflow(
    template: assertions.Template, key: str
) -> None:
    assert _starts(template, events.object_created(key))


@pytest.mark.parametrize(
    "key",
    [
        "manifests/input/ds.manifest",  # the intake area
        "manifests/input/deeper/ds.manifest",
        "manifests/x.json",
        "manifests/job1.manifest.tmp",
        "images/job1.manifest",
        "datasets/job1/output.manifest",  # written by the workflow itself: no loop
        "groundtruth/job1/manifests/output/output.manifest",  # SageMaker's own copy
    ],
)
def test_other_objects_do_not_start_the_workflow(template: assertions.Template, key: str) -> None:
    assert not _starts(template, events.object_created(key))


def test_manifests_in_another_bucket_are_ignored(template: assertions.Template) -> None:
    assert not _starts(template, events.object_created("manifests/job1.manifest", "other"))


def test_other_s3_events_are_ignored(template: assertions.Template) -> None:
    event = events.object_created("manifests/job1.manifest")
    event["detail-type"] = "Object Deleted"
    assert not _starts(template, event)


def test_intake_exclusion_happens_on_the_drop_bus_after_the_wildcard(
    template: assertions.Template,
) -> None:
    forward = properties(template, rule_logical_id(template, "ManifestObjectCreated"))
    drop = properties(template, rule_logical_id(template, "ManifestDropped"))
    bus = only(template, "AWS::Events::EventBus")
    assert "EventBusName" not in forward  # the default bus, where S3 sends its events
    assert [target["Arn"] for target in forward["Targets"]] == [{"Fn::GetAtt": [bus, "Arn"]}]
    assert drop["EventBusName"] == {"Ref": bus}
    assert forward["EventPattern"]["detail"]["object"]["key"] == [
        {"wildcard": "manifests/*.manifest"}
    ]
    assert drop["EventPattern"]["detail"]["object"]["key"] == [
        {"anything-but": {"prefix": "manifests/input/"}}
    ]


# --- delivery ------------------------------------------------------------------------------


def test_rules_starting_the_workflow_retry_then_park_events_in_a_dead_letter_queue(
    template: assertions.Template,
) -> None:
    queue = only_in(template, "Triggers", "AWS::SQS::Queue")
    state_machine = conversion_state_machine(template)
    starters = [
        target
        for rule in resources(template, "AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
        if target["Arn"] == {"Ref": state_machine}
    ]
    assert len(starters) == 2
    for target in starters:
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": 4,
            "MaximumEventAgeInSeconds": 7200,
        }
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}


def test_forwarding_to_the_drop_bus_also_has_the_dead_letter_queue(
    template: assertions.Template,
) -> None:
    queue = only_in(template, "Triggers", "AWS::SQS::Queue")
    forward = properties(template, rule_logical_id(template, "ManifestObjectCreated"))
    assert [t["DeadLetterConfig"] for t in forward["Targets"]] == [
        {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    ]


def test_dead_letter_queue_is_encrypted_and_tls_only(template: assertions.Template) -> None:
    queue = only_in(template, "Triggers", "AWS::SQS::Queue")
    assert properties(template, queue)["SqsManagedSseEnabled"] is True
    policy = only_in(template, "Triggers", "AWS::SQS::QueuePolicy")
    statements = properties(template, policy)["PolicyDocument"]["Statement"]
    assert {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": {"Fn::GetAtt": [queue, "Arn"]},
    } in statements
