"""Semantic segmentation lines -> an Ultralytics segmentation dataset (`task: segment`).

Each accepted line's mask is read (through `SourceObjects`: S3, or a synced folder), checked
against its image's size (read from the image file's header), and traced (`gt2yolo.tasks.segment.masks`): every
connected region of a class becomes one label row `class x1 y1 x2 y2 ...`, normalized by the
mask's size. The dataset's files and tables are those of a detection dataset, with polygon
columns. Masks are fetched and traced by a few threads per batch (OpenCV and numpy release the
GIL); rows are written in line order. OpenCV is imported only to trace: the fan-out's merge
(Finalize) writes a segmentation dataset's summary without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from gt2yolo.excerpts import shortened
from gt2yolo.exports.formats import ExportFormat
from gt2yolo.image_header import HEAD_BYTES, UnknownImageSize, image_size
from gt2yolo.passes import Exporters, ExportGaps, Placed, TaskPass
from gt2yolo.records import BoxDrop, BoxStatus, LineRejection, RejectedLine, SegmentedImage
from gt2yolo.split import Split
from gt2yolo.storage import Storage
from gt2yolo.tasks.segment.exports import CocoSegmentWriter
from gt2yolo.tasks.segment.report import SegmentCounts, SegmentSection
from gt2yolo.writers import DatasetWriter, image_key, label_key

if TYPE_CHECKING:
    from gt2yolo.tasks.segment.masks import Points, Region, TracedMask

ANNOT_COLUMNS = (
    "img_file", "category", "class_id", "area", "box_left", "box_top", "box_width",
    "box_height", "points", "holes", "img_width", "img_height", "source_ref", "split", "label",
    "status",
)  # fmt: skip
IMAGES_COLUMNS = (
    "source_ref", "image", "label", "split", "width", "height", "polygons", "dropped_regions",
    "holes", "mask_ref", "manifest", "line",
)  # fmt: skip
# Masks fetched and traced at once: S3 latency overlaps, and decoding runs outside the GIL.
TRACE_THREADS = 8


@dataclass(frozen=True, slots=True)
class RegionOutcome:
    """One region and what the rules made of it: a label row, or dropped with a reason."""

    region: Region
    category: str
    class_id: int | None
    status: BoxStatus
    row: str | None  # the label file's row


@dataclass(frozen=True, slots=True)
class _Traced:
    traced: TracedMask
    size_checked: bool


class SegmentWriter(DatasetWriter):
    annot_columns = ANNOT_COLUMNS
    images_columns = IMAGES_COLUMNS
    yolo_task = "segment"
    darknet = False  # Darknet would read the polygon rows as boxes

    def add_segmented(
        self,
        image: SegmentedImage,
        path: str,
        label: str,
        split: Split,
        traced: TracedMask,
        outcomes: Sequence[RegionOutcome],
    ) -> None:
        rows = [o.row for o in outcomes if o.row is not None]
        label_file = label_key(split, label)
        self.storage.write_bytes(label_file, "".join(row + "\n" for row in rows).encode())
        image_path = image_key(split, path)
        self._lists[split].write(f"./{image_path}\n")
        holes = sum(o.region.holes for o in outcomes if o.row is not None)
        self._images.writerow((
            image.source_ref, image_path, label_file, split, traced.width, traced.height,
            len(rows), len(outcomes) - len(rows), holes, image.mask_ref, image.origin.manifest,
            image.origin.line,
        ))  # fmt: skip
        for outcome in outcomes:
            region = outcome.region
            left, top, width, height = region.box
            self._annot.writerow((
                path, outcome.category, "" if outcome.class_id is None else outcome.class_id,
                f"{region.area:g}", left, top, width, height, len(region.points), region.holes,
                traced.width, traced.height, image.source_ref, split, label_file, outcome.status,
            ))  # fmt: skip


def polygon_row(class_id: int, region: Region, width: int, height: int) -> str:
    """`class x1 y1 ...`: pixel coordinates over the mask's size, 6 significant digits."""
    points = region.points
    if _on_mask(points, width, height):  # every traced point is: each value formatted once
        xs, ys = _coordinates(width), _coordinates(height)
        texts = [f"{xs[x]} {ys[y]}" for x, y in points.tolist()]
    else:
        scaled = zip((points[:, 0] / width).tolist(), (points[:, 1] / height).tolist(), strict=True)
        texts = [f"{x:.6g} {y:.6g}" for x, y in scaled]
    return f"{class_id} " + " ".join(texts)


def _on_mask(points: Points, width: int, height: int) -> bool:
    if not len(points) or points.min() < 0:
        return False
    right, bottom = points.max(axis=0).tolist()
    return bool(right <= width and bottom <= height)


@lru_cache(maxsize=16)
def _coordinates(size: int) -> tuple[str, ...]:
    """`%.6g` of value / size for every value 0..size: what the rows hold for a pixel
    coordinate (the same division and format as numpy's float64 per point)."""
    return tuple(f"{value / size:.6g}" for value in range(size + 1))


