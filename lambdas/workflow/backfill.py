"""Backfill: have the deployed pipeline convert the labeling jobs that finished before it existed.

Run in the account by the Backfill state machine, one step at a time (so a run survives the
laptop that started it, and no step comes near Lambda's 15 minutes):

1. `list_jobs`: ListLabelingJobs, every page of every asked status (`CreationTimeAfter` for
   `--since`; `NameContains` is a substring filter, so the name prefixes are checked here too);
   the matching jobs go to the run's log, `backfill/<run id>.json`, in the bucket;
2. `backfill_batch`, until the log's jobs are done: per job, DescribeLabelingJob, then one
   outcome: started (the conversion state machine got the job's synthetic "Labeling Job State
   Change" event, the input the EventBridge rule gives, so Resolve treats it as a completion),
   already converted (its dataset is published, or an earlier backfill started it), or skipped
   with the reason (no output, unsupported task, output unreadable, stopped job). `--dry-run`
   classifies and starts nothing.

An execution's name is derived from the job name and its output manifest (`execution_name`):
Step Functions refuses a second execution of a name (for 90 days), so a job is started once
however often a backfill runs or a step is retried. A retried step may meet an execution it
started itself before failing: the event's `id` is the run id, so it still counts as started.

Throttling (SageMaker's, Step Functions' StartExecution rate) arrives as TransientAwsError from
the adapters (after botocore's own retries): retried here with backoff, and beyond that the
state machine retries the whole step, which redoes the batch from its offset.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any, Protocol, TypeVar

from gt2yolo.storage import ObjectStore, ReadDenied, SourceObjects
from gt2yolo.task_types import UnsupportedTask, task_of_pre_annotation_lambda
from gt2yolo.versions import POINTER
from pydantic import BaseModel, ConfigDict, Field, field_validator

from workflow.errors import TransientAwsError
from workflow.resolve import JOB_STATE_CHANGE, ResolveSettings
from workflow.sources import SourceBuckets

RUN_LOG_PREFIX = "backfill/"
STATUSES = ("Completed", "Stopped")  # the end states a job has output in
# Step Functions execution names: 1-80 characters; only A-Z a-z 0-9 - _ keep CloudWatch
# logging possible. A readable start of the job name, then a digest of what makes it unique.
EXECUTION_NAME_PREFIX = "bf-"
JOB_NAME_SHOWN = 40
DIGEST_CHARS = 32
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_-]")
# Jobs per step: each costs a few calls (describe, a dataset pointer, a 1-byte read, a start).
BATCH_SIZE = 25
PAGE_SIZE = 100  # ListLabelingJobs' MaxResults
# Our retries on top of botocore's: 0.5 s doubling, capped at 8 s (about 30 s in all).
RETRY_ATTEMPTS = 6
RETRY_BASE_SECONDS = 0.5
RETRY_MAX_SECONDS = 8.0

T = TypeVar("T")


class Outcome(StrEnum):
    STARTED = "started"
    WOULD_START = "would start"  # --dry-run
    ALREADY_CONVERTED = "already converted"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    NO_OUTPUT = "no output"
    UNSUPPORTED_TASK = "unsupported task"
    OUTPUT_UNREADABLE = "output unreadable"
    STOPPED_JOB = "stopped job"


# --- the ports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobPage:
    summaries: list[dict[str, Any]]  # LabelingJobSummary: name, status, CreationTime, ...
    next_token: str | None


class JobCatalog(Protocol):
    def page(
        self, status: str, name_contains: str, since: datetime | None, next_token: str | None
    ) -> JobPage: ...

    def describe(self, job_name: str) -> dict[str, Any]: ...


class Conversions(Protocol):
    def start(self, name: str, state_input: dict[str, Any]) -> bool:
        """Start an execution; False when one of that name exists already."""
        ...

    def event_id(self, name: str) -> str | None:
        """The `id` of the input of the execution of that name (None: no such execution)."""
        ...


# --- the run's request -------------------------------------------------------------------------


class BackfillRun(BaseModel):
    """What the CLI asks for (the Backfill state machine's input, passed to every step)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    statuses: tuple[str, ...] = ("Completed",)
    name_prefix: str = ""
    since: datetime | None = None
    dry_run: bool = False

    @field_validator("statuses")
    @classmethod
    def _ended_with_output(cls, statuses: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [status for status in statuses if status not in STATUSES]
        if unknown or not statuses:
            raise ValueError(
                f"statuses are {' or '.join(STATUSES)} (the jobs with output), "
                f"not {', '.join(unknown) or 'none'}"
            )
        return tuple(dict.fromkeys(statuses))

    @property
    def log_key(self) -> str:
        return f"{self.run_id}.json"

    def admits(self, summary: dict[str, Any], stack_prefix: str) -> bool:
        """Whether a listed job is one to backfill: both prefixes (NameContains matches anywhere
        in the name), and created after `since` (the service filters too: checked again so
        that a fake or a clock skew cannot widen the run)."""
        name = str(summary.get("LabelingJobName", ""))
        if not (name.startswith(self.name_prefix) and name.startswith(stack_prefix)):
            return False
        created = summary.get("CreationTime")
        return self.since is None or not isinstance(created, datetime) or created > self.since


@dataclass(frozen=True)
class BackfillSettings:
    resolve: ResolveSettings
    sources: SourceBuckets = field(default_factory=SourceBuckets)
    datasets_prefix: str = "datasets/"
    batch_size: int = BATCH_SIZE


# --- retries ---------------------------------------------------------------------------------


@dataclass
class Retrier:
    """Calls again on TransientAwsError, backing off; counts what it met (for the log)."""

    sleep: Callable[[float], None]
    attempts: int = RETRY_ATTEMPTS
    retries: int = 0

    def call(self, action: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            try:
                return action()
            except TransientAwsError:
                if attempt == self.attempts - 1:
                    raise  # the state machine retries the step, from its offset
                self.retries += 1
                self.sleep(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**attempt))
        raise AssertionError("unreachable")


# --- names and events ------------------------------------------------------------------------


def execution_name(job_name: str, manifest_uri: str) -> str:
    """The conversion execution of a job's output: the same job and output, the same name."""
    digest = hashlib.sha256(f"{job_name}\n{manifest_uri}".encode()).hexdigest()[:DIGEST_CHARS]
    shown = _NOT_IN_NAME.sub("-", job_name)[:JOB_NAME_SHOWN]
    return f"{EXECUTION_NAME_PREFIX}{shown}-{digest}"


def completion_event(job: dict[str, Any], run_id: str, now: datetime) -> dict[str, Any]:
    """The event EventBridge delivers when a job ends, as the rule passes it on; its `id` is the
    run id (EventBridge's is a UUID of the event)."""
    arn = str(job["LabelingJobArn"])
    parts = arn.split(":")  # arn:aws:sagemaker:<region>:<account>:labeling-job/<name>
    region, account = (parts[3], parts[4]) if len(parts) > 4 else ("", "")
    return {
        "version": "0",
        "id": run_id,
        "detail-type": JOB_STATE_CHANGE,
        "source": "aws.sagemaker",
        "account": account,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [arn],
        "detail": {"LabelingJobStatus": job.get("LabelingJobStatus", "")},
    }


# --- step 1: list ----------------------------------------------------------------------------


def list_jobs(
    run: BackfillRun, settings: BackfillSettings, catalog: JobCatalog, log: ObjectStore,
    retrier: Retrier,
) -> dict[str, Any]:  # fmt: skip
    """Every matching job of every asked status, into the run's log (in listing order)."""
    stack_prefix = settings.resolve.job_name_prefix
    # The longer prefix is the narrower substring filter; both are checked on every name.
    contains = max(run.name_prefix, stack_prefix, key=len)
    jobs: dict[str, dict[str, Any]] = {}
    pages = 0
    for status in run.statuses:
        token: str | None = None
        while True:
            page = retrier.call(partial(catalog.page, status, contains, run.since, token))
            pages += 1
            for summary in page.summaries:
                if run.admits(summary, stack_prefix):
                    jobs.setdefault(str(summary["LabelingJobName"]), _listed(summary))
            token = page.next_token
            if not token:
                break
    document = {
        "run": run.model_dump(mode="json"),
        "pages": pages,
        "total": len(jobs),
        "jobs": list(jobs.values()),
        "results": [],
        "retries": retrier.retries,
        "done": not jobs,
    }
    _write(log, run, document)
    return _step(run, 0, document)


def _listed(summary: dict[str, Any]) -> dict[str, Any]:
    created = summary.get("CreationTime")
    return {
        "job": str(summary["LabelingJobName"]),
        "status": str(summary.get("LabelingJobStatus", "")),
        "created": created.isoformat() if isinstance(created, datetime) else None,
    }


# --- step 2: one batch -----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchPorts:
    catalog: JobCatalog
    conversions: Conversions
    sources: SourceObjects  # the output manifests' first byte, the datasets' pointers
    log: ObjectStore
    retrier: Retrier
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def backfill_batch(
    run: BackfillRun, offset: int, settings: BackfillSettings, ports: BatchPorts
) -> dict[str, Any]:
    """The next `batch_size` jobs of the log from `offset`; their outcomes into the log."""
    document = _read(ports.log, run)
    batch = document["jobs"][offset : offset + settings.batch_size]
    # A retried step redoes its batch: what it wrote before is replaced, not appended again.
    results = document["results"][:offset]
    results += [backfill_job(job["job"], run, settings, ports).as_dict() for job in batch]
    document["results"] = results
    document["retries"] = int(document.get("retries", 0)) + ports.retrier.retries
    end = offset + len(batch)
    document["done"] = end >= len(document["jobs"])
    if document["done"]:
        document["counts"] = count_outcomes(results)
    _write(ports.log, run, document)
    return _step(run, end, document)


@dataclass(frozen=True)
class JobResult:
    job: str
    outcome: Outcome
    reason: str = ""
    execution: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "job": self.job,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "execution": self.execution,
        }


@dataclass(frozen=True)
class Planned:
    """A job to start: its execution name and the event it starts with."""

    name: str
    manifest_uri: str


def backfill_job(
    job_name: str, run: BackfillRun, settings: BackfillSettings, ports: BatchPorts
) -> JobResult:
    job = ports.retrier.call(lambda: ports.catalog.describe(job_name))
    decision = classify(job, settings, ports)
    if isinstance(decision, JobResult):
        return decision
    if run.dry_run:
        return JobResult(job_name, Outcome.WOULD_START, execution=decision.name)
    event = completion_event(job, run.run_id, ports.now())
    if ports.retrier.call(lambda: ports.conversions.start(decision.name, event)):
        return JobResult(job_name, Outcome.STARTED, execution=decision.name)
    started_by = ports.retrier.call(lambda: ports.conversions.event_id(decision.name))
    if started_by == run.run_id:  # this run, in an attempt of this step that then failed
        return JobResult(job_name, Outcome.STARTED, execution=decision.name)
    return JobResult(
        job_name,
        Outcome.ALREADY_CONVERTED,
        f"backfill {started_by} started it (execution {decision.name})",
        decision.name,
    )


def classify(
    job: dict[str, Any], settings: BackfillSettings, ports: BatchPorts
) -> JobResult | Planned:
    """What to do with a described job, cheapest checks first."""
    name = str(job["LabelingJobName"])
    refused = _refusal(job, settings)
    if refused is not None:
        return refused
    if _published(name, settings, ports):
        return JobResult(name, Outcome.ALREADY_CONVERTED, "its dataset is published")
    manifest_uri = str(job["LabelingJobOutput"]["OutputDatasetS3Uri"])
    problem = _unreadable(manifest_uri, settings, ports)
    if problem:
        return _skip(name, SkipReason.OUTPUT_UNREADABLE, problem)
    return Planned(execution_name(name, manifest_uri), manifest_uri)


def _refusal(job: dict[str, Any], settings: BackfillSettings) -> JobResult | None:
    """What the description alone says the stack will not convert (no S3 call)."""
    name = str(job["LabelingJobName"])
    status = str(job.get("LabelingJobStatus", ""))
    if status not in settings.resolve.statuses:
        return _skip(name, SkipReason.STOPPED_JOB,
                     f"the stack converts {status} jobs only with convertStoppedJobs=true")  # fmt: skip
    manifest_uri = str((job.get("LabelingJobOutput") or {}).get("OutputDatasetS3Uri") or "")
    if not manifest_uri:
        return _skip(name, SkipReason.NO_OUTPUT, "the job has no LabelingJobOutput")
    try:
        task_of_pre_annotation_lambda(
            (job.get("HumanTaskConfig") or {}).get("PreHumanTaskLambdaArn")
        )
    except UnsupportedTask as unsupported:
        return _skip(name, SkipReason.UNSUPPORTED_TASK, str(unsupported))
    config_uri = str(job.get("LabelCategoryConfigS3Uri") or "")
    for what, uri in (("output manifest", manifest_uri), ("label config", config_uri)):
        problem = settings.sources.problem(uri, settings.resolve.bucket, what) if uri else None
        if problem:
            return _skip(name, SkipReason.OUTPUT_UNREADABLE, problem)
    return None


def _skip(name: str, reason: SkipReason, detail: str) -> JobResult:
    return JobResult(name, Outcome.SKIPPED, f"{reason}: {detail}")


def _published(job_name: str, settings: BackfillSettings, ports: BatchPorts) -> bool:
    """Whether the job's dataset has a current, final version (its completion event converted
    it before the backfill; a live, partial dataset is not final)."""
    uri = f"s3://{settings.resolve.bucket}/{settings.datasets_prefix}{job_name}/{POINTER}"
    try:
        pointer = json.loads(ports.retrier.call(lambda: ports.sources.read(uri)))
    except FileNotFoundError:
        return False
    except ValueError:
        return True  # a pointer we cannot read is still a dataset we must not overwrite blindly
    return not (isinstance(pointer, dict) and pointer.get("partial"))


def _unreadable(manifest_uri: str, settings: BackfillSettings, ports: BatchPorts) -> str | None:
    """Why the stack cannot read the output manifest (one byte of it), or None."""
    try:
        ports.retrier.call(lambda: ports.sources.read(manifest_uri, max_bytes=1))
    except ReadDenied as denied:
        return settings.sources.denied(denied)
    except FileNotFoundError:
        return f"{manifest_uri} is missing or empty"
    return None


# --- the log ---------------------------------------------------------------------------------


def count_outcomes(results: Iterable[dict[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    return counts


def _step(run: BackfillRun, offset: int, document: dict[str, Any]) -> dict[str, Any]:
    """What the state machine passes to the next step (the jobs stay in the log: 256 KB)."""
    return {
        "run": run.model_dump(mode="json"),
        "offset": offset,
        "total": document["total"],
        "done": document["done"],
    }


def _write(log: ObjectStore, run: BackfillRun, document: dict[str, Any]) -> None:
    log.write_bytes(run.log_key, json.dumps(document, indent=1).encode())


def _read(log: ObjectStore, run: BackfillRun) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(log.read_bytes(run.log_key))
    return document
