"""SageMaker training jobs on the local cloud, as a state machine's `createTrainingJob.sync` runs
them (moto's interpreter forwards SageMaker calls only for `.waitForTaskToken`).

- `TrainingJobs` answers CreateTrainingJob, DescribeTrainingJob and StopTrainingJob through
  moto's SageMaker endpoint: each request is validated against botocore's service model (as
  AWS would refuse it) and each answer against the output shape; a created job is handed to a
  runner (`Runner`: the request -> the job's end: status, failure reason, final metrics), which
  runs it the way SageMaker would (`localrun.training` runs the entry point in its own
  process); the runner's outcome is what DescribeTrainingJob then says.
- `sync_patched` teaches moto's interpreter the `.sync` pattern for `createTrainingJob`: call
  CreateTrainingJob, then poll DescribeTrainingJob until the job is Completed (the state's
  output: the description, as Step Functions returns it), or Failed / Stopped (the state fails
  with `States.TaskFailed` and the description as its cause, as Step Functions does).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, cast
from unittest import mock

import botocore.session
from botocore.validate import validate_parameters

from localrun.account import ACCOUNT, REGION
from localrun.responses import answering

TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass(frozen=True)
class JobEnd:
    """How a training job ended, as the runner saw it."""

    status: str  # Completed | Failed | Stopped
    failure_reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


Runner = Callable[[dict[str, Any]], JobEnd]


class TrainingJobs:
    """The account's training jobs, run by `runner` when created."""

    OPERATIONS: ClassVar[dict[str, str]] = {
        "CreateTrainingJob": "create_training_job",
        "DescribeTrainingJob": "describe_training_job",
        "StopTrainingJob": "stop_training_job",
    }

    def __init__(self, runner: Runner | None = None) -> None:
        self.runner = runner
        self.requests: list[dict[str, Any]] = []  # CreateTrainingJob requests, in order
        self._jobs: dict[str, dict[str, Any]] = {}  # DescribeTrainingJob answers, by name
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._model = botocore.session.get_session().get_service_model("sagemaker")

    @contextmanager
    def patched(self) -> Iterator[None]:
        from moto.sagemaker.responses import SageMakerResponse

        with answering(SageMakerResponse, self.OPERATIONS, self._answer):
            yield

    def _answer(self, operation: str) -> Callable[[Any], str]:
        def answer(response_self: Any) -> str:
            from moto.core.exceptions import JsonRESTError

            request = json.loads(response_self.body or "{}")
            shape = self._model.operation_model(operation).input_shape
            try:
                validate_parameters(request, shape)
            except Exception as exc:  # botocore's ParamValidationError: what AWS refuses
                raise JsonRESTError("ValidationException", str(exc)) from None
            handler = getattr(self, "_" + self.OPERATIONS[operation])
            return json.dumps(handler(request), default=_epoch)

        return answer

    def _create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        name = request["TrainingJobName"]
        with self._lock:
            if name in self._jobs:
                raise JsonRESTError("ResourceInUse", f"Training job {name} already exists")
            self.requests.append(request)
            arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name.lower()}"
            self._jobs[name] = self._description(request, arn, "InProgress")
        # The job runs apart from the request, as in SageMaker: CreateTrainingJob answers at
        # once (a real Ultralytics run outlasts an SDK's read timeout), DescribeTrainingJob
        # says InProgress until the runner is done.
        worker = threading.Thread(
            target=self._run, args=(request, arn), name=f"training-{name}", daemon=True
        )
        self._workers.append(worker)
        worker.start()
        return {"TrainingJobArn": arn}

    def _run(self, request: dict[str, Any], arn: str) -> None:
        try:
            end = self.runner(request) if self.runner else JobEnd("Failed", "no runner")
        except Exception as exc:  # the runner's own failure: the job fails, as in SageMaker
            end = JobEnd("Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024])
        with self._lock:
            self._jobs[request["TrainingJobName"]] = self._description(
                request, arn, end.status, end
            )

    def join(self, timeout: float | None = None) -> None:
        """Wait for the jobs started so far to end."""
        for worker in list(self._workers):
            worker.join(timeout)

    def _describe_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        with self._lock:
            found = self._jobs.get(request["TrainingJobName"])
        if found is None:
            raise JsonRESTError("ValidationException", "Requested resource not found.")
        return found

    def _stop_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _description(
        self, request: dict[str, Any], arn: str, status: str, end: JobEnd | None = None
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        name = request["TrainingJobName"]
        described: dict[str, Any] = {
            "TrainingJobName": name,
            "TrainingJobArn": arn,
            "ModelArtifacts": {"S3ModelArtifacts": f"{output}/{name}/output/model.tar.gz"},
            "TrainingJobStatus": status,
            "SecondaryStatus": {"Completed": "Completed", "Failed": "Failed"}.get(
                status, "Stopped" if status == "Stopped" else "Training"
            ),
            "HyperParameters": request.get("HyperParameters", {}),
            "AlgorithmSpecification": request.get("AlgorithmSpecification", {}),
            "RoleArn": request["RoleArn"],
            "OutputDataConfig": request["OutputDataConfig"],
            "ResourceConfig": request.get("ResourceConfig", {}),
            # SageMaker's default when the request sets none: one day.
            "StoppingCondition": request.get("StoppingCondition", {"MaxRuntimeInSeconds": 86400}),
            "CreationTime": now,
            "EnableManagedSpotTraining": request.get("EnableManagedSpotTraining", False),
        }
        for optional in ("InputDataConfig", "CheckpointConfig", "VpcConfig"):
            if request.get(optional):
                described[optional] = request[optional]
        if end is not None:
            described["TrainingEndTime"] = now
            if end.failure_reason:
                described["FailureReason"] = end.failure_reason
            described["FinalMetricDataList"] = [
                {"MetricName": name_, "Value": value, "Timestamp": now}
                for name_, value in end.metrics.items()
            ]
        validate_output(self._model, "DescribeTrainingJob", described)
        return described


def validate_output(model: Any, operation: str, response: dict[str, Any]) -> None:
    """A fake's answer must be one the service could give: its output shape, as botocore's
    Stubber checks a stubbed response."""
    shape = model.operation_model(operation).output_shape
    validate_parameters(response, shape)


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")


@contextmanager
def sync_patched() -> Iterator[None]:
    """moto's interpreter with `arn:aws:states:::sagemaker:createTrainingJob.sync`."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    # The factory module's own name for moto's function (it imports it from the service
    # package): replaced there, where the interpreter looks it up.
    original = state_task_factory.state_task_service_for  # type: ignore[attr-defined]

    def service_for(service_name: str) -> Any:
        if service_name == "sagemaker":
            return _sagemaker_sync_service()
        return original(service_name=service_name)

    with mock.patch.object(state_task_factory, "state_task_service_for", service_for):
        yield


def _sagemaker_sync_service() -> Any:
    """The SageMaker service integration: `.sync` (and `.waitForTaskToken`) of createTrainingJob,
    built on moto's own classes (imported here: only the local cloud needs them)."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    class SageMakerSync(StateTaskServiceCallback):
        def __init__(self) -> None:
            patterns: Any = {ResourceCondition.WaitForTaskToken, ResourceCondition.Sync}
            super().__init__(supported_integration_patterns=patterns)

        def _get_supported_parameters(self) -> set[str] | None:
            # createTrainingJob only: its request's members, from SageMaker's model.
            if self.resource.api_action.lower() != "createtrainingjob":
                return None
            model = botocore.session.get_session().get_service_model("sagemaker")
            return set(model.operation_model("CreateTrainingJob").input_shape.members)

        def _client(self, part: Any, credentials: Any) -> Any:
            return boto_client_for(
                service="sagemaker", region=part.region, state_credentials=credentials
            )

        # moto calls these with keywords: the parameter names are its own.
        def _eval_service_task(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            client = self._client(resource_runtime_part, state_credentials)
            action = self._get_boto_service_action()
            response = getattr(client, action)(**normalised_parameters)
            response.pop("ResponseMetadata", None)
            env.stack.append(response)

        def _build_sync_resolver(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> Callable[[], Any]:
            client = self._client(resource_runtime_part, state_credentials)
            env.stack.pop()  # CreateTrainingJob's answer: the state's output is the description
            name = normalised_parameters["TrainingJobName"]

            def resolve() -> dict[str, Any] | None:
                described = client.describe_training_job(TrainingJobName=name)
                described.pop("ResponseMetadata", None)
                status = described["TrainingJobStatus"]
                if status not in TERMINAL:
                    return None
                if status == "Completed":
                    return cast(dict[str, Any], json.loads(to_json_str(described)))
                raise FailureEventException(
                    FailureEvent(
                        env=env,
                        error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                        event_type=HistoryEventType.TaskFailed,
                        event_details=cast(Any, EventDetails)(
                            taskFailedEventDetails=TaskFailedEventDetails(
                                resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type(),
                                error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                cause=to_json_str(described),
                            )
                        ),
                    )
                )

            return resolve

    return SageMakerSync()
