"""RekognitionDatasets (`rekognitionProject`): after Publish, only with the option; its loop, its
failure route and its rights (the project and its datasets; reads of the manifests and files)."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from .cfn import (
    function_id,
    function_role_id,
    properties,
    render,
    resources,
    role_permissions,
    role_statements,
    state_machine_definition,
    via_service,
)
from .synthesis import KMS_CONTEXT, REKOGNITION_CONTEXT, REKOGNITION_PROJECT, Synthesize

REKOGNITION = "handlers.rekognition.handler"
DATASETS = "arn:aws:rekognition:us-east-1:111122223333:project/parts/dataset/*"
OBJECT_READS = {"s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectVersion", "s3:GetObjectTagging"}
STEP_STATES = {"RekognitionDatasets?", "RekognitionDatasets", "RekognitionReady?",
               "WaitForRekognition"}  # fmt: skip


def _bucket(template: assertions.Template) -> str:
    [bucket] = [
        b for b in resources(template, "AWS::S3::Bucket") if b.startswith("DatasetStorageB")
    ]
    return f"<{bucket}.Arn>"


def _handlers(template: assertions.Template) -> set[str]:
    return {
        f["Properties"]["Handler"] for f in resources(template, "AWS::Lambda::Function").values()
    }


def test_without_the_option_publish_ends_the_run_and_there_is_no_step(
    template: assertions.Template, synthesize: Synthesize
) -> None:
    # Given the default stack, and one exporting Rekognition manifests without a project
    for stack in (template, synthesize({"exports": "coco,rekognition"})):
        states = state_machine_definition(stack)["States"]
        # Then Publish leads straight to DatasetPublished, and no function or state is added
        assert states["Publish"]["Next"] == "DatasetPublished"
        assert not STEP_STATES & set(states)
        assert REKOGNITION not in _handlers(stack)


def test_with_a_project_a_published_complete_version_goes_through_the_step(
    synthesize: Synthesize,
) -> None:
    # Given a stack with a Rekognition project
    states = state_machine_definition(synthesize(REKOGNITION_CONTEXT))["States"]
    # Then Publish's answer is checked: published and not partial -> the step, else the end
    assert states["Publish"]["Next"] == "RekognitionDatasets?"
    choice = states["RekognitionDatasets?"]
    assert choice["Choices"] == [
        {
            "And": [
                {"Variable": "$.published", "BooleanEquals": True},
                {"Variable": "$.partial", "BooleanEquals": False},
            ],
            "Next": "RekognitionDatasets",
        }
    ]
    assert choice["Default"] == "DatasetPublished"


def test_the_step_is_called_again_after_its_wait_until_it_says_done(
    synthesize: Synthesize,
) -> None:
    states = state_machine_definition(synthesize(REKOGNITION_CONTEXT))["States"]
    step = states["RekognitionDatasets"]
    # The whole state goes in; the answer is kept under $.rekognition (Publish's answer stays)
    assert step["Parameters"]["Payload.$"] == "$"
    assert step["ResultPath"] == "$.rekognition"
    assert step["ResultSelector"] == {"summary.$": "$.Payload"}
    assert step["Next"] == "RekognitionReady?"
    ready = states["RekognitionReady?"]
    assert ready["Choices"] == [
        {
            "Variable": "$.rekognition.summary.done",
            "BooleanEquals": True,
            "Next": "DatasetPublished",
        }
    ]
    assert ready["Default"] == "WaitForRekognition"
    wait = states["WaitForRekognition"]
    assert wait == {
        "Type": "Wait",
        "SecondsPath": "$.rekognition.summary.wait_seconds",
        "Next": "RekognitionDatasets",
    }


def test_a_failure_of_the_step_is_notified_and_fails_the_run(synthesize: Synthesize) -> None:
    states = state_machine_definition(synthesize(REKOGNITION_CONTEXT))["States"]
    # Given transient errors retried like every step's
    step = states["RekognitionDatasets"]
    assert "TransientAwsError" in step["Retry"][0]["ErrorEquals"]
    # Then any other error goes to NotifyFailure with the state (the published version's)
    assert step["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}
    ]
    assert states["NotifyFailure"]["Next"] == "ConversionFailed"


def test_the_function_knows_its_project_and_how_it_waits(synthesize: Synthesize) -> None:
    template = synthesize(REKOGNITION_CONTEXT)
    function = properties(template, function_id(template, REKOGNITION))
    variables = function["Environment"]["Variables"]
    assert variables["PROJECT_ARN"] == REKOGNITION_PROJECT
    assert (variables["POLL_SECONDS"], variables["MAX_POLLS"]) == ("30", "120")
    # a pass is a few calls; the waiting happens in the state machine, not in the Lambda
    assert function["Timeout"] == 30


def test_the_role_may_change_the_projects_datasets_and_read_the_manifests_and_files_only(
    synthesize: Synthesize,
) -> None:
    template = synthesize(REKOGNITION_CONTEXT)
    permissions = role_permissions(template, function_role_id(template, REKOGNITION))
    bucket = _bucket(template)
    log_writes = {"logs:CreateLogStream", "logs:PutLogEvents"}
    xray = {a for a in permissions if a.startswith("xray:")}
    expected: dict[str, set[str]] = {
        "rekognition:CreateDataset": {REKOGNITION_PROJECT},
        "rekognition:DeleteDataset": {DATASETS},
        "rekognition:DescribeDataset": {DATASETS},
        # no resource-level permissions for DescribeProjects
        "rekognition:DescribeProjects": {"*"},
        "s3:GetBucketAcl": {bucket},
        "s3:GetBucketLocation": {bucket},
    }
    for action in OBJECT_READS:
        expected[action] = {
            f"{bucket}/datasets/*.rekognition.*.manifest",
            f"{bucket}/datasets/*/files/*",
        }
    assert {a: r for a, r in permissions.items() if a not in log_writes | xray} == expected
    # no write, delete or list of the bucket, and no KMS key without one
    assert not [a for a in permissions if a.startswith("kms:")]


def test_with_the_stack_key_the_role_may_decrypt_through_s3_only(
    synthesize: Synthesize,
) -> None:
    template = synthesize({**REKOGNITION_CONTEXT, **KMS_CONTEXT})
    role = function_role_id(template, REKOGNITION)
    keyed = [s for s in role_statements(template, role) if _actions(s) & {"kms:Decrypt"}]
    assert len(keyed) == 1
    [statement] = keyed
    # the two actions the Custom Labels guide names, on the stack's key, through S3
    assert _actions(statement) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert via_service(statement) == "s3.us-east-1.amazonaws.com"
    [key] = resources(template, "AWS::KMS::Key")
    assert render(statement["Resource"]) == f"<{key}.Arn>"


def test_the_state_machine_may_invoke_the_function(synthesize: Synthesize) -> None:
    template = synthesize(REKOGNITION_CONTEXT)
    definition = state_machine_definition(template)
    function = function_id(template, REKOGNITION)
    assert definition["States"]["RekognitionDatasets"]["Parameters"]["FunctionName"] == (
        f"<{function}.Arn>"
    )


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return set(action if isinstance(action, list) else [action])
