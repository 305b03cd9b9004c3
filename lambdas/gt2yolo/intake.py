"""Intake rules: which dropped objects become lines of a Ground Truth input manifest.

Images dropped under `images/<dataset>/` (any depth below the dataset folder) are candidates.
Ground Truth's bounding-box jobs accept .jpg, .jpeg and .png images up to 40 MB; anything else
is skipped with a reason, so a stray README or a 60 MB TIFF never reaches a worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

IMAGES_PREFIX = "images/"
INTAKE_PREFIX = "manifests/input/"
MANIFEST_SUFFIX = ".manifest"
# Ground Truth "Supported data formats": Bounding Box input images are .jpg, .jpeg, .png.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
# Ground Truth quota: images up to 40 MB. Decimal megabytes: when in doubt, skip (and say so)
# rather than send workers a task that fails.
MAX_IMAGE_BYTES = 40 * 1000 * 1000
# Content types that say nothing about the bytes (S3's defaults for an upload without a type).
UNTYPED_CONTENT = frozenset({"", "binary/octet-stream", "application/octet-stream"})
# Streaming jobs deduplicate on this key: a redelivered image is never a second task.
DEDUPLICATION_KEY = "dataset-objectid-attribute-name"
SOURCE_REF = "source-ref"


class SkipReason(StrEnum):
    """Why a dropped object is not labeled (a log field and a metric name)."""

    NOT_IN_A_DATASET_FOLDER = "not_in_a_dataset_folder"
    NOT_AN_IMAGE = "not_an_image"
    CONTENT_TYPE_NOT_AN_IMAGE = "content_type_not_an_image"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    GONE = "gone"


@dataclass(frozen=True)
class AcceptedImage:
    """A dropped object that goes into `manifests/input/<dataset>.manifest`."""

    dataset: str
    key: str
    source_ref: str


@dataclass(frozen=True)
class SkippedObject:
    key: str
    reason: SkipReason
    detail: str


def dataset_of(key: str) -> str | None:
    """`images/<dataset>/<...>/<file>` -> `<dataset>`; None for keys not in a dataset folder."""
    if not key.startswith(IMAGES_PREFIX):
        return None
    dataset, separator, rest = key[len(IMAGES_PREFIX) :].partition("/")
    if not dataset or not separator or not rest or rest.endswith("/"):
        return None
    return dataset


def extension_of(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


def judge_dropped_object(
    bucket: str, key: str, size: int, content_type: str = ""
) -> AcceptedImage | SkippedObject:
    """Apply the intake rules to one created object (size and type as S3 reports them)."""
    dataset = dataset_of(key)
    if dataset is None:
        detail = f"{key} is not under {IMAGES_PREFIX}<dataset>/"
        return SkippedObject(key, SkipReason.NOT_IN_A_DATASET_FOLDER, detail)
    extension = extension_of(key)
    if extension not in IMAGE_EXTENSIONS:
        accepted = ", ".join(sorted(IMAGE_EXTENSIONS))
        detail = f"extension {extension or '(none)'!r} is not one Ground Truth accepts ({accepted})"
        return SkippedObject(key, SkipReason.NOT_AN_IMAGE, detail)
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in UNTYPED_CONTENT and not media_type.startswith("image/"):
        detail = f"content type {content_type!r} is not an image"
        return SkippedObject(key, SkipReason.CONTENT_TYPE_NOT_AN_IMAGE, detail)
    if size <= 0:
        return SkippedObject(key, SkipReason.EMPTY, "the object is empty")
    if size > MAX_IMAGE_BYTES:
        detail = f"{size} bytes is over Ground Truth's {MAX_IMAGE_BYTES} byte image limit"
        return SkippedObject(key, SkipReason.TOO_LARGE, detail)
    return AcceptedImage(dataset, key, f"s3://{bucket}/{key}")


def input_manifest_key(dataset: str) -> str:
    return f"{INTAKE_PREFIX}{dataset}{MANIFEST_SUFFIX}"


def manifest_line(source_ref: str) -> str:
    """One input-manifest line (JSON Lines, UTF-8: non-ASCII names stay readable)."""
    return json.dumps({SOURCE_REF: source_ref}, ensure_ascii=False)


def manifest_body(source_refs: list[str]) -> bytes:
    """The whole input manifest, one line per image, in the order given."""
    return "".join(manifest_line(ref) + "\n" for ref in source_refs).encode("utf-8")


def streaming_message(source_ref: str) -> str:
    """The SNS message that feeds one image to a streaming labeling job.

    Naming `source-ref` as the deduplication key makes Ground Truth send each image to workers
    once, however often the message is published (SNS and S3 events may both be redelivered).
    """
    return json.dumps({SOURCE_REF: source_ref, DEDUPLICATION_KEY: SOURCE_REF}, ensure_ascii=False)
