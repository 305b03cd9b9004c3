"""The metric lines train.py prints, and the regexes SageMaker reads them back with.

SageMaker finds a training job's metrics in its log with the request's MetricDefinitions (one
regex per metric, its first group the value), and DescribeTrainingJob's FinalMetricDataList
keeps the last value of each. One fixed line per value, `gt2yolo-metric <name>=<value>`, so a
regex can neither miss one nor mix two (`mAP50=` does not match `mAP50-95=`, and the prefix
keeps `mask_mAP50` apart). Standard library only: the stack and the local runner import it
where Ultralytics is not installed.
"""

from __future__ import annotations

import math
import re

PREFIX = "gt2yolo-metric"

# The names of metrics.json's "metrics" and of the lines, by task. Box metrics keep their plain
# names for segment too, so a gate on mAP50 reads the same metric whatever the task.
BOX = ("mAP50", "mAP50-95", "precision", "recall")
MASK = tuple(f"mask_{name}" for name in BOX)
CLASSIFY = ("top1", "top5")
NAMES = {"detect": BOX, "segment": (*BOX, *MASK), "classify": CLASSIFY}
ALL_NAMES = (*BOX, *MASK, *CLASSIFY)

# A number as Python's float formatting writes one (an exponent for tiny values).
_NUMBER = r"([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"


def _regex(name: str) -> str:
    return rf"{PREFIX} {re.escape(name)}={_NUMBER}"


def metric_regex(name: str) -> str:
    """The regex SageMaker runs over the job's log for `name`: its one group is the value."""
    return _regex(name)


def metric_definitions(task: str) -> list[dict[str, str]]:
    """AlgorithmSpecification.MetricDefinitions of a training job of `task` (detect, segment,
    classify): what train.py prints for that task, one definition per name."""
    return [{"Name": name, "Regex": _regex(name)} for name in NAMES[task]]


# Every metric train.py can print, whatever the task (the local runner reads a log with these).
METRIC_DEFINITIONS: list[dict[str, str]] = [
    {"Name": name, "Regex": _regex(name)} for name in ALL_NAMES
]


def metric_line(name: str, value: float) -> str | None:
    """The line for one value; None for NaN or infinity, which no regex should read as a number."""
    if not math.isfinite(value):
        return None
    return f"{PREFIX} {name}={value:.6g}"


def final_metrics(log: str, definitions: list[dict[str, str]]) -> dict[str, float]:
    """{name: the last value in the log} for each definition that matched, as SageMaker keeps
    the final value of each metric."""
    found: dict[str, float] = {}
    for definition in definitions:
        matches = re.findall(definition["Regex"], log)
        if matches:
            last = matches[-1]
            found[definition["Name"]] = float(last[0] if isinstance(last, tuple) else last)
    return found
