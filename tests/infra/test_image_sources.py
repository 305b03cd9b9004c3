"""Image sources (`imageBuckets`, `imageKmsKeys`): which functions may read images where, and
what the owner of a bucket or key in another account adds to its policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import assertions

from .cfn import (
    as_list,
    function_id,
    function_role_id,
    only,
    properties,
    render,
    role_statements,
)
from .synthesis import IMAGE_KEY_ARN, IMAGE_SOURCES_CONTEXT, Synthesize

READERS = [
    "handlers.convert.handler",
    "handlers.convert_chunk.handler",
    "handlers.report.handler",
]
OTHERS = [
    "handlers.resolve.handler",
    "handlers.finalize.handler",
    "handlers.publish.handler",
    "handlers.notify_failure.handler",
    "handlers.intake.handler",
    "handlers.start_job.prepare",
    "handlers.start_job.create",
]
CUSTOMER = "arn:aws:s3:::customer-images"
ARCHIVE = "arn:aws:s3:::archive.example-corp"


@pytest.fixture(scope="module")
def sourced(synthesize: Synthesize) -> assertions.Template:
    """customer-images (whole), archive.example-corp/gt/2024/ and /gt/2025/, one SSE-KMS key."""
    return synthesize(IMAGE_SOURCES_CONTEXT)


def _bucket(template: assertions.Template) -> str:
    bucket = only(
        template,
        "AWS::S3::Bucket",
        NotificationConfiguration={"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    )
    return f"<{bucket}.Arn>"


def _statements(template: assertions.Template, handler: str) -> list[dict[str, Any]]:
    role = function_role_id(template, handler)
    return [render(statement) for statement in role_statements(template, role)]


def _reads(template: assertions.Template, handler: str) -> set[str]:
    return {
        resource
        for statement in _statements(template, handler)
        if "s3:GetObject" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def _listings(template: assertions.Template, handler: str) -> dict[str, Any]:
    """Bucket ARN -> the s3:prefix patterns ListBucket is limited to (None: the whole bucket)."""
    found: dict[str, Any] = {}
    for statement in _statements(template, handler):
        if as_list(statement["Action"]) == ["s3:ListBucket"]:
            condition = statement.get("Condition")
            prefixes = condition["StringLike"]["s3:prefix"] if condition else None
            found.setdefault(statement["Resource"], []).append(prefixes)
    return found


def _outputs(template: assertions.Template) -> dict[str, Any]:
    return {name: render(o["Value"]) for name, o in template.to_json()["Outputs"].items()}


# --- the default: the stack's own images/ only --------------------------------------------


@pytest.mark.parametrize("handler", READERS)
def test_by_default_readers_may_read_and_list_only_images_of_the_stacks_bucket(
    template: assertions.Template, handler: str
) -> None:
    bucket = _bucket(template)
    assert {r for r in _reads(template, handler) if r.startswith("arn:aws:s3:::")} == set()
    assert f"{bucket}/images/*" in _reads(template, handler)
    assert ["images/*"] in _listings(template, handler)[bucket]  # a missing image is a 404
    assert set(_listings(template, handler)) == {bucket}


def test_by_default_no_image_bucket_policy_is_printed(template: assertions.Template) -> None:
    assert not [name for name in _outputs(template) if name.startswith("Image")]


# --- imageBuckets ----------------------------------------------------------------------------


@pytest.mark.parametrize("handler", READERS)
def test_readers_may_get_objects_of_each_image_source_and_nothing_else_there(
    sourced: assertions.Template, handler: str
) -> None:
    external = {r for r in _reads(sourced, handler) if r.startswith("arn:aws:s3:::")}
    assert external == {f"{CUSTOMER}/*", f"{ARCHIVE}/gt/2024/*", f"{ARCHIVE}/gt/2025/*"}
    actions = {
        action
        for statement in _statements(sourced, handler)
        if any(str(r).startswith("arn:aws:s3:::") for r in as_list(statement["Resource"]))
        for action in as_list(statement["Action"])
    }
    assert actions == {"s3:GetObject", "s3:ListBucket"}  # never a write, never a delete


@pytest.mark.parametrize("handler", READERS)
def test_listing_a_whole_bucket_is_unconditioned_and_a_prefix_is_limited_by_s3_prefix(
    sourced: assertions.Template, handler: str
) -> None:
    listings = _listings(sourced, handler)
    assert listings[CUSTOMER] == [None]
    assert listings[ARCHIVE] == [["gt/2024/*", "gt/2025/*"]]


@pytest.mark.parametrize("handler", OTHERS)
def test_no_other_function_may_read_the_image_sources(
    sourced: assertions.Template, handler: str
) -> None:
    for statement in _statements(sourced, handler):
        for resource in as_list(statement["Resource"]):
            assert "customer-images" not in str(resource), (handler, statement)
            assert "archive.example-corp" not in str(resource), (handler, statement)
            assert resource != IMAGE_KEY_ARN, (handler, statement)


@pytest.mark.parametrize("handler", ["handlers.convert.handler", "handlers.convert_chunk.handler"])
def test_the_converters_know_the_sources_to_name_them_in_an_access_error(
    sourced: assertions.Template, handler: str
) -> None:
    variables = properties(sourced, function_id(sourced, handler))["Environment"]["Variables"]
    assert variables["IMAGE_BUCKETS"] == (
        "customer-images,archive.example-corp/gt/2024/,archive.example-corp/gt/2025/"
    )
    assert variables["IMAGES_PREFIX"] == "images/"


# --- imageKmsKeys ----------------------------------------------------------------------------


@pytest.mark.parametrize("handler", READERS)
def test_readers_may_decrypt_with_the_image_keys_only_through_s3_of_the_keys_region(
    synthesize: Synthesize, handler: str
) -> None:
    key = "arn:aws:kms:eu-west-1:444455556666:key/2f0c1e6a-1111-4222-8333-944455556666"
    template = synthesize({"imageBuckets": "customer-images", "imageKmsKeys": key})
    decrypt = [s for s in _statements(template, handler) if s["Resource"] == key]
    assert decrypt == [
        {
            "Action": "kms:Decrypt",
            "Effect": "Allow",
            "Resource": key,
            "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
        }
    ]


# --- what other accounts add -------------------------------------------------------------------


def _reader_roles(template: assertions.Template) -> list[str]:
    return [f"<{function_role_id(template, handler)}.Arn>" for handler in READERS]


def test_one_bucket_policy_per_image_bucket_lets_exactly_the_readers_read_the_sources(
    sourced: assertions.Template,
) -> None:
    outputs = _outputs(sourced)
    roles = {"AWS": _reader_roles(sourced)}
    assert json.loads(outputs["ImageBucketPolicy1"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Gt2YoloReadImages", "Effect": "Allow", "Principal": roles,
             "Action": "s3:GetObject", "Resource": [f"{CUSTOMER}/*"]},
            {"Sid": "Gt2YoloListImages", "Effect": "Allow", "Principal": roles,
             "Action": "s3:ListBucket", "Resource": CUSTOMER},
        ],
    }  # fmt: skip
    assert json.loads(outputs["ImageBucketPolicy2"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Gt2YoloReadImages", "Effect": "Allow", "Principal": roles,
             "Action": "s3:GetObject", "Resource": [f"{ARCHIVE}/gt/2024/*", f"{ARCHIVE}/gt/2025/*"]},
            {"Sid": "Gt2YoloListImages", "Effect": "Allow", "Principal": roles,
             "Action": "s3:ListBucket", "Resource": ARCHIVE,
             "Condition": {"StringLike": {"s3:prefix": ["gt/2024/*", "gt/2025/*"]}}},
        ],
    }  # fmt: skip
    assert "ImageBucketPolicy3" not in outputs
    description = sourced.to_json()["Outputs"]["ImageBucketPolicy2"]["Description"]
    assert "archive.example-corp" in description


def test_the_key_policy_statement_lets_the_readers_decrypt_through_s3_only(
    sourced: assertions.Template,
) -> None:
    statement = json.loads(_outputs(sourced)["ImageKeyPolicyStatement"])
    assert statement == {
        "Sid": "Gt2YoloDecryptImages",
        "Effect": "Allow",
        "Principal": {"AWS": _reader_roles(sourced)},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}},
    }


def test_without_image_keys_no_key_policy_statement_is_printed(synthesize: Synthesize) -> None:
    template = synthesize({"imageBuckets": "customer-images"})
    assert "ImageKeyPolicyStatement" not in _outputs(template)
    assert "ImageBucketPolicy1" in _outputs(template)
