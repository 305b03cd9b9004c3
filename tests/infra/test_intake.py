"""Intake (on by default, `intake=false` leaves it out): registry table, intake queue and
function, StartLabelingJob, IAM."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from aws_cdk import assertions

from . import sample_events as events
from .cfn import (
    function_id,
    function_role_id,
    only,
    properties,
    render,
    resources,
    role_permissions,
)
from .synthesis import INTAKE_CONTEXT, STREAMING_TOPIC_ARN, WORKTEAM_ARN, Synthesize

LABELING_JOBS = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/"
XRAY = {"xray:PutTraceSegments": {"*"}, "xray:PutTelemetryRecords": {"*"}}


@pytest.fixture(scope="module")
def intake_template(synthesize: Synthesize) -> assertions.Template:
    return synthesize(INTAKE_CONTEXT)


def _bucket(template: assertions.Template) -> str:
    return only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )


def _intake_rule(template: assertions.Template) -> dict[str, Any]:
    [rule] = [r for lid, r in resources(template, "AWS::Events::Rule").items()
              if lid.startswith("IntakeImageObjectCreated")]  # fmt: skip
    return cast(dict[str, Any], rule["Properties"])


def _reaches_intake(template: assertions.Template, event: dict[str, Any]) -> bool:
    from moto.events.models import EventPattern

    pattern = render(_intake_rule(template)["EventPattern"], {_bucket(template): events.BUCKET})
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(cast(Any, event)))


def _starts_conversion(template: assertions.Template, event: dict[str, Any]) -> bool:
    """Whether a rule chain leads `event` to the conversion state machine (not StartLabelingJob)."""
    from moto.events.models import EventPattern

    conversion = next(lid for lid in resources(template, "AWS::StepFunctions::StateMachine")
                      if lid.startswith("ConversionWorkflow"))  # fmt: skip
    refs = {_bucket(template): events.BUCKET}
    rules = resources(template, "AWS::Events::Rule").values()

    def reached(bus: str | None) -> bool:
        for rule in rules:
            props = rule["Properties"]
            on_bus = props["EventBusName"]["Ref"] if "EventBusName" in props else None
            matcher = EventPattern.load(json.dumps(render(props["EventPattern"], refs)))
            if on_bus != bus or not matcher.matches_event(cast(Any, event)):
                continue
            for target in props["Targets"]:
                if target["Arn"] == {"Ref": conversion}:
                    return True
                forwarded = target["Arn"].get("Fn::GetAtt", [None])[0]
                if bus is None and forwarded in resources(template, "AWS::Events::EventBus"):
                    return reached(forwarded)
        return False

    return reached(None)


# --- on by default ---------------------------------------------------------------------------


def _intake_parts(template: assertions.Template) -> dict[str, int]:
    """How many resources of each kind the Intake construct made."""
    counts: dict[str, int] = {}
    for logical_id, resource in template.to_json()["Resources"].items():
        if logical_id.startswith("Intake"):
            counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    return counts


def test_the_default_deploy_has_the_intake_without_a_work_team_or_topic(
    template: assertions.Template,
) -> None:
    parts = _intake_parts(template)
    assert parts["AWS::DynamoDB::Table"] == 1
    assert parts["AWS::StepFunctions::StateMachine"] == 1  # StartLabelingJob
    assert parts["AWS::Lambda::Function"] == 3  # intake, prepare, create
    # the conversion's, StartLabelingJob, Backfill
    assert len(resources(template, "AWS::StepFunctions::StateMachine")) == 3
    assert [lid for lid in resources(template, "AWS::Events::Rule") if "Intake" in lid]
    env = properties(template, function_id(template, "handlers.start_job.create"))["Environment"]
    assert env["Variables"]["WORKTEAM_ARN"] == ""  # starting a job then says what is missing
    intake = properties(template, function_id(template, "handlers.intake.handler"))["Environment"]
    assert intake["Variables"]["STREAMING_TOPIC_ARN"] == ""  # batch mode
    outputs = template.to_json()["Outputs"]
    assert {"StartLabelingJobArn", "GroundTruthRoleArn"} <= set(outputs)


def test_intake_false_leaves_out_everything_of_the_intake(synthesize: Synthesize) -> None:
    template = synthesize({"intake": "false"})
    assert _intake_parts(template) == {}
    assert resources(template, "AWS::DynamoDB::Table") == {}
    assert len(resources(template, "AWS::StepFunctions::StateMachine")) == 2  # + Backfill
    assert not [lid for lid in resources(template, "AWS::Events::Rule") if "Intake" in lid]
    assert not {"StartLabelingJobArn", "GroundTruthRoleArn"} & set(template.to_json()["Outputs"])


@pytest.mark.parametrize("raw", ["false", "False", "no", "0", False])
def test_intake_false_is_read_from_cli_strings_and_json(raw: object) -> None:
    from stacks.settings import Settings

    assert Settings.from_context({"intake": raw}).intake is False
    assert Settings.from_context({}).intake is True
    assert Settings.from_context({"intake": ""}).intake is True  # `-c intake=`: the default


@pytest.mark.parametrize(
    "context",
    [
        {"intake": "false", "workteamArn": WORKTEAM_ARN},
        {"intake": "false", "streamingInputTopicArn": STREAMING_TOPIC_ARN},
    ],
)
def test_intake_options_with_intake_false_fail_the_synth_saying_so(
    context: dict[str, str],
) -> None:
    from stacks.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="intake=false"):
        Settings.from_context(context)


# --- events --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["images/cars/a.jpg", "images/cars/2026/b.png", "images/x.txt"])
def test_objects_created_under_images_reach_the_intake_and_never_the_conversion(
    intake_template: assertions.Template, key: str
) -> None:
    event = events.object_created(key)
    assert _reaches_intake(intake_template, event)
    assert not _starts_conversion(intake_template, event)


@pytest.mark.parametrize(
    "key",
    [
        "manifests/input/cars.manifest",  # what the intake writes: no loop, no conversion
        "manifests/job1.manifest",
        "groundtruth/job/manifests/output/output.manifest",
        "datasets/job/images/train/a.jpg",
    ],
)
def test_other_objects_never_reach_the_intake(
    intake_template: assertions.Template, key: str
) -> None:
    assert not _reaches_intake(intake_template, events.object_created(key))


def test_the_intake_manifest_does_not_start_a_conversion_but_a_dropped_manifest_still_does(
    intake_template: assertions.Template,
) -> None:
    assert not _starts_conversion(
        intake_template, events.object_created("manifests/input/cars.manifest")
    )
    assert _starts_conversion(intake_template, events.object_created("manifests/job1.manifest"))


def test_images_of_another_bucket_are_ignored(intake_template: assertions.Template) -> None:
    assert not _reaches_intake(intake_template, events.object_created("images/a/b.jpg", "other"))


# --- delivery and storage ------------------------------------------------------------------


def test_the_rule_feeds_an_encrypted_queue_with_a_dead_letter_queue(
    intake_template: assertions.Template,
) -> None:
    [target] = _intake_rule(intake_template)["Targets"]
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    queue = properties(intake_template, queue_id)
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    dead_letters = queue["RedrivePolicy"]["deadLetterTargetArn"]
    assert target["DeadLetterConfig"] == {"Arn": dead_letters}


def test_the_intake_function_takes_batches_reports_partial_failures_and_runs_twice_at_most(
    intake_template: assertions.Template,
) -> None:
    mapping = properties(intake_template, only(intake_template, "AWS::Lambda::EventSourceMapping"))
    assert mapping["FunctionName"] == {
        "Ref": function_id(intake_template, "handlers.intake.handler")
    }
    assert mapping["BatchSize"] == 100
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_the_registry_table_is_on_demand_encrypted_and_recoverable(
    intake_template: assertions.Template,
) -> None:
    table_id = only(intake_template, "AWS::DynamoDB::Table")
    table = intake_template.to_json()["Resources"][table_id]
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "dataset", "KeyType": "HASH"},
        {"AttributeName": "object_key", "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_the_bucket_has_the_cors_rule_ground_truth_requires(
    intake_template: assertions.Template,
) -> None:
    cors = properties(intake_template, _bucket(intake_template))["CorsConfiguration"]["CorsRules"]
    assert {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]} in cors


# --- IAM -----------------------------------------------------------------------------------


def _own_logs(template: assertions.Template, handler: str) -> dict[str, set[str]]:
    function = properties(template, function_id(template, handler))
    log_group = f"<{function['LoggingConfig']['LogGroup']['Ref']}.Arn>"
    return {"logs:CreateLogStream": {log_group}, "logs:PutLogEvents": {log_group}}


def test_the_intake_function_reads_images_writes_only_input_manifests_and_its_table(
    intake_template: assertions.Template,
) -> None:
    handler = "handlers.intake.handler"
    bucket = f"<{_bucket(intake_template)}.Arn>"
    table = f"<{only(intake_template, 'AWS::DynamoDB::Table')}.Arn>"
    queue = next(iter(render([_intake_rule(intake_template)["Targets"][0]["Arn"]])))
    sqs = {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl",
           "sqs:DeleteMessage", "sqs:GetQueueAttributes"}  # fmt: skip
    expected = {
        "s3:GetObject": {f"{bucket}/images/*", f"{bucket}/manifests/input/*.manifest"},
        "s3:PutObject": {f"{bucket}/manifests/input/*.manifest"},
        "s3:ListBucket": {bucket},
        **{
            action: {table}
            for action in (
                "dynamodb:PutItem",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
            )
        },
        "sns:Publish": {STREAMING_TOPIC_ARN},
        **{action: {queue} for action in sqs},
        **_own_logs(intake_template, handler),
        **XRAY,
    }
    role = function_role_id(intake_template, handler)
    assert role_permissions(intake_template, role) == expected


def test_without_a_streaming_topic_the_intake_may_publish_nowhere(
    template: assertions.Template,
) -> None:
    role = function_role_id(template, "handlers.intake.handler")
    assert "sns:Publish" not in role_permissions(template, role)


def test_create_may_only_create_prefixed_jobs_and_pass_only_the_ground_truth_role(
    synthesize: Synthesize,
) -> None:
    template = synthesize({**INTAKE_CONTEXT, "jobNamePrefix": "dogs-"})
    role = function_role_id(template, "handlers.start_job.create")
    permissions = role_permissions(template, role)
    ground_truth_role = only(
        template,
        "AWS::IAM::Role",
        Description="gt2yolo: Ground Truth reads images and input manifests, writes output",
    )
    assert permissions["sagemaker:CreateLabelingJob"] == {f"{LABELING_JOBS}dogs-*"}
    assert permissions["iam:PassRole"] == {f"<{ground_truth_role}.Arn>"}
    [policy] = [p for p in resources(template, "AWS::IAM::Policy").values()
                if {"Ref": role} in p["Properties"]["Roles"]]  # fmt: skip
    [pass_role] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                   if s["Action"] == "iam:PassRole"]  # fmt: skip
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_the_ground_truth_role_is_for_sagemaker_of_this_account_and_writes_only_groundtruth(
    intake_template: assertions.Template,
) -> None:
    role_id = only(
        intake_template,
        "AWS::IAM::Role",
        Description="gt2yolo: Ground Truth reads images and input manifests, writes output",
    )
    trust = properties(intake_template, role_id)["AssumeRolePolicyDocument"]["Statement"]
    assert render(trust) == [{
        "Action": "sts:AssumeRole", "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
    }]  # fmt: skip
    bucket = f"<{_bucket(intake_template)}.Arn>"
    permissions = role_permissions(intake_template, role_id)
    assert permissions["s3:PutObject"] == {f"{bucket}/groundtruth/*"}
    assert permissions["s3:GetObject"] == {f"{bucket}/images/*", f"{bucket}/manifests/input/*"}


def test_the_start_job_functions_know_the_work_team_role_and_prefix(
    intake_template: assertions.Template,
) -> None:
    for handler in ("handlers.start_job.prepare", "handlers.start_job.create"):
        env = properties(intake_template, function_id(intake_template, handler))["Environment"]
        variables = env["Variables"]
        assert variables["WORKTEAM_ARN"] == WORKTEAM_ARN
        assert variables["OUTPUT_PREFIX"] == "groundtruth/"
        assert "GROUND_TRUTH_ROLE_ARN" in variables


# --- StartLabelingJob ------------------------------------------------------------------------


def test_start_labeling_job_prepares_then_creates_and_logs_every_state(
    intake_template: assertions.Template,
) -> None:
    machine_id = next(lid for lid in resources(intake_template, "AWS::StepFunctions::StateMachine")
                      if lid.startswith("Intake"))  # fmt: skip
    machine = properties(intake_template, machine_id)
    definition = json.loads(render(machine["DefinitionString"]))
    assert definition["StartAt"] == "PrepareLabelingJob"
    assert definition["States"]["PrepareLabelingJob"]["Next"] == "CreateLabelingJob"
    assert definition["States"]["CreateLabelingJob"]["Next"] == "LabelingJobCreated"
    for state in ("PrepareLabelingJob", "CreateLabelingJob"):
        [catch] = definition["States"][state]["Catch"]
        assert catch["Next"] == "StartLabelingJobFailed"
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.parametrize(
    "context",
    [
        {"workteamArn": "private-crowd"},
        {"workteamArn": "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/x"},
        {"streamingInputTopicArn": "gt-streaming-input"},
        {"streamingInputTopicArn": "arn:aws:sqs:us-east-1:111122223333:q"},
        {"intake": "perhaps"},
    ],
)
def test_malformed_intake_options_fail_the_synth(context: dict[str, str]) -> None:
    from stacks.settings import Settings, SettingsError

    with pytest.raises(SettingsError):
        Settings.from_context(context)
