"""The local cloud: moto running the CDK-synthesized stack, each Lambda function run as deployed.

What is real: the state machine definitions exactly as CDK synthesized them (moto's ASL
interpreter), the rule patterns from the template (moto's matcher), and S3 / SNS / EventBridge /
SQS / DynamoDB in moto, served over HTTP on loopback (`localrun.emulator`). Every Lambda
function runs in its own sandbox processes (`localrun.runtime`, `localrun.sandbox`), loaded
from the cloud assembly as AWS loads it: its code asset, its layers, the runtime's SDK, the
template's environment; it reaches moto through `AWS_ENDPOINT_URL`, as any SDK client does.

What is emulated: IAM for S3 (`localrun.iam`: each function signs with its own credentials, and
its S3 requests are allowed or refused by its role's policies from the template, as S3 would;
a bucket made with `create_bucket(..., other_account=True)` also needs its bucket policy to
allow the role), SageMaker (`localrun.sagemaker`: moto has no labeling jobs, the answers are
queued by the test or an account's past jobs, checked against the SageMaker API model; both it
and StartExecution throttle on demand, `localrun.throttling`), Rekognition Custom Labels
(`localrun.rekognition`: projects added by the test, the datasets the functions create in them,
each request authorized by the caller's role and checked against the Rekognition API model),
SageMaker training jobs (`localrun.training_jobs`: the `.sync` integration and the job API, each
job run by `localrun.training` as SageMaker runs it, signed as its execution role), and the
delivery of events
(`localrun.delivery`: EventBridge rules to Step Functions and SQS, SQS batches to functions,
EventBridge Scheduler on demand, S3's events with `deliver_s3_events`).

`LocalCloud` composes these parts (`localrun.deploy` makes the template's resources) and holds
nothing of its own: each method is one of theirs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3

from localrun.account import FAKE_CREDENTIALS, REGION
from localrun.delivery import EventDelivery
from localrun.deploy import Deployment, LocalFunction, deploy
from localrun.deployed import DeployedFunction
from localrun.emulator import (
    Endpoint,
    moto_app,
    moto_bucket_policy,
    moto_object,
    no_retry_sleep,
    serving,
)
from localrun.iam import Denial, Identity, S3Gate
from localrun.inspection import (
    EXECUTION_TIMEOUT,
    Execution,
    dataset_files,
    drain_notifications,
)
from localrun.rekognition import RekognitionFake
from localrun.runtime import FunctionRuntime
from localrun.sagemaker import SageMakerFake
from localrun.sandbox import Sandbox
from localrun.synth import Assembly
from localrun.throttling import StartExecutionThrottle
from localrun.training import LocalTraining, TrainingRun
from localrun.training_jobs import JobEnd, TrainingJobs, sync_patched

__all__ = ["EXECUTION_TIMEOUT", "Execution", "LocalCloud"]


class LocalCloud:
    """Deploys a synthesized cloud assembly into moto and runs events through it."""

    def __init__(
        self,
        assembly: Assembly,
        env_overrides: dict[str, str] | None = None,
        *,
        deliver_s3_events: bool = False,
        training_python: str | None = None,
        training_python_path: Sequence[Path] = (),
    ) -> None:
        """`env_overrides`: values for environment variables the functions already have (e.g. a
        small FAN_OUT_BYTES, so a sample manifest takes the Distributed Map).
        `training_python`: the interpreter standing for a training container's (one with
        Ultralytics; default: this one), `training_python_path`: its PYTHONPATH (a stub of
        Ultralytics in the tests)."""
        self.assembly = assembly
        self.env_overrides = dict(env_overrides or {})
        self.deliver_s3_events = deliver_s3_events
        self.training_python = training_python or sys.executable
        self.training_python_path = tuple(training_python_path)
        self.training_jobs = TrainingJobs(self._run_training_job)
        self.training_runs: list[TrainingRun] = []  # each job's run: its log and /opt/ml tree
        self.sagemaker = SageMakerFake()
        self.rekognition = RekognitionFake(self._function_identity, moto_object)
        self.start_execution = StartExecutionThrottle()
        self._stack = ExitStack()

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self.s3_gate = S3Gate(moto_app(), moto_bucket_policy)
        self.endpoint: Endpoint = self._stack.enter_context(serving(self.s3_gate))
        work_dir = Path(tempfile.mkdtemp(prefix="local-lambda-"))
        self._stack.callback(shutil.rmtree, work_dir, True)
        self.runtime = FunctionRuntime(self.endpoint.url, work_dir)
        self._stack.callback(self.runtime.close)
        self._stack.enter_context(self.runtime.serving_moto())
        self._stack.enter_context(no_retry_sleep())
        self._stack.enter_context(self.sagemaker.patched())
        self._stack.enter_context(self.training_jobs.patched())
        self._stack.enter_context(sync_patched())
        self._training_dir = work_dir / "training-jobs"
        self._stack.callback(self.training_jobs.join)
        self._stack.enter_context(self.rekognition.patched())
        self._stack.enter_context(self.start_execution.patched())
        self.deployment: Deployment = deploy(self.assembly, self.endpoint, self.env_overrides)
        for name, function in self.deployment.functions.items():
            self.s3_gate.add_identity(name, function.identity)
            self.runtime.add(name, function.deployed, function.arn)
        self.events = EventDelivery(
            self.assembly.template, self.deployment, self.endpoint, self.runtime.invoke
        )
        if self.deliver_s3_events:
            self._stack.enter_context(self.events.s3_events_delivered())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _run_training_job(self, request: dict[str, Any]) -> JobEnd:
        """A CreateTrainingJob request, run as SageMaker runs it (localrun.training): as its
        execution role, whose policies the S3 gate applies to every request of the job."""
        identity = self.deployment.service_roles.get(request["RoleArn"])
        if identity is None:
            return JobEnd("Failed", f"ClientError: SageMaker may not assume {request['RoleArn']}")
        access_key = f"training-{request['TrainingJobName']}"
        self.s3_gate.add_identity(access_key, identity)
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=self.endpoint.url,
            aws_access_key_id=access_key,
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        runner = LocalTraining(
            s3,
            self._training_dir,
            python=self.training_python,
            python_path=self.training_python_path,
        )
        run = runner.run(request)
        self.training_runs.append(run)
        described = run.described
        metrics = {m["MetricName"]: m["Value"] for m in described.get("FinalMetricDataList", [])}
        return JobEnd(described["TrainingJobStatus"], described.get("FailureReason", ""), metrics)

    def training_requests(self) -> list[dict[str, Any]]:
        """The CreateTrainingJob requests the state machine sent, in order."""
        return list(self.training_jobs.requests)

    def _function_identity(self, access_key: str) -> Identity | None:
        """Which function signed (the S3 gate learns the functions' roles at deploy)."""
        return self.s3_gate.identity_of(access_key)

    # -- the deployed stack --------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.endpoint.client(service)

    @property
    def bucket(self) -> str:
        return self.deployment.bucket

    @property
    def stack_name(self) -> str:
        return self.deployment.stack_name

    @property
    def functions(self) -> dict[str, LocalFunction]:
        return self.deployment.functions

    @property
    def state_machine_arn(self) -> str:
        return self.deployment.state_machine_arn

    @property
    def start_labeling_job_arn(self) -> str:
        return self.deployment.start_labeling_job_arn

    @property
    def backfill_arn(self) -> str:
        return self.deployment.backfill_arn

    def create_bucket(self, name: str, *, other_account: bool = False) -> None:
        """A bucket outside the stack (a customer's images). `other_account`: the functions may
        read it only if their role's policies and its bucket policy both allow them, as for a
        bucket of another account."""
        self.client("s3").create_bucket(Bucket=name)
        if other_account:
            self.s3_gate.treat_as_foreign(name)

    def put_objects(self, objects: dict[str, bytes], bucket: str | None = None) -> None:
        """Put objects (a sample job's images and output) into a bucket (the stack's)."""
        s3 = self.client("s3")
        for key, body in objects.items():
            s3.put_object(Bucket=bucket or self.bucket, Key=key, Body=body)

    # -- the functions -------------------------------------------------------------------------
    @property
    def invocations(self) -> list[tuple[str, dict[str, Any]]]:
        return self.runtime.invocations

    def cold_start(self, name: str) -> Sandbox:
        return self.runtime.cold_start(name)

    def deployed(self, name: str) -> DeployedFunction:
        return self.runtime.deployed(name)

    def fail_function(self, handler: str, error_type: str, message: str) -> None:
        self.runtime.fail_function(handler, error_type, message)

    # -- events --------------------------------------------------------------------------------
    def route(self, event: dict[str, Any], bus: str = "default") -> list[str]:
        return self.events.route(event, bus)

    def put_event(
        self, event: dict[str, Any], timeout: float = EXECUTION_TIMEOUT
    ) -> Execution | None:
        return self.events.put_event(event, timeout)

    def put_event_async(self, event: dict[str, Any]) -> str | None:
        return self.events.put_event_async(event)

    def deliver_queued(self) -> int:
        return self.events.deliver_queued()

    def fire_schedules(self) -> list[dict[str, Any]]:
        return self.events.fire_schedules()

    def invoke_function(self, arn: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.events.invoke_function(arn, event)

    def run(
        self,
        state_input: dict[str, Any],
        timeout: float = EXECUTION_TIMEOUT,
        state_machine_arn: str | None = None,
    ) -> Execution:
        """Run a state machine (the conversion's unless named) to its end."""
        return self.events.run(state_input, state_machine_arn or self.state_machine_arn, timeout)

    def start_labeling_job(
        self, state_input: dict[str, Any], timeout: float = EXECUTION_TIMEOUT
    ) -> Execution:
        """Run the StartLabelingJob state machine (queue CreateLabelingJob's answer first)."""
        return self.run(state_input, timeout, self.start_labeling_job_arn)

    def wait(self, arn: str, timeout: float = EXECUTION_TIMEOUT) -> Execution:
        return self.events.wait(arn, timeout)

    # -- Ground Truth, simulated ---------------------------------------------------------------
    def expect_list_labeling_jobs(self, summaries: list[dict[str, Any]]) -> None:
        self.sagemaker.expect_list_labeling_jobs(summaries)

    def expect_describe_labeling_job(self, response: dict[str, Any]) -> None:
        self.sagemaker.expect_describe_labeling_job(response)

    def expect_create_labeling_job(self, job_name: str) -> None:
        self.sagemaker.expect_create_labeling_job(job_name)

    @property
    def labeling_job_requests(self) -> list[dict[str, Any]]:
        """The CreateLabelingJob requests the functions sent, in order."""
        return self.sagemaker.requests

    @property
    def pending_sagemaker_answers(self) -> int:
        return self.sagemaker.pending

    @property
    def sagemaker_calls(self) -> list[str]:
        """The SageMaker operations the functions called, in order."""
        return list(self.sagemaker.calls)

    # -- Rekognition Custom Labels, simulated ---------------------------------------------------
    def add_rekognition_project(self, arn: str) -> None:
        """A Custom Labels project of the account (its ARN as the stack's rekognitionProject)."""
        self.rekognition.add_project(arn)

    @property
    def rekognition_requests(self) -> list[tuple[str, dict[str, Any]]]:
        """The Rekognition requests the functions sent, (operation, parameters), in order."""
        return list(self.rekognition.requests)

    # -- what happened -------------------------------------------------------------------------
    @property
    def denials(self) -> list[Denial]:
        """The S3 requests of functions refused so far (IAM for S3, see localrun.iam)."""
        return list(self.s3_gate.denials)

    def dataset(self, prefix: str, version: str | None = None) -> dict[str, bytes]:
        """A published dataset's files by dataset key: its current version (or `version`)."""
        return dataset_files(self.client("s3"), self.bucket, prefix, version)

    def notifications(self) -> list[dict[str, Any]]:
        """SNS messages delivered so far (drained from the local subscriber queue)."""
        return drain_notifications(self.client("sqs"), self.deployment.inbox_url)
