"""Environment configuration, validated once per cold start: a bad deploy fails loudly, early.

Each function's variables (names, types, defaults, constraints) are stated once, in
`gt2yolo_config.environment`; here they are parsed with pydantic into that contract's class, and
the use cases' settings are built from it by field name.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any, TypeVar, cast

from gt2yolo.collection import parse_collections
from gt2yolo_config.environment import (
    BackfillEnv,
    ConvertChunkEnv,
    ConvertEnv,
    FinalizeEnv,
    IntakeEnv,
    LiveEnv,
    ModelReadyEnv,
    NotifyEnv,
    PublishEnv,
    RekognitionEnv,
    ReportEnv,
    ResolveEnv,
    StartJobEnv,
    variables,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from workflow.backfill import BackfillSettings
from workflow.convert import ConvertSettings
from workflow.live import LiveSettings
from workflow.rekognition import RekognitionSettings
from workflow.report_settings import ReportSettings
from workflow.resolve import ResolveSettings
from workflow.sources import SourceBuckets

Env = TypeVar("Env")


def load(environment: type[Env]) -> Env:
    """`os.environ` parsed into the contract's class, or an error naming the bad variables."""
    try:
        parsed = _model(environment).model_validate(dict(os.environ))
    except ValidationError as exc:
        raise RuntimeError(f"invalid Lambda environment for {environment.__name__}: {exc}") from exc
    return cast(Env, cast(Any, environment)(**parsed.model_dump()))


_MODELS: dict[type[Any], type[BaseModel]] = {}


def _model(environment: type[Any]) -> type[BaseModel]:
    """The pydantic model of an environment class: its fields, defaults and constraints."""
    if environment not in _MODELS:
        fields: dict[str, Any] = {
            v.name: (v.type, Field(... if v.required else v.default, **v.constraints))
            for v in variables(environment)
        }
        _MODELS[environment] = create_model(
            environment.__name__, __config__=ConfigDict(extra="ignore", frozen=True), **fields
        )
    return _MODELS[environment]


@cache
def resolve_settings() -> ResolveSettings:
    env = load(ResolveEnv)
    return ResolveSettings(
        bucket=env.BUCKET_NAME,
        job_name_prefix=env.JOB_NAME_PREFIX,
        convert_stopped_jobs=env.CONVERT_STOPPED_JOBS,
        manifests_prefix=env.MANIFESTS_PREFIX,
        collections=parse_collections(json.loads(env.COLLECTIONS)),
        sources=SourceBuckets.from_setting(env.SOURCE_BUCKETS),
    )


@cache
def backfill_env() -> BackfillEnv:
    return load(BackfillEnv)


@cache
def backfill_settings() -> BackfillSettings:
    env = backfill_env()
    return BackfillSettings(
        resolve=ResolveSettings(
            bucket=env.BUCKET_NAME,
            job_name_prefix=env.JOB_NAME_PREFIX,
            convert_stopped_jobs=env.CONVERT_STOPPED_JOBS,
        ),
        sources=SourceBuckets.from_setting(env.SOURCE_BUCKETS),
        datasets_prefix=env.DATASETS_PREFIX,
    )


@cache
def live_env() -> LiveEnv:
    return load(LiveEnv)


@cache
def live_settings() -> LiveSettings:
    env = live_env()
    return LiveSettings(
        resolve=ResolveSettings(bucket=env.BUCKET_NAME, job_name_prefix=env.JOB_NAME_PREFIX),
        groundtruth_prefix=env.GROUNDTRUTH_PREFIX,
    )


@cache
def convert_settings() -> ConvertSettings:
    env = load(ConvertEnv)
    return ConvertSettings(
        bucket=env.BUCKET_NAME,
        datasets_prefix=env.DATASETS_PREFIX,
        val_fraction=env.VAL_FRACTION,
        test_fraction=env.TEST_FRACTION,
        exports=env.EXPORTS,
        copy_images=env.COPY_IMAGES,
        fan_out_bytes=env.FAN_OUT_BYTES,
        chunk_bytes=env.CHUNK_BYTES,
        images_prefix=env.IMAGES_PREFIX,
        image_buckets=env.IMAGE_BUCKETS,
        sequences_per_chunk=env.SEQUENCES_PER_CHUNK,
    )


@cache
def convert_chunk_settings() -> ConvertSettings:
    """A chunk is planned already: it neither fans out nor plans (those settings keep their
    defaults, unread)."""
    env = load(ConvertChunkEnv)
    return ConvertSettings(
        bucket=env.BUCKET_NAME,
        datasets_prefix=env.DATASETS_PREFIX,
        val_fraction=env.VAL_FRACTION,
        test_fraction=env.TEST_FRACTION,
        exports=env.EXPORTS,
        copy_images=env.COPY_IMAGES,
        images_prefix=env.IMAGES_PREFIX,
        image_buckets=env.IMAGE_BUCKETS,
    )


@cache
def finalize_settings() -> ConvertSettings:
    """Finalize merges parts: it reads no image (the image settings keep their defaults)."""
    env = load(FinalizeEnv)
    return ConvertSettings(
        bucket=env.BUCKET_NAME,
        datasets_prefix=env.DATASETS_PREFIX,
        val_fraction=env.VAL_FRACTION,
        test_fraction=env.TEST_FRACTION,
        exports=env.EXPORTS,
    )


@cache
def report_settings() -> ReportSettings:
    env = load(ReportEnv)
    return ReportSettings(
        bucket=env.BUCKET_NAME,
        groundtruth_prefix=env.GROUNDTRUTH_PREFIX,
        sample_size=env.PREVIEW_SAMPLE,
        flagged_limit=env.PREVIEW_FLAGGED_LIMIT,
    )


@cache
def publish_env() -> PublishEnv:
    return load(PublishEnv)


@cache
def rekognition_settings() -> RekognitionSettings:
    env = load(RekognitionEnv)
    return RekognitionSettings(
        project_arn=env.PROJECT_ARN, poll_seconds=env.POLL_SECONDS, max_polls=env.MAX_POLLS
    )


@cache
def notify_env() -> NotifyEnv:
    return load(NotifyEnv)


@cache
def intake_env() -> IntakeEnv:
    return load(IntakeEnv)


@cache
def start_job_env() -> StartJobEnv:
    return load(StartJobEnv)


def reset() -> None:
    """Forget validated settings (tests change the environment between cold starts)."""
    for loader in (resolve_settings, convert_settings, convert_chunk_settings, finalize_settings,
                   report_settings, publish_env, notify_env, intake_env, start_job_env, live_env,
                   live_settings, backfill_env, backfill_settings,
                   rekognition_settings, model_ready_env):  # fmt: skip
        loader.cache_clear()


@cache
def model_ready_env() -> ModelReadyEnv:
    return load(ModelReadyEnv)
