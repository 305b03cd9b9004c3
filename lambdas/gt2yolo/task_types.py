"""Ground Truth task types and the YOLO task each becomes.

A line's label attribute says its task in `<attr>-metadata.type`; a labeling job says it in the
name of its built-in pre-annotation Lambda (`HumanTaskConfig.PreHumanTaskLambdaArn`, e.g.
`arn:aws:lambda:us-east-1:432418664414:function:PRE-SemanticSegmentation`). One dataset holds one
task: each task has one reader (Ground Truth lines -> typed records) and one YOLO writer.
"""

from __future__ import annotations

from enum import StrEnum


class YoloTask(StrEnum):
    """What Ultralytics trains: `yolo <task> train data=...`."""

    DETECT = "detect"
    SEGMENT = "segment"
    CLASSIFY = "classify"


class LabelTask(StrEnum):
    """A Ground Truth image task, spelled as its output metadata's `type`."""

    BOUNDING_BOX = "groundtruth/object-detection"
    SEMANTIC_SEGMENTATION = "groundtruth/semantic-segmentation"
    IMAGE_CLASSIFICATION = "groundtruth/image-classification"
    IMAGE_CLASSIFICATION_MULTILABEL = "groundtruth/image-classification-multilabel"
    VIDEO_OBJECT_DETECTION = "groundtruth/video-object-detection"
    VIDEO_OBJECT_TRACKING = "groundtruth/video-object-tracking"

    @property
    def video(self) -> bool:
        return self in (LabelTask.VIDEO_OBJECT_DETECTION, LabelTask.VIDEO_OBJECT_TRACKING)

    @property
    def yolo_task(self) -> YoloTask:
        return _YOLO_TASKS[self]

    @property
    def description(self) -> str:
        return _TITLES[self]


_YOLO_TASKS = {
    LabelTask.BOUNDING_BOX: YoloTask.DETECT,
    LabelTask.SEMANTIC_SEGMENTATION: YoloTask.SEGMENT,
    LabelTask.IMAGE_CLASSIFICATION: YoloTask.CLASSIFY,
    LabelTask.IMAGE_CLASSIFICATION_MULTILABEL: YoloTask.CLASSIFY,
    # Video frame jobs become detection datasets of their frames (and MOT tracks).
    LabelTask.VIDEO_OBJECT_DETECTION: YoloTask.DETECT,
    LabelTask.VIDEO_OBJECT_TRACKING: YoloTask.DETECT,
}
_TITLES = {
    LabelTask.BOUNDING_BOX: "bounding box",
    LabelTask.SEMANTIC_SEGMENTATION: "semantic segmentation",
    LabelTask.IMAGE_CLASSIFICATION: "image classification (single label)",
    LabelTask.IMAGE_CLASSIFICATION_MULTILABEL: "image classification (multi-label)",
    LabelTask.VIDEO_OBJECT_DETECTION: "video frame object detection",
    LabelTask.VIDEO_OBJECT_TRACKING: "video frame object tracking",
}
LABEL_VERIFICATION_TYPE = "groundtruth/label-verification"
KNOWN_TYPES = frozenset(str(task) for task in LabelTask)

# The built-in pre-annotation Lambdas' names (after `function:`) and the task their jobs write.
# Adjustment jobs write the task they adjust; verification jobs write a verdict
# (`groundtruth/label-verification`) beside the labels they verify.
_PRE_ANNOTATION: dict[str, LabelTask | None] = {
    "PRE-BoundingBox": LabelTask.BOUNDING_BOX,
    "PRE-AdjustmentBoundingBox": LabelTask.BOUNDING_BOX,
    "PRE-SemanticSegmentation": LabelTask.SEMANTIC_SEGMENTATION,
    "PRE-AdjustmentSemanticSegmentation": LabelTask.SEMANTIC_SEGMENTATION,
    "PRE-ImageMultiClass": LabelTask.IMAGE_CLASSIFICATION,
    "PRE-ImageMultiClassMultiLabel": LabelTask.IMAGE_CLASSIFICATION_MULTILABEL,
    "PRE-VideoObjectDetection": LabelTask.VIDEO_OBJECT_DETECTION,
    "PRE-AdjustmentVideoObjectDetection": LabelTask.VIDEO_OBJECT_DETECTION,
    "PRE-VideoObjectTracking": LabelTask.VIDEO_OBJECT_TRACKING,
    "PRE-AdjustmentVideoObjectTracking": LabelTask.VIDEO_OBJECT_TRACKING,
    "PRE-VerificationBoundingBox": None,
    "PRE-VerificationSemanticSegmentation": None,
}


class UnsupportedTask(ValueError):
    """A job or line of a task this product does not convert (yet): the message names it."""


def task_of_metadata_type(value: object) -> LabelTask | None:
    """The task a line's `<attr>-metadata.type` names; None for anything else."""
    return LabelTask(value) if isinstance(value, str) and value in KNOWN_TYPES else None


def task_of_pre_annotation_lambda(arn: str | None) -> LabelTask | None:
    """The task of a job from its pre-annotation Lambda ARN.

    None for a verification job (its lines carry the verified labels' own type) or a custom
    workflow's own Lambda (the lines' metadata decide). Built-in tasks this product does not
    convert (video classification, text, 3D point clouds) raise UnsupportedTask naming them.
    """
    if not arn:
        return None
    name = arn.rsplit(":function:", 1)[-1] if ":function:" in arn else ""
    if name in _PRE_ANNOTATION:
        return _PRE_ANNOTATION[name]
    if name.startswith("PRE-"):
        raise UnsupportedTask(
            f"labeling job task {name} is not an image task gt2yolo converts "
            f"(supported: {', '.join(sorted(n for n, t in _PRE_ANNOTATION.items() if t))})"
        )
    return None
