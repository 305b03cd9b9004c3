"""The conversion pass every task shares: lines -> records -> placed images -> the task's writers.

This knows no task. It streams a manifest's lines through the common line rules and the task's
reader (`LineRules.reader`), places each accepted record in the dataset (name, path, split),
batches them, copies their images, counts and writes rejections. What an accepted record
becomes is the task's pass (`gt2yolo.tasks.<task>`), a subclass that writes through its own
writers: its YOLO writer first, which also streams the shared tables (rejected.jsonl, the split
lists); a second export is one more writer in `open_writers`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast

from gt2yolo.errors import ConversionError
from gt2yolo.exports.formats import ExportContext, ExportFormat, check_base
from gt2yolo.exports.writer import not_written
from gt2yolo.manifest import ManifestSource, TaskReader, numbered_lines, parse_line
from gt2yolo.options import ConversionOptions
from gt2yolo.paths import (
    MAX_KEY_BYTES,
    NAME_MAX,
    S3_SCHEME,
    Layout,
    dataset_path,
    flat_path,
    label_path,
    longest_name,
    plain_key,
    source_ref_segments,
)
from gt2yolo.records import LineRejection, RejectedLine, slot_setters
from gt2yolo.report import ConversionReport
from gt2yolo.split import Split, assign_split
from gt2yolo.storage import ImageSink, SourceObjects, Storage
from gt2yolo.survey_result import Survey
from gt2yolo.writers import REPORT_JSON, DatasetWriter, image_key, label_key, report_json

# progress(phase, lines): phase is "survey" (pass 1) or "convert" (pass 2).
Progress = Callable[[str, int], None]
PROGRESS_EVERY = 1000

W = TypeVar("W", bound=DatasetWriter)
# A task's export writers by format, and why a format has no form of its records.
Exporters = Mapping[ExportFormat, Callable[..., Any]]
ExportGaps = Mapping[ExportFormat, str]


@dataclass(frozen=True, slots=True)
class Placed:
    """An accepted record and where it goes in the dataset."""

    image: Any  # the task's record: LabeledImage, SegmentedImage, ClassifiedImage, ...
    path: str
    label: str
    split: Split
    folder: str = ""  # image classification: the class folder the image goes into

    def __init__(self, image: Any, path: str, label: str, split: Split, folder: str = "") -> None:
        # Direct slot stores, as in records.DrawnBox: one of these is made per accepted line.
        _placed_image(self, image)
        _placed_path(self, path)
        _placed_label(self, label)
        _placed_split(self, split)
        _placed_folder(self, folder)


_placed_image, _placed_path, _placed_label, _placed_split, _placed_folder = slot_setters(
    Placed, "image", "path", "label", "split", "folder"
)


class TaskPass(Generic[W]):
    """State of the conversion pass: the survey's answers, counters, the task's writers.

    A task's pass says which writers it writes through (`open_writers`) and what an accepted
    record becomes (`_accept`); it may place (`_place`, `_image_key`) and batch
    (`_write_batch`) its records its own way."""

    # What the lines point at besides images, for the error when there is nothing to read them
    # with (`objects`); None: the lines name nothing else.
    reads: str | None = None
    # The export writers of this task (`gt2yolo.tasks.<task>.exports`), each built like the
    # YOLO writer plus the export context; and why a format has no form of this task's records.
    exporters: ClassVar[Exporters] = {}
    export_gaps: ClassVar[ExportGaps] = {}

    def __init__(
        self,
        survey: Survey,
        options: ConversionOptions,
        storage: Storage,
        images: ImageSink | None,
        objects: SourceObjects | None,
        reader: TaskReader,
    ) -> None:
        self.survey = survey
        self.options = options
        self.storage = storage
        self.images = images
        self._objects = objects
        self.rules = options.line_rules(
            survey.label_attribute, survey.class_list, survey.task, reader
        )
        # An S3 key holds at most 1024 bytes, the dataset's prefix (and version folder) included.
        self._s3 = storage.location().startswith(S3_SCHEME)
        # The common folder as the start of a source-ref (segments as they stand).
        self._common_ref = S3_SCHEME + "".join(s + "/" for s in survey.common_folder)
        self.writers: tuple[W, ...] = ()
        # The YOLO writer (the first): it also writes the shared tables.
        self.writer: W
        self.renamed = survey.names.renamed
        self.dropped = survey.names.dropped
        self.report = ConversionReport(
            label_attribute=survey.label_attribute,
            class_source=survey.class_list.source,
            classes=survey.class_list.names,
            common_prefix="s3://" + "".join(s + "/" for s in survey.common_folder),
            split_fractions={"val": options.fractions.val, "test": options.fractions.test},
            warnings=[*survey.class_list.warnings, *_name_warnings(survey)],
            task=str(survey.task.yolo_task),
        )

    def open_writers(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> list[W]:
        """The task's writers, its YOLO writer first; `tables_prefix`/`header=False`: a fan-out
        chunk's part of each table."""
        raise NotImplementedError

    @contextmanager
    def writing(
        self, storage: Storage, splits: Sequence[Split], **part: Any
    ) -> Iterator[tuple[W, ...]]:
        """The task's writers open (their streams closed on leaving)."""
        with ExitStack() as stack:
            # The export writers take the records the YOLO writer takes (the same methods).
            opened = [*self.open_writers(storage, splits, **part),
                      *cast(list[W], self._export_writers(storage, splits, **part))]  # fmt: skip
            for writer in opened:
                stack.enter_context(writer)
            self.writers = tuple(opened)
            self.writer = self.writers[0]
            yield self.writers

    def export_context(self, splits: Sequence[Split]) -> ExportContext:
        options = self.options
        return ExportContext(
            self.survey.class_list.names, self.survey.task, tuple(splits),
            check_base(options.export_base, options.exports), options.version,
        )  # fmt: skip

    def _export_writers(self, storage: Storage, splits: Sequence[Split], **part: Any) -> list[Any]:
        exports = [e for e in self.options.exports if e in self.exporters]
        if not exports:
            return []
        context = self.export_context(splits)
        return [self.exporters[e](storage, splits, context, **part) for e in exports]

    def check_ready(self) -> None:
        """Raise ConversionError before anything is written if the pass lacks an input."""
        check_base(self.options.export_base, self.options.exports)
        if self.reads is not None and self._objects is None:
            raise ConversionError(
                f"{self.reads}: give --s3-mirror DIR (a local sync of the buckets, "
                "DIR/<bucket>/<key>) or run with read access to S3"
            )

    @property
    def objects(self) -> SourceObjects:
        assert self._objects is not None, "check_ready() first"
        return self._objects

    def convert_source(self, source: ManifestSource, progress: Progress | None) -> None:
        counts = self.report.manifest(source.name)
        batch: list[Placed] = []
        for origin, raw in numbered_lines(source):
            counts.lines += 1
            record = parse_line(raw, origin, self.rules)
            if self.dropped and not isinstance(record, RejectedLine):
                record = self._unless_dropped(record)
            placed = record if isinstance(record, RejectedLine) else self._place(record)
            if self._s3 and isinstance(placed, Placed):
                placed = self._unless_key_too_long(placed)
            if isinstance(placed, RejectedLine):
                # Written batches first: rejected.jsonl stays in line order whatever the batch
                # (or fan-out chunk) boundaries are.
                self._write_batch(batch)
                batch = []
                self._reject(placed)
            else:
                batch.append(placed)
                if len(batch) >= self.options.image_batch_size:
                    self._write_batch(batch)
                    batch = []
            if progress and counts.lines % PROGRESS_EVERY == 0:
                progress("convert", PROGRESS_EVERY)
        self._write_batch(batch)
        if progress:
            progress("convert", counts.lines % PROGRESS_EVERY)

    def _unless_dropped(self, image: Any) -> Any:
        origin = image.origin
        detail = self.dropped.get((origin.manifest, origin.line))
        if detail is None:
            return image
        return RejectedLine(LineRejection.DUPLICATE_SOURCE_REF, detail, origin, image.source_ref)

    def _place(self, image: Any) -> Placed | RejectedLine:
        source_ref = image.source_ref
        path = self.renamed.get(source_ref) if self.renamed else None
        if path is None:
            common = self._common_ref
            if source_ref.startswith(common) and plain_key(source_ref[_SCHEME_LENGTH:]):
                # What dataset_path gives for such a key, without splitting and joining it.
                path = source_ref[len(common) :]
            else:
                segments = image.segments or source_ref_segments(source_ref)
                path = dataset_path(segments, self.survey.common_folder)
        if self.options.layout is Layout.FLAT:
            path = flat_path(path)
        label = label_path(path)
        too_long = longest_name(path, label)
        if too_long is not None:
            # Refused before its image is copied or its label written: nothing half of it stays.
            # unsafe_path, as for source-refs too long to hold; the detail never the whole path
            detail = f"a dataset file or folder name of {too_long} bytes (at most {NAME_MAX})"
            return RejectedLine(LineRejection.UNSAFE_PATH, detail, image.origin, image.source_ref)
        pins = self.options.split_pins
        split = (pins and pins.get(source_ref)) or assign_split(source_ref, self.options.fractions)
        return Placed(image, path, label, split)

    def _image_key(self, placed: Placed) -> str:
        return image_key(placed.split, placed.path)

    def _written_keys(self, placed: Placed) -> tuple[str, ...]:
        """The keys of the files a placed record is written to (its image, its label file)."""
        return (self._image_key(placed), label_key(placed.split, placed.label))

    def _unless_key_too_long(self, placed: Placed) -> Placed | RejectedLine:
        """unsafe_path for a record one of whose S3 keys would be longer than S3 holds: refused
        before anything of it is written, as a name too long for a file system is."""
        for key in self._written_keys(placed):
            stored = self.storage.location(key)[_SCHEME_LENGTH:].partition("/")[2]
            size = len(stored.encode("utf-8", "surrogatepass"))
            if size > MAX_KEY_BYTES:
                detail = f"a dataset key of {size} bytes (S3 holds at most {MAX_KEY_BYTES})"
                image = placed.image
                return RejectedLine(
                    LineRejection.UNSAFE_PATH, detail, image.origin, image.source_ref
                )
        return placed

    def _write_batch(self, batch: list[Placed]) -> None:
        failures = self._copy_images(batch)
        for placed in batch:
            if failures and (key := self._image_key(placed)) in failures:
                self._reject(RejectedLine(
                    LineRejection.IMAGE_NOT_FOUND, failures[key], placed.image.origin,
                    placed.image.source_ref,
                ))  # fmt: skip
            else:
                self._accept(placed)

    def _copy_images(self, batch: list[Placed]) -> dict[str, str]:
        if self.images is None or not batch:
            return {}
        items = [(p.image.source_ref, self._image_key(p)) for p in batch]
        return dict(self.images.copy_batch(items))

    def _accept(self, placed: Placed) -> None:
        """Write an accepted, placed record (its image copied) and count it."""
        raise NotImplementedError

    def _count_totals(self, placed: Placed, kept: int) -> None:
        """Count an image written with `kept` labels (boxes, polygons)."""
        report = self.report
        report.images += 1
        report.manifest(placed.image.origin.manifest).images += 1
        report.boxes += kept
        report.background_images += not kept
        report.images_per_split[placed.split] += 1
        report.boxes_per_split[placed.split] += kept

    def _reject(self, rejection: RejectedLine) -> None:
        report = self.report
        report.rejected[rejection.reason] += 1
        counts = report.manifest(rejection.origin.manifest)
        counts.rejected += 1
        if rejection.reason is LineRejection.DUPLICATE_SOURCE_REF:
            counts.duplicates += 1
        elif rejection.other_task is not None:
            report.wrong_tasks[rejection.other_task] += 1
        self.writer.add_rejection(rejection)

    def finish(self) -> dict[str, Any]:
        self.report.warnings.extend(_rejection_warnings(self.report, self.survey, self.options))
        document = self.report.as_dict()
        names = self.survey.names
        document["renamed_images"] = len(names.renamed)
        document["layout"] = str(self.options.layout)
        if self.options.version is not None:  # absent locally: report.json stays as it was
            document["version"] = self.options.version
        if self.options.partial:
            # Only when true: every complete dataset's report.json stays as it was.
            document["partial"] = True
        if self.options.collection is not None:
            document["collection"] = self.options.collection.summary(
                self.report, self.survey.names.dropped
            ).as_dict()
        return document

    def write_summary(self, splits: Sequence[Split], report: dict[str, Any]) -> None:
        """Every writer's summary files, then report.json, last: its presence says the dataset
        is whole."""
        for writer in self.writers:
            writer.write_summary(self.survey.class_list.names, splits, report)
        if self.options.exports:
            # Each written export added its entry; a format this task has no form of says why.
            exports = report.setdefault("exports", {})
            for export in self.options.exports:
                if export not in exports:
                    exports[str(export)] = not_written(
                        self.export_gaps.get(export, f"no {export} form of this task")
                    )
            report["exports"] = {str(e): exports[str(e)] for e in self.options.exports}
        self.storage.write_bytes(REPORT_JSON, report_json(report))


