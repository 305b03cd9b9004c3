"""The failure notification names the job and the cause, whatever step failed."""

from __future__ import annotations

import json

from workflow.failure import failure_message


def test_a_lambda_error_cause_is_read_from_its_json() -> None:
    cause = json.dumps({"errorType": "ImageAccessDenied", "errorMessage": "bucket x refused"})
    subject, body, fields = failure_message(
        {"job_name": "pets", "error": {"Error": "ImageAccessDenied", "Cause": cause}}
    )
    assert subject == "YOLO conversion failed: pets"
    assert "Cause: ImageAccessDenied: bucket x refused" in body
    assert "Change the setting or policy named above" in body
    assert fields == {"job_name": "pets", "error": "ImageAccessDenied", "cause": "bucket x refused"}


def test_the_job_name_comes_from_the_event_when_no_step_named_it() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:1:labeling-job/cats"
    _, _, fields = failure_message({"resources": [arn], "error": {"Error": "X", "Cause": "y"}})
    assert fields["job_name"] == "cats" and fields["cause"] == "y"
    _, _, dropped = failure_message({"detail": {"object": {"key": "manifests/a.manifest"}}})
    assert dropped["job_name"] == "manifests/a.manifest"