class SegmentPass(TaskPass[SegmentWriter]):
    reads = "semantic segmentation lines point at mask PNGs"
    exporters: ClassVar[Exporters] = {ExportFormat.COCO: CocoSegmentWriter}
    export_gaps: ClassVar[ExportGaps] = {
        ExportFormat.REKOGNITION: "Rekognition Custom Labels trains image classification and "
        "object detection, not segmentation",
        ExportFormat.SAGEMAKER: "SageMaker's Semantic Segmentation algorithm trains from the "
        "job's own output.manifest (source-ref and mask PNG): use that manifest as it is",
    }

    def open_writers(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> list[SegmentWriter]:
        return [SegmentWriter(storage, splits, tables_prefix=tables_prefix, header=header)]

    def _write_batch(self, batch: list[Placed]) -> None:
        if not batch:
            return
        # Masks first: an image is copied only once its mask converts, so a rejected line
        # leaves nothing of itself in the dataset.
        with ThreadPoolExecutor(min(TRACE_THREADS, len(batch))) as pool:
            traced = list(pool.map(self._trace, batch))
        accepted = [p for p, t in zip(batch, traced, strict=True) if isinstance(t, _Traced)]
        failures = self._copy_images(accepted)
        for placed, result in zip(batch, traced, strict=True):
            image = placed.image
            key = self._image_key(placed)
            if isinstance(result, RejectedLine):
                self._reject(result)
            elif key in failures:
                self._reject(RejectedLine(
                    LineRejection.IMAGE_NOT_FOUND, failures[key], image.origin, image.source_ref
                ))  # fmt: skip
            else:
                self._accept_traced(placed, result)

    def _trace(self, placed: Placed) -> _Traced | RejectedLine:
        image: SegmentedImage = placed.image

        from gt2yolo.tasks.segment.masks import MaskError, TraceRules, decode_mask, trace_mask

        def rejected(reason: LineRejection, detail: str) -> RejectedLine:
            return RejectedLine(reason, shortened(detail), image.origin, image.source_ref)

        try:
            data = self.objects.read(image.mask_ref)
        except (OSError, ValueError) as exc:
            return rejected(LineRejection.MASK_NOT_FOUND, f"mask {image.mask_ref}: {exc}")
        try:
            rgb = decode_mask(data)
        except MaskError as exc:
            return rejected(LineRejection.MASK_UNREADABLE, f"mask {image.mask_ref}: {exc}")
        height, width = rgb.shape[:2]
        expected = self._image_size(image.source_ref)
        if expected is not None and expected != (width, height):
            return rejected(
                LineRejection.MASK_SIZE_MISMATCH,
                f"mask {width}x{height}, image {expected[0]}x{expected[1]}",
            )
        try:
            rules = TraceRules(self.options.polygon_tolerance, self.options.min_region_area)
            traced = trace_mask(rgb, image.colors, rules)
        except MaskError as exc:
            return rejected(LineRejection.MASK_UNKNOWN_COLORS, str(exc))
        return _Traced(traced, expected is not None)

    def _image_size(self, source_ref: str) -> tuple[int, int] | None:
        """The image's size from its header; None when it cannot be read (then unchecked)."""
        try:
            return image_size(self.objects.read(source_ref, HEAD_BYTES))
        except (OSError, ValueError, UnknownImageSize):
            return None

    def _accept_traced(self, placed: Placed, result: _Traced) -> None:
        traced = result.traced
        outcomes = self._outcomes(placed.image, traced)
        for writer in self.writers:
            writer.add_segmented(
                placed.image, placed.path, placed.label, placed.split, traced, outcomes
            )
        report = self.report
        counts = report.counts(SegmentCounts)
        kept = 0
        for outcome in outcomes:
            if outcome.row is None:
                report.dropped_boxes[outcome.status.drop] += 1
                continue
            kept += 1
            assert outcome.class_id is not None
            report.boxes_per_class[outcome.class_id] += 1
            counts.regions_with_holes += outcome.region.holes > 0
        counts.small_holes_filled += traced.filled_holes
        counts.unchecked_image_sizes += not result.size_checked
        self._count_totals(placed, kept)

    def _outcomes(self, image: SegmentedImage, traced: TracedMask) -> list[RegionOutcome]:
        classes = self.survey.class_list
        outcomes = []
        for region in traced.regions:
            name = image.colors[region.color].class_name
            class_id = classes.resolve(-1, name)
            if isinstance(class_id, BoxDrop):
                outcomes.append(
                    RegionOutcome(region, name, None, BoxStatus.dropped(class_id), None)
                )
            elif region.small:
                drop = BoxStatus.DROPPED_SMALL_REGION
                outcomes.append(RegionOutcome(region, name, class_id, drop, None))
            else:
                row = polygon_row(class_id, region, traced.width, traced.height)
                outcomes.append(RegionOutcome(region, name, class_id, BoxStatus.KEPT, row))
        return outcomes

    def finish(self) -> dict[str, Any]:
        document = super().finish()
        counts = self.report.counts(SegmentCounts)
        section = SegmentSection.of(
            counts, self.report.boxes, self.options.polygon_tolerance, self.options.min_region_area
        )
        document[SegmentSection.key] = section.as_dict()
        return document
