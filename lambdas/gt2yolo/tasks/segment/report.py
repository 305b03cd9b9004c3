"""Segmentation: report.json's `segmentation` section, and what the pass counts for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gt2yolo.report import Reader, TaskCounts, TaskSection


@dataclass
class SegmentCounts(TaskCounts):
    kind: ClassVar[str] = "segment"

    regions_with_holes: int = 0  # polygons with holes cut in
    small_holes_filled: int = 0  # holes below the minimum region area
    unchecked_image_sizes: int = 0  # masks whose image size could not be read

    def as_json(self) -> dict[str, Any]:
        return {
            "regions_with_holes": self.regions_with_holes,
            "small_holes_filled": self.small_holes_filled,
            "unchecked_image_sizes": self.unchecked_image_sizes,
        }

    def absorb(self, counts: Mapping[str, Any]) -> None:
        self.regions_with_holes += counts["regions_with_holes"]
        self.small_holes_filled += counts["small_holes_filled"]
        self.unchecked_image_sizes += counts["unchecked_image_sizes"]


@dataclass(frozen=True)
class SegmentSection(TaskSection):
    task: ClassVar[str] = "segment"
    key: ClassVar[str] = "segmentation"

    polygons: int = 0
    # The options as given (an int stays an int); None: not stated, shown as "?".
    polygon_tolerance_px: float | None = None
    min_region_area_px: float | None = None
    regions_with_holes: int = 0
    small_holes_filled: int = 0
    unchecked_image_sizes: int = 0

    @classmethod
    def of(
        cls, counts: SegmentCounts, polygons: int, tolerance: float, min_area: float
    ) -> SegmentSection:
        return cls(
            polygons, tolerance, min_area, counts.regions_with_holes, counts.small_holes_filled,
            counts.unchecked_image_sizes,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "polygons": self.polygons,
            "polygon_tolerance_px": self.polygon_tolerance_px,
            "min_region_area_px": self.min_region_area_px,
            "regions_with_holes": self.regions_with_holes,
            "small_holes_filled": self.small_holes_filled,
            "unchecked_image_sizes": self.unchecked_image_sizes,
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> SegmentSection:
        read = Reader(document, "report.json segmentation")
        return cls(
            polygons=read.count("polygons"),
            polygon_tolerance_px=read.number("polygon_tolerance_px"),
            min_region_area_px=read.number("min_region_area_px"),
            regions_with_holes=read.count("regions_with_holes"),
            small_holes_filled=read.count("small_holes_filled"),
            unchecked_image_sizes=read.count("unchecked_image_sizes"),
        )
