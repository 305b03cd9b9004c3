"""Image classification, single-label and multi-label -> an Ultralytics classification dataset
(class folders) or, multi-label, images with labels.csv: `reader` reads the lines, `yolo`
places and writes the images."""

from __future__ import annotations

from typing import Any

from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.classify.reader import MULTILABEL_READER, SINGLE_LABEL_READER
from gt2yolo.tasks.classify.yolo import ClassifyPass


class ClassifyTask:
    label_tasks = (LabelTask.IMAGE_CLASSIFICATION, LabelTask.IMAGE_CLASSIFICATION_MULTILABEL)
    attribute_suffix = None

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
