"""The task types gt2yolo converts: the one place that names them.

Adding a task: its package under gt2yolo/tasks/ (a `TASK` in its `task` module implementing
`base.Task`) and its line in TASKS. The shared run asks only this module which task reads and writes a job's lines.
"""

from __future__ import annotations

from gt2yolo.insights.parts import PageSections
from gt2yolo.manifest import TaskReader
from gt2yolo.report import ReportDocument, TaskSection
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.base import Task
from gt2yolo.tasks.classify.task import TASK as CLASSIFY
from gt2yolo.tasks.detect.task import TASK as DETECT
from gt2yolo.tasks.segment.task import TASK as SEGMENT
from gt2yolo.tasks.video.task import TASK as VIDEO

TASKS: tuple[Task, ...] = (DETECT, SEGMENT, CLASSIFY, VIDEO)

_BY_LABEL_TASK: dict[LabelTask, Task] = {
    label_task: task for task in TASKS for label_task in task.label_tasks
}
# Every Ground Truth task type has its task (a missing one fails here, at import).
if set(_BY_LABEL_TASK) != set(LabelTask):
    raise RuntimeError(f"no task converts {sorted(set(LabelTask) - set(_BY_LABEL_TASK))}")


def task_of(label_task: LabelTask) -> Task:
    """The task that converts `label_task`'s lines."""
    return _BY_LABEL_TASK[label_task]


def reader_of(label_task: LabelTask) -> TaskReader:
    """The reader of `label_task`'s lines."""
    return _BY_LABEL_TASK[label_task].reader(label_task)


def attribute_suffixes() -> tuple[str, ...]:
    """What Ground Truth appends to a LabelAttributeName on some tasks' lines (`-ref`), once
    each, in task order."""
    found = (task.attribute_suffix for task in TASKS)
    return tuple(dict.fromkeys(suffix for suffix in found if suffix is not None))


# What report.json's task section may be: every task's, a keyless one (plain detection) first.
SECTIONS: tuple[type[TaskSection], ...] = tuple(
    sorted((s for task in TASKS for s in task.report_sections), key=lambda s: s.key is not None)
)
# The report page's sections of each report section.
PAGES: dict[type[TaskSection], PageSections] = {
    section: page for task in TASKS for section, page in task.page_sections.items()
}


def parse_report(document: object) -> ReportDocument:
    """A report.json of any gt2yolo, read into its typed model."""
    return ReportDocument.parse(document, SECTIONS)
