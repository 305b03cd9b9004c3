"""The one interface a task type implements for the shared run."""

from __future__ import annotations

from typing import Any, Protocol

from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask


class Task(Protocol):
    """A task type: the Ground Truth task types it converts, its reader of their lines, and its
    pass (which writes through the task's writers, the YOLO writer first)."""

    @property
    def label_tasks(self) -> tuple[LabelTask, ...]:
        """The Ground Truth task types (metadata `type`s) this task converts."""
        ...

    @property
    def attribute_suffix(self) -> str | None:
        """What Ground Truth appends to the job's LabelAttributeName on the lines (`-ref` for
        the tasks whose lines point at a file), or None."""
        ...

    def reader(self, label_task: LabelTask) -> TaskReader:
        """The reader of `label_task`'s lines."""
        ...

    def open_pass(
        self,
        survey: Survey,
        options: ConversionOptions,
        storage: Storage,
        images: ImageSink | None,
        objects: SourceObjects | None,
    ) -> TaskPass[Any]:
        """The conversion pass of the survey's lines."""
        ...
