"""`gt2yolo report DATASET_DIR [--worker-responses DIR_OR_S3]`: previews, workers CSVs and
report.html for a dataset written by `gt2yolo convert`, the same as the pipeline makes; for a
published dataset synced from S3 (versions), of its current version, into that version."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gt2yolo.errors import ConversionError
from gt2yolo.insights.sampling import DEFAULT_FLAGGED_LIMIT, DEFAULT_SAMPLE
from gt2yolo.insights.workers import WORKER_RESPONSE_FOLDER, LocalResponseFiles, ResponseFiles

POINTER = "current.json"  # gt2yolo.versions.POINTER (not imported at the CLI's startup)


def add_report_command(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="draw previews and write report.html (and labeler insights) for a dataset",
        description="Read a dataset written by `gt2yolo convert` back: draw the labels of a "
        "sample of images (boxes, polygons, or class names; and every image with clamped or "
        "dropped boxes or dropped regions) into previews/, and write report.html. With "
        "--worker-responses, also workers.csv, workers_daily.csv and the labelers section.",
    )
    report.add_argument("dataset", metavar="DATASET_DIR", help="the dataset folder")
    report.add_argument("--worker-responses", metavar="DIR_OR_S3",
                        help="the labeling job's output folder (or its annotations/"
                        "worker-response/ folder): a local path or an s3:// URI")  # fmt: skip
    report.add_argument("--previews", type=int, default=DEFAULT_SAMPLE, metavar="N",
                        help=f"images in the stable preview sample (default {DEFAULT_SAMPLE}); "
                        "images with clamped or dropped labels come on top")  # fmt: skip
    report.add_argument("--flagged-limit", type=int, default=DEFAULT_FLAGGED_LIMIT, metavar="N",
                        help="draw at most N images with clamped or dropped labels "
                        f"(default {DEFAULT_FLAGGED_LIMIT})")  # fmt: skip


def run_report(args: argparse.Namespace) -> str:
    """Build the report; return the line to print."""
    from gt2yolo.insights.dataset import LocalDatasetFiles
    from gt2yolo.storage import LocalStorage

    try:
        from gt2yolo_report import ReportOptions, build_report
    except ImportError as exc:  # Pillow is an extra: the converter does not need it
        raise ConversionError(
            f"gt2yolo report needs Pillow ({exc}): pip install 'gt2yolo[report]'"
        ) from None
    if args.previews < 0 or args.flagged_limit < 0:
        raise ConversionError("--previews and --flagged-limit must not be negative")
    dataset = Path(args.dataset)
    if not dataset.is_dir():
        raise ConversionError(f"dataset folder not found: {dataset}")
    responses = open_responses(args.worker_responses)
    options = ReportOptions(sample_size=args.previews, flagged_limit=args.flagged_limit)
    files: Any = LocalDatasetFiles(dataset)
    out = dataset
    if (dataset / POINTER).is_file():  # a published dataset synced from S3: its current version
        files, out = _current_version(dataset, files)
    result = build_report(files, LocalStorage(out), responses, options)
    workers = (
        f", {result.workers} workers ({result.worker_answers} answers, "
        f"{result.compared_objects} objects compared)"
        if responses is not None
        else ""
    )
    return f"{result.previews} previews{workers} -> {result.report}"


def _current_version(dataset: Path, files: Any) -> tuple[Any, Path]:
    """The current version read by dataset keys, and its folder (where its report goes)."""
    from gt2yolo.storage import LocalStorage
    from gt2yolo.versions import VersionView, read_index, read_pointer

    objects = LocalStorage(dataset)
    pointer = read_pointer(objects)
    if pointer is None:
        raise ConversionError(f"{dataset / POINTER} is unreadable")
    view = VersionView(objects, pointer.version, read_index(objects, pointer.version))
    return view, dataset / "versions" / pointer.version


def open_responses(location: str | None) -> ResponseFiles | None:
    if location is None:
        return None
    if location.startswith("s3://"):
        from gt2yolo_aws.s3 import S3ResponseFiles

        inner = WORKER_RESPONSE_FOLDER.rstrip("/")
        prefix = location if inner in location else location.rstrip("/") + "/" + inner
        return S3ResponseFiles(prefix)
    from pathlib import Path

    if not Path(location).is_dir():
        raise ConversionError(f"worker responses folder not found: {location}")
    return LocalResponseFiles(location)
