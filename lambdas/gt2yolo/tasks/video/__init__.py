"""Video frame object detection and tracking -> a detection dataset of the frames, split by
sequence, and MOT tracks: `reader` reads the lines and the files they name, `yolo` writes the
frames through the bounding-box rules (`gt2yolo.tasks.detect.rules`)."""

from __future__ import annotations

from typing import Any

from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.video.reader import DETECTION_READER, TRACKING_READER
from gt2yolo.tasks.video.yolo import VideoPass


class VideoTask:
    label_tasks = (LabelTask.VIDEO_OBJECT_DETECTION, LabelTask.VIDEO_OBJECT_TRACKING)
    # The lines point at SeqLabel.json: `<LabelAttributeName>-ref`, as segmentation's masks.
    attribute_suffix = "-ref"

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
