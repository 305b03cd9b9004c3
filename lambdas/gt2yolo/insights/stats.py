"""The dataset's numbers for the page: boxes per image, box sizes, split balance.

Computed from images.csv and annot.csv (one streamed pass each), not from the label files: one
read instead of one per image, and annot.csv states for each box whether it was kept. The same
numbers serve segmentation (polygons per image; sizes from each region's own area, which is
what COCO's size classes measure) and classification (classes per image, per split, and the
classes given together).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from gt2yolo.insights.dataset import AnnotRow, ImageRow

# Histogram of boxes per image: 0..MAX_PER_IMAGE-1, then "MAX_PER_IMAGE+".
MAX_PER_IMAGE = 10
# Relative box size = sqrt(box area / image area): 0.1 is a box of 10% of the image's side.
SIZE_EDGES = (0.02, 0.05, 0.1, 0.2, 0.4)
SIZE_LABELS = ("<2%", "2-5%", "5-10%", "10-20%", "20-40%", ">=40%")
# COCO's size classes in pixels: small < 32x32 <= medium < 96x96 <= large.
COCO_SMALL = 32**2
COCO_MEDIUM = 96**2
COCO_LABELS = ("small", "medium", "large")


@dataclass
class DatasetStats:
    images: int = 0
    flagged_images: int = 0
    boxes_per_image: Counter[int] = field(default_factory=Counter)
    relative_sizes: Counter[str] = field(default_factory=Counter)
    coco_sizes: Counter[str] = field(default_factory=Counter)
    images_per_split: Counter[str] = field(default_factory=Counter)
    boxes_per_split: Counter[str] = field(default_factory=Counter)
    images_with_holes: int = 0
    # Classification: images per (split, class id), and per pair of classes given together.
    class_images: Counter[tuple[str, int]] = field(default_factory=Counter)
    class_pairs: Counter[tuple[int, int]] = field(default_factory=Counter)

    def add_image(self, row: ImageRow) -> None:
        self.images += 1
        self.flagged_images += row.flagged
        self.boxes_per_image[min(row.boxes, MAX_PER_IMAGE)] += 1
        self.images_per_split[row.split] += 1
        self.boxes_per_split[row.split] += row.boxes
        self.images_with_holes += row.holes > 0
        if row.classes is not None:
            for class_id in row.classes:
                self.class_images[row.split, class_id] += 1
            self.class_pairs.update(combinations(sorted(set(row.classes)), 2))

    def add_box(self, row: AnnotRow) -> None:
        if not row.kept:
            return
        area = clamped_area(row) if row.area is None else row.area
        image_area = row.image_width * row.image_height
        if area <= 0 or image_area <= 0:
            return
        self.relative_sizes[size_label(math.sqrt(area / image_area))] += 1
        self.coco_sizes[coco_label(area)] += 1

    def per_image_histogram(self) -> list[tuple[str, int]]:
        last = f"{MAX_PER_IMAGE}+"
        return [
            (last if n == MAX_PER_IMAGE else str(n), self.boxes_per_image[n])
            for n in range(MAX_PER_IMAGE + 1)
        ]


def clamped_area(row: AnnotRow) -> float:
    """The area the label file holds: the drawn box clamped to the image."""
    width = min(row.left + row.width, row.image_width) - max(row.left, 0.0)
    height = min(row.top + row.height, row.image_height) - max(row.top, 0.0)
    return max(width, 0.0) * max(height, 0.0)


def size_label(relative: float) -> str:
    for edge, label in zip(SIZE_EDGES, SIZE_LABELS, strict=False):
        if relative < edge:
            return label
    return SIZE_LABELS[-1]


def coco_label(area: float) -> str:
    if area < COCO_SMALL:
        return COCO_LABELS[0]
    return COCO_LABELS[1] if area < COCO_MEDIUM else COCO_LABELS[2]
