"""ConversionWorkflow: the Lambda functions and the Step Functions state machine that run them.

Resolve -> ShouldConvert? -> Convert -> FanOut? -> Report -> Publish -> DatasetPublished;
Resolve may instead answer "nothing to do" (Skipped). With `rekognitionProject`, Publish leads to
the RekognitionDatasets loop first (stacks.constructs.rekognition_datasets); with `training`,
then to the training states (stacks.constructs.training). A manifest above the fan-out threshold is
only planned by Convert: ConvertChunks (a Distributed Map over byte ranges of the manifest) ->
Finalize (merge) -> Report. Any error after retries goes to NotifyFailure -> ConversionFailed,
except Report's: that step is not fatal (caught, then Publish). States pass S3 pointers, never
manifest content (256 KiB state limit).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from gt2yolo_config import defaults
from gt2yolo_config.environment import (
    ConvertChunkEnv,
    ConvertEnv,
    FinalizeEnv,
    NotifyEnv,
    PublishEnv,
    ResolveEnv,
    render,
)

from stacks.constructs.dataset_storage import (
    DATASETS_PREFIX,
    GROUNDTRUTH_PREFIX,
    IMAGES_PREFIX,
    MANIFESTS_PREFIX,
    DatasetStorage,
)
from stacks.constructs.functions import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    FunctionFactory,
    FunctionSpec,
    allow,
    bucket_key_statements,
    labeling_jobs_arn,
    list_under,
)
from stacks.constructs.image_sources import ImageSources
from stacks.constructs.layers import opencv_layer
from stacks.constructs.rekognition_datasets import RekognitionDatasets
from stacks.constructs.report_step import pillow_layer, report_environment, report_statements
from stacks.constructs.steps import invoke, logged_state_machine
from stacks.constructs.training import ModelTraining
from stacks.settings import Settings, collections_text

EVENT_SOURCE = defaults.EVENT_SOURCE  # `source` of the events Publish puts on the default bus
DEFAULT_EVENT_BUS = defaults.EVENT_BUS_NAME

# State names (the e2e harness and the runbook refer to them).
STATE_RESOLVE = "Resolve"
STATE_SHOULD_CONVERT = "ShouldConvert?"
STATE_CONVERT = "Convert"
STATE_FAN_OUT = "FanOut?"
STATE_CONVERT_CHUNKS = "ConvertChunks"
STATE_CONVERT_CHUNK = "ConvertChunk"
STATE_FINALIZE = "Finalize"
STATE_REPORT = "Report"
STATE_PUBLISH = "Publish"
STATE_PUBLISHED = "DatasetPublished"
STATE_SKIPPED = "Skipped"
STATE_NOTIFY_FAILURE = "NotifyFailure"
STATE_FAILED = "ConversionFailed"
ACTION_CONVERT = "convert"  # Resolve's `action` that leads to Convert
MODE_FAN_OUT = "fan_out"  # Convert's `mode` when it planned chunks instead of converting
MIB = defaults.MIB
CHUNK_LIST_NAME = "_parts/chunks.json"  # workflow.convert.CHUNKS_NAME, in the version written

# A duplicate event finds the dataset locked by the execution that converts it: wait for that
# one (Convert runs up to 15 min), then find `_SUCCESS` and end without a second notification.
LOCKED_ERRORS = ["ConversionInProgress"]
LOCKED_RETRY_INTERVAL = cdk.Duration.seconds(60)
LOCKED_RETRY_BACKOFF_RATE = 1.5
LOCKED_RETRY_MAX_ATTEMPTS = 10
LOCKED_RETRY_MAX_DELAY = cdk.Duration.minutes(5)
# Convert may take 15 min; retries of service errors are quick. Bounds a stuck execution.
STATE_MACHINE_TIMEOUT = cdk.Duration.hours(2)


class ConversionWorkflow(Construct):
    """Six Lambda functions (one code asset) and the Standard state machine that runs them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        storage: DatasetStorage,
        image_sources: ImageSources,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        training: ModelTraining | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._training = training
        self._storage = storage
        self._images = image_sources
        self._functions = FunctionFactory(self, storage, settings.powertools_layer_version)
        # One layer for both functions that convert manifests (segmentation masks need OpenCV).
        self._opencv = opencv_layer(self, LAMBDA_RUNTIME, LAMBDA_ARCHITECTURE)
        self.resolve_function = self._functions.function(self._resolve_spec())
        self.convert_function = self._functions.function(self._convert_spec())
        self.convert_chunk_function = self._functions.function(self._convert_chunk_spec())
        self.finalize_function = self._functions.function(self._finalize_spec())
        self.report_function = self._functions.function(self._report_spec())
        self.publish_function = self._functions.function(self._publish_spec(topic, topic_key))
        self.notify_failure_function = self._functions.function(self._notify_spec(topic, topic_key))
        self.rekognition: RekognitionDatasets | None = None
        # The functions that read source images (ImageSources lists their statements).
        self.image_readers = [
            self.convert_function,
            self.convert_chunk_function,
            self.report_function,
        ]
        self.state_machine = self._state_machine()
        # The Map reads chunk lists from the bucket: through S3 with the bucket's key, if any.
        for statement in bucket_key_statements(self._storage, write=False):
            self.state_machine.add_to_role_policy(statement)
        if training is not None:
            for statement in training.state_machine_statements():
                self.state_machine.add_to_role_policy(statement)

    # --- functions -------------------------------------------------------------------------

    def _resolve_spec(self) -> FunctionSpec:
        labeling_jobs = labeling_jobs_arn(self, self._settings.job_name_prefix)
        return FunctionSpec(
            name="Resolve",
            handler="handlers.resolve.handler",
            description="Decides from an event which manifest to convert, if any",
            environment=render(
                ResolveEnv,
                JOB_NAME_PREFIX=self._settings.job_name_prefix,
                CONVERT_STOPPED_JOBS=self._settings.convert_stopped_jobs,
                MANIFESTS_PREFIX=MANIFESTS_PREFIX,
                COLLECTIONS=collections_text(self._settings.collections),
                # Where a job's output may lie besides the bucket (read by Convert, not here).
                SOURCE_BUCKETS=",".join(str(s) for s in self._settings.source_buckets),
            ),
            statements=[
                allow(["sagemaker:DescribeLabelingJob"], [labeling_jobs]),
                allow(["s3:GetObject"], [self._storage.objects_arn(MANIFESTS_PREFIX)]),
                # Without ListBucket S3 answers 403, not 404, for a missing sidecar.
                list_under(self._storage, MANIFESTS_PREFIX),
                *bucket_key_statements(self._storage, write=False),
            ],
        )

    def _convert_spec(self) -> FunctionSpec:
        storage = self._storage
        return FunctionSpec(
            name="Convert",
            handler="handlers.convert.handler",
            description="Converts a Ground Truth output manifest into a YOLO dataset",
            environment=render(
                ConvertEnv,
                DATASETS_PREFIX=DATASETS_PREFIX,
                VAL_FRACTION=self._settings.val_fraction,
                TEST_FRACTION=self._settings.test_fraction,
                EXPORTS=",".join(self._settings.exports),
                COPY_IMAGES=True,
                FAN_OUT_BYTES=self._settings.fan_out_threshold_mib * MIB,
                # Video frame jobs fan out by sequence: each frame is a ranged GET, a copy and
                # a label PUT, so ten sequences (of up to 2,000 frames) per Lambda.
                SEQUENCES_PER_CHUNK=defaults.SEQUENCES_PER_CHUNK,
                CHUNK_BYTES=self._settings.chunk_mib * MIB,
                IMAGES_PREFIX=IMAGES_PREFIX,
                IMAGE_BUCKETS=self._images.setting,
            ),
            statements=[
                *self._read_inputs(),
                *self._images.read_statements(),
                # Writes a new version beside the current one and never deletes a dataset's
                # objects: only the lock it took, if the conversion fails.
                allow(["s3:GetObject", "s3:PutObject"], [storage.objects_arn(DATASETS_PREFIX)]),
                allow(
                    ["s3:DeleteObject"], [f"{storage.bucket.bucket_arn}/{DATASETS_PREFIX}*/_LOCK"]
                ),
                # Reading the current version's pointer and index: 404, not 403, when absent.
                list_under(self._storage, DATASETS_PREFIX),
                *bucket_key_statements(self._storage, write=True),
            ],
            # 1,769 MB is one full vCPU; /tmp holds the tables of a dataset being written.
            memory_mb=1769,
            timeout=cdk.Duration.minutes(15),
            ephemeral_storage_mb=2048,
            layers=(self._opencv,),
        )

    def _convert_chunk_spec(self) -> FunctionSpec:
        return FunctionSpec(
            name="ConvertChunk",
            handler="handlers.convert_chunk.handler",
            description="Converts one byte range of a big manifest (a Distributed Map item)",
            environment=render(
                ConvertChunkEnv,
                DATASETS_PREFIX=DATASETS_PREFIX,
                VAL_FRACTION=self._settings.val_fraction,
                TEST_FRACTION=self._settings.test_fraction,
                EXPORTS=",".join(self._settings.exports),
                COPY_IMAGES=True,
                IMAGES_PREFIX=IMAGES_PREFIX,
                IMAGE_BUCKETS=self._images.setting,
            ),
            statements=[
                *self._read_inputs(),
                *self._images.read_statements(),
                # Reads the plan, writes label files and its parts; never lists or deletes.
                allow(
                    ["s3:GetObject", "s3:PutObject"], [self._storage.objects_arn(DATASETS_PREFIX)]
                ),
                *bucket_key_statements(self._storage, write=True),
            ],
            memory_mb=1769,
            timeout=cdk.Duration.minutes(15),
            ephemeral_storage_mb=2048,
            layers=(self._opencv,),
        )

    def _finalize_spec(self) -> FunctionSpec:
        return FunctionSpec(
            name="Finalize",
            handler="handlers.finalize.handler",
            description="Merges the chunks of a fanned-out conversion into one dataset",
            environment=render(
                FinalizeEnv,
                DATASETS_PREFIX=DATASETS_PREFIX,
                VAL_FRACTION=self._settings.val_fraction,
                TEST_FRACTION=self._settings.test_fraction,
                EXPORTS=",".join(self._settings.exports),
            ),
            statements=[
                allow(
                    ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    [self._storage.objects_arn(DATASETS_PREFIX)],
                ),
                # Lists the parts it deletes after the merge.
                list_under(self._storage, DATASETS_PREFIX),
                *bucket_key_statements(self._storage, write=True),
            ],
            memory_mb=1769,
            timeout=cdk.Duration.minutes(15),
            # annot.csv of a million images (~0.5 GB) is spooled here before its upload.
            ephemeral_storage_mb=10240,
        )

    def _read_inputs(self) -> list[iam.PolicyStatement]:
        """Where conversions read manifests: job output, dropped manifests and configs (images:
        see ImageSources). Listing them lets S3 answer 404, not 403, for a missing object there:
        an image kept next to its manifest (as `gt2yolo selftest` does) is then a counted
        `image_not_found`, not a refusal."""
        storage = self._storage
        return [
            allow(
                ["s3:GetObject"],
                [storage.objects_arn(GROUNDTRUTH_PREFIX), storage.objects_arn(MANIFESTS_PREFIX)],
            ),
            list_under(storage, GROUNDTRUTH_PREFIX, MANIFESTS_PREFIX),
        ]

    def _report_spec(self) -> FunctionSpec:
        return FunctionSpec(
            name="Report",
            handler="handlers.report.handler",
            description="Draws previews and writes report.html and labeler insights",
            environment=report_environment(),
            statements=[
                *report_statements(self._storage),
                *self._images.read_statements(),
                *bucket_key_statements(self._storage, write=True),
            ],
            # One full vCPU for decoding and drawing images; worker responses are many GETs.
            memory_mb=1769,
            timeout=cdk.Duration.minutes(15),
            layers=(pillow_layer(self, LAMBDA_RUNTIME, LAMBDA_ARCHITECTURE),),
        )

    def _publish_spec(self, topic: sns.ITopic, topic_key: kms.IKey) -> FunctionSpec:
        stack = cdk.Stack.of(self)
        default_bus = stack.format_arn(
            service="events", resource="event-bus", resource_name=DEFAULT_EVENT_BUS
        )
        return FunctionSpec(
            name="Publish",
            handler="handlers.publish.handler",
            description="Announces a finished dataset on EventBridge and SNS",
            environment=render(
                PublishEnv,
                TOPIC_ARN=topic.topic_arn,
                EVENT_BUS_NAME=DEFAULT_EVENT_BUS,
                EVENT_SOURCE=EVENT_SOURCE,
                KEEP_VERSIONS=self._settings.keep_versions,
            ),
            statements=[
                # Publish flips the pointer, deletes the versions no longer kept (what no kept
                # version names) and releases the dataset lock Convert took.
                allow(
                    ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    [self._storage.objects_arn(DATASETS_PREFIX)],
                ),
                list_under(self._storage, DATASETS_PREFIX),
                allow(["events:PutEvents"], [default_bus]),
                *_publish_to_topic_statements(topic, topic_key),
                *bucket_key_statements(self._storage, write=True),
            ],
        )

    def _notify_spec(self, topic: sns.ITopic, topic_key: kms.IKey) -> FunctionSpec:
        return FunctionSpec(
            name="NotifyFailure",
            handler="handlers.notify_failure.handler",
            description="Tells the topic's subscribers that a conversion failed",
            environment=render(NotifyEnv, TOPIC_ARN=topic.topic_arn),
            statements=_publish_to_topic_statements(topic, topic_key),
        )

    # --- state machine ---------------------------------------------------------------------

    def _state_machine(self) -> sfn.StateMachine:
        notify = self._invoke(STATE_NOTIFY_FAILURE, self.notify_failure_function)
        # NotifyFailure returns {job_name, error, cause}: the execution fails with the same
        # readable cause the subscribers got.
        notify.next(
            sfn.Fail(
                self,
                STATE_FAILED,
                comment="The subscribers were notified",
                error_path="$.error",
                cause_path="$.cause",
            )
        )
        resolve = self._invoke(STATE_RESOLVE, self.resolve_function, on_error=notify)
        convert = self._invoke(STATE_CONVERT, self.convert_function, on_error=notify)
        publish = self._invoke(STATE_PUBLISH, self.publish_function, on_error=notify)
        publish.next(self._after_publish(notify))
        # Not fatal: Publish gets the outcome with `report` (its answer) or `report_error`.
        report = self._invoke(STATE_REPORT, self.report_function, result_path="$.report")
        report.add_catch(publish, errors=["States.ALL"], result_path="$.report_error")
        should_convert = sfn.Condition.and_(
            # Guarded so that a missing `action` means "skip", not a States.Runtime failure.
            sfn.Condition.is_present("$.action"),
            sfn.Condition.string_equals("$.action", ACTION_CONVERT),
        )
        fanned_out = sfn.Condition.and_(
            sfn.Condition.is_present("$.mode"),
            sfn.Condition.string_equals("$.mode", MODE_FAN_OUT),
        )
        report.next(publish)
        convert.next(
            sfn.Choice(self, STATE_FAN_OUT)
            .when(fanned_out, self._fan_out(notify).next(report))
            .otherwise(report)
        )
        definition = resolve.next(
            sfn.Choice(self, STATE_SHOULD_CONVERT)
            .when(should_convert, convert)
            .otherwise(sfn.Succeed(self, STATE_SKIPPED))
        )
        return logged_state_machine(
            self,
            "StateMachine",
            definition,
            timeout=self._timeout(),
            log_name="conversion",
            log_key=self._storage.stack_key,
        )

    def _timeout(self) -> cdk.Duration:
        """The conversion's bound, plus the longest a training job may take when there is one
        (an execution that timed out would abort its Train state, and the job with it)."""
        if self._training is None:
            return STATE_MACHINE_TIMEOUT
        return cdk.Duration.seconds(
            STATE_MACHINE_TIMEOUT.to_seconds() + self._training.longest_job.to_seconds()
        )

    def _after_publish(self, notify: sfn.IChainable) -> sfn.IChainable:
        """DatasetPublished, through the project's datasets first when there is a project, and
        through training (stacks.constructs.training) when the option is on."""
        published: sfn.IChainable = sfn.Succeed(self, STATE_PUBLISHED)
        if self._training is not None:
            published = self._training.entry(published, notify)
        if self._settings.rekognition_project is None:
            return published
        self.rekognition = RekognitionDatasets(
            self,
            "RekognitionDatasets",
            settings=self._settings,
            storage=self._storage,
            notify=notify,
        )
        return self.rekognition.entry(published)

    def _fan_out(self, notify: sfn.IChainable) -> sfn.Chain:
        """ConvertChunks (Distributed Map over the plan's chunk list) -> Finalize.

        A failed Map goes to Finalize too, with `$.error`: it releases the dataset lock and
        fails with the chunk's cause, so the failure is notified like any other.
        """
        finalize = self._invoke(STATE_FINALIZE, self.finalize_function, on_error=notify)
        chunk = self._invoke(STATE_CONVERT_CHUNK, self.convert_chunk_function)
        chunks = sfn.DistributedMap(
            self,
            STATE_CONVERT_CHUNKS,
            item_reader=_ChunkListReader(
                bucket=self._storage.bucket, key=sfn.JsonPath.string_at("$.chunks_key")
            ),
            item_selector={
                "chunk": sfn.JsonPath.string_at("$$.Map.Item.Value"),
                "plan_uri": sfn.JsonPath.string_at("$.plan_uri"),
            },
            max_concurrency=self._settings.max_chunk_concurrency,
            map_execution_type=sfn.StateMachineType.STANDARD,
            # Chunks answer with counts only; Finalize reads their parts from S3.
            result_path=sfn.JsonPath.DISCARD,
        )
        chunks.item_processor(chunk)
        chunks.add_catch(finalize, errors=["States.ALL"], result_path="$.error")
        return chunks.next(finalize)

    def _invoke(
        self,
        state_name: str,
        function: lambda_.IFunction,
        *,
        on_error: sfn.IChainable | None = None,
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        task = invoke(self, state_name, function, on_error=None, result_path=result_path)
        if state_name == STATE_CONVERT:
            task.add_retry(
                errors=LOCKED_ERRORS,
                interval=LOCKED_RETRY_INTERVAL,
                backoff_rate=LOCKED_RETRY_BACKOFF_RATE,
                max_attempts=LOCKED_RETRY_MAX_ATTEMPTS,
                max_delay=LOCKED_RETRY_MAX_DELAY,
            )
        if on_error is not None:
            task.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
        return task


class _ChunkListReader(sfn.S3JsonItemReader):
    """The Map's item reader, allowed to read the chunk lists only (CDK would grant bucket/*)."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        bucket = self.bucket
        assert bucket is not None
        return [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{DATASETS_PREFIX}*/{CHUNK_LIST_NAME}")],
            )
        ]


def _publish_to_topic_statements(
    topic: sns.ITopic, topic_key: kms.IKey
) -> list[iam.PolicyStatement]:
    # Publishing to an SSE-KMS topic needs a data key from the topic's key, through SNS only.
    return [
        allow(["sns:Publish"], [topic.topic_arn]),
        allow(["kms:Decrypt", "kms:GenerateDataKey"], [topic_key.key_arn], via_service="sns"),
    ]
