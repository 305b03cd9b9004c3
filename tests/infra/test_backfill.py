"""Backfill: a state machine that pages through a run with the Backfill function, which may list
and describe labeling jobs, start (and describe its own) conversion executions, read output
manifests where the stack may read them, and write its run log; and `sourceBuckets`, where
past jobs' output lies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import assertions
from workflow import backfill as use_case

from stacks.constructs import backfill as construct
from stacks.settings import Settings, SettingsError

from .cfn import (
    as_list,
    conversion_state_machine,
    function_id,
    function_role_id,
    only,
    properties,
    render,
    resources,
    role_statements,
)
from .synthesis import Synthesize

BACKFILL = "handlers.backfill.handler"
READERS = ["handlers.convert.handler", "handlers.convert_chunk.handler", "handlers.report.handler"]
SOURCES_CONTEXT = {"sourceBuckets": "team-labels/jobs/,partner-labels", "jobNamePrefix": "parts-"}
LABELING_JOBS = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/"


@pytest.fixture(scope="module")
def sourced(synthesize: Synthesize) -> assertions.Template:
    return synthesize(SOURCES_CONTEXT)


CONVERSION_NAME = "conversion"


def _statements(template: assertions.Template, handler: str) -> list[dict[str, Any]]:
    """The role's statements, the conversion state machine's ARN rendered as deployed (the
    backfill's execution ARNs are cut from it)."""
    role = function_role_id(template, handler)
    conversion = conversion_state_machine(template)
    arn = f"arn:aws:states:us-east-1:111122223333:stateMachine:{CONVERSION_NAME}"
    return [render(statement, {conversion: arn}) for statement in role_statements(template, role)]


def _by_action(template: assertions.Template, handler: str) -> dict[str, list[Any]]:
    """Action -> every resource the function's role allows it on."""
    found: dict[str, list[Any]] = {}
    for statement in _statements(template, handler):
        for action in as_list(statement["Action"]):
            found.setdefault(action, []).extend(as_list(statement["Resource"]))
    return found


def _bucket(template: assertions.Template) -> str:
    bucket = only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    return f"<{bucket}.Arn>"


def _backfill_machine(template: assertions.Template) -> str:
    [logical] = [lid for lid in resources(template, "AWS::StepFunctions::StateMachine")
                 if lid.startswith("Backfill")]  # fmt: skip
    return logical


def test_the_backfill_function_may_do_only_what_a_run_needs(sourced: assertions.Template) -> None:
    allowed = _by_action(sourced, BACKFILL)
    bucket = _bucket(sourced)
    assert allowed["sagemaker:ListLabelingJobs"] == ["*"]  # no resource-level permissions
    assert allowed["sagemaker:DescribeLabelingJob"] == [f"{LABELING_JOBS}parts-*"]
    assert allowed["states:StartExecution"] == [
        f"arn:aws:states:us-east-1:111122223333:stateMachine:{CONVERSION_NAME}"
    ]
    assert allowed["states:DescribeExecution"] == [
        f"arn:aws:states:us-east-1:111122223333:execution:{CONVERSION_NAME}:bf-*"
    ]
    assert sorted(allowed["s3:PutObject"]) == [f"{bucket}/backfill/*"]
    assert sorted(allowed["s3:GetObject"]) == sorted([
        f"{bucket}/backfill/*", f"{bucket}/groundtruth/*", f"{bucket}/manifests/*",
        f"{bucket}/datasets/*/current.json",
        "arn:aws:s3:::team-labels/jobs/*", "arn:aws:s3:::partner-labels/*",
    ])  # fmt: skip
    assert set(allowed) - {"s3:ListBucket", "logs:CreateLogStream", "logs:PutLogEvents",
                           "xray:PutTraceSegments", "xray:PutTelemetryRecords"} == {
        "sagemaker:ListLabelingJobs", "sagemaker:DescribeLabelingJob", "states:StartExecution",
        "states:DescribeExecution", "s3:GetObject", "s3:PutObject",
    }  # fmt: skip


def test_the_backfill_describes_only_executions_named_as_the_use_case_names_them() -> None:
    assert construct.EXECUTION_NAME_PREFIX == use_case.EXECUTION_NAME_PREFIX


def test_the_state_machine_lists_then_loops_over_batches_until_done_retrying_throttles(
    sourced: assertions.Template,
) -> None:
    machine = properties(sourced, _backfill_machine(sourced))
    definition = json.loads(render(machine["DefinitionString"]))
    states = definition["States"]
    assert definition["StartAt"] == construct.STATE_LIST
    assert states[construct.STATE_LIST]["Next"] == construct.STATE_DONE_CHOICE
    assert states[construct.STATE_BATCH]["Next"] == construct.STATE_DONE_CHOICE
    choice = states[construct.STATE_DONE_CHOICE]
    assert choice["Choices"] == [
        {"Variable": "$.done", "BooleanEquals": True, "Next": construct.STATE_DONE}
    ]
    assert choice["Default"] == construct.STATE_BATCH
    function = f"<{function_id(sourced, BACKFILL)}.Arn>"
    for step in (construct.STATE_LIST, construct.STATE_BATCH):
        assert states[step]["Parameters"]["FunctionName"] == function
        [retry] = states[step]["Retry"]
        assert "TransientAwsError" in retry["ErrorEquals"]
        assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
        assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] == 10


