"""Detection: report.json has no section of its own; its boxes are the common counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gt2yolo.report import TaskSection


@dataclass(frozen=True)
class DetectSection(TaskSection):
    """A bounding-box dataset of images (and every report.json written before `task`)."""

    task: ClassVar[str] = "detect"
    key: ClassVar[str | None] = None
