"""Resolve with collections: a member's completion converts into its collection's dataset."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from gt2yolo.collection import parse_collections
from gt2yolo.memory_store import MemoryObjects
from workflow.errors import ResolveError
from workflow.models import ConversionRequest, Skip
from workflow.resolve import (
    JOB_STATE_CHANGE,
    LIVE_TICK,
    OBJECT_CREATED,
    ResolveSettings,
    resolve_event,
)
from workflow_fakes import BUCKET, Jobs, Reader

PARTS = {"name": "parts", "jobs": ["parts-batch-*"], "manifests": ["manifests/parts/*.manifest"]}
SETTINGS = ResolveSettings(BUCKET, collections=parse_collections([PARTS]))
DONE = datetime(2024, 6, 2, 17, 30, tzinfo=UTC)


def _job(name: str, status: str = "Completed") -> dict:
    return {"LabelingJobName": name, "LabelingJobStatus": status, "LastModifiedTime": DONE,
            "LabelingJobOutput": {"OutputDatasetS3Uri": f"s3://{BUCKET}/groundtruth/{name}.m"},
            "LabelAttributeName": name,
            "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/groundtruth/"}}  # fmt: skip


def _state_change(name: str) -> dict:
    return {"detail-type": JOB_STATE_CHANGE, "time": "2024-06-02T18:00:00Z",
            "resources": [f"arn:aws:sagemaker:eu-west-1:1:labeling-job/{name}"]}  # fmt: skip


def test_a_member_job_converts_into_its_collection_ordered_by_its_completion_time() -> None:
    jobs = Jobs({"parts-batch-2": _job("parts-batch-2")})
    decision = resolve_event(
        _state_change("parts-batch-2"), SETTINGS, jobs, Reader(MemoryObjects())
    )
    assert isinstance(decision, ConversionRequest)
    assert decision.dataset_name == "parts" and decision.job_name == "parts-batch-2"
    assert decision.collection == PARTS | {"onOverlap": "latest", "classes": []}
    # DescribeLabelingJob's time, not the event's: a backfill or a repeated event says the same
    assert decision.completed_at == DONE.isoformat()


def test_a_job_in_no_collection_is_its_own_dataset() -> None:
    jobs = Jobs({"pets": _job("pets")})
    decision = resolve_event(_state_change("pets"), SETTINGS, jobs, Reader(MemoryObjects()))
    assert isinstance(decision, ConversionRequest)
    assert decision.dataset_name == "pets" and decision.collection is None


def test_a_manifest_dropped_under_a_collection_pattern_is_a_member_completed_when_it_landed() -> (
    None
):
    objects = MemoryObjects()
    objects.put(f"s3://{BUCKET}/manifests/parts/batch-7.manifest", "{}\n")
    event = {"detail-type": OBJECT_CREATED, "time": "2025-01-05T09:00:00Z",
             "detail": {"bucket": {"name": BUCKET},
                        "object": {"key": "manifests/parts/batch-7.manifest"}}}  # fmt: skip
    decision = resolve_event(event, SETTINGS, Jobs(), Reader(objects))
    assert isinstance(decision, ConversionRequest)
    assert decision.dataset_name == "parts" and decision.source == "manifest-drop"
    assert decision.completed_at == "2025-01-05T09:00:00+00:00"


def test_a_job_two_collections_claim_is_a_clear_error_naming_both() -> None:
    both = parse_collections([PARTS, {"name": "bolts", "jobs": ["parts-*"]}])
    jobs = Jobs({"parts-batch-2": _job("parts-batch-2")})
    with pytest.raises(ResolveError, match="'parts' and 'bolts'"):
        resolve_event(
            _state_change("parts-batch-2"), replace(SETTINGS, collections=both), jobs,
            Reader(MemoryObjects()),
        )  # fmt: skip


def test_a_member_job_in_progress_gets_no_live_dataset() -> None:
    jobs = Jobs({"parts-batch-3": _job("parts-batch-3", "InProgress")})
    tick = {"detail-type": LIVE_TICK, "detail": {"job_name": "parts-batch-3", "manifest_uri":
            f"s3://{BUCKET}/groundtruth/parts-batch-3/manifests/intermediate/1/output.manifest"}}  # fmt: skip
    decision = resolve_event(tick, SETTINGS, jobs, Reader(MemoryObjects()))
    assert isinstance(decision, Skip) and "collection" in decision.reason
