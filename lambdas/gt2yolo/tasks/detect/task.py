"""The detect task as the shared run sees it (`base.Task`)."""

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
from gt2yolo.tasks.detect import page
from gt2yolo.tasks.detect.reader import READER
from gt2yolo.tasks.detect.report import DetectSection
from gt2yolo.tasks.detect.task_pass import DetectPass


class DetectTask:
    label_tasks = (LabelTask.BOUNDING_BOX,)
    attribute_suffix = None
    # report.json's section of this task and the report page's sections for it
    report_sections: ClassVar[tuple[type[TaskSection], ...]] = (DetectSection,)
    page_sections: ClassVar[Mapping[type[TaskSection], PageSections]] = {
        DetectSection: page.SECTIONS
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
        return DetectPass(survey, options, storage, images, objects, READER)


TASK = DetectTask()
