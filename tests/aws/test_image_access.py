"""Images the stack may not read: found before anything is written, reported with the bucket and
the option to set; a missing image stays a counted rejection of its line (S3 on moto, with a
client that S3 refuses for the buckets a test names)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from gt2yolo_aws.adapters import s3_storage_ports
from gt2yolo_aws.s3 import (
    ImageReadDenied,
    S3ImageSink,
    S3Manifest,
    S3Objects,
    S3Storage,
    S3Uri,
    s3_client,
)
from moto import mock_aws
from workflow.convert import ConvertSettings, convert_request
from workflow.errors import ImageAccessDenied
from workflow.image_access import (
    ImageAccess,
    access_denied,
    first_image_per_bucket,
    require_image_access,
)
from workflow.models import ConversionRequest

from localrun.published import version_files

STACK = "stack-bucket"
CUSTOMER = "customer-images"
ARCHIVE = "archive.example-corp"


class Refused:
    """A real client for which S3 refuses reads of some buckets, as it answers a role that may
    not read them (403 AccessDenied on GetObject, and on CopyObject from there)."""

    def __init__(self, client: Any, *buckets: str, code: str = "AccessDenied") -> None:
        self._client, self._buckets, self._code = client, set(buckets), code
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _refuse(self, operation: str, bucket: str) -> None:
        self.calls.append(f"{operation} {bucket}")
        if bucket in self._buckets:
            error = {"Code": self._code, "Message": "Access Denied"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}},
                              operation)  # fmt: skip

    def get_object(self, **kwargs: Any) -> Any:
        self._refuse("GetObject", kwargs["Bucket"])
        return self._client.get_object(**kwargs)

    def copy_object(self, **kwargs: Any) -> Any:
        self._refuse("CopyObject", kwargs["CopySource"]["Bucket"])
        return self._client.copy_object(**kwargs)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = s3_client(4)
        for bucket in (STACK, CUSTOMER, ARCHIVE):
            client.create_bucket(Bucket=bucket)
        yield client


def _line(ref: str) -> str:
    return json.dumps({
        "source-ref": ref,
        "boxes": {"image_size": [{"width": 10, "height": 10, "depth": 3}],
                  "annotations": [{"class_id": 0, "left": 1, "top": 1, "width": 5, "height": 5}]},
        "boxes-metadata": {"class-map": {"0": "cat"}, "type": "groundtruth/object-detection"},
    })  # fmt: skip


def _manifest(s3: Any, *lines: str, key: str = "manifests/job.manifest") -> S3Manifest:
    s3.put_object(Bucket=STACK, Key=key, Body="".join(line + "\n" for line in lines).encode())
    return S3Manifest(f"s3://{STACK}/{key}", s3)


# --- which images are probed ---------------------------------------------------------------


def test_the_first_image_of_each_bucket_in_the_manifests_head_is_probed(s3: Any) -> None:
    manifest = _manifest(
        s3,
        "{not json",
        json.dumps({"no-source-ref": 1}),
        json.dumps({"source-ref": 7}),
        _line(f"s3://{CUSTOMER}/cats/1.jpg"),
        _line(f"s3://{CUSTOMER}/cats/2.jpg"),
        _line(f"s3://{ARCHIVE}/gt/2024/9.jpg"),
        _line(f"s3://{STACK}/images/a.jpg"),
    )
    assert first_image_per_bucket(manifest) == {
        CUSTOMER: S3Uri(CUSTOMER, "cats/1.jpg"),
        ARCHIVE: S3Uri(ARCHIVE, "gt/2024/9.jpg"),
        STACK: S3Uri(STACK, "images/a.jpg"),
    }


def test_only_the_head_of_the_manifest_is_read(s3: Any) -> None:
    first = _line(f"s3://{CUSTOMER}/cats/1.jpg")
    manifest = _manifest(s3, first, _line(f"s3://{ARCHIVE}/late.jpg"))
    assert list(first_image_per_bucket(manifest, head_bytes=len(first) + 1)) == [CUSTOMER]


def test_an_empty_manifest_names_no_bucket(s3: Any) -> None:
    assert first_image_per_bucket(_manifest(s3)) == {}


def test_a_readable_a_missing_and_an_empty_image_pass_the_probe(s3: Any) -> None:
    s3.put_object(Bucket=CUSTOMER, Key="cats/1.jpg", Body=b"jpeg")
    s3.put_object(Bucket=ARCHIVE, Key="empty.jpg", Body=b"")
    manifest = _manifest(
        s3,
        _line(f"s3://{CUSTOMER}/cats/1.jpg"),
        _line(f"s3://{STACK}/images/gone.jpg"),  # missing: its line is rejected later
        _line(f"s3://{ARCHIVE}/empty.jpg"),
        _line("s3://no-such-bucket-anywhere/x.jpg"),
    )
    assert require_image_access(manifest, ImageAccess(STACK), S3Objects(s3)) == 4


@pytest.mark.parametrize("code", ["AccessDenied", "AllAccessDisabled", "KMS.DisabledException"])
def test_a_refused_image_fails_the_probe(s3: Any, code: str) -> None:
    manifest = _manifest(s3, _line(f"s3://{CUSTOMER}/cats/1.jpg"))
    refused = Refused(s3, CUSTOMER, code=code)
    with pytest.raises(ImageAccessDenied, match=f"bucket {CUSTOMER}: S3 refused GetObject"):
        require_image_access(manifest, ImageAccess(STACK), S3Objects(refused))


# --- what the error says ---------------------------------------------------------------------


def _message(access: ImageAccess, bucket: str, key: str) -> str:
    return str(
        access_denied(ImageReadDenied(S3Uri(bucket, key), "AccessDenied", "GetObject"), access)
    )


def test_a_bucket_not_configured_is_named_with_the_option_that_adds_it() -> None:
    message = _message(ImageAccess(STACK), CUSTOMER, "cats/1.jpg")
    assert message.startswith(f"cannot read the images in bucket {CUSTOMER}: S3 refused ")
    assert (
        f"deploy with `-c imageBuckets={CUSTOMER}` (or {CUSTOMER}/cats/ for that folder" in message
    )


def test_the_suggested_option_keeps_the_buckets_already_configured() -> None:
    access = ImageAccess(STACK, sources=(ARCHIVE,))
    assert f"`-c imageBuckets={ARCHIVE},{CUSTOMER}`" in _message(access, CUSTOMER, "x.jpg")


def test_an_image_outside_the_configured_prefixes_names_them_and_suggests_its_folder() -> None:
    access = ImageAccess(STACK, sources=(f"{ARCHIVE}/gt/2024/",))
    message = _message(access, ARCHIVE, "raw/2025/1.jpg")
    assert f"may read only {ARCHIVE}/gt/2024/ there" in message
    assert f"`-c imageBuckets={ARCHIVE}/gt/2024/,{ARCHIVE}/raw/`" in message


def test_a_configured_bucket_that_refuses_points_at_its_bucket_policy_and_kms_keys() -> None:
    access = ImageAccess(STACK, sources=(CUSTOMER, f"{ARCHIVE}/gt/"))
    message = _message(access, ARCHIVE, "gt/1.jpg")
    assert "stack output ImageBucketPolicy2" in message  # the second bucket of imageBuckets
    assert "`-c imageKmsKeys=<key ARN>`" in message


def test_the_stacks_own_bucket_outside_images_says_where_images_go() -> None:
    message = _message(ImageAccess(STACK), STACK, "raw/1.jpg")
    assert "under images/ (and next to the manifests): move them there" in message
    assert f"`-c imageBuckets={STACK}/raw/`" in message


# --- the copies ------------------------------------------------------------------------------


def test_a_refused_copy_stops_the_batch_and_a_missing_image_is_a_failed_line(s3: Any) -> None:
    s3.put_object(Bucket=CUSTOMER, Key="cats/1.jpg", Body=b"jpeg")
    storage = S3Storage(f"s3://{STACK}/datasets/ds", s3, concurrency=2)
    missing = S3ImageSink(storage, concurrency=2).copy_batch(
        [(f"s3://{CUSTOMER}/cats/1.jpg", "images/train/1.jpg"),
         (f"s3://{CUSTOMER}/cats/gone.jpg", "images/train/gone.jpg")]
    )  # fmt: skip
    assert missing == {
        "images/train/gone.jpg": f"image not readable: s3://{CUSTOMER}/cats/gone.jpg (NoSuchKey)"
    }
    refused = S3ImageSink(S3Storage(f"s3://{STACK}/datasets/ds", Refused(s3, CUSTOMER)))
    with pytest.raises(ImageReadDenied) as denied:
        refused.copy_batch([(f"s3://{CUSTOMER}/cats/1.jpg", "images/train/1.jpg")])
    assert (denied.value.source, denied.value.operation) == (
        S3Uri(CUSTOMER, "cats/1.jpg"),
        "CopyObject",
    )


# --- Convert ---------------------------------------------------------------------------------


def _request(s3: Any, *refs: str) -> ConversionRequest:
    manifest = _manifest(s3, *(_line(ref) for ref in refs), key="manifests/cats.manifest")
    return ConversionRequest(
        source="manifest-drop", job_name="cats", dataset_name="cats",
        manifest_uri=manifest.name, label_attribute="boxes",
    )  # fmt: skip


def _datasets(s3: Any) -> list[str]:
    return [
        o["Key"] for o in s3.list_objects_v2(Bucket=STACK, Prefix="datasets/").get("Contents", [])
    ]


def test_convert_refused_by_an_image_bucket_fails_before_writing_anything(s3: Any) -> None:
    s3.put_object(Bucket=CUSTOMER, Key="cats/1.jpg", Body=b"jpeg")
    request = _request(s3, f"s3://{CUSTOMER}/cats/1.jpg")
    refused = Refused(s3, CUSTOMER)
    with pytest.raises(ImageAccessDenied, match="-c imageBuckets=customer-images`"):
        convert_request(request, ConvertSettings(STACK), s3_storage_ports(refused))
    assert _datasets(s3) == []  # not even the lock
    assert refused.calls[-1] == f"GetObject {CUSTOMER}"  # the probe, and no copy
    assert not [call for call in refused.calls if call.startswith("CopyObject")]


def test_convert_refused_by_a_bucket_past_the_head_fails_with_the_same_error(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow import image_access

    monkeypatch.setattr(image_access, "HEAD_BYTES", 1)  # the probe sees no whole line
    s3.put_object(Bucket=CUSTOMER, Key="cats/1.jpg", Body=b"jpeg")
    request = _request(s3, f"s3://{CUSTOMER}/cats/1.jpg")
    with pytest.raises(ImageAccessDenied, match="S3 refused CopyObject of s3://customer-images/"):
        convert_request(request, ConvertSettings(STACK), s3_storage_ports(Refused(s3, CUSTOMER)))
    assert "datasets/cats/_LOCK" not in _datasets(s3)  # released for the next attempt
    assert "datasets/cats/_SUCCESS" not in _datasets(s3)


def test_convert_counts_a_missing_image_in_a_readable_bucket_as_not_found(s3: Any) -> None:
    s3.put_object(Bucket=CUSTOMER, Key="cats/1.jpg", Body=b"jpeg")
    request = _request(s3, f"s3://{CUSTOMER}/cats/1.jpg", f"s3://{CUSTOMER}/cats/gone.jpg")
    outcome = convert_request(request, ConvertSettings(STACK), s3_storage_ports(s3))
    version = outcome.version
    report = json.loads(version_files(s3, STACK, "datasets/cats/", version)["report.json"])
    assert report["rejected"] == {"image_not_found": 1}
    assert outcome.summary.images == 1  # type: ignore[union-attr]
