"""ModelTraining (`training`): the SageMaker execution role of the training jobs exists only
with the option, SageMaker of this account alone may assume it, and its statements are exactly
what a training job needs: the listed datasets, the source tarball, models/, its logs and
metrics, the pinned image, and the bucket's key through S3."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from gt2yolo_config.training_images import IMAGE_ACCOUNTS, UnknownRegionError

from stacks.app_factory import cdk_json_context
from stacks.constructs.dataset_storage import DatasetStorage
from stacks.constructs.training import IMAGE_MAPPING, ModelTraining
from stacks.settings import Settings

from .cfn import as_list, render, resources, role_statements
from .synthesis import KMS_CONTEXT, TRAINING_CONTEXT, Synthesize

REGION = "us-east-1"  # the region tests/infra/cfn.py renders AWS::Region as
ACCOUNT = "111122223333"
ON_DEMAND = {"training": json.dumps({"datasets": ["parts"]})}
REPOSITORY = f"arn:aws:ecr:{REGION}:763104351884:repository/pytorch-training"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs"


def _role_ids(template: assertions.Template) -> list[str]:
    return [
        r
        for r in resources(template, "AWS::IAM::Role")
        if r.startswith("ModelTrainingExecutionRole")
    ]


def _role(template: assertions.Template) -> str:
    [role] = _role_ids(template)
    return role


def _bucket(template: assertions.Template) -> str:
    [bucket] = [
        b for b in resources(template, "AWS::S3::Bucket") if b.startswith("DatasetStorageB")
    ]
    return f"<{bucket}.Arn>"


def _with_maps(value: Any, template: assertions.Template) -> Any:
    """`Fn::FindInMap` resolved for REGION (then `render` does the rest)."""
    if isinstance(value, list):
        return [_with_maps(item, template) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::FindInMap"}:
        name, key, attribute = value["Fn::FindInMap"]
        assert key == {"Ref": "AWS::Region"}
        return template.to_json()["Mappings"][name][REGION][attribute]
    return {k: _with_maps(item, template) for k, item in value.items()}


Grant = tuple[str, str, str]  # (action, resource, conditions as JSON)


def _grants(template: assertions.Template) -> set[Grant]:
    """Every (action, resource, condition) the role's statements allow, rendered (CDK merges
    statements that share actions and conditions, so they are compared one grant at a time)."""
    found: set[Grant] = set()
    for raw in role_statements(template, _role(template)):
        assert raw["Effect"] == "Allow"
        statement = render(_with_maps(raw, template))
        condition = json.dumps(statement.get("Condition", {}), sort_keys=True)
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                found.add((action, resource, condition))
    return found


def _allow(actions: list[str], resources: list[str], condition: Any = None) -> set[Grant]:
    text = json.dumps(condition or {}, sort_keys=True)
    return {(action, resource, text) for action in actions for resource in resources}


def _expected(bucket: str, *, datasets: list[str], spot: bool, key: str | None) -> set[Grant]:
    listed = [f"datasets/{name}/*" for name in datasets]
    logs = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
            "logs:DescribeLogStreams"]  # fmt: skip
    namespace = {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}}
    expected = (
        _allow(["s3:GetObject"], [f"{bucket}/datasets/{name}/*" for name in datasets])
        | _allow(["s3:GetObject"], [f"{bucket}/training/source/*"])
        | _allow(["s3:PutObject"], [f"{bucket}/models/*"])
        | _allow(logs, [LOG_GROUP, f"{LOG_GROUP}:log-stream:*"])
        | _allow(["cloudwatch:PutMetricData"], ["*"], namespace)
        | _allow(["ecr:GetAuthorizationToken"], ["*"])
        | _allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], [REPOSITORY])
    )
    if spot:
        expected |= _allow(["s3:GetObject"], [f"{bucket}/models/*/checkpoints/*"])
        listed.append("models/*/checkpoints/*")
    expected |= _allow(["s3:ListBucket"], [bucket], {"StringLike": {"s3:prefix": listed}})
    if key is not None:
        via = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
        expected |= _allow(["kms:Decrypt", "kms:GenerateDataKey"], [key], via)
    return expected


def test_without_the_option_there_is_no_training_role_or_image_table(
    template: assertions.Template, kms_template: assertions.Template
) -> None:
    # Given stacks without `training`
    for stack in (template, kms_template):
        # Then no role of ModelTraining, and no image mapping, are synthesized
        assert _role_ids(stack) == []
        assert IMAGE_MAPPING not in stack.to_json().get("Mappings", {})


def test_with_the_option_only_sagemaker_of_this_account_may_assume_the_role(
    synthesize: Synthesize,
) -> None:
    template = synthesize(TRAINING_CONTEXT)
    trust = resources(template, "AWS::IAM::Role")[_role(template)]["Properties"]
    [statement] = trust["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert render(statement["Condition"]) == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # no managed policy: the statements below are all it may do
    assert "ManagedPolicyArns" not in trust


def test_a_spot_roles_statements_are_exactly_these(synthesize: Synthesize) -> None:
    # Given two datasets trained on spot instances, without a stack key
    template = synthesize(TRAINING_CONTEXT)
    # Then the role reads those datasets, the source, its checkpoints; writes models/; logs,
    # metrics, pulls the pinned image; and has no KMS statement
    assert _grants(template) == _expected(
        _bucket(template), datasets=["parts", "leaves.v2"], spot=True, key=None
    )


def test_an_on_demand_role_with_the_stack_key_reads_no_checkpoints_and_uses_the_key(
    synthesize: Synthesize,
) -> None:
    template = synthesize({**ON_DEMAND, **KMS_CONTEXT})
    [key] = resources(template, "AWS::KMS::Key")
    assert _grants(template) == _expected(
        _bucket(template), datasets=["parts"], spot=False, key=f"<{key}.Arn>"
    )


def test_the_image_table_is_a_mapping_of_every_pinned_region(synthesize: Synthesize) -> None:
    # Given an environment-agnostic stack (the region is known only at deploy time)
    template = synthesize(ON_DEMAND)
    mapping = template.to_json()["Mappings"][IMAGE_MAPPING]
    # Then the mapping holds every region of the table with its publishing account
    assert {region: entry["account"] for region, entry in mapping.items()} == IMAGE_ACCOUNTS


def _construct(region: str, training: dict[str, Any]) -> ModelTraining:
    app = cdk.App(context=cdk_json_context())  # the feature flags the stack is built with
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=region))
    settings = Settings.from_context({"training": json.dumps(training)})
    assert settings.training is not None
    storage = DatasetStorage(stack, "DatasetStorage", settings=settings)
    key = kms.Key(stack, "TopicKey")
    return ModelTraining(
        stack,
        "ModelTraining",
        settings=settings.training,
        storage=storage,
        powertools_layer_version=settings.powertools_layer_version,
        topic=sns.Topic(stack, "Topic", master_key=key),
        topic_key=key,
    )


def test_in_a_known_region_the_image_and_repository_are_written_out() -> None:
    # Given a stack in eu-south-1 (an account of its own) training on a CPU instance
    training = _construct("eu-south-1", {"datasets": ["parts"], "instanceType": "ml.m5.xlarge"})
    # Then the URI and the repository are plain strings of that region's registry
    assert training.image_uri == (
        "692866216735.dkr.ecr.eu-south-1.amazonaws.com/"
        "pytorch-training:2.8.0-cpu-py312-ubuntu22.04-sagemaker"
    )
    assert training.repository_arn == (
        "arn:aws:ecr:eu-south-1:692866216735:repository/pytorch-training"
    )


def test_in_an_unknown_region_synth_stops_with_a_clear_error() -> None:
    with pytest.raises(UnknownRegionError, match="xx-nowhere-1"):
        _construct("xx-nowhere-1", {"datasets": ["parts"]})


def test_the_stack_has_the_role_only_with_the_option() -> None:
    from stacks.app_factory import build_app

    from .synthesis import BASE_CONTEXT

    _, stack = build_app({**BASE_CONTEXT, **ON_DEMAND}, with_nag=False, validate_template=False)
    assert stack.training is not None
    assert stack.training.role.assume_role_action == "sts:AssumeRole"
    _, without = build_app(BASE_CONTEXT, with_nag=False, validate_template=False)
    assert without.training is None
