"""The segment task's export writers: each kept region's polygon, the one its YOLO row holds.

A region's polygon is the traced outline with its holes joined in by cuts (`masks.Region`): the
shape Ultralytics rasterizes from the label row, so COCO's `segmentation` is that same polygon
in pixels (one list per region), its `area` the region's (holes subtracted) and its `bbox` the
box of its pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gt2yolo.exports.coco import CocoWriter
from gt2yolo.records import SegmentedImage
from gt2yolo.split import Split
from gt2yolo.writers import image_key


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class CocoSegmentWriter(CocoWriter):
    def add_segmented(
        self,
        image: SegmentedImage,
        path: str,
        label: str,
        split: Split,
        # masks.TracedMask and yolo.RegionOutcome: not imported, even for typing, so the mask
        # tracer (OpenCV) stays the segmentation writer's alone (test_core_purity)
        traced: Any,
        outcomes: Sequence[Any],
    ) -> None:
        annotations: list[dict[str, Any]] = []
        for outcome in outcomes:
            if outcome.row is None or outcome.class_id is None:
                continue
            region = outcome.region
            polygon = [int(v) for v in region.points.reshape(-1).tolist()]
            annotations.append({
                "class_id": outcome.class_id,
                "bbox": [int(v) for v in region.box],
                "area": _plain(float(region.area)),
                "segmentation": [polygon],
            })  # fmt: skip
        key = image_key(split, path)
        row = {"file_name": key, "width": traced.width, "height": traced.height}
        self.emit(split, {**row, "annotations": annotations})
