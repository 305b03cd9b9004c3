"""Each Lambda function's environment: the variables' names, types and defaults, once.

A class below is the environment of one handler module: one field per variable, named as the
variable. The stack sets a function's variables with `render` (which refuses a name the class
does not have, and a variable it leaves out), and checks the whole environment with
`environment_problems`; the handler parses `os.environ` into the same class at cold start
(`handlers.settings`, which validates with the constraints given here). `ENVIRONMENTS` says
which class each handler reads.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gt2yolo_config import defaults

# Every function gets these (`stacks.constructs.functions.FunctionFactory`): the bucket, read by
# almost all of them, and Powertools' settings, which Powertools itself reads.
BUCKET_NAME = "BUCKET_NAME"
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
READ_BY_POWERTOOLS = frozenset({POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE})

SNS_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:"
STATE_MACHINE_ARN = r"^arn:aws[a-z-]*:states:"
IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/"
REKOGNITION_PROJECT_ARN = r"^arn:aws[a-z-]*:rekognition:[a-z0-9-]+:\d{12}:project/"


class Source(StrEnum):
    """Who sets a variable."""

    STACK = "stack"  # the function's construct (or the factory, for BUCKET_NAME)
    RUNTIME = "runtime"  # Lambda itself (AWS_REGION)


@dataclass(frozen=True)
class Variable:
    """One environment variable of a function, as the contract states it."""

    name: str
    type: type
    default: Any  # dataclasses.MISSING: required
    constraints: dict[str, Any]  # pydantic Field constraints: min_length, pattern, ge, lt
    source: Source

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING


def variable(
    default: Any = dataclasses.MISSING,
    *,
    min_length: int | None = None,
    pattern: str | None = None,
    ge: float | None = None,
    lt: float | None = None,
    source: Source = Source.STACK,
) -> Any:
    """A field of an environment class (no default: the variable is required)."""
    given = {"min_length": min_length, "pattern": pattern, "ge": ge, "lt": lt}
    metadata = {
        "constraints": {key: value for key, value in given.items() if value is not None},
        "source": source,
    }
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _fraction(default: float) -> Any:
    return variable(default, ge=0, lt=1)


# --- the functions' environments ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _InBucket:
    BUCKET_NAME: str = variable(min_length=3)


@dataclass(frozen=True, kw_only=True)
class ResolveEnv(_InBucket):
    JOB_NAME_PREFIX: str = variable("")
    CONVERT_STOPPED_JOBS: bool = variable(False)
    MANIFESTS_PREFIX: str = variable(defaults.MANIFESTS_PREFIX)
    # The `collections` context value as compact JSON (stacks.settings.collections_text).
    COLLECTIONS: str = variable("[]", min_length=2)
    SOURCE_BUCKETS: str = variable("")  # the sourceBuckets context value, comma separated


@dataclass(frozen=True, kw_only=True)
class BackfillEnv(_InBucket):
    """Backfill lists and describes past jobs, reads their output's first byte and their
    dataset's pointer, starts the conversion, and logs the run under BACKFILL_PREFIX."""

    JOB_NAME_PREFIX: str = variable("")
    CONVERT_STOPPED_JOBS: bool = variable(False)
    SOURCE_BUCKETS: str = variable("")
    DATASETS_PREFIX: str = variable(defaults.DATASETS_PREFIX)
    BACKFILL_PREFIX: str = variable(defaults.BACKFILL_PREFIX)
    STATE_MACHINE_ARN: str = variable(pattern=STATE_MACHINE_ARN)


@dataclass(frozen=True, kw_only=True)
class LiveEnv(_InBucket):
    JOB_NAME_PREFIX: str = variable("")
    GROUNDTRUTH_PREFIX: str = variable(defaults.GROUNDTRUTH_PREFIX)
    STATE_MACHINE_ARN: str = variable(pattern=STATE_MACHINE_ARN)


