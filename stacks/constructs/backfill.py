"""Backfill: the labeling jobs that finished before the stack, converted by it (`gt2yolo backfill`).

The CLI starts the Backfill state machine and only watches: the run goes on in the account. The
state machine calls the Backfill function once to list the jobs (every ListLabelingJobs page,
into `backfill/<run id>.json`), then once per batch of jobs until the log says done; each job
that converts starts the conversion state machine with the event its completion would have
sent (see `workflow.backfill`). A step that fails on throttling is retried with backoff and
redoes its batch from its offset: execution names are derived from the job, so nothing starts
twice and nothing is lost.

Why a state machine and not one long function: a run of thousands of jobs outlives Lambda's 15
minutes; each step here is a few seconds, its state (an offset) is in the execution, and the
execution's history is where to look when a run fails.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from gt2yolo.versions import POINTER
from gt2yolo_config.defaults import BACKFILL_PREFIX
from gt2yolo_config.environment import BackfillEnv, render

from stacks.constructs.dataset_storage import (
    DATASETS_PREFIX,
    GROUNDTRUTH_PREFIX,
    MANIFESTS_PREFIX,
    DatasetStorage,
)
from stacks.constructs.functions import (
    FunctionFactory,
    FunctionSpec,
    allow,
    bucket_key_statements,
    labeling_jobs_arn,
    list_under,
)
from stacks.constructs.image_sources import ImageSources
from stacks.constructs.steps import RETRYABLE_ERRORS, logged_state_machine
from stacks.settings import Settings

STATE_LIST = "ListJobs"
STATE_BATCH = "BackfillBatch"
STATE_DONE_CHOICE = "AllJobsDone"
STATE_DONE = "BackfillDone"
# A step is a page of listings or a batch of 25 jobs: well inside this, throttled or not.
STEP_TIMEOUT = cdk.Duration.minutes(5)
# Throttling can last (another tool starting jobs, a busy account): back off for up to about
# 20 minutes before the run fails; each retry redoes only its batch.
STEP_RETRY_INTERVAL = cdk.Duration.seconds(5)
STEP_RETRY_BACKOFF_RATE = 2
STEP_RETRY_MAX_ATTEMPTS = 10
STEP_RETRY_MAX_DELAY = cdk.Duration.minutes(5)
RUN_TIMEOUT = cdk.Duration.hours(24)
# Only our own executions are described: their names start with this (workflow.backfill).
EXECUTION_NAME_PREFIX = "bf-"


class Backfill(Construct):
    """The Backfill function and the state machine that pages through a run with it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        storage: DatasetStorage,
        image_sources: ImageSources,
        conversion: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        functions = FunctionFactory(self, storage, settings.powertools_layer_version)
        self.function = functions.function(
            _function_spec(self, settings, storage, image_sources, conversion)
        )
        self.state_machine = self._state_machine(storage)

    def _state_machine(self, storage: DatasetStorage) -> sfn.StateMachine:
        list_jobs = self._step(STATE_LIST)
        batch = self._step(STATE_BATCH)
        done = sfn.Condition.boolean_equals("$.done", True)
        choice = sfn.Choice(self, STATE_DONE_CHOICE).when(done, sfn.Succeed(self, STATE_DONE))
        choice.otherwise(batch)
        batch.next(choice)
        return logged_state_machine(
            self,
            "StateMachine",
            list_jobs.next(choice),
            timeout=RUN_TIMEOUT,
            log_name="backfill",
            log_key=storage.stack_key,
        )

    def _step(self, state_name: str) -> tasks.LambdaInvoke:
        """A step of the run: the whole state in, the function's answer out (run, offset,
        total, done); throttling and Lambda's hiccups are retried with backoff."""
        task = tasks.LambdaInvoke(
            self,
            state_name,
            lambda_function=self.function,
            output_path="$.Payload",
            retry_on_service_exceptions=False,
        )
        task.add_retry(
            errors=RETRYABLE_ERRORS,
            interval=STEP_RETRY_INTERVAL,
            backoff_rate=STEP_RETRY_BACKOFF_RATE,
            max_attempts=STEP_RETRY_MAX_ATTEMPTS,
            max_delay=STEP_RETRY_MAX_DELAY,
        )
        return task


def _function_spec(
    scope: Construct,
    settings: Settings,
    storage: DatasetStorage,
    image_sources: ImageSources,
    conversion: sfn.IStateMachine,
) -> FunctionSpec:
    return FunctionSpec(
        name="Backfill",
        handler="handlers.backfill.handler",
        description="Lists past labeling jobs and starts the conversion of each (gt2yolo backfill)",
        environment=render(
            BackfillEnv,
            JOB_NAME_PREFIX=settings.job_name_prefix,
            CONVERT_STOPPED_JOBS=settings.convert_stopped_jobs,
            SOURCE_BUCKETS=",".join(str(source) for source in settings.source_buckets),
            DATASETS_PREFIX=DATASETS_PREFIX,
            BACKFILL_PREFIX=BACKFILL_PREFIX,
            STATE_MACHINE_ARN=conversion.state_machine_arn,
        ),
        statements=[
            # ListLabelingJobs supports no resource-level permissions (Resource "*").
            allow(["sagemaker:ListLabelingJobs"], ["*"]),
            allow(
                ["sagemaker:DescribeLabelingJob"],
                [labeling_jobs_arn(scope, settings.job_name_prefix)],
            ),
            allow(["states:StartExecution"], [conversion.state_machine_arn]),
            # Was an execution of that name started by this run (a retried step)?
            allow(["states:DescribeExecution"], [_backfill_executions(conversion)]),
            # The run's log.
            allow(["s3:GetObject", "s3:PutObject"], [storage.objects_arn(BACKFILL_PREFIX)]),
            # The first byte of output manifests in the stack's bucket, and the datasets'
            # pointers (a published dataset is "already converted").
            allow(
                ["s3:GetObject"],
                [
                    storage.objects_arn(GROUNDTRUTH_PREFIX),
                    storage.objects_arn(MANIFESTS_PREFIX),
                    f"{storage.bucket.bucket_arn}/{DATASETS_PREFIX}*/{POINTER}",
                ],
            ),
            # 404, not 403, for a missing manifest, pointer or log.
            list_under(
                storage, GROUNDTRUTH_PREFIX, MANIFESTS_PREFIX, DATASETS_PREFIX, BACKFILL_PREFIX
            ),
            *image_sources.source_read_statements(),
            *bucket_key_statements(storage, write=True),
        ],
        timeout=STEP_TIMEOUT,
    )


def _backfill_executions(conversion: sfn.IStateMachine) -> str:
    """The executions of the conversion state machine that a backfill names."""
    name = cdk.Fn.select(6, cdk.Fn.split(":", conversion.state_machine_arn))
    stack = cdk.Stack.of(conversion)
    return stack.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{name}:{EXECUTION_NAME_PREFIX}*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
