"""SageMaker's labeling-job answers to the functions, queued by the test (moto has no labeling jobs).

Served by moto's own SageMaker endpoint: the sandboxed function's botocore validates and sends
the request as it would to AWS; the queued answer is validated against the API model's output
shape before it is queued, as botocore's Stubber does, and each request is checked against what
the test said it would ask.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any, ClassVar
from unittest import mock

import botocore.session
from botocore.validate import validate_parameters

from localrun.account import ACCOUNT, REGION

# One queued answer: the operation, its response, the request parameters it must have been sent.
_Expected = tuple[str, dict[str, Any], dict[str, Any] | None]


class SageMakerFake:
    """DescribeLabelingJob, ListLabelingJobs and CreateLabelingJob, answered in queue order."""

    OPERATIONS: ClassVar[dict[str, str]] = {
        "DescribeLabelingJob": "describe_labeling_job",
        "ListLabelingJobs": "list_labeling_jobs",
        "CreateLabelingJob": "create_labeling_job",
    }

    def __init__(self) -> None:
        self._queue: queue.Queue[_Expected] = queue.Queue()
        self.calls: list[str] = []  # the operations the functions called, in order
        self.requests: list[dict[str, Any]] = []  # CreateLabelingJob parameters sent
        self._model = botocore.session.get_session().get_service_model("sagemaker")

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def expect_list_labeling_jobs(self, summaries: list[dict[str, Any]]) -> None:
        """Queue ListLabelingJobs' answer for jobs in progress (one page)."""
        self._expect(
            "ListLabelingJobs",
            {"LabelingJobSummaryList": summaries},
            {"StatusEquals": "InProgress"},
        )

    def expect_describe_labeling_job(self, response: dict[str, Any]) -> None:
        """Queue DescribeLabelingJob's answer (checked against the SageMaker model)."""
        self._expect(
            "DescribeLabelingJob", response, {"LabelingJobName": response["LabelingJobName"]}
        )

    def expect_create_labeling_job(self, job_name: str) -> None:
        """Queue CreateLabelingJob's answer. The request the function sends is kept in
        `requests` (its botocore validated it against the model before sending)."""
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"
        self._expect("CreateLabelingJob", {"LabelingJobArn": arn}, None)

    def _expect(
        self, operation: str, response: dict[str, Any], expected: dict[str, Any] | None
    ) -> None:
        validate_parameters(response, self._model.operation_model(operation).output_shape)
        self._queue.put((operation, response, expected))

    @contextmanager
    def patched(self) -> Iterator[None]:
        """moto's SageMaker answers these operations from the queue while the context lasts."""
        from moto.sagemaker.responses import SageMakerResponse

        with ExitStack() as stack:
            for operation, method in self.OPERATIONS.items():
                stack.enter_context(
                    mock.patch.object(
                        SageMakerResponse, method, self._answer(operation), create=True
                    )
                )
            yield

    def _answer(self, operation: str) -> Callable[[Any], str]:
        def answer(response_self: Any) -> str:
            request = json.loads(response_self.body or "{}")
            self.calls.append(operation)
            response = self._next(operation, request)
            if operation == "CreateLabelingJob":
                self.requests.append(request)
            return json.dumps(response, default=_epoch)

        return answer

    def _next(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """The queued response, if the request is the one queued next."""
        from moto.core.exceptions import JsonRESTError

        try:
            queued, response, expected = self._queue.get_nowait()
        except queue.Empty:
            raise JsonRESTError("ValidationException", f"unexpected {operation}") from None
        if queued != operation:
            raise JsonRESTError("ValidationException", f"{operation}, expected {queued}")
        for name, value in (expected or {}).items():
            if request.get(name) != value:
                raise JsonRESTError("ValidationException", f"{name}={request.get(name)!r}")
        return response


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {value!r}")
