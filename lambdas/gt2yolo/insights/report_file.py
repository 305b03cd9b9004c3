"""A dataset's report.json read into its typed model, with every task's section known.

Apart from `dataset`: the task registry's page sections build on `dataset` (through `parts`), and
this module reads with the registry.
"""

from __future__ import annotations

from typing import Any

from gt2yolo.insights.dataset import DatasetFiles, read_report_json
from gt2yolo.report import ReportDocument
from gt2yolo.task_types import YoloTask
from gt2yolo.tasks.registry import parse_report


def read_report(files: DatasetFiles) -> ReportDocument:
    """report.json, typed; ConversionError for a task or a value this gt2yolo cannot show."""
    return parse_report(read_report_json(files))


def dataset_task(report: dict[str, Any]) -> YoloTask:
    """report.json's `task`; datasets written before it existed are detection datasets."""
    return YoloTask(parse_report(report).task)
