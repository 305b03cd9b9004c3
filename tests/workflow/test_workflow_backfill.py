"""The backfill on fakes: which past jobs it lists, what it does with each, and that a job is
started once, whatever throttles, retries and reruns."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from gt2yolo.memory_store import MemoryObjects
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from workflow.backfill import (
    BackfillRun,
    BackfillSettings,
    BatchPorts,
    Retrier,
    backfill_batch,
    execution_name,
    list_jobs,
)
from workflow.errors import TransientAwsError
from workflow.resolve import JOB_STATE_CHANGE, ResolveSettings
from workflow.sources import SourceBuckets
from workflow_fakes import BUCKET, Catalog, Conversions

TEAM_BUCKET = "team-labels"
PARTNER_BUCKET = "partner-labels"  # of another account, whose policy does not let us in
SETTINGS = BackfillSettings(
    ResolveSettings(BUCKET, job_name_prefix="gt-"),
    sources=SourceBuckets((f"{TEAM_BUCKET}/jobs/", PARTNER_BUCKET)),
    batch_size=4,
)
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
BOXES = "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox"
TEXT = "arn:aws:lambda:us-east-1:432418664414:function:PRE-TextMultiClass"


def _job(name: str, *, status: str = "Completed", day: int = 1, output: str | None = None,
         pre: str = BOXES) -> dict[str, Any]:  # fmt: skip
    manifest = output or f"s3://{BUCKET}/groundtruth/{name}/manifests/output/output.manifest"
    return {
        "LabelingJobName": name,
        "LabelingJobArn": f"arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/{name}",
        "LabelingJobStatus": status,
        "CreationTime": datetime(2025, 1, day, tzinfo=UTC),
        "LabelingJobOutput": {"OutputDatasetS3Uri": manifest},
        "HumanTaskConfig": {"PreHumanTaskLambdaArn": pre},
    }


def _with_outputs(catalog: Catalog) -> MemoryObjects:
    """Every job's output manifest, where its description says it is."""
    objects = MemoryObjects()
    for job in catalog.jobs.values():
        uri = (job.get("LabelingJobOutput") or {}).get("OutputDatasetS3Uri")
        if uri:
            objects.put(uri, '{"source-ref": "s3://x/a.jpg"}\n')
    return objects


