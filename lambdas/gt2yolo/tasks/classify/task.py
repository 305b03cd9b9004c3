"""The classify task as the shared run sees it (`base.Task`)."""

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
from gt2yolo.tasks.classify import page
from gt2yolo.tasks.classify.reader import MULTILABEL_READER, SINGLE_LABEL_READER
from gt2yolo.tasks.classify.report import ClassifySection
from gt2yolo.tasks.classify.yolo import ClassifyPass


class ClassifyTask:
    label_tasks = (LabelTask.IMAGE_CLASSIFICATION, LabelTask.IMAGE_CLASSIFICATION_MULTILABEL)
    attribute_suffix = None
    # report.json's section of this task and the report page's sections for it
    report_sections: ClassVar[tuple[type[TaskSection], ...]] = (ClassifySection,)
    page_sections: ClassVar[Mapping[type[TaskSection], PageSections]] = {
        ClassifySection: page.SECTIONS
    }

    def reader(self, label_task: LabelTask) -> TaskReader:
        if label_task is LabelTask.IMAGE_CLASSIFICATION_MULTILABEL:
            return MULTILABEL_READER
        return SINGLE_LABEL_READER

    def open_pass(
        self,
        survey: Survey,
        options: ConversionOptions,
        storage: Storage,
        images: ImageSink | None,
        objects: SourceObjects | None,
    ) -> TaskPass[Any]:
        reader = self.reader(survey.task)
        return ClassifyPass(survey, options, storage, images, objects, reader)


TASK = ClassifyTask()
