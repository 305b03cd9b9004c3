"""The video task as the shared run sees it (`base.Task`)."""

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
from gt2yolo.tasks.video import page
from gt2yolo.tasks.video.reader import DETECTION_READER, TRACKING_READER
from gt2yolo.tasks.video.report import VideoSection
from gt2yolo.tasks.video.yolo import VideoPass


class VideoTask:
    label_tasks = (LabelTask.VIDEO_OBJECT_DETECTION, LabelTask.VIDEO_OBJECT_TRACKING)
    # The lines point at SeqLabel.json: `<LabelAttributeName>-ref`, as segmentation's masks.
    attribute_suffix = "-ref"
    # report.json's section of this task and the report page's sections for it
    report_sections: ClassVar[tuple[type[TaskSection], ...]] = (VideoSection,)
    page_sections: ClassVar[Mapping[type[TaskSection], PageSections]] = {
        VideoSection: page.SECTIONS
    }

    def reader(self, label_task: LabelTask) -> TaskReader:
        if label_task is LabelTask.VIDEO_OBJECT_TRACKING:
            return TRACKING_READER
        return DETECTION_READER

    def open_pass(
        self,
        survey: Survey,
        options: ConversionOptions,
        storage: Storage,
        images: ImageSink | None,
        objects: SourceObjects | None,
    ) -> TaskPass[Any]:
        reader = self.reader(survey.task)
        return VideoPass(survey, options, storage, images, objects, reader)


TASK = VideoTask()