def test_the_cli_finds_the_backfill_state_machine_in_the_stack_outputs(
    template: assertions.Template,
) -> None:
    outputs = template.to_json()["Outputs"]
    assert render(outputs["BackfillStateMachineArn"]["Value"]) == f"<{_backfill_machine(template)}>"


def test_without_source_buckets_the_backfill_reads_only_the_stacks_bucket(
    template: assertions.Template,
) -> None:
    bucket = _bucket(template)
    reads = _by_action(template, BACKFILL)["s3:GetObject"]
    assert all(resource.startswith(f"{bucket}/") for resource in reads)
    assert not [name for name in template.to_json()["Outputs"] if name.startswith("Source")]


# --- sourceBuckets ------------------------------------------------------------------------------


def test_source_buckets_are_readable_by_the_readers_of_outputs_and_images(
    sourced: assertions.Template,
) -> None:
    for handler in READERS:
        reads = _by_action(sourced, handler)["s3:GetObject"]
        assert {"arn:aws:s3:::team-labels/jobs/*", "arn:aws:s3:::partner-labels/*"} <= set(reads)
        variables = properties(sourced, function_id(sourced, handler))["Environment"]["Variables"]
        if "IMAGE_BUCKETS" in variables:  # what the readers name when S3 refuses an image
            assert variables["IMAGE_BUCKETS"] == "team-labels/jobs/,partner-labels"


def test_resolve_and_the_backfill_are_told_the_source_buckets(
    sourced: assertions.Template,
) -> None:
    for handler in ("handlers.resolve.handler", BACKFILL):
        variables = properties(sourced, function_id(sourced, handler))["Environment"]["Variables"]
        assert variables["SOURCE_BUCKETS"] == "team-labels/jobs/,partner-labels"


def test_each_source_bucket_has_the_bucket_policy_its_owner_adds_naming_every_reader(
    sourced: assertions.Template,
) -> None:
    outputs = sourced.to_json()["Outputs"]
    first = json.loads(render(outputs["SourceBucketPolicy1"]["Value"]))
    second = json.loads(render(outputs["SourceBucketPolicy2"]["Value"]))
    [reading, listing] = first["Statement"]
    assert reading["Action"] == "s3:GetObject"
    assert reading["Resource"] == ["arn:aws:s3:::team-labels/jobs/*"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["jobs/*"]}}
    assert second["Statement"][0]["Resource"] == ["arn:aws:s3:::partner-labels/*"]
    roles = {function_role_id(sourced, handler) for handler in [*READERS, BACKFILL]}
    principals = {arn.split(".")[0].strip("<") for arn in reading["Principal"]["AWS"]}
    assert principals == roles


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("Team_Labels", "is not a bucket name"),
        ("team-labels/jobs/*", "a prefix is matched literally"),
        ("team-labels//jobs", "starts with '/'"),
    ],
)
def test_malformed_source_buckets_fail_the_synth_naming_the_option(
    entry: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"sourceBuckets entry {entry!r}")) as error:
        Settings.from_context({"sourceBuckets": entry})
    assert message in str(error.value)


def test_image_and_source_buckets_together_are_bounded_by_the_roles_policy_size() -> None:
    images = ",".join(f"images-{n}" for n in range(12))
    sources = ",".join(f"labels-{n}" for n in range(12))
    with pytest.raises(SettingsError, match="24 entries together"):
        Settings.from_context({"imageBuckets": images, "sourceBuckets": sources})
