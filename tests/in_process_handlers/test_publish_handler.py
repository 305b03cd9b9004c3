"""Publish handler: `_SUCCESS` last, then one Dataset Ready event and one SNS message, once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from workflow.models import SuccessMarker

PREFIX = "datasets/demo-shapes/"


@pytest.fixture
def outcome(convert, conversion_request) -> dict[str, Any]:
    """Convert's answer for the sample job: publish's input."""
    result: dict[str, Any] = convert(conversion_request)
    return result


def test_success_marker_is_written_and_describes_the_dataset(
    publish, outcome, bucket, notifications, bus_events
) -> None:
    # Given a converted dataset
    # When publish runs
    result = publish(outcome)
    # Then `_SUCCESS` is a valid marker of exactly this conversion
    assert result["published"] is True
    marker = SuccessMarker.model_validate_json(bucket.read(PREFIX + "_SUCCESS"))
    assert marker.fingerprint == outcome["fingerprint"]
    assert marker.job_name == "demo-shapes"
    assert marker.dataset_uri == outcome["dataset_uri"]
    assert marker.summary.model_dump() == outcome["summary"]


def test_one_dataset_ready_event_goes_to_the_bus(
    publish, outcome, notifications, bus_events
) -> None:
    # Given a converted dataset and a rule on the default bus for the pipeline's events
    # When publish runs
    publish(outcome)
    # Then exactly one Dataset Ready event arrived, pointing at data.yaml
    (event,) = bus_events.drain()
    assert event["detail-type"] == "Dataset Ready"
    assert event["source"] == "gt2yolo"
    detail = event["detail"]
    assert detail["job_name"] == "demo-shapes"
    assert detail["source"] == "labeling-job"
    assert detail["dataset_uri"] == outcome["dataset_uri"]
    assert detail["data_yaml"] == outcome["dataset_uri"] + "data.yaml"
    assert detail["summary"] == outcome["summary"]


def test_one_readable_sns_message_says_where_the_dataset_is(
    publish, outcome, notifications, bus_events
) -> None:
    # Given a converted dataset
    # When publish runs
    publish(outcome)
    # Then exactly one message went to the topic, with the location and the counts
    (message,) = notifications.drain()
    assert message["Subject"] == "YOLO dataset ready: demo-shapes"
    body = message["Message"]
    assert f"Location: {outcome['dataset_uri']}" in body
    summary = outcome["summary"]
    assert f"Images: {summary['images']} " in body
    assert f"boxes: {summary['boxes']}" in body
    assert f"Rejected lines: {summary['rejected_lines']}" in body


def test_a_partial_dataset_is_announced_as_partial_on_the_bus_and_in_the_message(
    publish, convert, conversion_request, bucket, notifications, bus_events
) -> None:
    # Given a live conversion of the job while it is in progress (its labels so far)
    intermediate = conversion_request | {"partial": True, "job_status": "InProgress"}
    outcome = convert(intermediate)
    # When publish runs
    publish(outcome)
    # Then the event says partial, and so do the subject and the message's first lines
    (event,) = bus_events.drain()
    assert event["detail"]["partial"] is True
    (message,) = notifications.drain()
    assert message["Subject"] == "YOLO dataset ready (partial): demo-shapes"
    lines = message["Message"].splitlines()
    assert lines[1] == (
        "PARTIAL dataset: labeling job demo-shapes is still in progress; this dataset holds the "
        f"labels so far ({outcome['manifest_uri']})."
    )
    assert lines[2] == "It is replaced by the complete dataset when the job completes."


def test_a_complete_dataset_is_announced_as_not_partial(
    publish, outcome, notifications, bus_events
) -> None:
    publish(outcome)
    (event,) = bus_events.drain()
    assert event["detail"]["partial"] is False
    (message,) = notifications.drain()
    assert "partial" not in message["Subject"].lower()
    assert "partial" not in message["Message"].lower()


def test_second_publish_of_the_same_outcome_sends_nothing(
    publish, outcome, bucket, notifications, bus_events
) -> None:
    # Given the outcome was published
    publish(outcome)
    marker = bucket.read(PREFIX + "_SUCCESS")
    notifications.drain()
    bus_events.drain()
    # When the same outcome is published again (a duplicate execution)
    again = publish(outcome)
    # Then it is not published twice: no message, no event, the marker untouched
    assert again["published"] is False
    assert again["reason"] == "another execution published the same input"
    assert notifications.drain() == []
    assert bus_events.drain() == []
    assert bucket.read(PREFIX + "_SUCCESS") == marker


def test_duplicate_event_end_to_end_notifies_once(
    convert, publish, conversion_request, notifications, bus_events
) -> None:
    # Given SageMaker sent the completion event twice: two conversions of the same request
    first = publish(convert(conversion_request))
    second = publish(convert(conversion_request))
    # Then only the first published; people hear about the dataset once
    assert first["published"] is True
    assert second == {
        **first,
        "published": False,
        "reason": "already published with the same input",
        "kept_versions": [],  # no flip: nothing kept or deleted by this run
        "deleted_objects": 0,
    }
    assert len(notifications.drain()) == 1
    assert len(bus_events.drain()) == 1


def test_publish_releases_the_dataset_lock(
    publish, outcome, bucket, notifications, bus_events
) -> None:
    # Given convert handed its lock to publish
    assert json.loads(bucket.read(PREFIX + "_LOCK"))["token"] == outcome["lock_token"]
    # When publish runs
    publish(outcome)
    # Then the lock is gone: the next different input may convert at once
    assert PREFIX + "_LOCK" not in bucket.keys(PREFIX)


def test_events_go_to_the_configured_bus_and_source(
    publish, outcome, notifications, bus_inbox, bus_events, aws_client, monkeypatch
) -> None:
    # Given the stack names its own bus and event source
    aws_client("events").create_event_bus(Name="datasets")
    datasets_bus = bus_inbox("datasets", "acme.gt2yolo")
    monkeypatch.setenv("EVENT_BUS_NAME", "datasets")
    monkeypatch.setenv("EVENT_SOURCE", "acme.gt2yolo")
    # When publish runs
    publish(outcome)
    # Then the Dataset Ready event is put on that bus with that source, not on the default bus
    (event,) = datasets_bus.drain()
    assert (event["source"], event["detail-type"]) == ("acme.gt2yolo", "Dataset Ready")
    assert bus_events.drain() == []


def test_ready_subject_is_ascii_and_under_100_characters_for_a_unicode_dataset_name(
    convert, publish, conversion_request, notifications, bus_events
) -> None:
    # Given a manifest dropped as manifests/現場-a/<a long unicode name>.manifest, converted
    name = "現場-a/" + "車両とねこ" * 20
    outcome = convert({**conversion_request, "source": "manifest-drop", "job_name": name,
                       "dataset_name": name})  # fmt: skip
    # When publish runs
    publish(outcome)
    # Then SNS got a subject it accepts; the body keeps the real name
    (message,) = notifications.drain()
    assert message["Subject"].isascii()
    assert len(message["Subject"]) < 100
    assert f"Dataset {name} is ready" in message["Message"]
    (event,) = bus_events.drain()
    assert event["detail"]["dataset_uri"].endswith(f"/datasets/{name}/")


def test_a_live_version_finished_after_the_complete_one_does_not_replace_it(
    publish, convert, conversion_request, bucket, notifications, bus_events
) -> None:
    # Given a live conversion that converted while the job completed, and the complete
    # conversion, published first (the live one waited on the dataset lock)
    live = convert(conversion_request | {"partial": True, "job_status": "InProgress"})
    bucket.client.delete_object(Bucket=bucket.name, Key=PREFIX + "_LOCK")  # as if released
    complete = convert(conversion_request)
    publish(complete)
    # When the live version reaches Publish
    result = publish(live)
    # Then the complete version stays current and nothing more is announced
    assert result["published"] is False
    assert "complete dataset is already current" in result["reason"]
    pointer = json.loads(bucket.read(PREFIX + "current.json"))
    assert (pointer["version"], pointer["partial"]) == (complete["version"], False)
    assert len(bus_events.drain()) == 1 and len(notifications.drain()) == 1
