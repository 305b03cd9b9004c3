"""Images in the customer's own buckets, on the synthesized stack (`imageBuckets` =
customer-images, partner-images/shapes/), with IAM for S3 emulated by the local cloud: each
function's S3 requests are refused unless its role's policies (and, for a bucket of another
account, that bucket's policy) allow them."""

from __future__ import annotations

import json

from localrun.cloud import LocalCloud
from localrun.lambda_events import object_created_event
from samples.detection import CUSTOMER_IMAGES, PARTNER_IMAGES, SampleJob, make_sample_job

MANIFEST = "manifests/customer/shapes.manifest"
DATASET = "datasets/customer/shapes/"


def _drop(cloud: LocalCloud, job: SampleJob) -> dict[str, object]:
    """Drop the job's output manifest under manifests/ and run the execution it starts."""
    body = job.objects[job.manifest_key]
    cloud.client("s3").put_object(Bucket=cloud.bucket, Key=MANIFEST, Body=body)
    execution = cloud.put_event(object_created_event(cloud.bucket, MANIFEST, len(body)))
    assert execution is not None
    return execution.__dict__


def _keys(cloud: LocalCloud, prefix: str) -> list[str]:
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def _report(cloud: LocalCloud) -> dict[str, object]:
    report: dict[str, object] = json.loads(cloud.dataset(DATASET)["report.json"])
    return report


def _job_in(cloud: LocalCloud, bucket: str, dataset: str = "shapes") -> SampleJob:
    job = make_sample_job(cloud.bucket, "shapes", images=6, image_bucket=bucket, dataset=dataset)
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, bucket)
    return job


def test_images_in_a_configured_bucket_are_copied_into_the_dataset(cloud: LocalCloud) -> None:
    job = _job_in(cloud, CUSTOMER_IMAGES)
    execution = _drop(cloud, job)
    assert execution["status"] == "SUCCEEDED", execution["cause"]
    assert _report(cloud)["images"] == len(job.truth)
    assert len([k for k in cloud.dataset(DATASET) if k.startswith("images/")]) == len(job.truth)
    assert cloud.denials == []


def test_images_in_a_bucket_that_is_not_configured_fail_early_naming_the_option(
    cloud: LocalCloud,
) -> None:
    # Given a manifest whose images (all there) are in a bucket imageBuckets does not name
    cloud.create_bucket("unlisted-photos")
    job = _job_in(cloud, "unlisted-photos")
    # When it is dropped
    execution = _drop(cloud, job)
    # Then S3 refused Convert's first read there, and the execution fails saying what to set
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ImageAccessDenied"
    cause = str(execution["cause"])
    assert cause.startswith(
        "cannot read the images in bucket unlisted-photos: S3 refused GetObject"
    )
    assert f"`-c imageBuckets={CUSTOMER_IMAGES},{PARTNER_IMAGES}/shapes/,unlisted-photos`" in cause
    [note] = cloud.notifications()
    assert "unlisted-photos" in note["Message"] and "-c imageBuckets=" in note["Message"]
    # before anything was written: no lock, no label, no image copy
    assert _keys(cloud, "datasets/") == []
    [denial] = cloud.denials
    assert (denial.check.action, denial.check.resource) == (
        "s3:GetObject",
        "arn:aws:s3:::unlisted-photos/shapes/site-a/img_000.jpg",
    )
    assert "ConvertFunction" in denial.function


def test_a_missing_image_in_a_configured_bucket_stays_a_counted_rejection(
    cloud: LocalCloud,
) -> None:
    job = _job_in(cloud, CUSTOMER_IMAGES)
    gone = "shapes/site-b/img_000.jpg"
    cloud.client("s3").delete_object(Bucket=CUSTOMER_IMAGES, Key=gone)
    execution = _drop(cloud, job)
    assert execution["status"] == "SUCCEEDED", execution["cause"]
    report = _report(cloud)
    assert report["images"] == len(job.truth) - 1
    assert report["rejected"] == {"failed_object": 1, "not_labeled": 1, "image_not_found": 1}
    assert cloud.denials == []  # S3 answered 404: the readers may list the bucket


def test_a_bucket_of_another_account_needs_the_bucket_policy_the_stack_prints(
    cloud: LocalCloud,
) -> None:
    # Given images under partner-images/shapes/ (another account), whose policy is not set yet
    job = _job_in(cloud, PARTNER_IMAGES)
    first = _drop(cloud, job)
    assert first["status"] == "FAILED"
    assert "stack output ImageBucketPolicy2 to its bucket policy" in str(first["cause"])
    assert [d.reason for d in cloud.denials] == [
        "the bucket is in another account and its bucket policy does not allow it"
    ]
    # When its owner adds the policy the stack printed (the second image bucket's)
    stack = cloud.client("cloudformation").describe_stacks(StackName=cloud.stack_name)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
    cloud.client("s3").put_bucket_policy(
        Bucket=PARTNER_IMAGES, Policy=outputs["ImageBucketPolicy2"]
    )
    # Then the same drop converts every image
    second = _drop(cloud, job)
    assert second["status"] == "SUCCEEDED", second["cause"]
    assert _report(cloud)["images"] == len(job.truth)


def test_images_outside_the_configured_prefix_name_the_prefixes_allowed(
    cloud: LocalCloud,
) -> None:
    job = _job_in(cloud, PARTNER_IMAGES, dataset="other")
    execution = _drop(cloud, job)
    assert execution["status"] == "FAILED"
    cause = str(execution["cause"])
    assert f"may read only {PARTNER_IMAGES}/shapes/ there" in cause
    assert f"{PARTNER_IMAGES}/shapes/,{PARTNER_IMAGES}/other/`" in cause
    assert [d.reason for d in cloud.denials] == ["no identity-based policy allows it"]
