"""Resolve handler: an EventBridge event -> a ConversionRequest, a Skip, or a refusal.

Labeling-job events name the job only in `resources[0]`; DescribeLabelingJob (stubbed) is the
source of truth for status and output. Manifest drops never call SageMaker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from workflow.errors import ResolveError, TransientAwsError

JOB = "demo-shapes"


def _describe(sample_objects: Any, **changes: Any) -> dict[str, Any]:
    """The sample job's DescribeLabelingJob answer with some fields changed (None removes)."""
    response: dict[str, Any] = sample_objects.describe_response()
    for name, value in changes.items():
        if value is None:
            response.pop(name, None)
        else:
            response[name] = value
    return response


# -- labeling-job events ---------------------------------------------------------------------


def test_job_name_comes_from_the_first_resource_and_everything_else_from_describe(
    resolve, sagemaker, sample_objects, bucket, job_event
) -> None:
    # Given SageMaker describes the completed sample job (asked for by the name in resources[0])
    sagemaker.describes(_describe(sample_objects))
    # When its completion event arrives
    decision = resolve(job_event(JOB))
    # Then the request points at DescribeLabelingJob's manifest, attribute and label config
    assert decision["action"] == "convert"
    assert decision["source"] == "labeling-job"
    assert decision["job_name"] == decision["dataset_name"] == JOB
    assert decision["manifest_uri"] == bucket.uri(sample_objects.manifest_key)
    assert decision["label_attribute"] == "shapes"
    assert decision["label_config_uri"] == bucket.uri(sample_objects.config_key)
    assert decision["job_status"] == "Completed"
    assert decision["label_counters"]["TotalLabeled"] == len(sample_objects.truth)


def test_job_matching_the_name_prefix_is_converted(
    resolve, sagemaker, sample_objects, monkeypatch, job_event
) -> None:
    # Given the stack converts only jobs named demo-*
    monkeypatch.setenv("JOB_NAME_PREFIX", "demo-")
    sagemaker.describes(_describe(sample_objects))
    # When demo-shapes completes
    decision = resolve(job_event(JOB))
    # Then it is converted
    assert decision["action"] == "convert"
    assert decision["job_name"] == JOB


def test_job_lacking_the_name_prefix_is_skipped_without_asking_sagemaker(
    resolve, sagemaker, monkeypatch, job_event
) -> None:
    # Given the stack converts only jobs named prod-* (and SageMaker has no answer queued)
    monkeypatch.setenv("JOB_NAME_PREFIX", "prod-")
    # When demo-shapes completes
    decision = resolve(job_event(JOB))
    # Then it is skipped, naming the job and the prefix; a DescribeLabelingJob call would fail
    assert decision["action"] == "skip"
    assert decision["job_name"] == JOB
    assert "prod-" in decision["reason"]


@pytest.mark.parametrize("status", ["InProgress", "Failed", "Stopping", "Stopped"])
def test_describe_status_other_than_completed_is_skipped(
    resolve, sagemaker, sample_objects, status, job_event
) -> None:
    # Given the event says Completed but DescribeLabelingJob (the source of truth) does not
    sagemaker.describes(_describe(sample_objects, LabelingJobStatus=status))
    # When the (stale or duplicate) event arrives
    decision = resolve(job_event(JOB))
    # Then nothing is converted
    assert decision == {"action": "skip", "reason": f"job status is {status}", "job_name": JOB}


def test_stopped_job_with_output_is_converted_when_stopped_jobs_are_enabled(
    resolve, sagemaker, sample_objects, bucket, monkeypatch, job_event
) -> None:
    # Given CONVERT_STOPPED_JOBS and a stopped job with a partial output manifest
    monkeypatch.setenv("CONVERT_STOPPED_JOBS", "true")
    sagemaker.describes(_describe(sample_objects, LabelingJobStatus="Stopped"))
    # When its state-change event arrives
    decision = resolve(job_event(JOB, "Stopped"))
    # Then the partial manifest is converted and the request says the job stopped
    assert decision["action"] == "convert"
    assert decision["job_status"] == "Stopped"
    assert decision["manifest_uri"] == bucket.uri(sample_objects.manifest_key)


