"""Intake rules: which dropped objects become input-manifest lines, and how those lines look."""

from __future__ import annotations

import json

import pytest
from gt2yolo.intake import (
    MAX_IMAGE_BYTES,
    AcceptedImage,
    SkippedObject,
    SkipReason,
    dataset_of,
    input_manifest_key,
    judge_dropped_object,
    manifest_body,
    manifest_line,
    streaming_message,
)

BUCKET = "my-bucket"


def _reason(key: str, size: int = 1000, content_type: str = "") -> SkipReason | None:
    judged = judge_dropped_object(BUCKET, key, size, content_type)
    return judged.reason if isinstance(judged, SkippedObject) else None


@pytest.mark.parametrize(
    ("key", "dataset"),
    [
        ("images/cars/a.jpg", "cars"),
        ("images/cars/2026/05/a.jpg", "cars"),
        ("images/street scenes/ねこ 01.png", "street scenes"),
    ],
)
def test_the_dataset_is_the_first_folder_under_images(key: str, dataset: str) -> None:
    assert dataset_of(key) == dataset


@pytest.mark.parametrize(
    "key", ["images/a.jpg", "images//a.jpg", "images/cars/", "manifests/cars/a.jpg", "imagesx/a/b"]
)
def test_objects_outside_a_dataset_folder_are_skipped(key: str) -> None:
    assert dataset_of(key) is None
    assert _reason(key) in {SkipReason.NOT_IN_A_DATASET_FOLDER}


@pytest.mark.parametrize(
    "key", ["images/cars/a.jpg", "images/cars/a.JPEG", "images/cars/a.b.png", "images/cars/x.Png"]
)
def test_jpeg_and_png_images_are_accepted_whatever_the_case_of_the_extension(key: str) -> None:
    judged = judge_dropped_object(BUCKET, key, 1000, "")
    assert judged == AcceptedImage("cars", key, f"s3://{BUCKET}/{key}")


@pytest.mark.parametrize(
    "key",
    [
        "images/cars/notes.txt",
        "images/cars/scan.tiff",
        "images/cars/photo.heic",
        "images/cars/photo.gif",
        "images/cars/README",
        "images/cars/.jpg",  # a hidden file named ".jpg" has no extension
        "images/cars/labels.json",
    ],
)
def test_files_of_types_ground_truth_does_not_accept_are_skipped(key: str) -> None:
    assert _reason(key) is SkipReason.NOT_AN_IMAGE


@pytest.mark.parametrize("content_type", ["text/html", "application/pdf", "video/mp4"])
def test_an_image_name_with_a_non_image_content_type_is_skipped(content_type: str) -> None:
    assert _reason("images/cars/a.jpg", content_type=content_type) is (
        SkipReason.CONTENT_TYPE_NOT_AN_IMAGE
    )


@pytest.mark.parametrize(
    "content_type",
    ["", "binary/octet-stream", "application/octet-stream", "image/jpeg", "image/png"],
)
def test_untyped_uploads_and_image_content_types_are_accepted(content_type: str) -> None:
    assert _reason("images/cars/a.jpg", content_type=content_type) is None


def test_images_up_to_40_mb_are_accepted_larger_ones_skipped() -> None:
    assert _reason("images/cars/a.jpg", size=MAX_IMAGE_BYTES) is None
    assert _reason("images/cars/a.jpg", size=MAX_IMAGE_BYTES + 1) is SkipReason.TOO_LARGE


def test_empty_objects_are_skipped() -> None:
    assert _reason("images/cars/a.jpg", size=0) is SkipReason.EMPTY


def test_every_skip_says_why_in_words() -> None:
    judged = judge_dropped_object(BUCKET, "images/cars/big.png", 50_000_000, "")
    assert isinstance(judged, SkippedObject)
    assert "50000000 bytes" in judged.detail
    assert "40000000" in judged.detail


def test_the_input_manifest_of_a_dataset_lives_in_the_intake_area() -> None:
    assert input_manifest_key("cars") == "manifests/input/cars.manifest"


def test_a_manifest_line_is_one_source_ref_object_with_unicode_kept() -> None:
    line = manifest_line("s3://b/images/c/ねこ 01.jpg")
    assert json.loads(line) == {"source-ref": "s3://b/images/c/ねこ 01.jpg"}
    assert "ねこ" in line
    assert "\n" not in line


def test_the_manifest_body_has_one_line_per_image_in_order() -> None:
    body = manifest_body(["s3://b/images/c/1.jpg", "s3://b/images/c/2.jpg"]).decode()
    assert [json.loads(line)["source-ref"] for line in body.splitlines()] == [
        "s3://b/images/c/1.jpg",
        "s3://b/images/c/2.jpg",
    ]
    assert body.endswith("\n")
    assert manifest_body([]) == b""


def test_a_streaming_message_names_source_ref_as_its_deduplication_key() -> None:
    message = json.loads(streaming_message("s3://b/images/c/1.jpg"))
    assert message == {
        "source-ref": "s3://b/images/c/1.jpg",
        "dataset-objectid-attribute-name": "source-ref",
    }
