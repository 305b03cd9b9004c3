"""The training states (`training`): after Publish, only for a published complete version,
PrepareTraining -> Train (`createTrainingJob.sync`) -> ModelReady, every failure to
NotifyFailure; the state machine may run only our jobs, pass only the execution role, and
PrepareTraining and ModelReady hold only what they need."""

from __future__ import annotations

import json

from aws_cdk import assertions

from .cfn import (
    as_list,
    function_id,
    function_role_id,
    properties,
    render,
    resources,
    role_permissions,
    role_statements,
    state_machine_definition,
)
from .synthesis import TRAINING_CONTEXT, Synthesize

STATES = ("TrainModel?", "PrepareTraining", "Train?", "Train", "ModelReady")
PREPARE = "handlers.prepare_training.handler"
MODEL_READY = "handlers.model_ready.handler"
ON_DEMAND = {"training": json.dumps({"datasets": ["parts"]})}


def _execution_role(template: assertions.Template) -> str:
    [role] = [
        r
        for r in resources(template, "AWS::IAM::Role")
        if r.startswith("ModelTrainingExecutionRole")
    ]
    return role


def _bucket(template: assertions.Template) -> str:
    [bucket] = [
        b for b in resources(template, "AWS::S3::Bucket") if b.startswith("DatasetStorageB")
    ]
    return f"<{bucket}.Arn>"


def test_without_the_option_there_are_no_training_states_or_functions(
    template: assertions.Template,
) -> None:
    states = state_machine_definition(template)["States"]
    assert not set(STATES) & set(states)
    handlers = {
        p["Properties"]["Handler"] for p in resources(template, "AWS::Lambda::Function").values()
    }
    assert PREPARE not in handlers and MODEL_READY not in handlers


def test_publish_leads_to_training_only_for_a_published_complete_version(
    synthesize: Synthesize,
) -> None:
    states = state_machine_definition(synthesize(TRAINING_CONTEXT))["States"]
    assert states["Publish"]["Next"] == "TrainModel?"
    [choice] = states["TrainModel?"]["Choices"]
    assert choice["Next"] == "PrepareTraining"
    assert {c["Variable"]: c["BooleanEquals"] for c in choice["And"]} == {
        "$.published": True,
        "$.partial": False,
    }
    assert states["TrainModel?"]["Default"] == "DatasetPublished"
    # PrepareTraining may answer `train: false` (a dataset not listed): then the execution ends
    assert states["Train?"]["Default"] == "DatasetPublished"
    assert states["Train?"]["Choices"][0]["Next"] == "Train"
    assert states["ModelReady"]["Next"] == "DatasetPublished"
    # And any failure of the three goes to NotifyFailure with $.error (the dataset is published)
    for name in ("PrepareTraining", "Train", "ModelReady"):
        [catch] = states[name]["Catch"]
        assert catch == {
            "ErrorEquals": ["States.ALL"],
            "Next": "NotifyFailure",
            "ResultPath": "$.error",
        }


