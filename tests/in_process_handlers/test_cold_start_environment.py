"""Each function validates its environment at cold start: a bad deploy fails loudly, early, and
names the variable to fix."""

from __future__ import annotations

import pytest

JOB = "demo-shapes"


def _deploy_with(monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None) -> None:
    """Set (or, for None, remove) one environment variable of the function under test."""
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)


def _assert_names(error: pytest.ExceptionInfo[RuntimeError], variable: str) -> None:
    assert "invalid Lambda environment" in str(error.value)
    assert variable in str(error.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BUCKET_NAME", None), ("BUCKET_NAME", "ab"), ("CONVERT_STOPPED_JOBS", "perhaps")],
    ids=["bucket-missing", "bucket-too-short", "stopped-jobs-not-a-bool"],
)
def test_resolve_refuses_an_invalid_environment_before_asking_sagemaker(
    resolve, sagemaker, job_event, monkeypatch, variable, value
) -> None:
    # Given the resolve function deployed with a bad variable (SageMaker has no answer queued)
    _deploy_with(monkeypatch, variable, value)
    # When the first event arrives
    with pytest.raises(RuntimeError) as refused:
        resolve(job_event(JOB))
    # Then the error names the variable
    _assert_names(refused, variable)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BUCKET_NAME", None), ("VAL_FRACTION", "1.5")],
    ids=["bucket-missing", "val-fraction-out-of-range"],
)
def test_convert_refuses_an_invalid_environment_before_writing(
    convert, conversion_request, bucket, monkeypatch, variable, value
) -> None:
    # Given the convert function deployed with a bad variable
    _deploy_with(monkeypatch, variable, value)
    inputs = bucket.keys()
    # When a request arrives
    with pytest.raises(RuntimeError) as refused:
        convert(conversion_request)
    # Then the error names the variable and nothing was written
    _assert_names(refused, variable)
    assert bucket.keys() == inputs


@pytest.mark.parametrize(
    "topic_arn",
    [None, "gt2yolo-notifications", "arn:aws:sqs:us-east-1:123456789012:gt2yolo-notifications"],
    ids=["missing", "a-name-not-an-arn", "an-sqs-arn"],
)
def test_publish_refuses_a_topic_arn_that_is_not_an_sns_arn_before_marking_success(
    convert, publish, conversion_request, bucket, notifications, monkeypatch, topic_arn
) -> None:
    # Given a converted dataset, and the publish function deployed with a bad TOPIC_ARN
    outcome = convert(conversion_request)
    if topic_arn is None:
        monkeypatch.delenv("TOPIC_ARN")
    else:
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
    # When publish runs
    with pytest.raises(RuntimeError) as refused:
        publish(outcome)
    # Then it names TOPIC_ARN and published nothing (no _SUCCESS without the message)
    _assert_names(refused, "TOPIC_ARN")
    assert not bucket.exists("datasets/demo-shapes/_SUCCESS")
    assert notifications.drain() == []


def test_publish_refuses_a_missing_bucket_name(
    publish, convert, conversion_request, notifications, monkeypatch
) -> None:
    # Given a converted dataset, and the publish function deployed without BUCKET_NAME
    outcome = convert(conversion_request)
    monkeypatch.delenv("BUCKET_NAME")
    # When publish runs / Then it names the variable
    with pytest.raises(RuntimeError) as refused:
        publish(outcome)
    _assert_names(refused, "BUCKET_NAME")


def test_notify_failure_refuses_a_topic_arn_that_is_not_an_sns_arn(
    notify_failure, conversion_request, notifications, monkeypatch
) -> None:
    # Given the failure function deployed with a topic name instead of its ARN
    monkeypatch.setenv("TOPIC_ARN", "gt2yolo-notifications")
    error = {"Error": "States.Timeout", "Cause": ""}
    # When a failure arrives
    with pytest.raises(RuntimeError) as refused:
        notify_failure({**conversion_request, "error": error})
    # Then it names TOPIC_ARN
    _assert_names(refused, "TOPIC_ARN")
    assert notifications.drain() == []
