"""Convert handler: a ConversionRequest -> dataset files under `datasets/<name>/`, not yet published.

Idempotent by fingerprint, one conversion per dataset at a time (`_LOCK`), and a different input
replaces the whole earlier dataset.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from gt2yolo.errors import ConversionError
from gt2yolo_aws.s3 import S3Storage
from pydantic import ValidationError
from workflow import dataset_lock
from workflow.errors import ConversionInProgress

PREFIX = "datasets/demo-shapes/"
LOCK = PREFIX + "_LOCK"


def _label_files(bucket: Any, version: str | None = None) -> set[str]:
    """A version's label files relative to the split folder: labels/train/site-a/x.txt ->
    site-a/x.txt."""
    files = bucket.dataset(PREFIX, version)
    return {key.split("/", 2)[2] for key in files if key.startswith("labels/")}


def test_dataset_is_written_as_a_new_version_that_is_not_current_yet(
    convert, conversion_request, bucket
) -> None:
    # Given the sample job's request
    inputs = bucket.keys()
    # When convert runs
    outcome = convert(conversion_request)
    # Then a version of the YOLO dataset is under datasets/<name>/, but not current: publish
    # flips the pointer and marks it
    assert outcome["dataset_uri"] == bucket.uri(PREFIX)
    version = outcome["version"]
    keys = bucket.keys(PREFIX)
    for name in ("data.yaml", "classes.txt", "train.txt", "val.txt", "report.json"):
        assert f"{PREFIX}versions/{version}/{name}" in keys
    assert any(key.startswith(f"{PREFIX}files/{version}/labels/train/") for key in keys)
    assert any(key.startswith(f"{PREFIX}files/{version}/images/train/") for key in keys)
    assert f"{PREFIX}{version}.yaml" in keys
    for name in ("_SUCCESS", "current.json", "data.yaml"):
        assert PREFIX + name not in keys
    assert bucket.keys() - inputs == keys  # nothing written anywhere else
    assert (outcome["previous_version"], outcome["files_reused"]) == (None, 0)
    assert outcome["files_written"] == 2 * outcome["summary"]["images"]  # a label, an image


def test_summary_counts_what_the_manifest_holds(convert, conversion_request, sample_job) -> None:
    # Given the sample job: known images and boxes, one failed and one never-labeled line
    # When convert runs
    summary = convert(conversion_request)["summary"]
    # Then the summary counts them, with the classes from the job's label config
    assert summary["images"] == len(sample_job.truth)
    assert summary["boxes"] == sum(len(shapes) for shapes in sample_job.truth.values())
    assert summary["rejected_lines"] == 2
    assert summary["classes"] == 3
    assert sum(summary["images_per_split"].values()) == summary["images"]


def test_classes_keep_the_order_of_the_label_config_read_from_s3(
    convert, conversion_request, bucket
) -> None:
    # Given the job's label config lists square, circle, triangle (not alphabetical)
    # When convert runs
    outcome = convert(conversion_request)
    # Then classes.txt keeps that order
    classes = bucket.dataset(PREFIX, outcome["version"])["classes.txt"]
    assert classes.decode().split() == [
        "square",
        "circle",
        "triangle",
    ]


def test_outcome_carries_the_request_and_the_lock_for_publish(
    convert, conversion_request, bucket
) -> None:
    # Given the sample job's request
    # When convert runs
    outcome = convert(conversion_request)
    # Then the outcome repeats the request and hands its lock token on: _LOCK is still held
    for name, value in conversion_request.items():
        assert outcome[name] == value
    assert outcome["already_published"] is False
    assert len(outcome["fingerprint"]) == 32
    assert json.loads(bucket.read(LOCK))["token"] == outcome["lock_token"]


def test_same_request_after_publish_is_already_published_and_rewrites_nothing(
    convert, publish, conversion_request, notifications, s3_writes
) -> None:
    # Given the request was converted and published
    first = convert(conversion_request)
    publish(first)
    s3_writes.calls.clear()
    # When the same request comes again (SageMaker sent the event twice)
    again = convert(conversion_request)
    # Then it is recognised by its fingerprint and not a single object is written
    assert again["already_published"] is True
    assert again["fingerprint"] == first["fingerprint"]
    assert again["summary"] == first["summary"]
    assert again["lock_token"] is None
    assert s3_writes.calls == []


def test_a_new_manifest_is_a_new_version_holding_only_its_files_written_against_the_last(
    convert, publish, conversion_request, sample_job, bucket, notifications
) -> None:
    # Given a published dataset of the full manifest
    first = convert(conversion_request)
    publish(first)
    assert len(_label_files(bucket)) == len(sample_job.truth)
    # When the manifest is replaced by one holding only its first two lines (a new ETag)
    lines = bucket.read(sample_job.manifest_key).decode().splitlines()
    bucket.put(sample_job.manifest_key, "\n".join(lines[:2]) + "\n")
    second = convert(conversion_request)
    # Then it converts anew into a new version that names only the new manifest's files (no
    # stale label), writes none of them again, and readers still get the first version
    assert second["already_published"] is False
    assert second["fingerprint"] != first["fingerprint"]
    assert second["summary"]["images"] == 2
    assert second["previous_version"] == first["version"] != second["version"]
    assert (second["files_written"], second["files_reused"]) == (0, 4)
    assert _label_files(bucket, second["version"]) == {"site-a/img_000.txt", "site-b/img_000.txt"}
    new = bucket.dataset(PREFIX, second["version"])
    assert len([key for key in new if key.startswith("images/")]) == 2
    assert json.loads(new["report.json"])["images"] == 2
    assert json.loads(new["report.json"])["version"] == second["version"]
    assert len(_label_files(bucket)) == len(sample_job.truth)  # current: still the first


def test_manifest_where_no_line_converts_is_a_conversion_error_and_frees_the_lock(
    convert, conversion_request, sample_job, bucket
) -> None:
    # Given a manifest of only a failed object and a never-labeled object
    lines = bucket.read(sample_job.manifest_key).decode().splitlines()
    bucket.put(sample_job.manifest_key, "\n".join(lines[-2:]) + "\n")
    # When convert runs
    with pytest.raises(ConversionError, match="not one of 2 lines converts"):
        convert(conversion_request)
    # Then nothing is marked complete and a fixed manifest may convert at once (no lock left)
    assert PREFIX + "_SUCCESS" not in bucket.keys(PREFIX)
    assert not bucket.exists(LOCK)


def test_missing_manifest_is_file_not_found_before_anything_is_written(
    convert, conversion_request, bucket
) -> None:
    # Given a request for a manifest that does not exist
    request = {**conversion_request, "manifest_uri": bucket.uri("manifests/gone.manifest")}
    # When convert runs / Then FileNotFoundError names it, and the dataset folder stays empty
    with pytest.raises(FileNotFoundError, match=re.escape(bucket.uri("manifests/gone.manifest"))):
        convert(request)
    assert bucket.keys(PREFIX) == set()


def test_malformed_request_is_refused_by_the_parser(convert, conversion_request) -> None:
    # Given a request without its manifest
    request = {k: v for k, v in conversion_request.items() if k != "manifest_uri"}
    # When convert runs / Then the parser model refuses it
    with pytest.raises(ValidationError, match="manifest_uri"):
        convert(request)


# -- one conversion per dataset at a time ----------------------------------------------------


def _dataset(bucket: Any) -> S3Storage:
    return S3Storage(f"s3://{bucket.name}/{PREFIX}", bucket.client, buffered=False)


def test_second_convert_while_lock_is_held_is_conversion_in_progress(
    convert, conversion_request, bucket
) -> None:
    # Given another execution holds the dataset's lock (taken just now)
    token = dataset_lock.acquire(_dataset(bucket))
    # When convert runs for the same dataset
    with pytest.raises(ConversionInProgress, match="_LOCK is held since"):
        convert(conversion_request)
    # Then it wrote nothing and left the other execution's lock alone
    assert bucket.keys(PREFIX) == {LOCK}
    assert json.loads(bucket.read(LOCK))["token"] == token


def test_stale_lock_of_a_crashed_run_is_taken_over(convert, conversion_request, bucket) -> None:
    # Given a lock taken 17 minutes ago (longer than any Lambda runs: its run crashed)
    crashed = datetime.now(UTC) - timedelta(minutes=17)
    stale = dataset_lock.acquire(_dataset(bucket), now=crashed)
    # When convert runs
    outcome = convert(conversion_request)
    # Then it takes the lock over and converts
    assert outcome["lock_token"] not in (None, stale)
    assert json.loads(bucket.read(LOCK))["token"] == outcome["lock_token"]
    assert outcome["summary"]["images"] > 0


def test_lock_younger_than_the_stale_limit_is_respected(
    convert, conversion_request, bucket
) -> None:
    # Given a lock taken 14 minutes ago (its Lambda may still be running)
    recent = datetime.now(UTC) - timedelta(minutes=14)
    dataset_lock.acquire(_dataset(bucket), now=recent)
    # When convert runs / Then it waits its turn
    with pytest.raises(ConversionInProgress):
        convert(conversion_request)


# -- metrics ---------------------------------------------------------------------------------


def _emf_records(stdout: str) -> list[dict[str, Any]]:
    records = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            records.append(record)
    return records


def _metric_names(record: dict[str, Any]) -> set[str]:
    return {
        metric["Name"]
        for directive in record["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


def _values(record: dict[str, Any], name: str) -> list[float]:
    """A metric's values (EMF allows one number or a list of them)."""
    value = record[name]
    return list(value) if isinstance(value, list) else [value]


def test_convert_emits_dataset_counts_as_embedded_metrics(
    convert, conversion_request, capsys
) -> None:
    # Given the sample job's request
    # When convert runs
    summary = convert(conversion_request)["summary"]
    # Then one EMF record in the Gt2Yolo namespace carries images, boxes and rejected lines
    (record,) = _emf_records(capsys.readouterr().out)
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Gt2Yolo"
    assert {"Images", "Boxes", "RejectedLines"} <= _metric_names(record)
    assert _values(record, "Images") == [summary["images"]]
    assert _values(record, "Boxes") == [summary["boxes"]]
    assert _values(record, "RejectedLines") == [summary["rejected_lines"]]
    assert record["service"] == "gt2yolo"


def test_already_published_conversion_emits_no_dataset_counts(
    convert, publish, conversion_request, notifications, capsys
) -> None:
    # Given the request was converted and published
    publish(convert(conversion_request))
    capsys.readouterr()
    # When the same request converts again
    convert(conversion_request)
    # Then no images or boxes are counted twice
    for record in _emf_records(capsys.readouterr().out):
        assert not {"Images", "Boxes", "RejectedLines"} & _metric_names(record)
