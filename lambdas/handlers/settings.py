"""Environment configuration, validated once per cold start: a bad deploy fails loudly, early."""

from __future__ import annotations

import os
from functools import cache

from gt2yolo.fanout import DEFAULT_CHUNK_BYTES
from gt2yolo.versions import DEFAULT_KEEP
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from workflow.convert import DEFAULT_FAN_OUT_BYTES, DEFAULT_SEQUENCES_PER_CHUNK, ConvertSettings
from workflow.live import LiveSettings
from workflow.report_settings import ReportSettings
from workflow.resolve import ResolveSettings


class _Env(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def load(cls) -> _Env:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as exc:
            raise RuntimeError(f"invalid Lambda environment for {cls.__name__}: {exc}") from exc


class ResolveEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    JOB_NAME_PREFIX: str = ""
    CONVERT_STOPPED_JOBS: bool = False
    MANIFESTS_PREFIX: str = "manifests/"


class LiveEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    JOB_NAME_PREFIX: str = ""
    GROUNDTRUTH_PREFIX: str = "groundtruth/"
    STATE_MACHINE_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:states:")


class ConvertEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    DATASETS_PREFIX: str = "datasets/"
    VAL_FRACTION: float = Field(default=0.2, ge=0, lt=1)
    TEST_FRACTION: float = Field(default=0.0, ge=0, lt=1)
    COPY_IMAGES: bool = True
    FAN_OUT_BYTES: int = Field(default=DEFAULT_FAN_OUT_BYTES, ge=1)
    CHUNK_BYTES: int = Field(default=DEFAULT_CHUNK_BYTES, ge=1)
    IMAGES_PREFIX: str = "images/"
    IMAGE_BUCKETS: str = ""  # the imageBuckets context value, comma separated
    SEQUENCES_PER_CHUNK: int = Field(default=DEFAULT_SEQUENCES_PER_CHUNK, ge=1)


class PublishEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    TOPIC_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:sns:")
    EVENT_BUS_NAME: str = "default"
    EVENT_SOURCE: str = "gt2yolo"
    KEEP_VERSIONS: int = Field(default=DEFAULT_KEEP, ge=1)


class ReportEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    GROUNDTRUTH_PREFIX: str = "groundtruth/"
    PREVIEW_SAMPLE: int = Field(default=50, ge=0)
    PREVIEW_FLAGGED_LIMIT: int = Field(default=500, ge=0)


class NotifyEnv(_Env):
    TOPIC_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:sns:")


class IntakeEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    TABLE_NAME: str = Field(min_length=3)
    # Empty: batch mode only. Set: every new image is also sent to this streaming job topic.
    STREAMING_TOPIC_ARN: str = Field(default="", pattern=r"^(arn:aws[a-z-]*:sns:.+)?$")


class StartJobEnv(_Env):
    BUCKET_NAME: str = Field(min_length=3)
    TABLE_NAME: str = Field(min_length=3)
    AWS_REGION: str = Field(min_length=1)
    GROUND_TRUTH_ROLE_ARN: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/")
    WORKTEAM_ARN: str = ""  # checked when a job starts, so the error names the fix
    JOB_NAME_PREFIX: str = ""
    OUTPUT_PREFIX: str = "groundtruth/"


@cache
def resolve_settings() -> ResolveSettings:
    env = ResolveEnv.load()
    assert isinstance(env, ResolveEnv)
    return ResolveSettings(
        env.BUCKET_NAME, env.JOB_NAME_PREFIX, env.CONVERT_STOPPED_JOBS, env.MANIFESTS_PREFIX
    )


@cache
def live_env() -> LiveEnv:
    env = LiveEnv.load()
    assert isinstance(env, LiveEnv)
    return env


@cache
def live_settings() -> LiveSettings:
    env = live_env()
    return LiveSettings(
        ResolveSettings(env.BUCKET_NAME, env.JOB_NAME_PREFIX), env.GROUNDTRUTH_PREFIX
    )


@cache
def convert_settings() -> ConvertSettings:
    env = ConvertEnv.load()
    assert isinstance(env, ConvertEnv)
    return ConvertSettings(
        env.BUCKET_NAME, env.DATASETS_PREFIX, env.VAL_FRACTION, env.TEST_FRACTION, env.COPY_IMAGES,
        env.FAN_OUT_BYTES, env.CHUNK_BYTES, env.IMAGES_PREFIX, env.IMAGE_BUCKETS,
        env.SEQUENCES_PER_CHUNK,
    )  # fmt: skip


@cache
def report_settings() -> ReportSettings:
    env = ReportEnv.load()
    assert isinstance(env, ReportEnv)
    return ReportSettings(
        env.BUCKET_NAME, env.GROUNDTRUTH_PREFIX, env.PREVIEW_SAMPLE, env.PREVIEW_FLAGGED_LIMIT
    )


@cache
def publish_env() -> PublishEnv:
    env = PublishEnv.load()
    assert isinstance(env, PublishEnv)
    return env


@cache
def notify_env() -> NotifyEnv:
    env = NotifyEnv.load()
    assert isinstance(env, NotifyEnv)
    return env


@cache
def intake_env() -> IntakeEnv:
    env = IntakeEnv.load()
    assert isinstance(env, IntakeEnv)
    return env


@cache
def start_job_env() -> StartJobEnv:
    env = StartJobEnv.load()
    assert isinstance(env, StartJobEnv)
    return env


def reset() -> None:
    """Forget validated settings (tests change the environment between cold starts)."""
    for loader in (resolve_settings, convert_settings, report_settings, publish_env, notify_env,
                   intake_env, start_job_env, live_env, live_settings):  # fmt: skip
        loader.cache_clear()
