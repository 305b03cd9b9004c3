"""Convert plans a fan-out above FAN_OUT_BYTES; ConvertChunk and Finalize make the same dataset.

The three handlers are called as the state machine calls them: Convert's answer, one
ConvertChunk per item of the chunk list (the Distributed Map's ItemReader), then Finalize.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from workflow.errors import FanOutFailed

PREFIX = "datasets/demo-shapes/"


def _fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sample manifest is ~8 KB: these make Convert plan chunks of a few lines.
    monkeypatch.setenv("FAN_OUT_BYTES", "1000")
    monkeypatch.setenv("CHUNK_BYTES", "2500")
    from handlers import settings

    settings.reset()  # as a new deployment's cold start would read them


def _items(bucket: Any, started: dict[str, Any]) -> list[dict[str, Any]]:
    """What the Map's ItemReader and ItemSelector make of the chunk list."""
    chunks = json.loads(bucket.read(started["chunks_key"]))
    return [{"chunk": chunk, "plan_uri": started["plan_uri"]} for chunk in chunks]


def _version(bucket: Any, version: str) -> dict[str, bytes]:
    """A version's files by dataset key, its id written as `<v>` (two runs, two ids)."""
    files = bucket.dataset(PREFIX, version)
    return {k: v.replace(version.encode(), b"<v>") for k, v in files.items()}


def test_a_manifest_above_the_threshold_is_planned_not_converted(
    convert, conversion_request, bucket, monkeypatch
) -> None:
    # Given a fan-out threshold below the manifest's size
    _fan_out(monkeypatch)
    # When convert runs
    started = convert(conversion_request)
    # Then it answers with the plan and the chunk list, holding the lock; no label file yet
    assert started["mode"] == "fan_out"
    assert "error" not in started  # only the Map's Catch may add it
    assert started["chunks"] >= 2
    version = f"{PREFIX}versions/{started['version']}/"
    assert started["plan_uri"] == bucket.uri(version + "_parts/plan.json")
    assert started["chunks_key"] == version + "_parts/chunks.json"
    assert len(json.loads(bucket.read(started["chunks_key"]))) == started["chunks"]
    assert not bucket.keys(PREFIX + "files/")
    lock = json.loads(bucket.read(PREFIX + "_LOCK"))
    assert lock["token"] == started["lock_token"]
    # held across the whole fan-out, not only one Lambda's 15 minutes
    assert lock["hold_seconds"] > 2 * 3600


def test_chunks_and_finalize_write_the_dataset_convert_writes_alone(
    convert, convert_chunk, finalize, conversion_request, bucket, monkeypatch
) -> None:
    # Given the dataset converted in one Lambda
    single_outcome = convert(conversion_request)
    single = _version(bucket, single_outcome["version"])
    for key in bucket.keys(PREFIX):
        bucket.client.delete_object(Bucket=bucket.name, Key=key)

    # When the same request fans out: plan, every chunk (in any order), merge
    _fan_out(monkeypatch)
    started = convert(conversion_request)
    for item in reversed(_items(bucket, started)):
        convert_chunk(item)
    outcome = finalize(started)

    # Then the versions are the same, file for file, and the parts are gone
    assert _version(bucket, outcome["version"]) == single
    assert not bucket.keys(f"{PREFIX}versions/{outcome['version']}/_parts/")
    assert outcome["files_written"] == single_outcome["files_written"]
    assert outcome["summary"] == single_outcome["summary"]
    assert outcome["lock_token"] == started["lock_token"]
    assert outcome["mode"] == "converted"


@pytest.mark.parametrize("fan_out", [False, True], ids=["one lambda", "fanned out"])
def test_report_json_of_a_partial_conversion_says_partial_however_it_converts(
    convert, convert_chunk, finalize, conversion_request, bucket, monkeypatch, fan_out
) -> None:
    # Given a live (partial) conversion request
    request = conversion_request | {"partial": True, "job_status": "InProgress"}
    if fan_out:
        _fan_out(monkeypatch)
    # When it converts in one Lambda, or through the plan, the chunks and Finalize
    outcome = convert(request)
    if fan_out:
        assert outcome["mode"] == "fan_out"
        for item in _items(bucket, outcome):
            convert_chunk(item)
        outcome = finalize(outcome)
    # Then report.json says partial, and the outcome still carries the flag to Publish
    report = bucket.dataset(PREFIX, outcome["version"])["report.json"]
    assert json.loads(report)["partial"] is True
    assert outcome["partial"] is True


def test_a_failed_map_makes_finalize_fail_with_the_chunk_cause_and_free_the_dataset(
    convert, finalize, conversion_request, bucket, monkeypatch
) -> None:
    # Given a fan-out whose Map failed: the Catch put {"Error", "Cause"} under `error`
    _fan_out(monkeypatch)
    started = convert(conversion_request)
    cause = json.dumps({"errorMessage": "disk on fire", "errorType": "RuntimeError"})
    failed = started | {
        "error": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": cause}
    }
    # When Finalize runs
    with pytest.raises(FanOutFailed, match="disk on fire"):
        finalize(failed)
    # Then nothing is published and the lock is released for the next attempt
    assert not bucket.exists(PREFIX + "_LOCK")
    assert not bucket.exists(f"{PREFIX}versions/{started['version']}/data.yaml")
    assert not bucket.exists(PREFIX + "current.json")


def test_finalize_refuses_to_merge_when_a_chunk_did_not_finish(
    convert, convert_chunk, finalize, conversion_request, bucket, monkeypatch
) -> None:
    # Given a fan-out where one chunk never wrote its parts
    _fan_out(monkeypatch)
    started = convert(conversion_request)
    items = _items(bucket, started)
    for item in items[1:]:
        convert_chunk(item)
    # When Finalize runs
    with pytest.raises(FanOutFailed, match=rf"1 of {len(items)} chunks did not finish \(chunk 0\)"):
        finalize(started)
    # Then no partial dataset is merged, and the lock is released
    assert not bucket.exists(f"{PREFIX}versions/{started['version']}/annot.csv")
    assert not bucket.exists(PREFIX + "_LOCK")


def test_a_duplicate_event_during_a_fan_out_waits_for_it(
    convert, conversion_request, monkeypatch
) -> None:
    # Given a fan-out in progress (its lock taken an hour ago)
    _fan_out(monkeypatch)
    convert(conversion_request)
    # When a duplicate event's Convert runs an hour later
    from workflow import dataset_lock
    from workflow.errors import ConversionInProgress

    real_acquire = dataset_lock.acquire

    def an_hour_later(*args: Any, **kwargs: Any) -> str:
        return real_acquire(*args, **{**kwargs, "now": datetime.now(UTC) + timedelta(hours=1)})

    monkeypatch.setattr(dataset_lock, "acquire", an_hour_later)
    # Then it finds the lock held (not stale after 16 minutes as a single Convert's would be)
    with pytest.raises(ConversionInProgress):
        convert(conversion_request)
