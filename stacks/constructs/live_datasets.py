"""LiveDatasets: partial datasets of labeling jobs still in progress (optional).

An EventBridge Scheduler schedule (`rate(liveIntervalMinutes minutes)`) invokes the LiveSweep
function, which lists the jobs in progress and starts the conversion state machine once per new
intermediate manifest of each job the stack watches (see `workflow.live`). The conversion is the
ordinary one, marked partial, under the name the job's final dataset will have.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from gt2yolo_config.environment import LiveEnv, render

from stacks.constructs.dataset_storage import GROUNDTRUTH_PREFIX, DatasetStorage
from stacks.constructs.functions import (
    FunctionFactory,
    FunctionSpec,
    allow,
    labeling_jobs_arn,
    list_under,
)
from stacks.settings import Settings

# A tick lists jobs and folders, a few calls per job in progress: well inside a minute.
SWEEP_TIMEOUT = cdk.Duration.seconds(120)
# A missed tick is made good by the next one: no long retries of an old tick.
SCHEDULE_RETRY_ATTEMPTS = 2
SCHEDULE_MAX_EVENT_AGE = cdk.Duration.minutes(5)


class LiveDatasets(Construct):
    """The schedule, its role (may invoke the sweep function only) and the sweep function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        storage: DatasetStorage,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        functions = FunctionFactory(self, storage, settings.powertools_layer_version)
        self.sweep_function = functions.function(
            _sweep_spec(self, settings, storage, state_machine)
        )
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            description="gt2yolo live datasets: EventBridge Scheduler invokes the LiveSweep function",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Converts the newest intermediate manifest of labeling jobs in progress",
            schedule=scheduler.ScheduleExpression.rate(
                cdk.Duration.minutes(settings.live_interval_minutes)
            ),
            target=scheduler_targets.LambdaInvoke(
                self.sweep_function,
                role=self.schedule_role,
                retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                max_event_age=SCHEDULE_MAX_EVENT_AGE,
            ),
        )


def _sweep_spec(
    scope: Construct, settings: Settings, storage: DatasetStorage, state_machine: sfn.IStateMachine
) -> FunctionSpec:
    return FunctionSpec(
        name="LiveSweep",
        handler="handlers.live.handler",
        description="Starts a partial conversion of each new intermediate manifest of jobs in "
        "progress",
        environment=render(
            LiveEnv,
            JOB_NAME_PREFIX=settings.job_name_prefix,
            GROUNDTRUTH_PREFIX=GROUNDTRUTH_PREFIX,
            STATE_MACHINE_ARN=state_machine.state_machine_arn,
        ),
        statements=[
            # ListLabelingJobs supports no resource-level permissions (Resource "*").
            allow(["sagemaker:ListLabelingJobs"], ["*"]),
            allow(
                ["sagemaker:DescribeLabelingJob"],
                [labeling_jobs_arn(scope, settings.job_name_prefix)],
            ),
            # Folder names and the manifest's ETag come from listings: no object is read.
            list_under(storage, GROUNDTRUTH_PREFIX),
            allow(["states:StartExecution"], [state_machine.state_machine_arn]),
        ],
        timeout=SWEEP_TIMEOUT,
    )
