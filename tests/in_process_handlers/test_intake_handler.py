"""Intake handler: S3 Object Created events (SQS batches) -> input manifest, and streaming."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localrun.lambda_events import object_created_event, sqs_event, sqs_record

DATASET = "cars"
MANIFEST = f"manifests/input/{DATASET}.manifest"


def _drop(
    bucket: Any, key: str, body: bytes = b"\xff\xd8 jpeg bytes", **extra: Any
) -> dict[str, Any]:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=body, **extra)
    return object_created_event(bucket.name, key, len(body))


def _manifest(bucket: Any, key: str = MANIFEST) -> list[str]:
    return [json.loads(line)["source-ref"] for line in bucket.read(key).decode().splitlines()]


def _emf_metrics(output: str) -> dict[str, float]:
    """Metric name -> value, from the EMF lines the handler printed."""
    metrics: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for definition in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = record[definition["Name"]]  # EMF: one number or a list of them
            metrics[definition["Name"]] = sum(value) if isinstance(value, list) else value
    return metrics


def test_dropped_images_are_listed_once_each_in_their_datasets_input_manifest(
    intake, bucket
) -> None:
    # Given images dropped into two datasets, one in a subfolder
    events = [
        _drop(bucket, "images/cars/a.jpg"),
        _drop(bucket, "images/cars/2026/b.png"),
        _drop(bucket, "images/bikes/c.jpeg"),
    ]
    # When their events arrive in one batch
    answer = intake(sqs_event(events))
    # Then every record succeeded and each dataset's manifest lists its images
    assert answer == {"batchItemFailures": []}
    assert _manifest(bucket) == [
        bucket.uri("images/cars/2026/b.png"),
        bucket.uri("images/cars/a.jpg"),
    ]
    assert _manifest(bucket, "manifests/input/bikes.manifest") == [
        bucket.uri("images/bikes/c.jpeg")
    ]


def test_a_redelivered_event_adds_no_second_line(intake, bucket) -> None:
    # Given an image whose event was already taken in
    event = _drop(bucket, "images/cars/a.jpg")
    intake(sqs_event([event]))
    # When the same event arrives again, twice in one batch and once more later
    intake(sqs_event([event, event]))
    intake(sqs_event([event]))
    # Then the manifest still lists the image once
    assert _manifest(bucket) == [bucket.uri("images/cars/a.jpg")]


def test_later_drops_are_added_to_the_existing_manifest(intake, bucket) -> None:
    intake(sqs_event([_drop(bucket, "images/cars/a.jpg")]))
    intake(sqs_event([_drop(bucket, "images/cars/b.jpg")]))
    assert _manifest(bucket) == [bucket.uri("images/cars/a.jpg"), bucket.uri("images/cars/b.jpg")]


def test_skipped_objects_are_logged_with_their_reason_and_counted(
    intake, bucket, capsys, caplog
) -> None:
    # Given a text file, a too-large image, an HTML page named .jpg and a loose image
    events = [
        _drop(bucket, "images/cars/README.txt", b"notes"),
        _drop(bucket, "images/cars/big.jpg", b"x"),
        _drop(bucket, "images/cars/page.jpg", b"<html>", ContentType="text/html"),
        _drop(bucket, "images/loose.jpg"),
        _drop(bucket, "images/cars/ok.jpg"),
    ]
    # (the big one is made big where the handler looks: the object's size, from its HEAD)
    bucket.client.put_object(Bucket=bucket.name, Key="images/cars/big.jpg", Body=b"x" * 40_000_001)
    capsys.readouterr()
    # When they arrive
    answer = intake(sqs_event(events))
    # Then none fails, only the good image is listed, and each skip is logged and counted
    assert answer == {"batchItemFailures": []}
    assert _manifest(bucket) == [bucket.uri("images/cars/ok.jpg")]
    logged = {
        (record.key, record.reason)  # type: ignore[attr-defined]
        for record in caplog.records
        if record.getMessage() == "skipped"
    }
    assert logged == {
        ("images/cars/README.txt", "not_an_image"),
        ("images/cars/big.jpg", "too_large"),
        ("images/cars/page.jpg", "content_type_not_an_image"),
        ("images/loose.jpg", "not_in_a_dataset_folder"),
    }
    metrics = _emf_metrics(capsys.readouterr().out)
    assert metrics["ImagesSkipped"] == 4
    assert metrics["Skipped_too_large"] == 1
    assert metrics["ImagesRegistered"] == 1


def test_an_object_deleted_before_intake_is_skipped(intake, bucket) -> None:
    event = object_created_event(bucket.name, "images/cars/gone.jpg", 10)
    assert intake(sqs_event([event])) == {"batchItemFailures": []}
    assert not bucket.exists(MANIFEST)


def test_a_url_encoded_key_is_taken_in_under_its_real_name(intake, bucket) -> None:
    _drop(bucket, "images/cars/my photo.jpg")
    intake(sqs_event([object_created_event(bucket.name, "images/cars/my+photo.jpg", 10)]))
    assert _manifest(bucket) == [bucket.uri("images/cars/my photo.jpg")]


def test_a_malformed_record_fails_alone(intake, bucket) -> None:
    # Given a batch with one record that is not an S3 event
    good = sqs_record(json.dumps(_drop(bucket, "images/cars/a.jpg")))
    bad = sqs_record('{"detail-type": "Something Else"}', message_id="bad-1")
    # When it arrives
    answer = intake({"Records": [good, bad]})
    # Then only that record is handed back for redelivery; the other is done
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert _manifest(bucket) == [bucket.uri("images/cars/a.jpg")]


def test_an_event_of_another_bucket_fails_alone(intake, bucket) -> None:
    foreign = sqs_record(json.dumps(object_created_event("other-bucket", "images/cars/x.jpg", 5)),
                         message_id="foreign")  # fmt: skip
    answer = intake(
        {"Records": [foreign, sqs_record(json.dumps(_drop(bucket, "images/cars/a.jpg")))]}
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "foreign"}]}


def test_a_manifest_not_written_by_the_intake_is_replaced_by_the_registered_images(
    intake, bucket
) -> None:
    # Given a stale hand-made manifest in the intake area
    bucket.put(MANIFEST, '{"source-ref": "s3://elsewhere/old.jpg"}\n')
    # When an image is dropped
    intake(sqs_event([_drop(bucket, "images/cars/a.jpg")]))
    # Then the manifest is what was dropped here
    assert _manifest(bucket) == [bucket.uri("images/cars/a.jpg")]


# -- streaming mode ------------------------------------------------------------------------


def test_streaming_mode_sends_each_new_image_once_with_source_ref_as_deduplication_key(
    intake, bucket, streaming_topic
) -> None:
    # Given a streaming job's input topic configured
    events = [_drop(bucket, "images/cars/a.jpg"), _drop(bucket, "images/cars/README.md", b"x")]
    # When the images arrive, then the first is redelivered
    intake(sqs_event(events))
    intake(sqs_event(events[:1]))
    # Then the topic got one message: the image's manifest line with the dedup key
    messages = [json.loads(n["Message"]) for n in streaming_topic.drain()]
    assert messages == [
        {
            "source-ref": bucket.uri("images/cars/a.jpg"),
            "dataset-objectid-attribute-name": "source-ref",
        }
    ]
    # and the batch manifest is kept as well
    assert _manifest(bucket) == [bucket.uri("images/cars/a.jpg")]


def test_without_a_streaming_topic_nothing_is_published(intake, bucket, notifications) -> None:
    intake(sqs_event([_drop(bucket, "images/cars/a.jpg")]))
    assert notifications.drain() == []


@pytest.mark.parametrize("variable", ["TABLE_NAME", "BUCKET_NAME"])
def test_intake_refuses_an_environment_without_its_table_or_bucket(
    intake, bucket, monkeypatch, variable
) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(RuntimeError, match=variable):
        intake(sqs_event([_drop(bucket, "images/cars/a.jpg")]))