@dataclass(frozen=True, kw_only=True)
class FinalizeEnv(_InBucket):
    """Finalize merges the chunks' parts: where the dataset is, and its split."""

    DATASETS_PREFIX: str = variable(defaults.DATASETS_PREFIX)
    VAL_FRACTION: float = _fraction(defaults.SPLIT.val)
    TEST_FRACTION: float = _fraction(defaults.SPLIT.test)
    # The `exports` context value, comma separated: coco, rekognition, sagemaker ("" for none).
    EXPORTS: str = variable(defaults.EXPORTS, pattern=r"^[a-z,]*$")


@dataclass(frozen=True, kw_only=True)
class ConvertChunkEnv(FinalizeEnv):
    """A chunk also reads (and may copy) images: from where it may, to say what to set if not."""

    COPY_IMAGES: bool = variable(True)
    IMAGES_PREFIX: str = variable(defaults.IMAGES_PREFIX)
    IMAGE_BUCKETS: str = variable("")  # the imageBuckets context value, comma separated


@dataclass(frozen=True, kw_only=True)
class ConvertEnv(ConvertChunkEnv):
    """Convert also decides whether to fan out, and plans the chunks."""

    FAN_OUT_BYTES: int = variable(defaults.FAN_OUT_BYTES, ge=1)
    CHUNK_BYTES: int = variable(defaults.CHUNK_BYTES, ge=1)
    SEQUENCES_PER_CHUNK: int = variable(defaults.SEQUENCES_PER_CHUNK, ge=1)


@dataclass(frozen=True, kw_only=True)
class ReportEnv(_InBucket):
    GROUNDTRUTH_PREFIX: str = variable(defaults.GROUNDTRUTH_PREFIX)
    PREVIEW_SAMPLE: int = variable(defaults.PREVIEW_SAMPLE, ge=0)
    PREVIEW_FLAGGED_LIMIT: int = variable(defaults.PREVIEW_FLAGGED_LIMIT, ge=0)


@dataclass(frozen=True, kw_only=True)
class PublishEnv(_InBucket):
    TOPIC_ARN: str = variable(pattern=SNS_TOPIC_ARN)
    EVENT_BUS_NAME: str = variable(defaults.EVENT_BUS_NAME)
    EVENT_SOURCE: str = variable(defaults.EVENT_SOURCE)
    KEEP_VERSIONS: int = variable(defaults.KEEP_VERSIONS, ge=1)


@dataclass(frozen=True, kw_only=True)
class RekognitionEnv(_InBucket):
    """RekognitionDatasets: the project whose datasets it replaces, and how it waits for them."""

    PROJECT_ARN: str = variable(pattern=REKOGNITION_PROJECT_ARN)
    POLL_SECONDS: int = variable(defaults.REKOGNITION_POLL_SECONDS, ge=0)
    MAX_POLLS: int = variable(defaults.REKOGNITION_MAX_POLLS, ge=1)


@dataclass(frozen=True, kw_only=True)
class PrepareTrainingEnv(_InBucket):
    """PrepareTraining: the `training` option (TrainingSettings.to_json) and the job's role,
    image and model key (empty: the bucket's default encryption)."""

    TRAINING: str = variable(min_length=2)
    ROLE_ARN: str = variable(pattern=IAM_ROLE_ARN)
    IMAGE: str = variable(min_length=1)
    KMS_KEY_ARN: str = variable("")
    AWS_REGION: str = variable(min_length=1, source=Source.RUNTIME)


@dataclass(frozen=True, kw_only=True)
class NotifyEnv:
    TOPIC_ARN: str = variable(pattern=SNS_TOPIC_ARN)


@dataclass(frozen=True, kw_only=True)
class IntakeEnv(_InBucket):
    TABLE_NAME: str = variable(min_length=3)
    # Empty: batch mode only. Set: every new image is also sent to this streaming job topic.
    STREAMING_TOPIC_ARN: str = variable("", pattern=r"^(arn:aws[a-z-]*:sns:.+)?$")


