"""The live sweep on fakes: one execution per new intermediate manifest of a watched job."""

from __future__ import annotations

from gt2yolo.memory_store import MemoryObjects
from workflow.live import LiveSettings, sweep
from workflow.resolve import ResolveSettings
from workflow_fakes import BUCKET, Executions, Jobs, Listing

SETTINGS = LiveSettings(ResolveSettings(BUCKET, job_name_prefix="gt-"))
FOLDER = f"s3://{BUCKET}/groundtruth/"


def _jobs(*names: str, output: str = FOLDER) -> Jobs:
    return Jobs({n: {"LabelingJobName": n, "LabelingJobStatus": "InProgress",
                     "OutputConfig": {"S3OutputPath": output}} for n in names})  # fmt: skip


def _intermediate(objects: MemoryObjects, job: str, iteration: int) -> None:
    key = f"groundtruth/{job}/manifests/intermediate/{iteration}/output.manifest"
    objects.put(f"s3://{BUCKET}/{key}", f"{iteration}\n")


def test_the_newest_intermediate_manifest_starts_one_execution_once() -> None:
    objects, executions = MemoryObjects(), Executions()
    for iteration in (1, 9, 10):
        _intermediate(objects, "gt-pets", iteration)
    first = sweep(SETTINGS, _jobs("gt-pets"), Listing(objects), executions)
    assert first.started == ["gt-pets"]
    [state] = executions.started.values()
    assert state["detail"]["iteration"] == 10
    assert state["detail"]["manifest_uri"].endswith("intermediate/10/output.manifest")
    again = sweep(SETTINGS, _jobs("gt-pets"), Listing(objects), executions)
    assert again.already_converted == ["gt-pets"] and len(executions.started) == 1


def test_jobs_not_watched_or_writing_elsewhere_or_without_manifests_start_nothing() -> None:
    objects, executions = MemoryObjects(), Executions()
    summary = sweep(SETTINGS, _jobs("theirs", "gt-empty"), Listing(objects), executions)
    assert summary.not_ours == ["theirs"] and summary.no_intermediate_manifest == ["gt-empty"]
    elsewhere = sweep(SETTINGS, _jobs("gt-x", output="s3://other/"), Listing(objects), executions)
    assert elsewhere.not_ours == ["gt-x"] and executions.started == {}
