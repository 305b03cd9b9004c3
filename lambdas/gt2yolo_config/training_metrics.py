"""The metrics a training job reports, for SageMaker's MetricDefinitions and the training script.

The script prints one line per metric, `gt2yolo-metric <name>=<float>` (`metric_line`), and the
CreateTrainingJob request gives SageMaker one regex per name (`metric_definitions`), which it
runs over the job's log to publish the values as the job's metrics. No dependencies: the
training script, which runs in the training container, imports this module as it is.
"""

from __future__ import annotations

METRIC_PREFIX = "gt2yolo-metric"
# Ultralytics' validation metrics: boxes (masks for segment) and classification accuracy.
DETECTION_METRICS = ("mAP50", "mAP50-95", "precision", "recall")
CLASSIFICATION_METRICS = ("top1", "top5")
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "detect": DETECTION_METRICS,
    "segment": DETECTION_METRICS,
    "classify": CLASSIFICATION_METRICS,
}
# A float as Python prints it: 0.5, 1e-05, -3, 12.25E+2 (the value is the regex's one group).
FLOAT = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_line(name: str, value: float) -> str:
    """What the training script prints for one metric."""
    return f"{METRIC_PREFIX} {name}={float(value)!r}"


def metric_regex(name: str) -> str:
    """The regex SageMaker matches in the log: the name is letters, digits and hyphens (no
    character a regex reads specially outside a class), followed directly by `=`."""
    return f"{METRIC_PREFIX} {name}={FLOAT}"


def metric_definitions(task: str) -> list[dict[str, str]]:
    """MetricDefinitions of a training job of `task` (detect, segment, classify)."""
    return [{"Name": name, "Regex": metric_regex(name)} for name in METRICS_BY_TASK[task]]
