"""Workspaces converting with the Rekognition and SageMaker exports on, and readers of the
manifests they write (JSON Lines under exports/<format>/).

The exports name images by S3 URI under BASE, the folder the dataset will be synced to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gt2yolo import ConversionOptions
from gt2yolo.exports.formats import ExportFormat
from gt_builders import Dataset
from task_builders import MirrorWorkspace
from video_builders import VideoWorkspace

BASE = "s3://training-bucket/datasets/pets/"
MANIFEST_EXPORTS = (ExportFormat.REKOGNITION, ExportFormat.SAGEMAKER)


def with_exports(
    options: ConversionOptions, exports: Sequence[ExportFormat] = MANIFEST_EXPORTS
) -> ConversionOptions:
    return replace(options, exports=tuple(exports), export_base=BASE)


class ExportWorkspace(MirrorWorkspace):
    """Converts detection and classification lines (images from the mirror) with the exports."""

    def options(self, *args: Any, **kwargs: Any) -> ConversionOptions:
        return with_exports(super().options(*args, **kwargs))


class VideoExportWorkspace(VideoWorkspace):
    """Converts video frame jobs with the exports."""

    def options(self, *args: Any, **kwargs: Any) -> ConversionOptions:
        return with_exports(super().options(*args, **kwargs))


def manifest_text(dataset: Dataset, export: ExportFormat, name: str) -> str:
    return dataset.text(f"exports/{export}/{name}")


def manifest_lines(dataset: Dataset, export: ExportFormat, name: str) -> list[dict[str, Any]]:
    """A manifest's lines, each parsed (one JSON object a line, no blank line)."""
    text = manifest_text(dataset, export, name)
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def export_entry(dataset: Dataset, export: ExportFormat) -> dict[str, Any]:
    """report.json's `exports.<format>`."""
    return dict(dataset.report["exports"][str(export)])


def image_path(source_ref: str) -> str:
    """A line's image as the dataset holds it: the source-ref without BASE."""
    assert source_ref.startswith(BASE), source_ref
    return source_ref[len(BASE) :]


__all__ = [
    "BASE", "MANIFEST_EXPORTS", "ExportWorkspace", "VideoExportWorkspace", "export_entry",
    "image_path", "manifest_lines", "manifest_text", "with_exports",
]  # fmt: skip