def test_train_waits_for_the_job_and_passes_prepare_trainings_request(
    synthesize: Synthesize,
) -> None:
    template = synthesize(TRAINING_CONTEXT)
    train = state_machine_definition(template)["States"]["Train"]
    assert train["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    assert train["ResultPath"] == "$.training.job"
    parameters = train["Parameters"]
    # Each member of the request, spot's checkpoints included (the settings say spot)
    members = {name.removesuffix(".$") for name in parameters} - {"RoleArn"}
    assert "CheckpointConfig" in members
    for name in members:
        assert parameters[f"{name}.$"] == f"$.training.request.{name}"
    # RoleArn is written out: the execution role, the same one PrepareTraining names
    role_arn = render(parameters["RoleArn"])
    env = properties(template, function_id(template, PREPARE))["Environment"]["Variables"]
    assert role_arn == render(env["ROLE_ARN"]) == f"<{_execution_role(template)}.Arn>"
    on_demand = state_machine_definition(synthesize(ON_DEMAND))["States"]["Train"]
    assert "CheckpointConfig.$" not in on_demand["Parameters"]


def _grants(template: assertions.Template, role: str) -> set[tuple[str, str, str]]:
    """(action, resource, condition) of the role's statements on SageMaker, IAM and EventBridge
    (the others name the state machine's own ARN by Fn::Split, which `render` cannot)."""
    found = set()
    for statement in role_statements(template, role):
        services = {str(action).split(":")[0] for action in as_list(statement["Action"])}
        if not services & {"sagemaker", "iam", "events"}:
            continue
        rendered = render(statement)
        condition = json.dumps(rendered.get("Condition", {}), sort_keys=True)
        for action in as_list(rendered["Action"]):
            for resource in as_list(rendered["Resource"]):
                found.add((action, resource, condition))
    return found


def _state_machine_role(template: assertions.Template) -> str:
    [machine] = [
        m
        for m in resources(template, "AWS::StepFunctions::StateMachine")
        if m.startswith("ConversionWorkflow")
    ]
    role: str = properties(template, machine)["RoleArn"]["Fn::GetAtt"][0]
    return role


def test_the_state_machine_runs_only_gt2yolo_jobs_and_passes_only_the_execution_role(
    synthesize: Synthesize,
) -> None:
    template = synthesize(TRAINING_CONTEXT)
    grants = _grants(template, _state_machine_role(template))
    jobs = "arn:aws:sagemaker:us-east-1:111122223333:training-job/gt2yolo-*"
    sagemaker = {(a, r) for a, r, _ in grants if a.startswith("sagemaker:")}
    assert sagemaker == {
        (action, jobs)
        for action in (
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:StopTrainingJob",
            "sagemaker:AddTags",
            "sagemaker:ListTags",
        )
    }
    passed = {(r, c) for a, r, c in grants if a == "iam:PassRole"}
    condition = json.dumps({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
    assert passed == {(f"<{_execution_role(template)}.Arn>", condition)}
    rule = "arn:aws:events:us-east-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"
    events = {(a, r) for a, r, _ in grants if a.startswith("events:")}
    assert events == {
        (a, rule) for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
    }


def test_prepare_training_writes_only_the_source_tarballs(synthesize: Synthesize) -> None:
    template = synthesize(TRAINING_CONTEXT)
    permissions = role_permissions(template, function_role_id(template, PREPARE))
    bucket = _bucket(template)
    s3 = {
        action: resources_ for action, resources_ in permissions.items() if action.startswith("s3:")
    }
    assert s3 == {"s3:PutObject": {f"{bucket}/training/source/*"}}


def test_model_ready_reads_and_writes_the_listed_datasets_models_and_reports_only(
    synthesize: Synthesize,
) -> None:
    template = synthesize(TRAINING_CONTEXT)
    permissions = role_permissions(template, function_role_id(template, MODEL_READY))
    bucket = _bucket(template)
    expected: set[str] = {f"{bucket}/models/{name}/*" for name in ("parts", "leaves.v2")} | {
        f"{bucket}/datasets/{name}/versions/*/report.*" for name in ("parts", "leaves.v2")
    }
    assert permissions["s3:GetObject"] == expected
    assert permissions["s3:PutObject"] == expected
    assert "s3:DeleteObject" not in permissions
    assert permissions["s3:ListBucket"] == {bucket}


def test_the_execution_outlasts_the_longest_training_job(synthesize: Synthesize) -> None:
    # Given spot training of up to 8 h runtime (16 h with the wait for capacity)
    template = synthesize(TRAINING_CONTEXT)
    train = state_machine_definition(template)["States"]["Train"]
    # Then the Train state waits for that and an hour of overhead
    assert train["TimeoutSeconds"] == (16 + 1) * 3600
    # And the execution's own timeout leaves the conversion its 2 h on top
    [machine] = [
        m
        for m in resources(template, "AWS::StepFunctions::StateMachine")
        if m.startswith("ConversionWorkflow")
    ]
    definition = json.loads(render(properties(template, machine)["DefinitionString"]))
    assert definition["TimeoutSeconds"] == (2 + 16 + 1) * 3600
    # And without training the bound is the conversion's
    assert state_machine_definition(synthesize({}))["TimeoutSeconds"] == 2 * 3600
