"""S3 answers 403 (not 404) for a missing key to a role that may list only some prefixes."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from gt2yolo_aws.s3 import get_if_exists


@pytest.fixture
def s3() -> Stubber:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")  # fmt: skip
    return Stubber(client)


def test_a_403_for_a_key_the_listing_does_not_show_means_absent(s3: Stubber) -> None:
    s3.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    s3.add_response("list_objects_v2", {"Contents": []},
                    {"Bucket": "bkt", "Prefix": "datasets/a/_SUCCESS", "MaxKeys": 1})  # fmt: skip
    with s3:
        assert get_if_exists(s3.client, "bkt", "datasets/a/_SUCCESS") is None


def test_a_403_for_a_key_that_exists_is_a_real_permission_error(s3: Stubber) -> None:
    s3.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    s3.add_response("list_objects_v2", {"Contents": [{"Key": "datasets/a/_SUCCESS"}]},
                    {"Bucket": "bkt", "Prefix": "datasets/a/_SUCCESS", "MaxKeys": 1})  # fmt: skip
    with s3, pytest.raises(ClientError):
        get_if_exists(s3.client, "bkt", "datasets/a/_SUCCESS")


def test_a_404_means_absent_without_listing(s3: Stubber) -> None:
    s3.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404)
    with s3:
        assert get_if_exists(s3.client, "bkt", "k") is None
    s3.assert_no_pending_responses()
