"""The Report step's settings, apart from `workflow.report`: that module imports Pillow, which
only the Report function's layer has, and `handlers.settings` (imported by every function)
needs this class."""

from __future__ import annotations

from dataclasses import dataclass

from gt2yolo_config import defaults


@dataclass(frozen=True)
class ReportSettings:
    bucket: str
    groundtruth_prefix: str = defaults.GROUNDTRUTH_PREFIX
    sample_size: int = defaults.PREVIEW_SAMPLE
    flagged_limit: int = defaults.PREVIEW_FLAGGED_LIMIT