class Backfill:
    """One account's jobs, objects and executions, backfilled run after run."""

    def __init__(self, catalog: Catalog, objects: MemoryObjects | None = None) -> None:
        self.catalog = catalog
        self.objects = objects if objects is not None else _with_outputs(catalog)
        self.conversions = Conversions()
        self.sleeps: list[float] = []
        self.log = self.objects.at(f"s3://{BUCKET}/backfill/")

    def ports(self) -> BatchPorts:
        from gt2yolo.memory_store import MemorySources

        return BatchPorts(self.catalog, self.conversions, MemorySources(self.objects), self.log,
                          Retrier(self.sleeps.append), now=lambda: datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip

    def run(self, run: BackfillRun, settings: BackfillSettings = SETTINGS) -> dict[str, Any]:
        """The state machine's loop: list, then batches until done; the run's log."""
        step = list_jobs(run, settings, self.catalog, self.log, Retrier(self.sleeps.append))
        while not step["done"]:
            step = backfill_batch(run, step["offset"], settings, self.ports())
        log: dict[str, Any] = json.loads(self.log.read_bytes(run.log_key))
        return log

    def outcomes(self, run: BackfillRun) -> dict[str, str]:
        log = self.run(run)
        return {r["job"]: f"{r['outcome']}: {r['reason']}".rstrip(": ") for r in log["results"]}


def _run(run_id: str = "run-1", **filters: Any) -> BackfillRun:
    return BackfillRun(run_id=run_id, **filters)


# --- listing -----------------------------------------------------------------------------------


def test_every_page_of_every_asked_status_is_listed() -> None:
    jobs = {f"gt-{n:02}": _job(f"gt-{n:02}") for n in range(7)}
    jobs |= {f"gt-s{n}": _job(f"gt-s{n}", status="Stopped") for n in range(4)}
    catalog = Catalog(jobs, page_size=3)
    log = Backfill(catalog).run(_run(statuses=("Completed", "Stopped")))
    assert [job["job"] for job in log["jobs"]] == sorted(jobs)
    assert [page["status"] for page in catalog.pages] == ["Completed"] * 3 + ["Stopped"] * 2


def test_name_contains_matches_anywhere_so_the_prefixes_are_checked_on_every_name() -> None:
    names = ["gt-parts-1", "gt-parts-2", "old-gt-parts-3", "gt-tools-1", "gt-old-parts"]
    catalog = Catalog({name: _job(name) for name in names})
    log = Backfill(catalog).run(_run(name_prefix="gt-parts-"))
    assert [job["job"] for job in log["jobs"]] == ["gt-parts-1", "gt-parts-2"]
    assert {page["contains"] for page in catalog.pages} == {"gt-parts-"}


def test_jobs_outside_the_stacks_job_name_prefix_are_not_listed() -> None:
    catalog = Catalog({name: _job(name) for name in ["gt-a", "theirs", "x-gt-b"]})
    log = Backfill(catalog).run(_run())
    assert [job["job"] for job in log["jobs"]] == ["gt-a"]
    assert {page["contains"] for page in catalog.pages} == {"gt-"}


def test_since_lists_only_jobs_created_after_the_date() -> None:
    catalog = Catalog({f"gt-{day}": _job(f"gt-{day}", day=day) for day in (1, 10, 20)})
    since = datetime(2025, 1, 10, tzinfo=UTC)
    log = Backfill(catalog).run(_run(since=since))
    assert [job["job"] for job in log["jobs"]] == ["gt-20"]
    assert {page["since"] for page in catalog.pages} == {since}


@pytest.mark.parametrize("statuses", [(), ("InProgress",), ("Completed", "Failed")])
def test_a_status_without_output_is_refused_before_anything_is_listed(
    statuses: tuple[str, ...],
) -> None:
    with pytest.raises(ValidationError, match="statuses are Completed or Stopped"):
        _run(statuses=statuses)


# --- what happens to each job -------------------------------------------------------------------


def _account() -> Backfill:
    jobs = {
        "gt-new": _job("gt-new"),
        "gt-team": _job("gt-team", output=f"s3://{TEAM_BUCKET}/jobs/gt-team/output.manifest"),
        "gt-converted": _job("gt-converted"),
        "gt-live": _job("gt-live"),
        "gt-text": _job("gt-text", pre=TEXT),
        "gt-elsewhere": _job("gt-elsewhere", output="s3://someone-else/out.manifest"),
        "gt-refused": _job("gt-refused", output=f"s3://{PARTNER_BUCKET}/gt-refused/o.manifest"),
        "gt-gone": _job("gt-gone"),
        "gt-empty": _job("gt-empty"),
        "gt-stopped": _job("gt-stopped", status="Stopped"),
    }
    jobs["gt-empty"].pop("LabelingJobOutput")
    account = Backfill(Catalog(jobs))
    put = account.objects.put
    put(f"s3://{BUCKET}/datasets/gt-converted/current.json", '{"current": "v1"}')
    put(f"s3://{BUCKET}/datasets/gt-live/current.json", '{"current": "v1", "partial": true}')
    account.objects.bucket(BUCKET).pop("groundtruth/gt-gone/manifests/output/output.manifest")
    account.objects.denied.add(PARTNER_BUCKET)
    return account


def test_each_job_is_started_already_converted_or_skipped_with_its_reason() -> None:
    account = _account()
    outcomes = account.outcomes(_run(statuses=("Completed", "Stopped")))
    assert outcomes["gt-new"] == "started"
    assert outcomes["gt-team"] == "started"  # its output lies in a sourceBuckets bucket
    assert outcomes["gt-live"] == "started"  # a partial (live) dataset is not the final one
    assert outcomes["gt-converted"] == "already converted: its dataset is published"
    assert outcomes["gt-text"].startswith(
        "skipped: unsupported task: labeling job task PRE-TextMultiClass is not an image task"
    )
    assert outcomes["gt-elsewhere"].startswith(
        "skipped: output unreadable: output manifest s3://someone-else/out.manifest is outside "
        f"bucket {BUCKET}"
    )
    assert (
        f"`-c sourceBuckets={TEAM_BUCKET}/jobs/,{PARTNER_BUCKET},someone-else`"
        in outcomes["gt-elsewhere"]
    )
    assert outcomes["gt-refused"].startswith(
        f"skipped: output unreadable: S3 refused GetObject of s3://{PARTNER_BUCKET}/gt-refused/"
    )
    assert "the stack output SourceBucketPolicy2" in outcomes["gt-refused"]
    assert outcomes["gt-gone"].startswith("skipped: output unreadable: s3://")
    assert outcomes["gt-empty"] == "skipped: no output: the job has no LabelingJobOutput"
    assert outcomes["gt-stopped"] == (
        "skipped: stopped job: the stack converts Stopped jobs only with convertStoppedJobs=true"
    )
    assert sorted(account.conversions.started) == sorted(
        execution_name(job, account.catalog.jobs[job]["LabelingJobOutput"]["OutputDatasetS3Uri"])
        for job in ("gt-new", "gt-team", "gt-live")
    )


def test_the_conversion_starts_with_the_event_the_completion_rule_gives() -> None:
    account = Backfill(Catalog({"gt-new": _job("gt-new")}))
    account.run(_run("run-7"))
    [event] = account.conversions.started.values()
    assert event == {
        "version": "0", "id": "run-7", "detail-type": JOB_STATE_CHANGE, "source": "aws.sagemaker",
        "account": "111122223333", "time": "2026-12-01T00:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/gt-new"],
        "detail": {"LabelingJobStatus": "Completed"},
    }  # fmt: skip


