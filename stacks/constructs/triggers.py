"""Triggers: the EventBridge rules that start the conversion workflow.

Two ways in:
- LabelingJobFinished: SageMaker reports that a Ground Truth labeling job completed (or
  stopped, when stopped jobs are converted too).
- ManifestDropped: someone uploads an output manifest under `manifests/` (no SageMaker needed,
  e.g. for existing manifests) - except under `manifests/input/`, the intake area.

Why the manifest trigger has two rules and a bus of its own: the key must match
`manifests/*.manifest` AND must not start with `manifests/input/`. An EventBridge pattern
cannot hold two conditions on one field (values in a list are OR-ed; `$or` only adds
alternatives; a field named twice keeps the last), and no single operator expresses "this
wildcard but not that prefix". So the default-bus rule ManifestObjectCreated forwards only
`manifests/*.manifest` objects to the ManifestDrops bus, where ManifestDropped drops the intake
area with `anything-but` and starts the workflow. The AND happens by chaining the rules.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.dataset_storage import INTAKE_PREFIX, MANIFESTS_PREFIX, DatasetStorage
from stacks.constructs.encryption import encrypted_queue
from stacks.settings import Settings

LABELING_JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"
S3_OBJECT_CREATED = "Object Created"
MANIFEST_SUFFIX = ".manifest"

# EventBridge retries a failing target, then parks the event in the dead-letter queue.
TARGET_RETRY_ATTEMPTS = 4
TARGET_MAX_EVENT_AGE = cdk.Duration.hours(2)
DEAD_LETTER_RETENTION = cdk.Duration.days(14)  # the SQS maximum: time to inspect and redrive


class Triggers(Construct):
    """Rules that start `state_machine`, with a dead-letter queue for undeliverable events."""

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
        self.dead_letter_queue = encrypted_queue(
            self, "DeadLetterQueue", storage.stack_key, retention_period=DEAD_LETTER_RETENTION
        )
        start_workflow = targets.SfnStateMachine(
            state_machine,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=TARGET_RETRY_ATTEMPTS,
            max_event_age=TARGET_MAX_EVENT_AGE,
        )
        bucket_name = storage.bucket.bucket_name

        self.labeling_job_finished = events.Rule(
            self,
            "LabelingJobFinished",
            description="A Ground Truth labeling job finished: convert its output manifest",
            event_pattern=_labeling_job_finished(self, settings),
            targets=[start_workflow],
        )
        self.manifest_drop_bus = events.EventBus(
            self, "ManifestDrops", description="Manifests dropped under manifests/"
        )
        self.manifest_object_created = events.Rule(
            self,
            "ManifestObjectCreated",
            description="A *.manifest object was created under manifests/: pass it on",
            event_pattern=_manifest_object_created(bucket_name),
            targets=[
                targets.EventBus(self.manifest_drop_bus, dead_letter_queue=self.dead_letter_queue)
            ],
        )
        self.manifest_dropped = events.Rule(
            self,
            "ManifestDropped",
            description="A manifest was dropped outside the intake area: convert it",
            event_bus=self.manifest_drop_bus,
            event_pattern=_outside_intake_area(bucket_name),
            targets=[start_workflow],
        )


def _labeling_job_finished(scope: Construct, settings: Settings) -> events.EventPattern:
    # A stopped job may still have a partial output manifest; converting it is opt-in.
    statuses = ["Completed", "Stopped"] if settings.convert_stopped_jobs else ["Completed"]
    resources = None
    if settings.job_name_prefix:
        # The job name is only in resources[0]: arn:...:labeling-job/<name>.
        job_arn_prefix = cdk.Stack.of(scope).format_arn(
            service="sagemaker",
            resource="labeling-job",
            resource_name=settings.job_name_prefix,
        )
        resources = events.Match.prefix(job_arn_prefix)
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[LABELING_JOB_STATE_CHANGE],
        detail={"LabelingJobStatus": statuses},
        resources=resources,
    )


def _manifest_object_created(bucket_name: str) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=[S3_OBJECT_CREATED],
        detail={
            "bucket": {"name": [bucket_name]},
            "object": {"key": events.Match.wildcard(f"{MANIFESTS_PREFIX}*{MANIFEST_SUFFIX}")},
        },
    )


def _outside_intake_area(bucket_name: str) -> events.EventPattern:
    # Applied only to what ManifestObjectCreated forwarded, so the wildcard above still holds.
    # Source and bucket are matched again: PutEvents cannot claim an "aws." source, so nothing
    # but a forwarded S3 event can start the workflow from this bus.
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=[S3_OBJECT_CREATED],
        detail={
            "bucket": {"name": [bucket_name]},
            "object": {"key": events.Match.anything_but_prefix(INTAKE_PREFIX)},
        },
    )
