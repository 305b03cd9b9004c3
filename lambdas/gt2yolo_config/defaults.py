"""Where things live in the bucket, and the pipeline's defaults: each defined once.

The stack scopes its IAM policies to these prefixes and sets them in the functions'
environment; the functions fall back on the same values. Defaults the conversion core owns are
referenced here, never re-typed.
"""

from __future__ import annotations

from gt2yolo.fanout import DEFAULT_CHUNK_BYTES
from gt2yolo.insights.sampling import DEFAULT_FLAGGED_LIMIT, DEFAULT_SAMPLE
from gt2yolo.intake import IMAGES_PREFIX, INTAKE_PREFIX
from gt2yolo.split import SplitFractions
from gt2yolo.versions import DEFAULT_KEEP

__all__ = [
    "BACKFILL_PREFIX",
    "CHUNK_BYTES",
    "DATASETS_PREFIX",
    "EVENT_BUS_NAME",
    "EVENT_SOURCE",
    "EXPORTS",
    "FAN_OUT_BYTES",
    "GROUNDTRUTH_PREFIX",
    "IMAGES_PREFIX",
    "INTAKE_PREFIX",
    "KEEP_VERSIONS",
    "MANIFESTS_PREFIX",
    "METRICS_NAMESPACE",
    "MIB",
    "MODELS_PREFIX",
    "PREVIEW_FLAGGED_LIMIT",
    "PREVIEW_SAMPLE",
    "REKOGNITION_MAX_POLLS",
    "REKOGNITION_POLL_SECONDS",
    "SEQUENCES_PER_CHUNK",
    "SERVICE_NAME",
    "SPLIT",
    "TRAINING_CHECKPOINTS_PATH",
    "TRAINING_EPOCHS",
    "TRAINING_EXPORT_ONNX",
    "TRAINING_IMGSZ",
    "TRAINING_INSTANCE_TYPE",
    "TRAINING_JOB_PREFIX",
    "TRAINING_LOG_GROUP",
    "TRAINING_MAX_RUNTIME_HOURS",
    "TRAINING_MODEL",
    "TRAINING_PROGRAM",
    "TRAINING_SOURCE_PREFIX",
    "TRAINING_SPOT",
    "TRAINING_SPOT_WAIT_FACTOR",
    "TRAINING_VOLUME_GB",
    "fraction_text",
]

MIB = 1024 * 1024

# The bucket layout (IMAGES_PREFIX: images to label, INTAKE_PREFIX: the intake's input
# manifests, never converted on drop; both the core's).
GROUNDTRUTH_PREFIX = "groundtruth/"  # OutputConfig.S3OutputPath of labeling jobs
MANIFESTS_PREFIX = "manifests/"  # drop an output.manifest here to convert it without SageMaker
DATASETS_PREFIX = "datasets/"  # YOLO datasets written by the workflow
BACKFILL_PREFIX = "backfill/"  # the log of each backfill run, <run id>.json
MODELS_PREFIX = "models/"  # trained models: models/<dataset>/<version>/ (the `training` option)
TRAINING_SOURCE_PREFIX = "training/source/"  # the training script's tarball (read-only to jobs)

# The split of images into train / val / test (the core's default fractions).
SPLIT = SplitFractions()
# Above this manifest size Convert plans a fan-out instead of converting in one Lambda: 64 MiB
# (~90k lines) converts in one vCPU-minute; a 1M-line job (~700 MiB) would not fit 15 minutes.
FAN_OUT_BYTES = 64 * MIB
CHUNK_BYTES = DEFAULT_CHUNK_BYTES  # one chunk of a fanned-out manifest
# A video frame job's line is a sequence (Ground Truth: up to 2,000 frames). Each frame costs a
# ranged GET (its size), a copy and a label PUT: sequences beyond this many fan out, by sequence.
SEQUENCES_PER_CHUNK = 10
KEEP_VERSIONS = DEFAULT_KEEP  # dataset versions kept, the current one included
# The formats written beside each YOLO dataset version (comma separated; "" for none).
EXPORTS = "coco"
# The Report step: images drawn into previews, and at most this many flagged ones drawn.
PREVIEW_SAMPLE = DEFAULT_SAMPLE
# RekognitionDatasets (`rekognitionProject`): seconds between its checks of the project, and the
# checks before it gives up (an hour: the state machine's own timeout is two).
REKOGNITION_POLL_SECONDS = 30
REKOGNITION_MAX_POLLS = 120
PREVIEW_FLAGGED_LIMIT = DEFAULT_FLAGGED_LIMIT
# The training step (`training`): what a training job runs unless the option says otherwise.
TRAINING_INSTANCE_TYPE = "ml.g5.xlarge"
TRAINING_MODEL = "yolo11n.pt"
TRAINING_EPOCHS = 100
TRAINING_IMGSZ = 640
TRAINING_SPOT = False
TRAINING_MAX_RUNTIME_HOURS = 8
TRAINING_EXPORT_ONNX = False
TRAINING_VOLUME_GB = 50
# A spot job may wait for capacity: MaxWaitTimeInSeconds = this many times MaxRuntimeInSeconds.
TRAINING_SPOT_WAIT_FACTOR = 2
TRAINING_JOB_PREFIX = "gt2yolo-"  # every training job's name starts with it
TRAINING_PROGRAM = "train.py"  # the entry point inside the source tarball
TRAINING_CHECKPOINTS_PATH = "/opt/ml/checkpoints"  # where SageMaker syncs checkpoints from/to S3
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"  # SageMaker's log group of training jobs
# Publish announces datasets on the default event bus, as this source.
EVENT_BUS_NAME = "default"
EVENT_SOURCE = "gt2yolo"
# Powertools' service name and metrics namespace, the same for every function.
SERVICE_NAME = "gt2yolo"
METRICS_NAMESPACE = "Gt2Yolo"


def fraction_text(fraction: float) -> str:
    """A default fraction as the context and the environment write it: 0.2 -> "0.2", 0.0 -> "0"."""
    text = repr(fraction)
    return text.removesuffix(".0")
