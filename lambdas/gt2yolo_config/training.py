"""The training step's settings (`training` in the CDK context), typed.

`stacks.settings` parses and validates the context value into this class; the use case
(`workflow.training`) builds CreateTrainingJob requests from it. The defaults are those of
`gt2yolo_config.defaults`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from gt2yolo_config import defaults

SECONDS_PER_HOUR = 3600
# SageMaker's longest MaxRuntimeInSeconds (StoppingCondition: 28 days).
MAX_RUNTIME_HOURS = 28 * 24


def models_prefix(dataset: str, version: str) -> str:
    """Where a version's model goes: `models/<dataset>/<version>/`."""
    return f"{defaults.MODELS_PREFIX}{dataset}/{version}/"


@dataclass(frozen=True)
class TrainingSettings:
    """Train Ultralytics YOLO on each published version of `datasets`."""

    datasets: tuple[str, ...]  # dataset names, as in `datasets/<name>/`; at least one
    instance_type: str = defaults.TRAINING_INSTANCE_TYPE
    model: str = defaults.TRAINING_MODEL  # Ultralytics weights (.pt) or model config (.yaml)
    epochs: int = defaults.TRAINING_EPOCHS
    imgsz: int = defaults.TRAINING_IMGSZ
    spot: bool = defaults.TRAINING_SPOT
    max_runtime_hours: int = defaults.TRAINING_MAX_RUNTIME_HOURS
    export_onnx: bool = defaults.TRAINING_EXPORT_ONNX
    volume_size_gb: int = defaults.TRAINING_VOLUME_GB

    @property
    def max_runtime_seconds(self) -> int:
        return self.max_runtime_hours * SECONDS_PER_HOUR

    @property
    def max_wait_seconds(self) -> int:
        """How long a spot job may take in all, waiting for capacity included: at least its
        runtime (StoppingCondition), at most SageMaker's longest runtime, 28 days."""
        wait = self.max_runtime_seconds * defaults.TRAINING_SPOT_WAIT_FACTOR
        return max(self.max_runtime_seconds, min(wait, MAX_RUNTIME_HOURS * SECONDS_PER_HOUR))

    def trains(self, dataset: str) -> bool:
        return dataset in self.datasets

    def to_json(self) -> str:
        """The settings as the stack hands them to the function that builds the requests."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TrainingSettings:
        values = json.loads(text)
        return cls(**{**values, "datasets": tuple(values["datasets"])})
