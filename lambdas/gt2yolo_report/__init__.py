"""Previews and report.html for a written dataset: the core's insights plus drawing (Pillow).

Kept out of the core so the core stays standard-library only; the Report Lambda gets Pillow
from its own layer and the CLI from the `report` extra.
"""

from gt2yolo_report.build import ReportOptions, ReportResult, build_report

__all__ = ["ReportOptions", "ReportResult", "build_report"]
