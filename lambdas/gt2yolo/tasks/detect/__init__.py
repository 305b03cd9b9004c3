"""Bounding boxes (`groundtruth/object-detection`) -> a YOLO detection dataset (and Darknet's
obj.data): `reader` reads the lines, `rules` applies the box rules, `yolo` writes the files,
`task_pass` feeds one to the other."""

from __future__ import annotations

from typing import Any

from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.detect.reader import READER
from gt2yolo.tasks.detect.task_pass import DetectPass


class DetectTask:
    label_tasks = (LabelTask.BOUNDING_BOX,)
    attribute_suffix = None

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
