"""How the stack makes its Lambda functions, in one place.

Every function gets its own role (no managed policy: log writes to its own log group only, then
the statements its spec lists), its own retained log group (encrypted with the stack's key, if
there is one), JSON logs, X-Ray, the AWS-managed Powertools layer, and the one code asset of
`lambdas/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from gt2yolo_config import defaults, environment

from stacks.constructs.dataset_storage import DatasetStorage

# Lambda defaults shared by every function of the stack.
LAMBDA_SOURCE_DIR = Path(__file__).resolve().parents[2] / "lambdas"
# The CLI is not part of the Lambda package; caches and build metadata are never shipped.
LAMBDA_SOURCE_EXCLUDES = ["gt2yolo_cli", "**/__pycache__", "*.egg-info"]
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest Python runtime aws-cdk-lib offers
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDA_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# AWS publishes the Powertools for AWS Lambda (Python) layers from this account.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
# Which Powertools release each layer version holds (the layer's own description names it;
# version 27 was published on 2025-11-13 with 3.23.0: powertools-lambda-python issue 7689).
# The development pin (requirements-dev.txt) and the local stand-in of the layer
# (requirements-layer-powertools.txt) must equal the default's entry; a test checks it.
POWERTOOLS_LAYER_CONTENTS = {27: "3.23.0"}
SERVICE_NAME = defaults.SERVICE_NAME
METRICS_NAMESPACE = defaults.METRICS_NAMESPACE


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the stack's functions."""

    name: str
    handler: str
    description: str
    # The function's own variables (`gt2yolo_config.environment.render`); the factory adds those
    # of every function.
    environment: dict[str, str]
    statements: list[iam.PolicyStatement]
    memory_mb: int = 256
    timeout: cdk.Duration = field(default_factory=lambda: cdk.Duration.seconds(30))
    ephemeral_storage_mb: int = 512
    layers: tuple[lambda_.ILayerVersion, ...] = ()
    # Another code asset than `lambdas/` (PrepareTraining: `lambdas/` plus `training/`).
    code: lambda_.Code | None = None


class FunctionFactory:
    """Makes functions under one construct (construct ids `<name>Logs/Role/Function`)."""

    def __init__(self, scope: Construct, storage: DatasetStorage, powertools_version: int) -> None:
        self._scope = scope
        self._storage = storage
        self._code = lambda_.Code.from_asset(str(LAMBDA_SOURCE_DIR), exclude=LAMBDA_SOURCE_EXCLUDES)
        self._powertools = lambda_.LayerVersion.from_layer_version_arn(
            scope, "PowertoolsLayer", powertools_layer_arn(powertools_version)
        )

    def function(self, spec: FunctionSpec) -> lambda_.Function:
        scope = self._scope
        log_group = logs.LogGroup(
            scope,
            f"{spec.name}Logs",
            retention=LAMBDA_LOG_RETENTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            encryption_key=self._storage.stack_key,
        )
        role = iam.Role(
            scope,
            f"{spec.name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"gt2yolo {spec.name} function",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy (any log group): this one.
        role.add_to_policy(
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn])
        )
        for statement in spec.statements:
            role.add_to_policy(statement)
        variables = self._common_environment() | spec.environment
        # The contract: a function gets exactly the variables its handler reads.
        problems = environment.environment_problems(spec.handler, set(variables))
        if problems:
            raise ValueError("; ".join(problems))
        return lambda_.Function(
            scope,
            f"{spec.name}Function",
            description=spec.description,
            code=spec.code or self._code,
            handler=spec.handler,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            layers=[self._powertools, *spec.layers],
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            ephemeral_storage_size=cdk.Size.mebibytes(spec.ephemeral_storage_mb),
            environment=variables,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
        )

    def _common_environment(self) -> dict[str, str]:
        return {
            environment.BUCKET_NAME: self._storage.bucket.bucket_name,
            environment.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
            environment.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        }


def powertools_layer_arn(version: int) -> str:
    """ARN of the AWS-managed Powertools v3 layer matching the runtime and architecture."""
    python = LAMBDA_RUNTIME.name.replace(".", "")  # "python3.14" -> "python314"
    arch = LAMBDA_ARCHITECTURE.name  # "arm64"
    return (
        f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}"
        f":layer:AWSLambdaPowertoolsPythonV3-{python}-{arch}:{version}"
    )


def allow(
    actions: list[str], resources: list[str], *, via_service: str | None = None
) -> iam.PolicyStatement:
    conditions = None
    if via_service is not None:
        service_endpoint = f"{via_service}.{cdk.Aws.REGION}.amazonaws.com"
        conditions = {"StringEquals": {"kms:ViaService": service_endpoint}}
    return iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)


def bucket_key_statements(storage: DatasetStorage, *, write: bool) -> list[iam.PolicyStatement]:
    """Use of the bucket's KMS key, if it has one: only through S3, never directly."""
    key = storage.encryption_key
    if key is None:
        return []
    # Reads need Decrypt; writes also need a data key.
    actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
    return [allow(actions, [key.key_arn], via_service="s3")]


def list_under(storage: DatasetStorage, *prefixes: str) -> iam.PolicyStatement:
    """ListBucket limited to prefixes: lets S3 answer 404 (not 403) for a missing key."""
    return iam.PolicyStatement(
        actions=["s3:ListBucket"],
        resources=[storage.bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
    )


def labeling_jobs_arn(scope: Construct, job_name_prefix: str) -> str:
    """The labeling jobs of this account and region whose names start with the prefix."""
    return cdk.Stack.of(scope).format_arn(
        service="sagemaker", resource="labeling-job", resource_name=f"{job_name_prefix}*"
    )