def test_stopped_job_without_output_is_skipped_even_when_stopped_jobs_are_enabled(
    resolve, sagemaker, sample_objects, monkeypatch, job_event
) -> None:
    # Given CONVERT_STOPPED_JOBS and a job stopped before any output existed
    monkeypatch.setenv("CONVERT_STOPPED_JOBS", "true")
    sagemaker.describes(
        _describe(sample_objects, LabelingJobStatus="Stopped", LabelingJobOutput=None)
    )
    # When its event arrives
    decision = resolve(job_event(JOB))
    # Then there is nothing to convert, and that is not an error
    assert decision["action"] == "skip"
    assert "no output manifest" in decision["reason"]


def test_completed_job_without_output_is_a_resolve_error(
    resolve, sagemaker, sample_objects, job_event
) -> None:
    # Given SageMaker says Completed yet has no LabelingJobOutput
    sagemaker.describes(_describe(sample_objects, LabelingJobOutput=None))
    # When the completion event arrives
    # Then the execution fails with ResolveError (someone must look), naming the job
    with pytest.raises(ResolveError, match=rf"{JOB} is Completed but has no LabelingJobOutput"):
        resolve(job_event(JOB))


def test_output_manifest_outside_the_bucket_is_refused_with_a_readable_message(
    resolve, sagemaker, sample_objects, job_event
) -> None:
    # Given the job wrote its output to another bucket
    elsewhere = "s3://someone-elses-bucket/groundtruth/demo-shapes/output.manifest"
    sagemaker.describes(
        _describe(sample_objects, LabelingJobOutput={"OutputDatasetS3Uri": elsewhere})
    )
    # When the completion event arrives
    with pytest.raises(ResolveError) as refused:
        resolve(job_event(JOB))
    # Then the message says what is outside, which bucket is read, and how to proceed
    message = str(refused.value)
    assert f"output manifest {elsewhere} is outside bucket gt2yolo-test-bucket" in message
    assert "copy it under s3://gt2yolo-test-bucket/" in message
    assert "manifests/" in message


def test_label_config_outside_the_bucket_is_refused(
    resolve, sagemaker, sample_objects, job_event
) -> None:
    # Given the job's label category config lives in another bucket
    sagemaker.describes(
        _describe(sample_objects, LabelCategoryConfigS3Uri="s3://other-bucket/config.json")
    )
    # When the completion event arrives / Then resolve refuses, naming the config
    with pytest.raises(ResolveError, match="label category config s3://other-bucket/"):
        resolve(job_event(JOB))


def test_sagemaker_throttling_raises_the_error_the_state_machine_retries(
    resolve, sagemaker, job_event
) -> None:
    # Given DescribeLabelingJob is throttled
    sagemaker.throttles(JOB)
    # When the completion event arrives
    with pytest.raises(TransientAwsError) as raised:
        resolve(job_event(JOB))
    # Then the Lambda errorType is TransientAwsError, carrying the AWS code
    assert type(raised.value).__name__ == "TransientAwsError"
    assert "ThrottlingException" in str(raised.value)


# -- manifest drops --------------------------------------------------------------------------


def test_dropped_manifest_is_named_after_its_key_under_manifests_with_subfolders_kept(
    resolve, sagemaker, bucket, drop_event
) -> None:
    # Given a manifest dropped into a subfolder of manifests/ (no sidecar)
    key = "manifests/team-a/cars-2026.manifest"
    bucket.put(key, "{}\n")
    # When its Object Created event arrives (SageMaker is never asked)
    decision = resolve(drop_event(key))
    # Then the dataset is named after the key relative to manifests/, without the suffix
    assert decision["action"] == "convert"
    assert decision["source"] == "manifest-drop"
    assert decision["dataset_name"] == decision["job_name"] == "team-a/cars-2026"
    assert decision["manifest_uri"] == bucket.uri(key)
    assert decision["label_attribute"] is None
    assert decision["label_config_uri"] is None
    assert decision["accepted_verdicts"] == ["good"]


def test_sidecar_json_supplies_label_attribute_and_label_config(
    resolve, bucket, drop_event
) -> None:
    # Given a manifest with a sidecar naming its attribute and label config
    key = "manifests/cars.manifest"
    bucket.put(key, "{}\n")
    sidecar = {"label_attribute": "vehicles", "label_config": bucket.uri("configs/cars.json")}
    bucket.put(key + ".json", json.dumps(sidecar))
    # When the manifest's event arrives
    decision = resolve(drop_event(key))
    # Then the request carries both
    assert decision["label_attribute"] == "vehicles"
    assert decision["label_config_uri"] == bucket.uri("configs/cars.json")


