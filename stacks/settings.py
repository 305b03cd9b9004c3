"""Deployment settings read from CDK context, validated once.

Every construct takes the typed `Settings` instead of calling `node.try_get_context` itself, so
the context keys, their defaults and their validation live in one place (documented in the
docstring of `stacks.gt2yolo_stack`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from constructs import Construct
from gt2yolo.collection import CollectionDefinition, parse_collections
from gt2yolo.collection.definition import DATASET_NAME
from gt2yolo.errors import ConversionError
from gt2yolo.exports.formats import parse_exports
from gt2yolo_config import defaults
from gt2yolo_config.training import MAX_RUNTIME_HOURS, TrainingSettings

DEFAULT_POWERTOOLS_LAYER_VERSION = 27
# The pipeline's own defaults, as context values (gt2yolo_config.defaults defines them).
DEFAULT_VAL_FRACTION = defaults.fraction_text(defaults.SPLIT.val)
DEFAULT_TEST_FRACTION = defaults.fraction_text(defaults.SPLIT.test)
# Manifests above this size convert through the Distributed Map, in chunks of about CHUNK_MIB.
DEFAULT_FAN_OUT_MIB = defaults.FAN_OUT_BYTES // defaults.MIB
DEFAULT_CHUNK_MIB = defaults.CHUNK_BYTES // defaults.MIB
DEFAULT_MAX_CHUNK_CONCURRENCY = 40
# Dataset versions kept (the current one included) so a model's training data can be restored.
DEFAULT_KEEP_VERSIONS = defaults.KEEP_VERSIONS
# Live datasets: minutes between sweeps of the jobs in progress; 0 leaves the sweep out.
DEFAULT_LIVE_INTERVAL_MINUTES = 60

# kmsKey: "create" makes a customer managed key in the stack; an ARN reuses an existing key.
KMS_KEY_CREATE = "create"
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
# SageMaker labeling job names: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; a prefix is any start of one.
_JOB_NAME_PREFIX = re.compile(r"^([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}-*)?$")
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_WORKTEAM_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:workteam/.+$")
# A Custom Labels project: `project/<name>/<creation timestamp>` (the API's ProjectArn pattern;
# the name as DescribeProjects' ProjectNames takes it).
REKOGNITION_PROJECT_ARN = re.compile(
    r"^arn:aws[a-z-]*:rekognition:[a-z0-9-]+:\d{12}:project/([a-zA-Z0-9_.\-]{1,255})/\d+$"
)
# General purpose bucket names (S3 User Guide, "Bucket naming rules"): 3-63 characters of a-z,
# 0-9, dots and hyphens, a letter or digit at both ends, no "..", not an IP address, and none
# of the prefixes and suffixes S3 reserves.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Each entry adds a resource to three roles' inline policies, which AWS caps at 10,240
# characters per role: a bound well inside it, with room for the roles' other statements.
MAX_IMAGE_BUCKETS = 20
MAX_IMAGE_KMS_KEYS = 20
MAX_KEY_BYTES = 1024  # S3's longest object key
CONTEXT_KEYS = (
    "bucketName",
    "jobNamePrefix",
    "notificationEmail",
    "convertStoppedJobs",
    "kmsKey",
    "valFraction",
    "testFraction",
    "powertoolsLayerVersion",
    "fanOutThresholdMiB",
    "chunkMiB",
    "maxChunkConcurrency",
    "intake",
    "streamingInputTopicArn",
    "workteamArn",
    "imageBuckets",
    "imageKmsKeys",
    "sourceBuckets",
    "keepVersions",
    "liveIntervalMinutes",
    "collections",
    "exports",
    "rekognitionProject",
    "training",
)
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class SettingsError(ValueError):
    """A context value is malformed; raised at synth time, before anything is deployed."""


@dataclass(frozen=True)
class ImageSource:
    """A bucket, or a prefix of one, whose images the conversions may read (`imageBuckets`)."""

    bucket: str
    prefix: str = ""  # "": the whole bucket; otherwise matched as S3 matches a key prefix

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def holds(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix)


@dataclass(frozen=True)
class Settings:
    """The context values of one deployment, parsed."""

    bucket_name: str | None = None
    job_name_prefix: str = ""
    notification_email: str | None = None
    convert_stopped_jobs: bool = False
    # None: S3-managed encryption; "create": a key made here; otherwise an existing key's ARN.
    kms_key: str | None = None
    val_fraction: str = DEFAULT_VAL_FRACTION
    test_fraction: str = DEFAULT_TEST_FRACTION
    powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION
    fan_out_threshold_mib: int = DEFAULT_FAN_OUT_MIB
    chunk_mib: int = DEFAULT_CHUNK_MIB
    max_chunk_concurrency: int = DEFAULT_MAX_CHUNK_CONCURRENCY
    # Intake (images/ -> input manifest -> labeling job): on unless `intake=false`.
    intake: bool = True
    streaming_input_topic_arn: str | None = None
    workteam_arn: str | None = None
    # Buckets (or prefixes) of other buckets that images may be read from, and the KMS keys
    # their objects are encrypted with; the stack's own `images/` is always readable.
    image_buckets: tuple[ImageSource, ...] = ()
    image_kms_keys: tuple[str, ...] = ()
    # Buckets (or prefixes) where past labeling jobs wrote their output: readable too (their
    # output manifests, label configs and, usually, images).
    source_buckets: tuple[ImageSource, ...] = ()
    keep_versions: int = DEFAULT_KEEP_VERSIONS
    # Convert the newest intermediate manifest of jobs in progress every this many minutes.
    live_interval_minutes: int = DEFAULT_LIVE_INTERVAL_MINUTES
    # Datasets fed by many jobs (and dropped manifests): each job in at most one.
    collections: tuple[CollectionDefinition, ...] = ()
    # Formats written beside each dataset version (exports/<format>/): coco, rekognition,
    # sagemaker; COCO unless the context says otherwise (`[]` for none).
    exports: tuple[str, ...] = tuple(parse_exports([defaults.EXPORTS]))
    # A Rekognition Custom Labels project whose TRAIN and TEST datasets each published version
    # replaces, from the version's Rekognition manifests (needs "rekognition" in `exports`).
    rekognition_project: str | None = None
    # Train Ultralytics YOLO on each published version of the listed datasets (None: off).
    training: TrainingSettings | None = None

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Settings:
        """Parse raw context values (strings from `-c key=value`, or JSON types from cdk.json)."""
        settings = cls(
            bucket_name=_optional_str(context.get("bucketName")),
            job_name_prefix=_job_name_prefix(context.get("jobNamePrefix")),
            notification_email=_email(context.get("notificationEmail")),
            convert_stopped_jobs=_bool("convertStoppedJobs", context.get("convertStoppedJobs")),
            kms_key=_kms_key(context.get("kmsKey")),
            val_fraction=_fraction("valFraction", context.get("valFraction"), DEFAULT_VAL_FRACTION),
            test_fraction=_fraction(
                "testFraction", context.get("testFraction"), DEFAULT_TEST_FRACTION
            ),
            powertools_layer_version=_layer_version(context.get("powertoolsLayerVersion")),
            fan_out_threshold_mib=_positive(
                "fanOutThresholdMiB", context.get("fanOutThresholdMiB"), DEFAULT_FAN_OUT_MIB
            ),
            chunk_mib=_positive("chunkMiB", context.get("chunkMiB"), DEFAULT_CHUNK_MIB),
            max_chunk_concurrency=_positive(
                "maxChunkConcurrency",
                context.get("maxChunkConcurrency"),
                DEFAULT_MAX_CHUNK_CONCURRENCY,
            ),
            intake=_bool("intake", context.get("intake"), default=True),
            streaming_input_topic_arn=_arn(
                "streamingInputTopicArn", context.get("streamingInputTopicArn"), _SNS_TOPIC_ARN
            ),
            workteam_arn=_arn("workteamArn", context.get("workteamArn"), _WORKTEAM_ARN),
            image_buckets=_image_buckets(context.get("imageBuckets")),
            image_kms_keys=_image_kms_keys(context.get("imageKmsKeys")),
            source_buckets=_image_buckets(context.get("sourceBuckets"), "sourceBuckets"),
            keep_versions=_positive(
                "keepVersions", context.get("keepVersions"), DEFAULT_KEEP_VERSIONS
            ),
            live_interval_minutes=_live_interval(context.get("liveIntervalMinutes")),
            collections=_collections(context.get("collections")),
            exports=_exports(context.get("exports")),
            rekognition_project=_rekognition_project(context.get("rekognitionProject")),
            training=_training(context.get("training")),
        )
        readable = set(settings.image_buckets) | set(settings.source_buckets)
        if len(readable) > MAX_IMAGE_BUCKETS:
            raise SettingsError(
                f"imageBuckets and sourceBuckets have {len(readable)} entries together, at most "
                f"{MAX_IMAGE_BUCKETS} fit the roles' policy size"
            )
        if float(settings.val_fraction) + float(settings.test_fraction) >= 1:
            raise SettingsError("valFraction + testFraction must leave images for training")
        if not settings.intake and (settings.workteam_arn or settings.streaming_input_topic_arn):
            raise SettingsError(
                "workteamArn and streamingInputTopicArn configure the intake, which intake=false "
                "turns off: drop intake=false, or those options"
            )
        if settings.rekognition_project and "rekognition" not in settings.exports:
            raise SettingsError(
                "rekognitionProject creates the project's datasets from the version's Rekognition "
                'manifests: add "rekognition" to exports, or drop rekognitionProject'
            )
        return settings

    @classmethod
    def of(cls, scope: Construct) -> Settings:
        """Read the settings from the context visible at `scope`."""
        return cls.from_context({key: scope.node.try_get_context(key) for key in CONTEXT_KEYS})


def _exports(value: Any) -> tuple[str, ...]:
    """`["coco", "sagemaker"]` (cdk.json), `coco,sagemaker` or `[]`/`none` (-c): the formats."""
    if value is None:
        return tuple(parse_exports([defaults.EXPORTS]))
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingsError(f"exports {value!r}: not a JSON list") from None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise SettingsError(f"exports {value!r}: give format names (coco, rekognition, sagemaker)")
    try:
        return tuple(parse_exports(items))
    except ConversionError as exc:
        raise SettingsError(f"exports: {exc}") from None


def _optional_str(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _job_name_prefix(value: Any) -> str:
    prefix = _optional_str(value) or ""
    if not _JOB_NAME_PREFIX.fullmatch(prefix):
        raise SettingsError(f"jobNamePrefix {prefix!r} cannot start a labeling job name")
    return prefix


def _email(value: Any) -> str | None:
    email = _optional_str(value)
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise SettingsError(f"notificationEmail {email!r} is not an e-mail address")
    return email


def _bool(name: str, value: Any, *, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _kms_key(value: Any) -> str | None:
    key = _optional_str(value)
    if key is None or key == KMS_KEY_CREATE or _KMS_KEY_ARN.fullmatch(key):
        return key
    raise SettingsError(f'kmsKey must be "{KMS_KEY_CREATE}" or a KMS key ARN, not {key!r}')


def _fraction(name: str, value: Any, default: str) -> str:
    # Kept as text: it reaches the Lambda environment unchanged, but must parse as [0, 1).
    text = _optional_str(value) or default
    try:
        number = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {text!r}") from None
    if not 0 <= number < 1:
        raise SettingsError(f"{name} must be in [0, 1), not {text}")
    return text


def _layer_version(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_POWERTOOLS_LAYER_VERSION
    try:
        version = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"powertoolsLayerVersion must be an integer, not {value!r}") from None
    if version < 1:
        raise SettingsError(f"powertoolsLayerVersion must be positive, not {version}")
    return version


def _positive(name: str, value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be an integer, not {value!r}") from None
    if number < 1:
        raise SettingsError(f"{name} must be positive, not {number}")
    return number


def _live_interval(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_LIVE_INTERVAL_MINUTES
    # bool is an int in Python: `true` from cdk.json must not read as 1 minute.
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit():
        raise SettingsError(
            f"liveIntervalMinutes must be a whole number of minutes (0 turns live datasets off; "
            f"EventBridge Scheduler runs at most once a minute), not {value!r}"
        )
    return int(text)


def _arn(name: str, value: Any, pattern: re.Pattern[str]) -> str | None:
    arn = _optional_str(value)
    if arn is not None and not pattern.fullmatch(arn):
        raise SettingsError(f"{name} {arn!r} is not an ARN of the right kind")
    return arn


def _rekognition_project(value: Any) -> str | None:
    arn = _optional_str(value)
    if arn is not None and not REKOGNITION_PROJECT_ARN.fullmatch(arn):
        raise SettingsError(
            f"rekognitionProject {arn!r} is not a Custom Labels project ARN "
            "(arn:aws:rekognition:<region>:<account>:project/<name>/<creation timestamp>)"
        )
    return arn


def rekognition_project_name(arn: str) -> str:
    """`arn:...:project/<name>/<timestamp>` -> `<name>` (IAM names its datasets by it)."""
    found = REKOGNITION_PROJECT_ARN.fullmatch(arn)
    if found is None:
        raise SettingsError(f"{arn!r} is not a Custom Labels project ARN")
    return found.group(1)


def _entries(name: str, value: Any) -> list[str]:
    """A list from cdk.json, or `-c name=a,b` (a JSON list in a string is accepted too)."""
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingsError(f"{name} is neither a JSON list nor comma separated") from None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise SettingsError(f"{name} must be a list of strings or comma separated, not {value!r}")
    return [item.strip() for item in items if item.strip()]


def _image_buckets(value: Any, name: str = "imageBuckets") -> tuple[ImageSource, ...]:
    """`imageBuckets`, or `sourceBuckets` (the same entries: a bucket or `bucket/prefix`)."""
    sources = list(dict.fromkeys(_image_source(entry, name) for entry in _entries(name, value)))
    if len(sources) > MAX_IMAGE_BUCKETS:
        raise SettingsError(
            f"{name} has {len(sources)} entries, at most {MAX_IMAGE_BUCKETS} fit the roles' "
            "policy size: name whole buckets instead of several prefixes of one"
        )
    return tuple(sources)


def _image_source(entry: str, name: str = "imageBuckets") -> ImageSource:
    bucket, _, prefix = entry.removeprefix("s3://").partition("/")
    problem = _bucket_name_problem(bucket)
    if problem:
        raise SettingsError(f"{name} entry {entry!r}: {bucket!r} {problem}")
    problem = _prefix_problem(prefix)
    if problem:
        raise SettingsError(f"{name} entry {entry!r}: the prefix {prefix!r} {problem}")
    return ImageSource(bucket, prefix)


def _bucket_name_problem(name: str) -> str | None:
    if not _BUCKET_NAME.fullmatch(name):
        return (
            "is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit)"
        )
    if ".." in name:
        return "is not a bucket name (two dots in a row)"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "is not a bucket name (it has the form of an IP address)"
    if name.startswith(_RESERVED_BUCKET_PREFIXES) or name.endswith(_RESERVED_BUCKET_SUFFIXES):
        return "is not a bucket name (S3 reserves its prefix or suffix)"
    return None


def _prefix_problem(prefix: str) -> str | None:
    if prefix.startswith("/"):
        return "starts with '/' (write bucket/prefix, one slash)"
    if "*" in prefix or "?" in prefix or "${" in prefix:
        # IAM reads them as wildcards and policy variables: the grant would reach further.
        return "has '*', '?' or '${': a prefix is matched literally, list each one instead"
    if "," in prefix:
        return "has a comma, which separates entries"
    if any(ord(char) < 32 or ord(char) == 127 for char in prefix):
        return "has a control character"
    if len(prefix.encode("utf-8")) > MAX_KEY_BYTES:
        return f"is longer than S3's longest key ({MAX_KEY_BYTES} bytes)"
    return None


def _image_kms_keys(value: Any) -> tuple[str, ...]:
    keys = list(dict.fromkeys(_entries("imageKmsKeys", value)))
    for key in keys:
        if not _KMS_KEY_ARN.fullmatch(key):
            raise SettingsError(
                f"imageKmsKeys entry {key!r} is not a KMS key ARN "
                "(arn:aws:kms:<region>:<account>:key/<key id>; IAM matches keys by ARN, not alias)"
            )
    if len(keys) > MAX_IMAGE_KMS_KEYS:
        raise SettingsError(f"imageKmsKeys has {len(keys)} keys, at most {MAX_IMAGE_KMS_KEYS}")
    return tuple(keys)


# Resolve carries the definitions in its environment, which Lambda caps at 4 KB in all.
MAX_COLLECTIONS_TEXT = 2048


def _collections(value: Any) -> tuple[CollectionDefinition, ...]:
    """`collections`: a list in cdk.json, or its JSON text from `-c collections=[...]`."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"collections is not JSON: {exc}") from None
    try:
        collections = parse_collections(value)
    except (ValueError, ConversionError) as exc:
        raise SettingsError(f"collections: {exc}") from None
    if len(collections_text(collections)) > MAX_COLLECTIONS_TEXT:
        raise SettingsError(
            f"collections take {len(collections_text(collections))} characters, at most "
            f"{MAX_COLLECTIONS_TEXT} fit Resolve's environment: use fewer, broader patterns"
        )
    return collections


