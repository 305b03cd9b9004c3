"""What the first pass found (`survey.survey_manifests`), which every task's pass is given."""

from __future__ import annotations

from dataclasses import dataclass, field

from gt2yolo.classes import ClassList
from gt2yolo.names import DatasetNames
from gt2yolo.task_types import LabelTask


@dataclass(frozen=True)
class Survey:
    label_attribute: str
    class_list: ClassList
    common_folder: tuple[str, ...]
    lines: int
    names: DatasetNames = field(default_factory=DatasetNames)
    task: LabelTask = LabelTask.BOUNDING_BOX
