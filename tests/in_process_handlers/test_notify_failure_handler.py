"""NotifyFailure handler: the Catch target of every step turns a Step Functions error into one
readable SNS message.

Its input is the failing step's input with the error at `$.error`: a raw start event (resolve
failed) or a ConversionRequest/Outcome (convert or publish failed).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

MESSAGE = "s3://gt2yolo-test-bucket/x.manifest: not one of 2 lines converts; see rejected.jsonl"


def _lambda_error(error_type: str = "ConversionError", message: str = MESSAGE) -> dict[str, Any]:
    """`$.error` as Step Functions catches a Lambda exception: the cause is the runtime's JSON."""
    cause = {
        "errorType": error_type,
        "errorMessage": message,
        "stackTrace": ['  File "/var/task/handlers/convert.py", line 26, in handler\n'],
        "requestId": "0d8c1b6e-0000-4000-8000-000000000000",
    }
    return {"Error": error_type, "Cause": json.dumps(cause)}


def test_lambda_error_becomes_a_readable_message_naming_the_job(
    notify_failure, conversion_request, notifications
) -> None:
    # Given convert failed for the sample job with a ConversionError
    state = {**conversion_request, "error": _lambda_error()}
    # When NotifyFailure runs
    result = notify_failure(state)
    # Then one message names the job and the cause in words, without the runtime's JSON
    (message,) = notifications.drain()
    assert message["Subject"] == "YOLO conversion failed: demo-shapes"
    body = message["Message"]
    assert "Converting demo-shapes failed; no dataset was published" in body
    assert f"Cause: ConversionError: {MESSAGE}" in body
    assert "stackTrace" not in body
    assert "errorMessage" not in body
    assert result == {
        "notified": True,
        "job_name": "demo-shapes",
        "error": "ConversionError",
        "cause": MESSAGE,
    }


def test_job_name_comes_from_the_raw_event_resources_when_resolve_failed(
    notify_failure, notifications, job_event
) -> None:
    # Given resolve failed on a labeling-job event (its input is the raw event)
    state = {**job_event("cars-2026-11"), "error": _lambda_error("ResolveError", "no")}
    # When NotifyFailure runs
    result = notify_failure(state)
    # Then the job is named from resources[0]
    assert result["job_name"] == "cars-2026-11"
    (message,) = notifications.drain()
    assert message["Subject"] == "YOLO conversion failed: cars-2026-11"


def test_job_name_comes_from_the_s3_key_when_a_manifest_drop_failed(
    notify_failure, notifications, drop_event
) -> None:
    # Given resolve failed on a dropped manifest (its input is the raw Object Created event)
    event = drop_event("manifests/team-a/cars.manifest")
    state = {**event, "error": _lambda_error("ResolveError", "sidecar is not JSON")}
    # When NotifyFailure runs
    result = notify_failure(state)
    # Then the message names the dropped object
    assert result["job_name"] == "manifests/team-a/cars.manifest"
    (message,) = notifications.drain()
    assert "Converting manifests/team-a/cars.manifest failed" in message["Message"]
    assert "Cause: ResolveError: sidecar is not JSON" in message["Message"]


def test_step_functions_error_without_json_cause_keeps_its_error_name(
    notify_failure, conversion_request, notifications
) -> None:
    # Given convert timed out (Step Functions' own error, its cause plain text)
    error = {"Error": "States.Timeout", "Cause": "Task timed out after 900.00 seconds"}
    # When NotifyFailure runs
    notify_failure({**conversion_request, "error": error})
    # Then the message shows the error name and the cause as given
    (message,) = notifications.drain()
    assert "Cause: States.Timeout: Task timed out after 900.00 seconds" in message["Message"]


@pytest.mark.parametrize(
    "name",
    ["データセット/車両-" * 12, "x" * 150, "line\nbreak"],
    ids=["unicode", "long", "newline"],
)
def test_subject_is_ascii_one_line_and_under_100_characters(
    notify_failure, conversion_request, notifications, name
) -> None:
    # Given a failed dataset with an awkward name
    state = {**conversion_request, "job_name": name, "dataset_name": name,
             "error": _lambda_error()}  # fmt: skip
    # When NotifyFailure runs
    notify_failure(state)
    # Then SNS accepted a subject it allows, and the body keeps the full name
    (message,) = notifications.drain()
    subject = message["Subject"]
    assert subject.isascii()
    assert "\n" not in subject
    assert len(subject) < 100
    assert subject.startswith("YOLO conversion failed: ")
    assert name in message["Message"]


def test_an_image_bucket_the_stack_may_not_read_asks_for_a_setting_not_for_other_input(
    notify_failure, conversion_request, notifications
) -> None:
    # Given convert was refused by a customer's image bucket
    cause = (
        "cannot read the images in bucket my-photos: ... deploy with `-c imageBuckets=my-photos`"
    )
    state = {**conversion_request, "error": _lambda_error("ImageAccessDenied", cause)}
    # When NotifyFailure runs
    notify_failure(state)
    # Then the message carries the option to set and says what to do before retrying
    (message,) = notifications.drain()
    assert f"Cause: ImageAccessDenied: {cause}" in message["Message"]
    assert (
        "Change the setting or policy named above (then redeploy) and re-drop" in message["Message"]
    )
    assert "Fix the input" not in message["Message"]