def collections_text(collections: tuple[CollectionDefinition, ...]) -> str:
    """The definitions as Resolve reads them (COLLECTIONS): compact JSON, in the given order."""
    return json.dumps([c.as_context() for c in collections], separators=(",", ":"))


# `training`: its keys, and the bounds that keep a typo from costing a GPU-week.
_TRAINING_KEYS = {
    "instanceType": "instance_type",
    "model": "model",
    "epochs": "epochs",
    "imgsz": "imgsz",
    "spot": "spot",
    "datasets": "datasets",
    "maxRuntimeHours": "max_runtime_hours",
    "exportOnnx": "export_onnx",
    "volumeSizeGB": "volume_size_gb",
}
# A SageMaker training instance type: ml.<family>.<size> (ml.g5.xlarge, ml.p4d.24xlarge).
_TRAINING_INSTANCE_TYPE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Ultralytics weights or a model config by name (it downloads the official ones): no path, no URL.
_TRAINING_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(pt|yaml)$")
TRAINING_BOUNDS = {
    "epochs": (1, 10_000),
    "imgsz": (32, 4096),  # Ultralytics rounds it to a multiple of the stride, 32
    "maxRuntimeHours": (1, MAX_RUNTIME_HOURS),
    "volumeSizeGB": (1, 16_384),  # ResourceConfig.VolumeSizeInGB (gp2 volumes up to 16 TiB)
}
# Each dataset adds two resources to the execution role's inline policy (10,240 characters).
MAX_TRAINING_DATASETS = 20