def test_the_log_counts_the_outcomes_when_the_run_is_done() -> None:
    log = _account().run(_run(statuses=("Completed", "Stopped")))
    assert log["done"] is True and log["total"] == 10
    assert log["counts"] == {"started": 3, "already converted": 1, "skipped": 6}


def test_a_dry_run_classifies_every_job_and_starts_nothing() -> None:
    account = _account()
    outcomes = account.outcomes(_run(dry_run=True))
    assert account.conversions.started == {}
    assert [job for job, said in outcomes.items() if said == "would start"] == [
        "gt-live", "gt-new", "gt-team"
    ]  # fmt: skip


# --- reruns, retries, throttling ----------------------------------------------------------------


def test_a_second_backfill_starts_nothing_and_says_the_jobs_are_already_converted() -> None:
    account = _account()
    account.run(_run("first"))
    started = dict(account.conversions.started)
    outcomes = account.outcomes(_run("second"))
    assert account.conversions.started == started
    for job in ("gt-new", "gt-team", "gt-live"):
        assert outcomes[job].startswith("already converted: backfill first started it")


def test_a_retried_batch_counts_the_jobs_it_started_before_failing_as_started() -> None:
    account = Backfill(Catalog({f"gt-{n}": _job(f"gt-{n}") for n in range(3)}))
    run = _run("run-1")
    list_jobs(run, SETTINGS, account.catalog, account.log, Retrier(account.sleeps.append))
    account.conversions.throttle = lambda call: call >= 3  # the third start fails for good
    with pytest.raises(TransientAwsError):
        backfill_batch(run, 0, SETTINGS, account.ports())
    account.conversions.throttle = lambda _call: False
    backfill_batch(run, 0, SETTINGS, account.ports())  # the state machine's retry of the step
    log = json.loads(account.log.read_bytes(run.log_key))
    assert [r["outcome"] for r in log["results"]] == ["started"] * 3
    assert len(account.conversions.started) == 3


def test_throttled_calls_are_retried_with_backoff_and_every_job_starts_exactly_once() -> None:
    jobs = {f"gt-{n:03}": _job(f"gt-{n:03}") for n in range(30)}
    catalog = Catalog(jobs, page_size=7, throttle=lambda call: call % 3 == 0)
    account = Backfill(catalog)
    account.conversions.throttle = lambda call: call % 2 == 0
    log = account.run(_run())
    assert log["counts"] == {"started": 30}
    assert len(account.conversions.started) == 30
    assert catalog.throttled > 0 and account.conversions.throttled > 0
    assert log["retries"] == catalog.throttled + account.conversions.throttled
    assert set(account.sleeps) == {0.5}  # never twice in a row here: the first back-off


def test_back_off_doubles_up_to_its_cap_then_the_step_fails_for_the_state_machine() -> None:
    sleeps: list[float] = []

    def throttled() -> None:
        raise TransientAwsError("ThrottlingException")

    with pytest.raises(TransientAwsError):
        Retrier(sleeps.append, attempts=7).call(throttled)
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


# --- execution names ----------------------------------------------------------------------------

JOB_NAMES = st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", fullmatch=True)
MANIFESTS = st.builds(
    lambda bucket, key: f"s3://{bucket}/{key}",
    st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True),
    st.text(min_size=1, max_size=200),
)


@given(JOB_NAMES, MANIFESTS)
def test_an_execution_name_is_valid_for_step_functions_and_the_same_every_time(
    job: str, manifest: str
) -> None:
    name = execution_name(job, manifest)
    assert EXECUTION_NAME.fullmatch(name)
    assert name == execution_name(job, manifest)
    assert name.startswith(f"bf-{job[:40]}-")


@given(JOB_NAMES, MANIFESTS, JOB_NAMES, MANIFESTS)
def test_distinct_jobs_or_outputs_get_distinct_execution_names(
    job: str, manifest: str, other_job: str, other_manifest: str
) -> None:
    if (job, manifest) != (other_job, other_manifest):
        assert execution_name(job, manifest) != execution_name(other_job, other_manifest)
