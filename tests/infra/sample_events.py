"""Events as AWS sends them to the default bus (shapes from the AWS documentation)."""

from __future__ import annotations

import copy
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET = "gt2yolo-test-bucket"

# The documented Ground Truth labeling job state change (SageMaker developer guide).
_LABELING_JOB_STATE_CHANGE: dict[str, Any] = {
    "version": "0",
    "id": "111e1111-11d1-111f-b111-1111b11dcb11",
    "detail-type": "SageMaker Ground Truth Labeling Job State Change",
    "source": "aws.sagemaker",
    "account": ACCOUNT,
    "time": "2018-10-06T12:26:13Z",
    "region": REGION,
    "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/test-labeling-job"],
    "detail": {"LabelingJobStatus": "Completed"},
}

# S3 "Object Created" as delivered when the bucket sends events to EventBridge (S3 user guide).
_OBJECT_CREATED: dict[str, Any] = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": ACCOUNT,
    "time": "2021-11-12T00:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:s3:::{BUCKET}"],
    "detail": {
        "version": "0",
        "bucket": {"name": BUCKET},
        "object": {
            "key": "manifests/job1.manifest",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BhZA1Ll5ke6M2xFuJ5f.8BjKc",
            "sequencer": "617f08299329d189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": ACCOUNT,
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}


def labeling_job_state_change(
    status: str = "Completed", job_name: str = "test-labeling-job"
) -> dict[str, Any]:
    event = copy.deepcopy(_LABELING_JOB_STATE_CHANGE)
    event["detail"]["LabelingJobStatus"] = status
    event["resources"] = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"]
    return event


def object_created(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    event = copy.deepcopy(_OBJECT_CREATED)
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    return event