def _training(value: Any) -> TrainingSettings | None:
    """`training`: an object in cdk.json, or its JSON text from `-c training={...}`."""
    if value is None or value == "":
        return None
    value = _training_object(value)
    fields: dict[str, Any] = {"datasets": _training_datasets(value.get("datasets"))}
    if "instanceType" in value:
        fields["instance_type"] = _training_text(
            "instanceType", value["instanceType"], _TRAINING_INSTANCE_TYPE,
            "a SageMaker training instance type (ml.<family>.<size>, e.g. ml.g5.xlarge)",
        )  # fmt: skip
    if "model" in value:
        fields["model"] = _training_text(
            "model", value["model"], _TRAINING_MODEL,
            "an Ultralytics model file name (e.g. yolo11n.pt, yolo11s-seg.pt, yolo11n.yaml)",
        )  # fmt: skip
    for key, (low, high) in TRAINING_BOUNDS.items():
        if key in value:
            fields[_TRAINING_KEYS[key]] = _training_int(key, value[key], low, high)
    for key in ("spot", "exportOnnx"):
        if key in value:
            fields[_TRAINING_KEYS[key]] = _training_bool(key, value[key])
    return TrainingSettings(**fields)


def _training_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"training is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SettingsError(
            f'training must be an object like {{"datasets": ["parts"]}}, not {value!r}'
        )
    unknown = sorted(str(key) for key in set(value) - set(_TRAINING_KEYS))
    if unknown:
        raise SettingsError(f"training: unknown key(s) {unknown}; known: {sorted(_TRAINING_KEYS)}")
    return value


def _training_datasets(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SettingsError(
            f'training.datasets must be a non-empty list of dataset names (["parts"]), not '
            f"{value!r}"
        )
    for name in value:
        if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
            raise SettingsError(
                f"training.datasets: {name!r} is not a dataset name (1 to 128 of A-Z a-z 0-9 "
                ". _ -, starting with a letter or digit: the folder datasets/<name>/)"
            )
    if len(set(value)) != len(value):
        raise SettingsError(f"training.datasets names a dataset twice: {value!r}")
    if len(value) > MAX_TRAINING_DATASETS:
        raise SettingsError(
            f"training.datasets has {len(value)} datasets, at most {MAX_TRAINING_DATASETS} fit "
            "the execution role's policy size"
        )
    return tuple(value)


def _training_text(key: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SettingsError(f"training.{key} must be {what}, not {value!r}")
    return value


def _training_int(key: str, value: Any, low: int, high: int) -> int:
    # bool is an int in Python: `true` must not read as 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"training.{key} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise SettingsError(f"training.{key} must be between {low} and {high}, not {value}")
    return value


def _training_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"training.{key} must be true or false, not {value!r}")
    return value
