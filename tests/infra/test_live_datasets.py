"""Live datasets: a schedule invokes the LiveSweep function, which may list jobs, list the Ground
Truth folders and start the conversion state machine; nothing else."""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from .cfn import (
    conversion_state_machine,
    function_id,
    function_role_id,
    properties,
    render,
    resources,
    role_permissions,
    role_statements,
)
from .synthesis import Synthesize

SWEEP = "handlers.live.handler"
LABELING_JOBS = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/"


@pytest.mark.parametrize(
    ("context", "expression"),
    [
        ({}, "rate(1 hour)"),  # the default, 60 minutes, as CDK writes it
        ({"liveIntervalMinutes": "1"}, "rate(1 minute)"),
        ({"liveIntervalMinutes": "15"}, "rate(15 minutes)"),
    ],
)
def test_the_schedule_runs_the_sweep_at_the_live_interval(
    synthesize: Synthesize, context: dict[str, str], expression: str
) -> None:
    template = synthesize(context)
    [schedule] = resources(template, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == expression
    assert props["State"] == "ENABLED"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    sweep = function_id(template, SWEEP)
    assert render(props["Target"]["Arn"]) == f"<{sweep}.Arn>"


def test_live_interval_0_leaves_out_the_schedule_and_the_sweep(synthesize: Synthesize) -> None:
    template = synthesize({"liveIntervalMinutes": "0"})
    assert not resources(template, "AWS::Scheduler::Schedule")
    handlers = [
        f["Properties"]["Handler"] for f in resources(template, "AWS::Lambda::Function").values()
    ]
    assert SWEEP not in handlers
    assert not [r for r in resources(template, "AWS::IAM::Role") if r.startswith("LiveDatasets")]


def test_the_schedule_role_may_only_invoke_the_sweep_function(
    template: assertions.Template,
) -> None:
    [schedule] = resources(template, "AWS::Scheduler::Schedule").values()
    role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    sweep = f"<{function_id(template, SWEEP)}.Arn>"
    assert role_permissions(template, role) == {"lambda:InvokeFunction": {sweep, f"{sweep}:*"}}
    trust = properties(template, role)["AssumeRolePolicyDocument"]["Statement"]
    assert [render(s) for s in trust] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            # only schedules of this account may assume it (confused deputy)
            "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        }
    ]


def test_the_sweep_may_list_jobs_and_ground_truth_folders_and_start_the_conversion_only(
    filtered_template: assertions.Template,
) -> None:
    template = filtered_template  # jobs named dogs-*
    role = function_role_id(template, SWEEP)
    function = properties(template, function_id(template, SWEEP))
    log_group = f"<{function['LoggingConfig']['LogGroup']['Ref']}.Arn>"
    assert role_permissions(template, role) == {
        "sagemaker:ListLabelingJobs": {"*"},  # no resource-level permissions exist for it
        "sagemaker:DescribeLabelingJob": {f"{LABELING_JOBS}dogs-*"},
        "s3:ListBucket": {f"<{_bucket(template)}.Arn>"},
        "states:StartExecution": {f"<{conversion_state_machine(template)}>"},
        "logs:CreateLogStream": {log_group},
        "logs:PutLogEvents": {log_group},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }
    [listing] = [s for s in role_statements(template, role) if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["groundtruth/*"]}}


def test_the_sweep_knows_the_state_machine_the_prefix_and_where_ground_truth_writes(
    filtered_template: assertions.Template,
) -> None:
    template = filtered_template
    env = properties(template, function_id(template, SWEEP))["Environment"]["Variables"]
    assert render(env["STATE_MACHINE_ARN"]) == f"<{conversion_state_machine(template)}>"
    assert env["JOB_NAME_PREFIX"] == "dogs-"
    assert env["GROUNDTRUTH_PREFIX"] == "groundtruth/"


def _bucket(template: assertions.Template) -> str:
    [bucket] = [
        logical
        for logical, r in resources(template, "AWS::S3::Bucket").items()
        if r["Properties"].get("NotificationConfiguration")
    ]
    return bucket
