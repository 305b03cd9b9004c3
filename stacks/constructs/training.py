"""ModelTraining: a SageMaker training job for each published version (optional: `training`).

After Publish (and the Rekognition datasets, if any), for a complete version Publish published:
PrepareTraining (the source tarball into the bucket, the job's request, or `train: false`) ->
Train? -> Train (`createTrainingJob.sync`: the state waits for the job's end) -> ModelReady
(the model beside its version, the Model Ready event and e-mail) -> DatasetPublished. A failed
or stopped job, or a failed step, goes to NotifyFailure: the dataset is published already and
nothing of it is touched.

PrepareTraining's code asset is `lambdas/` plus the `training/` package: the tarball it uploads
is built from the same train.py the tests run (`training_code_dir`).

The execution role is what a training job may do, and no more:

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

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from gt2yolo_config import defaults, training_images
from gt2yolo_config.environment import ModelReadyEnv, PrepareTrainingEnv, render
from gt2yolo_config.training import TrainingSettings

from stacks.constructs.dataset_storage import DATASETS_PREFIX, DatasetStorage
from stacks.constructs.functions import (
    LAMBDA_SOURCE_DIR,
    LAMBDA_SOURCE_EXCLUDES,
    FunctionFactory,
    FunctionSpec,
    allow,
    bucket_key_statements,
    list_under,
)
from stacks.constructs.steps import (
    RETRY_BACKOFF_RATE,
    RETRY_INTERVAL,
    RETRY_MAX_ATTEMPTS,
    RETRYABLE_ERRORS,
)

TRAINING_SOURCE_DIR = LAMBDA_SOURCE_DIR.parent / "training"
STATE_SHOULD_PREPARE = "TrainModel?"
STATE_PREPARE = "PrepareTraining"
STATE_SHOULD_TRAIN = "Train?"
STATE_TRAIN = "Train"
STATE_MODEL_READY = "ModelReady"
TRAINING_PATH = "$.training"  # PrepareTraining's plan; the job's description under `job`
JOB_PATH = "$.training.job"
MODEL_PATH = "$.model"
# PrepareTraining's answer (workflow.prepare_training.TrainingPlan), field by field at
# TRAINING_PATH, so that the job's description can join it there.
PLAN_FIELDS = (
    "train",
    "reason",
    "dataset",
    "version",
    "task",
    "job_name",
    "models_prefix",
    "source_uri",
    "request",
)
# The request's members the Train state passes on (CreateTrainingJob's, as PrepareTraining
# writes them: workflow.training.training_job_request).
REQUEST_FIELDS = (
    "TrainingJobName",
    "AlgorithmSpecification",
    "HyperParameters",
    "Environment",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableManagedSpotTraining",
    "Tags",
)
SPOT_REQUEST_FIELDS = ("CheckpointConfig",)
# `.sync` of a training job: Step Functions watches it through this managed rule.
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"
SYNC_ACTIONS = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
JOB_ACTIONS = [
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:AddTags",
    "sagemaker:ListTags",
]
TRAINING_MEMORY_MB = 256
# Beyond the job's own limits (MaxRuntime, spot's MaxWait): provisioning, the image pull, the
# download of the channel and the upload of the model, which SageMaker does not count.
JOB_OVERHEAD = cdk.Duration.hours(1)
MODEL_READY_MEMORY_MB = 1024  # unpacks the model archive (tens of MB for yolo11n..x)
MODEL_READY_TIMEOUT = cdk.Duration.minutes(5)
MODEL_READY_STORAGE_MB = 2048

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
    """The execution role of the training jobs (`role`), the image they run (`image_uri`), the
    PrepareTraining and ModelReady functions, and the states that run a job: `entry(done,
    notify)` is where Publish goes next."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: TrainingSettings,
        storage: DatasetStorage,
        powertools_layer_version: int,
        topic: sns.ITopic,
        topic_key: kms.IKey,
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
        functions = FunctionFactory(self, storage, powertools_layer_version)
        self.prepare_function = functions.function(self._prepare_spec())
        self.model_ready_function = functions.function(self._model_ready_spec(topic, topic_key))

    # --- states ------------------------------------------------------------------------------

    def entry(self, done: sfn.IChainable, notify: sfn.IChainable) -> sfn.Choice:
        """Publish's answer -> the training states (a version Publish published, complete) or
        `done`. Every failure after Publish goes to `notify`, with `$.error`."""
        prepare = self._prepare_task()
        prepare.add_catch(notify, errors=["States.ALL"], result_path="$.error")
        train = self._train_state()
        train.add_catch(notify, errors=["States.ALL"], result_path="$.error")
        ready = self._lambda_task(STATE_MODEL_READY, self.model_ready_function, MODEL_PATH)
        ready.add_catch(notify, errors=["States.ALL"], result_path="$.error")
        train.next(ready)
        ready.next(done)
        prepare.next(
            sfn.Choice(self, STATE_SHOULD_TRAIN)
            .when(sfn.Condition.boolean_equals(f"{TRAINING_PATH}.train", True), train)
            .otherwise(done)
        )
        published = sfn.Condition.and_(
            sfn.Condition.boolean_equals("$.published", True),
            sfn.Condition.boolean_equals("$.partial", False),
        )
        return sfn.Choice(self, STATE_SHOULD_PREPARE).when(published, prepare).otherwise(done)

    def _prepare_task(self) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            STATE_PREPARE,
            lambda_function=self.prepare_function,
            result_selector={f"{name}.$": f"$.Payload.{name}" for name in PLAN_FIELDS},
            result_path=TRAINING_PATH,
            retry_on_service_exceptions=False,
        )
        _retry_transient(task)
        return task

    def _lambda_task(
        self, state_name: str, function: lambda_.IFunction, result_path: str
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_name,
            lambda_function=function,
            result_selector={"summary.$": "$.Payload"},
            result_path=result_path,
            retry_on_service_exceptions=False,
        )
        _retry_transient(task)
        return task

    def _train_state(self) -> sfn.CustomState:
        """`createTrainingJob.sync` with PrepareTraining's request, member by member (a Task's
        Parameters name the API's members; the request is built and validated in Python)."""
        fields = REQUEST_FIELDS + (SPOT_REQUEST_FIELDS if self._settings.spot else ())
        resource = f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync"
        return sfn.CustomState(
            self,
            STATE_TRAIN,
            state_json={
                "Type": "Task",
                "Comment": "Trains the version; the state ends when the job does",
                "Resource": resource,
                # RoleArn written out: it is the role this construct made (the request names
                # the same one; a test checks it). Step Functions reads `RoleArn.$` in
                # Parameters as any member, but moto's ASL parser takes it for a task's
                # Credentials and drops it, so the local cloud could not run the state.
                "Parameters": {
                    "RoleArn": self.role.role_arn,
                    **{f"{name}.$": f"{TRAINING_PATH}.request.{name}" for name in fields},
                },
                "ResultPath": JOB_PATH,
                # A job SageMaker never ends (a lost event) fails the state instead of the
                # execution's timeout; Step Functions then stops the job.
                "TimeoutSeconds": int(self.longest_job.to_seconds()),
            },
        )

    @property
    def longest_job(self) -> cdk.Duration:
        """How long the Train state may wait: the job's longest (spot: MaxWaitTimeInSeconds,
        waiting for capacity included; else MaxRuntimeInSeconds) and its overhead."""
        settings = self._settings
        longest = settings.max_wait_seconds if settings.spot else settings.max_runtime_seconds
        return cdk.Duration.seconds(longest + JOB_OVERHEAD.to_seconds())

    def state_machine_statements(self) -> list[iam.PolicyStatement]:
        """What the state machine's role needs for the Train state (`.sync`): start, watch and
        stop jobs named by the builder, tag them, pass the execution role to SageMaker only,
        and the managed rule that reports the job's end."""
        stack = cdk.Stack.of(self)
        jobs = stack.format_arn(
            service="sagemaker",
            resource="training-job",
            resource_name=f"{defaults.TRAINING_JOB_PREFIX}*",
        )
        rule = stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)
        return [
            allow(JOB_ACTIONS, [jobs]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            allow(SYNC_ACTIONS, [rule]),
        ]

    # --- functions ---------------------------------------------------------------------------

    def _prepare_spec(self) -> FunctionSpec:
        key = self._storage.encryption_key
        return FunctionSpec(
            name="PrepareTraining",
            handler="handlers.prepare_training.handler",
            description="Puts the training source tarball in the bucket; the job's request",
            environment=render(
                PrepareTrainingEnv,
                TRAINING=self._settings.to_json(),
                ROLE_ARN=self.role.role_arn,
                IMAGE=self.image_uri,
                KMS_KEY_ARN=key.key_arn if key is not None else "",
            ),
            statements=[
                # create(): a conditional PUT of a content-addressed key (no read needed).
                allow(
                    ["s3:PutObject"], [self._storage.objects_arn(defaults.TRAINING_SOURCE_PREFIX)]
                ),
                *bucket_key_statements(self._storage, write=True),
            ],
            memory_mb=TRAINING_MEMORY_MB,
            code=training_code(),
        )

    def _model_ready_spec(self, topic: sns.ITopic, topic_key: kms.IKey) -> FunctionSpec:
        storage = self._storage
        datasets = [f"{DATASETS_PREFIX}{name}/" for name in self._settings.datasets]
        models = [f"{defaults.MODELS_PREFIX}{name}/" for name in self._settings.datasets]
        return FunctionSpec(
            name="ModelReady",
            handler="handlers.model_ready.handler",
            description="Publishes a trained model beside its dataset version; Model Ready",
            environment=render(
                ModelReadyEnv,
                TOPIC_ARN=topic.topic_arn,
                EVENT_BUS_NAME=defaults.EVENT_BUS_NAME,
                EVENT_SOURCE=defaults.EVENT_SOURCE,
            ),
            statements=[
                allow(["s3:GetObject", "s3:PutObject"], [storage.objects_arn(p) for p in models]),
                # The version's report: its page links the model.
                allow(
                    ["s3:GetObject", "s3:PutObject"],
                    [storage.objects_arn(f"{p}versions/*/report.") for p in datasets],
                ),
                list_under(storage, *models),
                allow(["events:PutEvents"], [_default_bus(self)]),
                allow(["sns:Publish"], [topic.topic_arn]),
                allow(
                    ["kms:Decrypt", "kms:GenerateDataKey"], [topic_key.key_arn], via_service="sns"
                ),
                *bucket_key_statements(storage, write=True),
            ],
            memory_mb=MODEL_READY_MEMORY_MB,
            timeout=MODEL_READY_TIMEOUT,
            ephemeral_storage_mb=MODEL_READY_STORAGE_MB,
        )

    # --- the execution role ------------------------------------------------------------------

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


def _retry_transient(task: tasks.LambdaInvoke) -> None:
    task.add_retry(
        errors=RETRYABLE_ERRORS,
        interval=RETRY_INTERVAL,
        backoff_rate=RETRY_BACKOFF_RATE,
        max_attempts=RETRY_MAX_ATTEMPTS,
    )


def _default_bus(scope: Construct) -> str:
    return cdk.Stack.of(scope).format_arn(
        service="events", resource="event-bus", resource_name=defaults.EVENT_BUS_NAME
    )


def training_code() -> lambda_.Code:
    """PrepareTraining's code asset: `lambdas/` and the `training/` package beside it."""
    return lambda_.Code.from_asset(str(training_code_dir()))


@functools.cache
def training_code_dir() -> Path:
    """A folder holding what `lambdas/` ships and `training/`'s sources, made once per process
    (CDK copies it into each assembly; its hash is of the content)."""
    folder = Path(tempfile.mkdtemp(prefix="gt2yolo-training-code-"))
    atexit.register(shutil.rmtree, folder, True)
    staged = folder / "code"
    ignore = shutil.ignore_patterns(*[p.removeprefix("**/") for p in LAMBDA_SOURCE_EXCLUDES])
    shutil.copytree(LAMBDA_SOURCE_DIR, staged, ignore=ignore)
    shutil.copytree(TRAINING_SOURCE_DIR, staged / "training", ignore=ignore)
    return staged