@dataclass(frozen=True, kw_only=True)
class StartJobEnv(_InBucket):
    """Both functions of `handlers.start_job` (PrepareLabelingJob, CreateLabelingJob)."""

    TABLE_NAME: str = variable(min_length=3)
    AWS_REGION: str = variable(min_length=1, source=Source.RUNTIME)
    GROUND_TRUTH_ROLE_ARN: str = variable(pattern=IAM_ROLE_ARN)
    WORKTEAM_ARN: str = variable("")  # checked when a job starts, so the error names the fix
    JOB_NAME_PREFIX: str = variable("")
    OUTPUT_PREFIX: str = variable(defaults.GROUNDTRUTH_PREFIX)


@dataclass(frozen=True, kw_only=True)
class ModelReadyEnv(_InBucket):
    """ModelReady (the training step's last): the topic and the bus Model Ready goes to."""

    TOPIC_ARN: str = variable(pattern=SNS_TOPIC_ARN)
    EVENT_BUS_NAME: str = variable(defaults.EVENT_BUS_NAME)
    EVENT_SOURCE: str = variable(defaults.EVENT_SOURCE)


# Handler (as the template names it) -> the environment it reads.
ENVIRONMENTS: dict[str, type[Any]] = {
    "handlers.resolve.handler": ResolveEnv,
    "handlers.convert.handler": ConvertEnv,
    "handlers.convert_chunk.handler": ConvertChunkEnv,
    "handlers.finalize.handler": FinalizeEnv,
    "handlers.report.handler": ReportEnv,
    "handlers.publish.handler": PublishEnv,
    "handlers.notify_failure.handler": NotifyEnv,
    "handlers.rekognition.handler": RekognitionEnv,
    "handlers.prepare_training.handler": PrepareTrainingEnv,
    "handlers.intake.handler": IntakeEnv,
    "handlers.start_job.prepare": StartJobEnv,
    "handlers.start_job.create": StartJobEnv,
    "handlers.live.handler": LiveEnv,
    "handlers.backfill.handler": BackfillEnv,
    "handlers.model_ready.handler": ModelReadyEnv,
}
# What a function gets without reading it: the factory gives BUCKET_NAME to every function, and
# NotifyFailure only publishes to the topic. (Leaving it out would change the template.)
GIVEN_UNREAD: dict[type[Any], frozenset[str]] = {NotifyEnv: frozenset({BUCKET_NAME})}


# --- reading the contract -------------------------------------------------------------------


def variables(environment: type[Any]) -> tuple[Variable, ...]:
    """The variables of an environment class, in field order."""
    hints = typing.get_type_hints(environment)
    return tuple(
        Variable(
            name=field.name,
            type=hints[field.name],
            default=field.default,
            constraints=dict(field.metadata["constraints"]),
            source=field.metadata["source"],
        )
        for field in dataclasses.fields(environment)
    )


def set_by_stack(environment: type[Any]) -> frozenset[str]:
    """The names the stack must set for a function reading `environment`."""
    return frozenset(v.name for v in variables(environment) if v.source is Source.STACK)


def render(environment: type[Any], **values: str | int | bool) -> dict[str, str]:
    """A function's own variables as Lambda takes them (BUCKET_NAME: the factory's), in the order
    given. Floats are given as text (a context value reaches the environment unchanged)."""
    unknown = set(values) - set_by_stack(environment)
    missing = set_by_stack(environment) - set(values) - {BUCKET_NAME}
    if unknown or missing:
        raise ValueError(
            f"{environment.__name__}: unknown variables {sorted(unknown)}, "
            f"missing variables {sorted(missing)}"
        )
    return {name: _text(value) for name, value in values.items()}


def environment_problems(handler: str, names: set[str]) -> list[str]:
    """What is wrong with the variables a function with this handler gets (empty: nothing)."""
    environment = ENVIRONMENTS.get(handler)
    if environment is None:
        return [f"{handler}: no environment in the contract"]
    allowed_unread = GIVEN_UNREAD.get(environment, frozenset())
    expected = set_by_stack(environment) | READ_BY_POWERTOOLS | allowed_unread
    problems = []
    if names - expected:
        problems.append(f"{handler} gets variables it does not read: {sorted(names - expected)}")
    if expected - names:
        problems.append(f"{handler} lacks variables it reads: {sorted(expected - names)}")
    return problems


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
