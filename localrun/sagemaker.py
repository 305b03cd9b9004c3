"""SageMaker's labeling-job answers to the functions (moto has no labeling jobs).

Served by moto's own SageMaker endpoint: the sandboxed function's botocore validates and sends
the request as it would to AWS. Two ways to answer:

- queued by the test, in order: each answer is validated against the API model's output shape
  before it is queued, as botocore's Stubber does, and each request is checked against what the
  test said it would ask;
- an account's past jobs (`add_jobs`, for the backfill): DescribeLabelingJob answers by job
  name, ListLabelingJobs in pages (MaxResults, NextToken) filtered as the service filters
  (StatusEquals, NameContains anywhere in the name and ignoring case, CreationTimeAfter), its
  summaries validated against the model too. `throttle` makes every n-th call of an operation
  fail with ThrottlingException, as SageMaker does past its rate.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

import botocore.session
from botocore.validate import validate_parameters

from localrun.account import ACCOUNT, REGION
from localrun.responses import answering

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
        self._jobs: dict[str, dict[str, Any]] = {}  # DescribeLabelingJob responses, by name
        self._throttle_every: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.throttled: dict[str, int] = {}  # operation -> ThrottlingExceptions answered

    # -- an account's past jobs ----------------------------------------------------------------
    def add_jobs(self, described: list[dict[str, Any]]) -> None:
        """Jobs the account has: DescribeLabelingJob's answers (checked against the model)."""
        shape = self._model.operation_model("DescribeLabelingJob").output_shape
        for response in described:
            validate_parameters(response, shape)
            self._jobs[response["LabelingJobName"]] = response

    def throttle(self, operation: str, every: int) -> None:
        """Every `every`-th call of the operation fails with ThrottlingException (0: none)."""
        self._throttle_every[operation] = every

    def _throttled(self, operation: str) -> bool:
        with self._lock:
            count = self._counts[operation] = self._counts.get(operation, 0) + 1
            every = self._throttle_every.get(operation, 0)
            hit = every > 0 and count % every == 0
            if hit:
                self.throttled[operation] = self.throttled.get(operation, 0) + 1
        return hit

    def _listed(self, request: dict[str, Any]) -> dict[str, Any]:
        """One page of ListLabelingJobs over the added jobs, by creation time (its default)."""
        contains = str(request.get("NameContains", "")).lower()
        after = request.get("CreationTimeAfter")
        matching = [
            job for job in sorted(self._jobs.values(), key=lambda job: job["CreationTime"])
            if job["LabelingJobStatus"] == request.get("StatusEquals", job["LabelingJobStatus"])
            and contains in job["LabelingJobName"].lower()
            and (after is None or job["CreationTime"].timestamp() > float(after))
        ]  # fmt: skip
        start = int(request.get("NextToken") or 0)
        end = start + int(request.get("MaxResults") or 10)
        response: dict[str, Any] = {
            "LabelingJobSummaryList": [_summary(job) for job in matching[start:end]]
        }
        if end < len(matching):
            response["NextToken"] = str(end)
        validate_parameters(response, self._model.operation_model("ListLabelingJobs").output_shape)
        return response

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

        with answering(SageMakerResponse, self.OPERATIONS, self._answer):
            yield

    def _answer(self, operation: str) -> Callable[[Any], str]:
        def answer(response_self: Any) -> str:
            from moto.core.exceptions import JsonRESTError

            request = json.loads(response_self.body or "{}")
            self.calls.append(operation)
            if self._throttled(operation):
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
            response = self._registered(operation, request) or self._next(operation, request)
            if operation == "CreateLabelingJob":
                self.requests.append(request)
            return json.dumps(response, default=_epoch)

        return answer

    def _registered(self, operation: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The answer from the added jobs, if the request is about them."""
        if operation == "DescribeLabelingJob":
            return self._jobs.get(request.get("LabelingJobName", ""))
        if operation == "ListLabelingJobs" and self._jobs:
            return self._listed(request)
        return None

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


_SUMMARY_KEYS = ("LabelingJobName", "LabelingJobArn", "CreationTime", "LastModifiedTime",
                 "LabelingJobStatus", "LabelCounters", "InputConfig", "LabelingJobOutput")  # fmt: skip


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    """A LabelingJobSummary of a described job, as ListLabelingJobs lists it."""
    summary = {key: job[key] for key in _SUMMARY_KEYS if key in job}
    human = job.get("HumanTaskConfig") or {}
    summary["WorkteamArn"] = human.get("WorkteamArn", "")
    if human.get("PreHumanTaskLambdaArn"):
        summary["PreHumanTaskLambdaArn"] = human["PreHumanTaskLambdaArn"]
    summary.setdefault("LabelCounters", {})
    summary.setdefault("LastModifiedTime", job.get("CreationTime", datetime.now(UTC)))
    return summary


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {value!r}")
