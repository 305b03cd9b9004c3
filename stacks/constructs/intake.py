"""Intake: images dropped under `images/<dataset>/` reach a labeling job (optional).

ImageObjectCreated (default bus, `images/` keys of the bucket) -> IntakeQueue (SQS, batches and
bounded concurrency; redelivery to a dead-letter queue) -> Intake Lambda: one DynamoDB item per
image (conditional put: a redelivered event adds nothing), then `manifests/input/<dataset>.manifest`
rewritten from the table with an S3 conditional write, and, in streaming mode, one SNS message
per new image to the streaming labeling job's input topic.

StartLabelingJob (Step Functions): PrepareLabelingJob (manifest current, label categories and
worker template written, request built) -> CreateLabelingJob (SageMaker, with the Ground Truth
execution role made here, output under `groundtruth/` so the conversion pipeline takes over).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from gt2yolo_config.environment import IntakeEnv, StartJobEnv, render

from stacks.constructs.dataset_storage import (
    GROUNDTRUTH_PREFIX,
    IMAGES_PREFIX,
    INTAKE_PREFIX,
    DatasetStorage,
)
from stacks.constructs.encryption import encrypted_queue
from stacks.constructs.functions import (
    FunctionFactory,
    FunctionSpec,
    allow,
    bucket_key_statements,
    labeling_jobs_arn,
    list_under,
)
from stacks.constructs.steps import invoke, logged_state_machine
from stacks.settings import Settings

S3_OBJECT_CREATED = "Object Created"
INPUT_MANIFESTS = f"{INTAKE_PREFIX}*.manifest"  # what the intake function may write
INTAKE_TIMEOUT = cdk.Duration.seconds(120)
# SQS: a message is hidden while a batch is processed; AWS advises 6x the function timeout.
INTAKE_VISIBILITY_TIMEOUT = cdk.Duration.seconds(INTAKE_TIMEOUT.to_seconds() * 6)
INTAKE_BATCH_SIZE = 100
INTAKE_BATCHING_WINDOW = cdk.Duration.seconds(10)
# Two concurrent batches: enough throughput, few manifest rewrites racing each other.
INTAKE_MAX_CONCURRENCY = 2
INTAKE_MAX_RECEIVES = 5  # then the message waits in the dead-letter queue
DEAD_LETTER_RETENTION = cdk.Duration.days(14)
START_JOB_TIMEOUT = cdk.Duration.minutes(15)
LABELING_JOB_LOG_GROUP = "/aws/sagemaker/LabelingJobs"  # where Ground Truth logs its jobs

STATE_PREPARE = "PrepareLabelingJob"
STATE_CREATE = "CreateLabelingJob"
STATE_CREATED = "LabelingJobCreated"
STATE_FAILED = "StartLabelingJobFailed"


class Intake(Construct):
    """The registry table, the intake queue and function, and the StartLabelingJob workflow."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        storage: DatasetStorage,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._storage = storage
        self._functions = FunctionFactory(self, storage, settings.powertools_layer_version)
        self.table = self._registry_table()
        self.dead_letter_queue = self._queue(
            "DeadLetterQueue", retention_period=DEAD_LETTER_RETENTION
        )
        self.queue = self._queue(
            "Queue",
            visibility_timeout=INTAKE_VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=INTAKE_MAX_RECEIVES, queue=self.dead_letter_queue
            ),
        )
        self.image_object_created = events.Rule(
            self,
            "ImageObjectCreated",
            description="An object was created under images/: register it for labeling",
            event_pattern=_image_object_created(storage.bucket.bucket_name),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letter_queue)],
        )
        self.intake_function = self._functions.function(self._intake_spec())
        self.intake_function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=INTAKE_BATCH_SIZE,
                max_batching_window=INTAKE_BATCHING_WINDOW,
                report_batch_item_failures=True,
                max_concurrency=INTAKE_MAX_CONCURRENCY,
            )
        )
        self.ground_truth_role = self._ground_truth_role()
        self.prepare_function = self._functions.function(self._prepare_spec())
        self.create_function = self._functions.function(self._create_spec())
        self.state_machine = self._state_machine()
        self._alarms(alarm_topic)

    # --- storage and delivery --------------------------------------------------------------

    def _registry_table(self) -> dynamodb.Table:
        # Derived state (the bucket is the truth), but cheap to keep: retained, recoverable.
        return dynamodb.Table(
            self,
            "ImageRegistry",
            partition_key=dynamodb.Attribute(name="dataset", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="object_key", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED
            if self._storage.stack_key
            else dynamodb.TableEncryption.AWS_MANAGED,
            encryption_key=self._storage.stack_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _queue(self, construct_id: str, **options: Any) -> sqs.Queue:
        # SSE-SQS or the stack's key: EventBridge can send to both (the key's policy allows it).
        return encrypted_queue(self, construct_id, self._storage.stack_key, **options)

    # --- functions -------------------------------------------------------------------------

    def _intake_spec(self) -> FunctionSpec:
        storage = self._storage
        topic = self._settings.streaming_input_topic_arn
        return FunctionSpec(
            name="Intake",
            handler="handlers.intake.handler",
            description="Registers dropped images and keeps their input manifest current",
            environment=render(
                IntakeEnv, TABLE_NAME=self.table.table_name, STREAMING_TOPIC_ARN=topic or ""
            ),
            statements=[
                # HeadObject of the dropped object needs GetObject.
                allow(["s3:GetObject"], [storage.objects_arn(IMAGES_PREFIX)]),
                allow(
                    ["s3:GetObject", "s3:PutObject"],
                    [storage.bucket.arn_for_objects(INPUT_MANIFESTS)],
                ),
                # Without ListBucket, HEAD of a missing key answers 403, not 404.
                list_under(storage, IMAGES_PREFIX, INTAKE_PREFIX),
                allow(
                    [
                        "dynamodb:PutItem",
                        "dynamodb:GetItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:Query",
                    ],
                    [self.table.table_arn],
                ),
                *self._table_key_statements(write=True),
                *self._queue_key_statements(),
                *([allow(["sns:Publish"], [topic])] if topic else []),
                *bucket_key_statements(self._storage, write=True),
            ],
            timeout=INTAKE_TIMEOUT,
            memory_mb=512,
        )

    def _prepare_spec(self) -> FunctionSpec:
        storage = self._storage
        return FunctionSpec(
            name="PrepareLabelingJob",
            handler="handlers.start_job.prepare",
            description="Brings a dataset's input manifest up to date and builds its labeling job",
            environment=self._start_job_environment(),
            statements=[
                allow(["s3:GetObject", "s3:PutObject"], [storage.objects_arn(INTAKE_PREFIX)]),
                list_under(storage, INTAKE_PREFIX),
                allow(["dynamodb:GetItem", "dynamodb:Query"], [self.table.table_arn]),
                *self._table_key_statements(write=False),
                *bucket_key_statements(self._storage, write=True),
            ],
            timeout=cdk.Duration.minutes(5),
            memory_mb=1024,
        )

    def _create_spec(self) -> FunctionSpec:
        labeling_jobs = labeling_jobs_arn(self, self._settings.job_name_prefix)
        return FunctionSpec(
            name="CreateLabelingJob",
            handler="handlers.start_job.create",
            description="Creates the Ground Truth bounding-box labeling job PrepareLabelingJob built",
            environment=self._start_job_environment(),
            statements=[
                allow(["sagemaker:CreateLabelingJob"], [labeling_jobs]),
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[self.ground_truth_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
            ],
            timeout=cdk.Duration.seconds(60),
            memory_mb=512,
        )

    def _table_key_statements(self, *, write: bool) -> list[iam.PolicyStatement]:
        """Use of the table's key, if it is the stack's: only through DynamoDB, never directly."""
        key = self._storage.stack_key
        if key is None:
            return []
        actions = (
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
        )
        return [allow(actions, [key.key_arn], via_service="dynamodb")]

    def _queue_key_statements(self) -> list[iam.PolicyStatement]:
        """The intake function reads the messages of its queue: Decrypt, through SQS only."""
        key = self._storage.stack_key
        return [] if key is None else [allow(["kms:Decrypt"], [key.key_arn], via_service="sqs")]

    def _start_job_environment(self) -> dict[str, str]:
        return render(
            StartJobEnv,
            TABLE_NAME=self.table.table_name,
            GROUND_TRUTH_ROLE_ARN=self.ground_truth_role.role_arn,
            WORKTEAM_ARN=self._settings.workteam_arn or "",
            JOB_NAME_PREFIX=self._settings.job_name_prefix,
            OUTPUT_PREFIX=GROUNDTRUTH_PREFIX,
        )

    def _ground_truth_role(self) -> iam.Role:
        """The execution role SageMaker assumes to run the jobs started here."""
        stack = cdk.Stack.of(self)
        storage = self._storage
        role = iam.Role(
            self,
            "GroundTruthRole",
            description="gt2yolo: Ground Truth reads images and input manifests, writes output",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=LABELING_JOB_LOG_GROUP,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = [
            allow(
                ["s3:GetObject"],
                [storage.objects_arn(IMAGES_PREFIX), storage.objects_arn(INTAKE_PREFIX)],
            ),
            allow(
                ["s3:PutObject", "s3:AbortMultipartUpload"],
                [storage.objects_arn(GROUNDTRUTH_PREFIX)],
            ),
            list_under(storage, IMAGES_PREFIX, INTAKE_PREFIX, GROUNDTRUTH_PREFIX),
            allow(
                [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                [log_group, f"{log_group}:log-stream:*"],
            ),
            # Worker metrics; PutMetricData has no resource-level permissions.
            allow(["cloudwatch:PutMetricData"], ["*"]),
            *bucket_key_statements(self._storage, write=True),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        return role

    # --- the StartLabelingJob state machine -------------------------------------------------

    def _state_machine(self) -> sfn.StateMachine:
        failed = sfn.Fail(
            self,
            STATE_FAILED,
            comment="Nothing was started (the cause says what to change)",
            error_path="$.error.Error",
            cause_path="$.error.Cause",
        )
        prepare = self._invoke(STATE_PREPARE, self.prepare_function, failed)
        create = self._invoke(STATE_CREATE, self.create_function, failed)
        definition = prepare.next(create).next(sfn.Succeed(self, STATE_CREATED))
        return logged_state_machine(
            self,
            "StartLabelingJob",
            definition,
            timeout=START_JOB_TIMEOUT,
            log_name="start-labeling-job",
            log_key=self._storage.stack_key,
        )

    def _invoke(
        self, state_name: str, function: lambda_.IFunction, on_error: sfn.IChainable
    ) -> tasks.LambdaInvoke:
        return invoke(self, state_name, function, on_error=on_error)

    # --- monitoring ------------------------------------------------------------------------

    def _alarms(self, topic: sns.ITopic) -> None:
        action = cw_actions.SnsAction(topic)
        alarms = [
            cloudwatch.Alarm(
                self,
                "DeadLetters",
                metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(5), statistic="Maximum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Dropped images could not be registered: see the intake DLQ",
            ),
            cloudwatch.Alarm(
                self,
                "StartLabelingJobExecutionsFailed",
                metric=self.state_machine.metric_failed(
                    period=cdk.Duration.minutes(5), statistic="Sum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="A labeling job could not be started (see the execution's cause)",
            ),
        ]
        for alarm in alarms:
            alarm.add_alarm_action(action)


def _image_object_created(bucket_name: str) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=[S3_OBJECT_CREATED],
        detail={
            "bucket": {"name": [bucket_name]},
            "object": {"key": events.Match.prefix(IMAGES_PREFIX)},
        },
    )
