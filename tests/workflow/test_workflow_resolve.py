"""Resolve on fakes: what DescribeLabelingJob and the bucket say decides, never the event."""

from __future__ import annotations

import pytest
from gt2yolo.memory_store import MemoryObjects
from workflow.errors import ResolveError
from workflow.models import ConversionRequest, Skip
from workflow.resolve import JOB_STATE_CHANGE, OBJECT_CREATED, ResolveSettings, resolve_event
from workflow.sources import SourceBuckets
from workflow_fakes import BUCKET, Jobs, Reader

SETTINGS = ResolveSettings(BUCKET, job_name_prefix="gt-")


def _job(
    status: str = "Completed", manifest: str = f"s3://{BUCKET}/groundtruth/out.manifest"
) -> dict:
    return {"LabelingJobName": "gt-pets", "LabelingJobStatus": status,
            "LabelingJobOutput": {"OutputDatasetS3Uri": manifest}, "LabelAttributeName": "boxes"}  # fmt: skip


def _state_change(name: str = "gt-pets") -> dict:
    return {"detail-type": JOB_STATE_CHANGE,
            "resources": [f"arn:aws:sagemaker:eu-west-1:1:labeling-job/{name}"]}  # fmt: skip


def _drop(key: str) -> dict:
    return {
        "detail-type": OBJECT_CREATED,
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": key}},
    }


def test_a_completed_job_converts_its_output_manifest() -> None:
    jobs = Jobs({"gt-pets": _job()})
    decision = resolve_event(_state_change(), SETTINGS, jobs, Reader(MemoryObjects()))
    assert isinstance(decision, ConversionRequest)
    assert decision.manifest_uri.endswith("out.manifest") and decision.label_attribute == "boxes"


def test_a_job_still_in_progress_or_not_ours_is_skipped_and_only_ours_is_described() -> None:
    jobs = Jobs({"gt-pets": _job("InProgress")})
    assert isinstance(resolve_event(_state_change(), SETTINGS, jobs, Reader(MemoryObjects())), Skip)
    other = resolve_event(_state_change("theirs"), SETTINGS, jobs, Reader(MemoryObjects()))
    assert isinstance(other, Skip) and jobs.asked == ["gt-pets"]


def test_an_output_manifest_outside_the_bucket_is_refused() -> None:
    jobs = Jobs({"gt-pets": _job(manifest="s3://elsewhere/out.manifest")})
    with pytest.raises(ResolveError, match="outside bucket"):
        resolve_event(_state_change(), SETTINGS, jobs, Reader(MemoryObjects()))


def test_a_dropped_manifest_reads_its_sidecar() -> None:
    objects = MemoryObjects()
    objects.put(f"s3://{BUCKET}/manifests/cats.manifest", "{}\n")
    objects.put(f"s3://{BUCKET}/manifests/cats.manifest.json", '{"label_attribute": "pets"}')
    decision = resolve_event(_drop("manifests/cats.manifest"), SETTINGS, Jobs(), Reader(objects))
    assert isinstance(decision, ConversionRequest)
    assert decision.dataset_name == "cats" and decision.label_attribute == "pets"


def test_a_url_encoded_key_is_decoded_when_only_the_decoded_one_exists() -> None:
    objects = MemoryObjects()
    objects.put(f"s3://{BUCKET}/manifests/my cats.manifest", "{}\n")
    decision = resolve_event(_drop("manifests/my+cats.manifest"), SETTINGS, Jobs(), Reader(objects))
    assert isinstance(decision, ConversionRequest) and decision.dataset_name == "my cats"


def test_a_sidecar_nested_too_deeply_is_refused_as_not_json_not_a_traceback() -> None:
    objects = MemoryObjects()
    deep = '{"label_attribute": ' + "[" * 100_000 + "]" * 100_000 + "}"
    objects.put(f"s3://{BUCKET}/manifests/cats.manifest.json", deep)
    with pytest.raises(ResolveError, match="is not JSON: nested deeper than 256 levels"):
        resolve_event(_drop("manifests/cats.manifest"), SETTINGS, Jobs(), Reader(objects))


def test_a_sidecar_that_is_not_json_is_refused_and_other_keys_are_skipped() -> None:
    objects = MemoryObjects()
    objects.put(f"s3://{BUCKET}/manifests/cats.manifest.json", "{nope")
    with pytest.raises(ResolveError, match="is not JSON"):
        resolve_event(_drop("manifests/cats.manifest"), SETTINGS, Jobs(), Reader(objects))
    skipped = resolve_event(_drop("manifests/input/x.manifest"), SETTINGS, Jobs(), Reader(objects))
    assert isinstance(skipped, Skip)


def test_an_output_manifest_and_label_config_in_a_source_bucket_convert() -> None:
    sources = SourceBuckets(("team-labels/jobs/",))
    settings = ResolveSettings(BUCKET, job_name_prefix="gt-", sources=sources)
    job = _job(manifest="s3://team-labels/jobs/gt-pets/manifests/output/output.manifest")
    job["LabelCategoryConfigS3Uri"] = "s3://team-labels/jobs/gt-pets/data.json"
    decision = resolve_event(
        _state_change(), settings, Jobs({"gt-pets": job}), Reader(MemoryObjects())
    )
    assert isinstance(decision, ConversionRequest)
    assert decision.manifest_uri.startswith("s3://team-labels/jobs/")


def test_an_output_outside_the_source_prefix_is_refused_naming_the_option_to_set() -> None:
    settings = ResolveSettings(BUCKET, sources=SourceBuckets(("team-labels/jobs/",)))
    job = _job(manifest="s3://team-labels/other/out.manifest")
    with pytest.raises(ResolveError) as refused:
        resolve_event(_state_change(), settings, Jobs({"gt-pets": job}), Reader(MemoryObjects()))
    assert "`-c sourceBuckets=team-labels/jobs/,team-labels`" in str(refused.value)
