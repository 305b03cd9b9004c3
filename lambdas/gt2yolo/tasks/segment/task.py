"""The segment task as the shared run sees it (`base.Task`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from gt2yolo.insights.parts import PageSections
from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.report import TaskSection
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.detect import page as shape_page
from gt2yolo.tasks.segment.reader import READER, REF_SUFFIX
from gt2yolo.tasks.segment.report import SegmentSection


class SegmentTask:
    label_tasks = (LabelTask.SEMANTIC_SEGMENTATION,)
    # A segmentation job's LabelAttributeName `seg` labels its lines as `seg-ref`.
    attribute_suffix = REF_SUFFIX
    # report.json's section of this task and the report page's sections for it
    report_sections: ClassVar[tuple[type[TaskSection], ...]] = (SegmentSection,)
    page_sections: ClassVar[Mapping[type[TaskSection], PageSections]] = {
        SegmentSection: shape_page.SECTIONS
    }

    def reader(self, label_task: LabelTask) -> TaskReader:
        return READER

    def open_pass(
        self,
        survey: Survey,
        options: ConversionOptions,
        storage: Storage,
        images: ImageSink | None,
        objects: SourceObjects | None,
    ) -> TaskPass[Any]:
        from gt2yolo.tasks.segment.yolo import SegmentPass  # only for a segmentation job

        return SegmentPass(survey, options, storage, images, objects, READER)


TASK = SegmentTask()