@pytest.mark.parametrize(
    ("sidecar", "complaint"),
    [("{label_attribute: vehicles", "is not JSON"), ('["vehicles"]', "must be a JSON object")],
    ids=["not-json", "not-an-object"],
)
def test_malformed_sidecar_is_a_resolve_error(
    resolve, bucket, sidecar, complaint, drop_event
) -> None:
    # Given a manifest whose sidecar is not a JSON object
    key = "manifests/cars.manifest"
    bucket.put(key, "{}\n")
    bucket.put(key + ".json", sidecar)
    # When the manifest's event arrives / Then resolve refuses, naming the sidecar
    with pytest.raises(ResolveError, match=complaint) as refused:
        resolve(drop_event(key))
    assert bucket.uri(key + ".json") in str(refused.value)


def test_sidecar_label_config_outside_the_bucket_is_refused(resolve, bucket, drop_event) -> None:
    # Given a sidecar pointing at another bucket's label config
    key = "manifests/cars.manifest"
    bucket.put(key, "{}\n")
    bucket.put(key + ".json", json.dumps({"label_config": "s3://other-bucket/cars.json"}))
    # When the manifest's event arrives / Then resolve refuses it
    with pytest.raises(ResolveError, match="outside bucket gt2yolo-test-bucket"):
        resolve(drop_event(key))


@pytest.mark.parametrize(
    "key",
    [
        "manifests/input/intake.manifest",
        "manifests/input/team-a/intake.manifest",
        "manifests/cars.manifest.json",
        "manifests/readme.txt",
        "manifests/.manifest",
        "images/cars.manifest",
    ],
)
def test_objects_that_are_not_manifests_to_convert_are_skipped(
    resolve, bucket, key, drop_event
) -> None:
    # Given an object that is an intake manifest, a sidecar, another file, or outside manifests/
    bucket.put(key, "{}\n")
    # When its Object Created event arrives
    decision = resolve(drop_event(key))
    # Then nothing is converted
    assert decision["action"] == "skip"
    assert key in decision["reason"]


def test_url_encoded_key_resolves_to_the_existing_object(resolve, bucket, drop_event) -> None:
    # Given an object named with a space, announced with its URL-encoded key
    bucket.put("manifests/my job.manifest", "{}\n")
    # When the event says my+job.manifest
    decision = resolve(drop_event("manifests/my+job.manifest"))
    # Then the request names the object that exists
    assert decision["manifest_uri"] == bucket.uri("manifests/my job.manifest")
    assert decision["dataset_name"] == "my job"


def test_key_with_a_literal_plus_is_kept_when_that_object_exists(
    resolve, bucket, drop_event
) -> None:
    # Given an object whose name really contains a plus (EventBridge does not encode keys)
    bucket.put("manifests/a+b.manifest", "{}\n")
    # When its event arrives
    decision = resolve(drop_event("manifests/a+b.manifest"))
    # Then the key is taken as is
    assert decision["manifest_uri"] == bucket.uri("manifests/a+b.manifest")
    assert decision["dataset_name"] == "a+b"


def test_object_event_for_another_bucket_is_a_resolve_error(
    resolve, bucket, job_event, drop_event
) -> None:
    # Given an Object Created event of a bucket this stack does not own
    event = drop_event("manifests/cars.manifest", bucket="someone-elses-bucket")
    # When it arrives / Then resolve refuses it
    with pytest.raises(ResolveError, match="another bucket"):
        resolve(event)


# -- malformed events ------------------------------------------------------------------------


def _without_detail(job_event, drop_event) -> dict[str, Any]:
    event: dict[str, Any] = job_event(JOB)
    del event["detail"]
    return event


def _without_status(job_event, drop_event) -> dict[str, Any]:
    event: dict[str, Any] = job_event(JOB)
    event["detail"] = {}
    return event


def _without_object(job_event, drop_event) -> dict[str, Any]:
    event: dict[str, Any] = drop_event("manifests/cars.manifest")
    del event["detail"]["object"]
    return event


def _unknown_detail_type(job_event, drop_event) -> dict[str, Any]:
    event: dict[str, Any] = job_event(JOB)
    event["detail-type"] = "SageMaker Training Job State Change"
    return event


@pytest.mark.parametrize(
    "make_event",
    [_without_detail, _without_status, _without_object, _unknown_detail_type],
    ids=["job-without-detail", "job-without-status", "drop-without-object", "unknown-type"],
)
def test_malformed_event_is_refused_by_the_parser_before_any_work(
    resolve, sagemaker, bucket, make_event, job_event, drop_event
) -> None:
    # Given an event that is neither a documented job state change nor an Object Created
    event = make_event(job_event, drop_event)
    # When it arrives
    # Then the parser model refuses it (SageMaker has no answer queued: none was asked for)
    with pytest.raises(ValidationError):
        resolve(event)


