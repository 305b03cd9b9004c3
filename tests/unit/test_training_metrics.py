"""The training metrics: the line the training script prints and the regex SageMaker reads it
with agree, for every metric of every task, and no metric's regex reads another's line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from gt2yolo_config import training_metrics
from gt2yolo_config.training_metrics import (
    METRICS_BY_TASK,
    metric_definitions,
    metric_line,
    metric_regex,
)

ALL_METRICS = sorted({name for names in METRICS_BY_TASK.values() for name in names})


def test_each_task_reports_its_ultralytics_metrics() -> None:
    assert METRICS_BY_TASK["detect"] == ("mAP50", "mAP50-95", "precision", "recall")
    assert METRICS_BY_TASK["segment"] == METRICS_BY_TASK["detect"]
    assert METRICS_BY_TASK["classify"] == ("top1", "top5")


@pytest.mark.parametrize("name", ALL_METRICS)
@pytest.mark.parametrize("value", [0.0, 0.5, 0.73125, 1.0, 1e-05, 12.5])
def test_the_regex_reads_the_value_back_from_the_printed_line(name: str, value: float) -> None:
    # Given the line the script prints, inside a log line with a prefix
    log = f"2026-01-01 12:00:00 INFO {metric_line(name, value)}\n"
    # Then the metric's regex finds exactly the value in its one group
    found = re.search(metric_regex(name), log)
    assert found is not None
    assert float(found.group(1)) == value


def test_a_metrics_regex_does_not_read_another_metrics_line() -> None:
    # Given mAP50's regex and mAP50-95's line (one name starts the other)
    line = metric_line("mAP50-95", 0.42)
    # Then mAP50 is not read from it
    assert re.search(metric_regex("mAP50"), line) is None
    assert re.search(metric_regex("mAP50-95"), metric_line("mAP50", 0.9)) is None


def test_metric_names_need_no_escaping_in_a_regex() -> None:
    for name in ALL_METRICS:
        assert re.fullmatch(r"[A-Za-z0-9-]+", name), name


def test_definitions_are_sagemakers_name_and_regex_pairs_per_task() -> None:
    definitions = metric_definitions("classify")
    assert definitions == [
        {"Name": "top1", "Regex": metric_regex("top1")},
        {"Name": "top5", "Regex": metric_regex("top5")},
    ]
    # MetricDefinitions: Name 1-255, Regex 1-500 characters, at most 40 definitions
    for task in METRICS_BY_TASK:
        for definition in metric_definitions(task):
            assert 1 <= len(definition["Name"]) <= 255 and 1 <= len(definition["Regex"]) <= 500


def test_the_module_imports_nothing_outside_the_standard_library() -> None:
    # The training script imports it inside the training container, where gt2yolo is absent
    tree = ast.parse(Path(training_metrics.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {"__future__"}
