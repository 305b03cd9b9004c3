"""The Report step's settings, apart from `workflow.report`: that module imports Pillow, which
only the Report function's layer has, and `handlers.settings` (imported by every function)
needs this class."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportSettings:
    bucket: str
    groundtruth_prefix: str = "groundtruth/"
    sample_size: int = 50
    flagged_limit: int = 500
