"""ModelTraining: the SageMaker execution role of the training jobs (optional: `training`).

Building block only: nothing starts a training job yet (the step that does is wired into the
conversion state machine separately). The role is what a training job may do, and no more:

- read the listed datasets (`datasets/<name>/*`, and list them), the training source tarball
  (`training/source/*`) and, with spot, the job's own checkpoints to resume from;
- write models (`models/*`: the model, and with spot the checkpoints);
- write its logs (`/aws/sagemaker/TrainingJobs`) and its metrics (namespace of the same name);
- pull the pinned PyTorch Deep Learning Container (`gt2yolo_config.training_images`);
- use the bucket's KMS key through S3, when the bucket has one.

The image's registry account depends on the region. A stack with a known region gets the URI
written out (and an unknown region stops synth); an environment-agnostic stack gets it from a
CloudFormation mapping of every region of the table, by `AWS::Region`.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct
from gt2yolo_config import defaults, training_images
from gt2yolo_config.training import TrainingSettings

from stacks.constructs.dataset_storage import DATASETS_PREFIX, DatasetStorage
from stacks.constructs.functions import allow

IMAGE_MAPPING = "TrainingImageAccounts"
# What pulling an image from ECR takes, besides the registry token.
IMAGE_PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
LOG_ACTIONS = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
]
# SageMaker publishes a training job's metrics (MetricDefinitions) in this namespace.
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
CHECKPOINTS = f"{defaults.MODELS_PREFIX}*/checkpoints/"
KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class ModelTraining(Construct):
    """The execution role of the training jobs (`role`) and the image they run (`image_uri`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: TrainingSettings,
        storage: DatasetStorage,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._storage = storage
        self.image_uri, self.repository_arn = self._image()
        self.role = iam.Role(
            self,
            "ExecutionRole",
            description="gt2yolo: SageMaker training jobs read the listed datasets, write models",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
        )
        for statement in self._statements():
            self.role.add_to_policy(statement)

    def _image(self) -> tuple[str, str]:
        """The image URI and its repository's ARN, for the stack's region."""
        stack = cdk.Stack.of(self)
        tag = training_images.image_tag(self._settings.instance_type)
        if not cdk.Token.is_unresolved(stack.region):
            region = stack.region
            return (
                training_images.training_image(region, self._settings.instance_type),
                training_images.repository_arn(region, stack.partition),
            )
        mapping = cdk.CfnMapping(
            stack,
            IMAGE_MAPPING,
            mapping={
                region: {"account": account}
                for region, account in training_images.IMAGE_ACCOUNTS.items()
            },
        )
        account = mapping.find_in_map(cdk.Aws.REGION, "account")
        registry = f"{account}.dkr.ecr.{cdk.Aws.REGION}.amazonaws.com"
        return (
            f"{registry}/{training_images.REPOSITORY}:{tag}",
            f"arn:{cdk.Aws.PARTITION}:ecr:{cdk.Aws.REGION}:{account}:repository/"
            f"{training_images.REPOSITORY}",
        )

    def _statements(self) -> list[iam.PolicyStatement]:
        storage = self._storage
        datasets = [f"{DATASETS_PREFIX}{name}/" for name in self._settings.datasets]
        listed = [f"{prefix}*" for prefix in datasets]
        statements = [
            allow(["s3:GetObject"], [storage.objects_arn(prefix) for prefix in datasets]),
            allow(["s3:GetObject"], [storage.objects_arn(defaults.TRAINING_SOURCE_PREFIX)]),
            allow(["s3:PutObject"], [storage.objects_arn(defaults.MODELS_PREFIX)]),
        ]
        if self._settings.spot:
            # A spot job that was interrupted starts again from its checkpoints: SageMaker
            # copies CheckpointConfig.S3Uri to the instance first.
            statements.append(allow(["s3:GetObject"], [storage.objects_arn(CHECKPOINTS)]))
            listed.append(f"{CHECKPOINTS}*")
        statements += [
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": listed}},
            ),
            allow(LOG_ACTIONS, self._log_group_arns()),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # no resource-level permissions; limited to its namespace
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            ),
            # The registry token: no resource-level permissions (Resource "*").
            allow(["ecr:GetAuthorizationToken"], ["*"]),
            allow(IMAGE_PULL, [self.repository_arn]),
        ]
        key = storage.encryption_key
        if key is not None:
            statements.append(allow(KEY_ACTIONS, [key.key_arn], via_service="s3"))
        return statements

    def _log_group_arns(self) -> list[str]:
        log_group = cdk.Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=defaults.TRAINING_LOG_GROUP,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        return [log_group, f"{log_group}:log-stream:*"]
