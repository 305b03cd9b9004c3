"""The training metrics: the line the training script prints and the regex SageMaker reads it
with agree, for every metric of every task, and no metric's regex reads another's line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from training import metric_lines
from training.metric_lines import NAMES, metric_definitions, metric_regex

ALL_METRICS = sorted({name for names in NAMES.values() for name in names})


def metric_line(name: str, value: float) -> str:
    line = metric_lines.metric_line(name, value)
    assert line is not None
    return line


def test_each_task_reports_its_ultralytics_metrics() -> None:
    box = ("mAP50", "mAP50-95", "precision", "recall")
    assert NAMES["detect"] == box
    # Segment keeps the box metrics' names (a gate on mAP50 reads the same metric), masks apart
    assert NAMES["segment"] == (*box, *(f"mask_{name}" for name in box))
    assert NAMES["classify"] == ("top1", "top5")


def test_a_value_that_is_not_a_number_prints_no_line() -> None:
    for value in (float("nan"), float("inf"), float("-inf")):
        assert metric_lines.metric_line("mAP50", value) is None


def test_a_mask_metrics_regex_and_a_box_metrics_regex_read_only_their_own_line() -> None:
    assert re.search(metric_regex("mAP50"), metric_line("mask_mAP50", 0.3)) is None
    assert re.search(metric_regex("mask_mAP50"), metric_line("mAP50", 0.3)) is None


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


def test_metric_names_are_plain_words() -> None:
    for name in ALL_METRICS:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", name), name


def test_definitions_are_sagemakers_name_and_regex_pairs_per_task() -> None:
    definitions = metric_definitions("classify")
    assert definitions == [
        {"Name": "top1", "Regex": metric_regex("top1")},
        {"Name": "top5", "Regex": metric_regex("top5")},
    ]
    # MetricDefinitions: Name 1-255, Regex 1-500 characters, at most 40 definitions
    for task in NAMES:
        for definition in metric_definitions(task):
            assert 1 <= len(definition["Name"]) <= 255 and 1 <= len(definition["Regex"]) <= 500


def test_the_module_imports_nothing_outside_the_standard_library() -> None:
    # The training script imports it inside the training container, where gt2yolo is absent
    tree = ast.parse(Path(metric_lines.__file__).read_text(encoding="utf-8"))
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
    assert imported <= {"__future__", "math", "re"}
