"""Semantic segmentation (`groundtruth/semantic-segmentation`) -> a YOLO segmentation dataset:
`reader` reads the lines (mask URI, color map), `yolo` traces the masks into polygons and writes
the files, `masks` (OpenCV, numpy) traces.

The pass is imported only when a segmentation job converts, and it imports `masks` only when it
traces: the other tasks, and a fan-out's merge of a segmentation job, never load OpenCV.
"""

from __future__ import annotations

from typing import Any

from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.segment.reader import READER, REF_SUFFIX


class SegmentTask:
    label_tasks = (LabelTask.SEMANTIC_SEGMENTATION,)
    # A segmentation job's LabelAttributeName `seg` labels its lines as `seg-ref`.
    attribute_suffix = REF_SUFFIX

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