# -- live ticks (the live sweep's partial conversions of jobs in progress) ---------------------

INTERMEDIATE_KEY = f"groundtruth/{JOB}/manifests/intermediate/10/output.manifest"


def _tick(manifest_uri: str, job_name: str = JOB) -> dict[str, Any]:
    """What the live sweep starts the state machine with (workflow.live)."""
    return {
        "source": "gt2yolo.live",
        "detail-type": "Live Dataset Tick",
        "detail": {"job_name": job_name, "manifest_uri": manifest_uri, "iteration": 10,
                   "etag": "d41d8cd98f00b204e9800998ecf8427e"},
    }  # fmt: skip


def _running(sample_objects: Any, **changes: Any) -> dict[str, Any]:
    return _describe(sample_objects, LabelingJobStatus="InProgress", LabelingJobOutput=None,
                     **changes)  # fmt: skip


def test_a_live_tick_converts_the_intermediate_manifest_partially_under_the_final_datasets_name(
    resolve, sagemaker, sample_objects, bucket, job_event
) -> None:
    # Given a job in progress, then the same job completed
    sagemaker.describes(_running(sample_objects))
    sagemaker.describes(_describe(sample_objects))
    # When the live sweep's tick arrives, and later the completion event
    live = resolve(_tick(bucket.uri(INTERMEDIATE_KEY)))
    final = resolve(job_event(JOB))
    # Then the tick converts the intermediate manifest, marked partial, read as the job says
    assert live["action"] == "convert"
    assert live["partial"] is True
    assert live["manifest_uri"] == bucket.uri(INTERMEDIATE_KEY)
    assert live["job_status"] == "InProgress"
    assert (live["label_attribute"], live["label_config_uri"]) == (
        final["label_attribute"], final["label_config_uri"],
    )  # fmt: skip
    # into the dataset the final conversion replaces (so it can build on it), which is not partial
    assert (live["job_name"], live["dataset_name"]) == (final["job_name"], final["dataset_name"])
    assert final["partial"] is False


@pytest.mark.parametrize("status", ["Completed", "Stopping", "Stopped", "Failed"])
def test_a_live_tick_of_a_job_no_longer_in_progress_is_skipped(
    resolve, sagemaker, sample_objects, bucket, status
) -> None:
    # Given the job left InProgress between the sweep and this execution
    sagemaker.describes(_describe(sample_objects, LabelingJobStatus=status))
    # When the tick arrives
    decision = resolve(_tick(bucket.uri(INTERMEDIATE_KEY)))
    # Then nothing is converted: the job's state change converts its final manifest
    assert decision["action"] == "skip"
    assert decision["reason"].startswith(f"job status is {status}")


def test_a_live_tick_of_a_job_lacking_the_name_prefix_is_skipped_without_asking_sagemaker(
    resolve, sagemaker, bucket, monkeypatch
) -> None:
    monkeypatch.setenv("JOB_NAME_PREFIX", "prod-")
    decision = resolve(_tick(bucket.uri(INTERMEDIATE_KEY)))
    assert decision["action"] == "skip"
    assert "prod-" in decision["reason"]


@pytest.mark.parametrize(
    "key",
    [
        f"groundtruth/{JOB}/manifests/output/output.manifest",  # not an intermediate one
        f"groundtruth/{JOB}/manifests/intermediate/latest/output.manifest",  # no number
        f"groundtruth/{JOB}/manifests/intermediate/10/other.manifest",
        f"groundtruth/{JOB}-2/manifests/intermediate/10/output.manifest",  # another job's
        "manifests/dropped.manifest",
    ],
)
def test_a_live_tick_may_name_only_an_intermediate_manifest_of_its_own_job(
    resolve, sagemaker, sample_objects, bucket, key
) -> None:
    # Given the job is in progress
    sagemaker.describes(_running(sample_objects))
    # When a tick names another object
    # Then the execution fails: only the job's own intermediate manifests are converted live
    with pytest.raises(ResolveError, match="is not an intermediate manifest of job demo-shapes"):
        resolve(_tick(bucket.uri(key)))


def test_a_live_tick_without_its_manifest_is_refused_before_any_call(resolve, sagemaker) -> None:
    tick = _tick("s3://bucket/key")
    del tick["detail"]["manifest_uri"]
    with pytest.raises(ValidationError):
        resolve(tick)
