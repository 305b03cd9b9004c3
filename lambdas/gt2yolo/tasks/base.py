"""The one interface a task type implements for the shared run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gt2yolo.insights.parts import PageSections
from gt2yolo.manifest import TaskReader
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import TaskPass
from gt2yolo.report import TaskSection
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.task_types import LabelTask


class Task(Protocol):
    """A task type: the Ground Truth task types it converts, its reader of their lines, its
    pass (which writes through the task's writers, the YOLO writer first), its section of
    report.json and the report page's sections that read it."""

    @property
    def label_tasks(self) -> tuple[LabelTask, ...]:
        """The Ground Truth task types (metadata `type`s) this task converts."""
        ...

    @property
    def attribute_suffix(self) -> str | None:
        """What Ground Truth appends to the job's LabelAttributeName on the lines (`-ref` for
        the tasks whose lines point at a file), or None."""
        ...

    @property
    def report_sections(self) -> tuple[type[TaskSection], ...]:
        """The typed section(s) of report.json this task writes (its counts and facts)."""
        ...

    @property
    def page_sections(self) -> Mapping[type[TaskSection], PageSections]:
        """The report page's sections for each of those report sections."""
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