def _name_warnings(survey: Survey) -> list[str]:
    renamed = len(survey.names.renamed)
    if not renamed:
        return []
    return [
        f"{renamed} image(s) renamed <stem>~<n>: their label paths would have collided (ignoring "
        "case) with another image's; images.csv maps every source-ref to its files"
    ]


def _rejection_warnings(
    report: ConversionReport, survey: Survey, options: ConversionOptions
) -> list[str]:
    """What the counts alone would not make plain: lines of other tasks, and manifests whose
    every labeled line was dropped as a duplicate (as asked: not an unusable manifest)."""
    warnings = []
    if report.wrong_tasks:
        listed = ", ".join(f"{name} ({count})" for name, count in report.wrong_tasks.most_common())
        warnings.append(
            f"{sum(report.wrong_tasks.values())} line(s) labeled as another task rejected "
            f"(wrong_task): {listed}; this dataset is {survey.task} ({survey.task.description})"
        )
    for name, counts in report.manifests.items():
        if counts.images == 0 and counts.duplicates:
            warnings.append(
                f"{name}: no image of its own: its {counts.duplicates} line(s) name images of "
                f"other lines, dropped as --on-duplicate {options.on_duplicate} asked"
            )
    return warnings


_SCHEME_LENGTH = len(S3_SCHEME)
