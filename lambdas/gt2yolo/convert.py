"""The conversion: manifests -> survey (pass 1) -> names -> the task's pass (pass 2) -> writers.

Memory stays flat at any manifest size: lines are streamed twice, images are handled in small
batches, and the only per-image state is the survey's 8-byte digest of each natural label path
(freed before pass 2). Only images whose names collide are held, by the naming pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gt2yolo.errors import ConversionError
from gt2yolo.manifest import ManifestSource
from gt2yolo.names import NaturalNames, decide_names
from gt2yolo.options import ConversionOptions
from gt2yolo.passes import PROGRESS_EVERY, Progress, TaskPass
from gt2yolo.paths import common_folder
from gt2yolo.records import LineOrigin
from gt2yolo.report import ConversionReport
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey import Survey, survey_manifests
from gt2yolo.tasks.registry import reader_of, task_of


@dataclass(frozen=True)
class ConversionResult:
    report: dict[str, Any]
    survey: Survey


def convert_manifests(
    sources: Sequence[ManifestSource],
    storage: Storage,
    options: ConversionOptions,
    images: ImageSink | None = None,
    progress: Progress | None = None,
    objects: SourceObjects | None = None,
) -> ConversionResult:
    """Convert manifests into one dataset; raise ConversionError for unusable input.

    `objects` reads what lines refer to besides images (segmentation masks, image headers)."""
    if not sources:
        raise ConversionError("no manifest given")
    _require_unique_names(sources)
    survey = survey_and_name(sources, options, progress)
    run = conversion_pass(survey, options, storage, images, objects)
    run.check_ready()
    splits = options.fractions.splits()
    with run.writing(storage, splits):
        for source in sources:
            run.convert_source(source, progress)
        storage.flush()
        report = run.finish()
        run.write_summary(splits, report)
        storage.flush()
    _raise_for_unusable(run.report)
    return ConversionResult(report, survey)


def survey_and_name(
    sources: Sequence[ManifestSource],
    options: ConversionOptions,
    progress: Progress | None = None,
    surveyed: Sequence[ManifestSource] | None = None,
) -> Survey:
    """Pass 1, then names for the images whose label paths would collide: all decided before the
    first file is written. `surveyed`: the sources as the survey reads them (a fan-out's plan
    notes its cuts while they stream)."""
    natural = NaturalNames()
    survey = survey_manifests(
        surveyed or sources, options.label_attribute, options.class_list, progress,
        natural=natural, task=options.task,
    )  # fmt: skip
    if options.collection is not None:
        # A collection's members come and go: below a folder common to the members so far, a
        # new member in another folder would move every file. Paths keep bucket and key.
        survey = replace(survey, common_folder=())
    elif options.earlier_common_folder is not None and survey.lines:
        # The deepest folder holding the earlier images and the new: common_folder of a path
        # keeps its folders (the "file" is a placeholder).
        kept = common_folder(survey.common_folder, (*options.earlier_common_folder, ""))
        survey = replace(survey, common_folder=kept)
    reader = reader_of(survey.task)
    rules = options.line_rules(survey.label_attribute, survey.class_list, survey.task, reader)
    names = decide_names(
        sources, rules, survey.common_folder, natural, options.on_duplicate,
        options.duplicate_hint,
    )  # fmt: skip
    return replace(survey, names=names)


def _require_unique_names(sources: Sequence[ManifestSource]) -> None:
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConversionError(f"the same manifest is given twice: {names}")


def conversion_pass(
    survey: Survey,
    options: ConversionOptions,
    storage: Storage,
    images: ImageSink | None,
    objects: SourceObjects | None = None,
) -> TaskPass[Any]:
    """The pass of the survey's task (from the task registry): its reader's records through its
    writers."""
    return task_of(survey.task).open_pass(survey, options, storage, images, objects)


def _raise_for_unusable(report: ConversionReport) -> None:
    """A manifest of which no line converts is refused, unless its lines were dropped as
    duplicates of other lines, as --on-duplicate asked (their images are in the dataset)."""
    for name, counts in report.manifests.items():
        if counts.images == 0 and counts.duplicates == 0:
            reasons = ", ".join(f"{k}: {v}" for k, v in report.rejected.most_common(3))
            raise ConversionError(
                f"{name}: not one of {counts.lines} lines converts ({reasons or 'empty manifest'}); "
                "see rejected.jsonl"
            )


__all__ = [
    "PROGRESS_EVERY",
    "ConversionOptions",
    "ConversionResult",
    "LineOrigin",
    "Progress",
    "convert_manifests",
]
