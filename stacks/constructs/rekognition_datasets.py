"""RekognitionDatasets: each published version becomes the TRAIN and TEST datasets of a
Rekognition Custom Labels project (optional: the `rekognitionProject` context value).

After Publish, for a complete (not partial) version that Publish did publish:
RekognitionDatasets (one reconciliation pass, `workflow.rekognition`) -> RekognitionReady? ->
WaitForRekognition (the pass's `wait_seconds`) -> RekognitionDatasets ... -> DatasetPublished.
Any error goes to NotifyFailure (the dataset stays published; the message says so).

Rekognition reads the manifests and the images with the caller's permissions (the Custom Labels
guide, "Set up SDK permissions": no bucket policy for rekognition.amazonaws.com is needed any
more), so this function's role holds the S3 reads (and, with a stack key, the KMS use) it needs,
scoped to the version manifests and the dataset files.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from gt2yolo_config import defaults
from gt2yolo_config.environment import RekognitionEnv, render

from stacks.constructs.dataset_storage import DATASETS_PREFIX, DatasetStorage
from stacks.constructs.functions import FunctionFactory, FunctionSpec, allow
from stacks.constructs.steps import invoke
from stacks.settings import Settings

STATE_SHOULD_SYNC = "RekognitionDatasets?"
STATE_SYNC = "RekognitionDatasets"
STATE_READY = "RekognitionReady?"
STATE_WAIT = "WaitForRekognition"
RESULT_PATH = "$.rekognition"  # the pass's answer, under `summary` (stacks.constructs.steps)
# What Rekognition reads: the version's root manifests, and the images they name (the version's
# files, `datasets/<name>/files/<version>/...`).
MANIFESTS = f"{DATASETS_PREFIX}*.rekognition.*.manifest"
DATASET_FILES = f"{DATASETS_PREFIX}*/files/*"
# The reads Rekognition Custom Labels was documented to make of a training bucket (the bucket
# policy its guide had users add for rekognition.amazonaws.com), now made as the caller.
OBJECT_READS = ["s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectVersion", "s3:GetObjectTagging"]
BUCKET_READS = ["s3:GetBucketAcl", "s3:GetBucketLocation"]
# The Custom Labels guide ("Decrypting files encrypted with AWS Key Management Service").
KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class RekognitionDatasets(Construct):
    """The RekognitionDatasets function and the states that call it until the datasets are
    ready: `entry(done)` is where Publish goes next."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        storage: DatasetStorage,
        notify: sfn.IChainable,
    ) -> None:
        super().__init__(scope, construct_id)
        assert settings.rekognition_project is not None
        self._project = settings.rekognition_project
        self._storage = storage
        self._notify = notify
        functions = FunctionFactory(self, storage, settings.powertools_layer_version)
        self.function = functions.function(self._spec())

    def entry(self, done: sfn.IChainable) -> sfn.Choice:
        """Publish's answer -> the loop (a version Publish published, complete) or `done`."""
        sync = self._sync_task()
        ready = (
            sfn.Choice(self, STATE_READY)
            .when(sfn.Condition.boolean_equals(f"{RESULT_PATH}.summary.done", True), done)
            .otherwise(
                sfn.Wait(
                    self,
                    STATE_WAIT,
                    time=sfn.WaitTime.seconds_path(f"{RESULT_PATH}.summary.wait_seconds"),
                ).next(sync)
            )
        )
        sync.next(ready)
        published = sfn.Condition.and_(
            sfn.Condition.boolean_equals("$.published", True),
            sfn.Condition.boolean_equals("$.partial", False),
        )
        return sfn.Choice(self, STATE_SHOULD_SYNC).when(published, sync).otherwise(done)

    def _sync_task(self) -> tasks.LambdaInvoke:
        task = invoke(self, STATE_SYNC, self.function, result_path=RESULT_PATH)
        # The dataset is published already: a failure is told, and touches nothing there.
        task.add_catch(self._notify, errors=["States.ALL"], result_path="$.error")
        return task

    def _spec(self) -> FunctionSpec:
        return FunctionSpec(
            name="RekognitionDatasets",
            handler="handlers.rekognition.handler",
            description="Replaces a Rekognition Custom Labels project's datasets with the version's",
            environment=render(
                RekognitionEnv,
                PROJECT_ARN=self._project,
                POLL_SECONDS=defaults.REKOGNITION_POLL_SECONDS,
                MAX_POLLS=defaults.REKOGNITION_MAX_POLLS,
            ),
            statements=[*self._rekognition_statements(), *self._read_statements()],
        )

    def _rekognition_statements(self) -> list[iam.PolicyStatement]:
        datasets = project_datasets_arn(self._project)
        return [
            allow(["rekognition:CreateDataset"], [self._project]),
            allow(["rekognition:DeleteDataset", "rekognition:DescribeDataset"], [datasets]),
            # DescribeProjects supports no resource-level permissions (Resource "*"); the
            # function asks for its project's name only.
            allow(["rekognition:DescribeProjects"], ["*"]),
        ]

    def _read_statements(self) -> list[iam.PolicyStatement]:
        """What Rekognition reads as this function: manifests and dataset files, nothing else."""
        bucket = self._storage.bucket
        statements = [
            allow(OBJECT_READS, [bucket.arn_for_objects(MANIFESTS)]),
            allow(OBJECT_READS, [bucket.arn_for_objects(DATASET_FILES)]),
            allow(BUCKET_READS, [bucket.bucket_arn]),
        ]
        key = self._storage.encryption_key
        if key is not None:
            statements.append(allow(KEY_ACTIONS, [key.key_arn], via_service="s3"))
        return statements


def project_datasets_arn(project_arn: str) -> str:
    """`...:project/<name>/<timestamp>` -> `...:project/<name>/dataset/*` (its datasets' ARNs are
    `project/<name>/dataset/<type>/<timestamp>`)."""
    return project_arn.rsplit("/", 1)[0] + "/dataset/*"
