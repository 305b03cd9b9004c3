"""Reading semantic segmentation lines: the mask's URI and the colors its classes are drawn in.

A line (Ground Truth output of a `groundtruth/semantic-segmentation` job):

    {"source-ref": "s3://b/img.jpg",
     "seg-ref": "s3://b/output/job/annotations/consolidated-annotation/output/0_2026....png",
     "seg-ref-metadata": {"type": "groundtruth/semantic-segmentation", "job-name": "...",
         "internal-color-map": {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff",
                                      "confidence": 0.8},
                                "1": {"class-name": "car", "hex-color": "#2ca02c", ...}}}}

The job's LabelAttributeName is `seg`; its lines' attribute is `seg-ref`. Pixels are mapped to
classes by color, never by key (keys are positions in the job's label list, after background);
the mask itself is read and traced by `yolo` and `masks` (OpenCV), only when a line is converted.
"""

from __future__ import annotations

import re
from typing import Any

from gt2yolo.excerpts import shown
from gt2yolo.records import (
    LineOrigin,
    LineRejection,
    MaskColor,
    Rejected,
    SegmentedImage,
)

COLOR_MAP_KEY = "internal-color-map"
BACKGROUND = "BACKGROUND"
# The attribute of a segmentation line is the job's LabelAttributeName plus this suffix.
REF_SUFFIX = "-ref"
_HEX_COLOR = re.compile(r"#([0-9a-fA-F]{6})")
MAX_COLORS = 4096  # Ground Truth allows 10 segmentation labels; leave room, refuse nonsense


class SegmentationReader:
    def read(
        self,
        record: dict[str, Any],
        source_ref: str,
        segments: tuple[str, ...],
        origin: LineOrigin,
        attribute: str,
    ) -> SegmentedImage:
        mask_ref = record[attribute]
        if not isinstance(mask_ref, str) or not mask_ref.startswith("s3://"):
            raise Rejected(
                LineRejection.INVALID_ANNOTATION,
                f'"{attribute}" is {shown(mask_ref)}, not a mask URI',
            )
        metadata = record.get(attribute + "-metadata")
        colors = color_map(metadata if isinstance(metadata, dict) else {})
        return SegmentedImage(source_ref, mask_ref, colors, origin, segments)

    def class_map(
        self, record: dict[str, Any], attribute: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Class id = the color map's key less the background keys before it: `0` is background
        and `1`.. the job's labels in order, so the ids are positions in the label list."""
        try:
            colors = color_map(metadata)
        except Rejected:
            return None
        entries = metadata[COLOR_MAP_KEY]
        keys = sorted((int(key), color) for key, color in zip(entries, colors, strict=True))
        result: dict[str, Any] = {}
        backgrounds = 0
        for key, color in keys:
            if color.background:
                backgrounds += 1
            else:
                result[str(key - backgrounds)] = color.class_name
        return result or None


def color_map(metadata: dict[str, Any]) -> tuple[MaskColor, ...]:
    """The line's colors in key order; Rejected (invalid_annotation) if unusable."""
    entries = metadata.get(COLOR_MAP_KEY)
    if not isinstance(entries, dict) or not entries:
        raise Rejected(LineRejection.INVALID_ANNOTATION, f'no "{COLOR_MAP_KEY}" in the metadata')
    if len(entries) > MAX_COLORS:
        raise Rejected(LineRejection.INVALID_ANNOTATION, f"{len(entries)} colors in the color map")
    colors: list[MaskColor] = []
    seen: dict[tuple[int, int, int], str] = {}
    for key, entry in entries.items():
        if not (key.isascii() and key.isdigit() and len(key) <= 4):
            raise Rejected(LineRejection.INVALID_ANNOTATION, f"color map key {shown(key)}")
        name = entry.get("class-name") if isinstance(entry, dict) else None
        hex_color = entry.get("hex-color") if isinstance(entry, dict) else None
        found = _HEX_COLOR.fullmatch(hex_color) if isinstance(hex_color, str) else None
        if not isinstance(name, str) or not name.strip() or found is None:
            raise Rejected(
                LineRejection.INVALID_ANNOTATION, f"color map entry {key}: {shown(entry)}"
            )
        value = int(found.group(1), 16)
        rgb = (value >> 16, (value >> 8) & 0xFF, value & 0xFF)
        if seen.setdefault(rgb, name) != name:
            raise Rejected(
                LineRejection.INVALID_ANNOTATION,
                f"color {hex_color} is both {shown(seen[rgb])} and {shown(name)}",
            )
        colors.append(MaskColor(rgb, name, name == BACKGROUND))
    return tuple(colors)


READER = SegmentationReader()
