"""Each task's part of report.json (and what its pass counts for it), one module per task.

A section module imports only the common report model (`gt2yolo.report`) and the standard
library: report.html reads these without the converter. `SECTIONS` is what report.json may
hold; `parse_report` reads a report.json of any gt2yolo with them.
"""

from __future__ import annotations

from typing import Final

from gt2yolo.report import ReportDocument, TaskSection
from gt2yolo.sections.classify import ClassifySection
from gt2yolo.sections.detect import DetectSection
from gt2yolo.sections.segment import SegmentSection
from gt2yolo.sections.video import VideoSection

# A task's keyless section first: a detection report without `video` is a plain one.
SECTIONS: Final[tuple[type[TaskSection], ...]] = (
    DetectSection, VideoSection, SegmentSection, ClassifySection,
)  # fmt: skip


def parse_report(document: object) -> ReportDocument:
    return ReportDocument.parse(document, SECTIONS)
