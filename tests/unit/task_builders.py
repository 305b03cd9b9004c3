"""Lines of the other Ground Truth image tasks, and a local S3 mirror holding what they refer to.

Semantic segmentation lines (`<attr>-ref` is the mask's URI, `<attr>-ref-metadata` holds the
`internal-color-map`) and image classification lines (single label: the class index and its
`class-name`; multi-label: a list of indices and a sparse `class-map`), built from the documented
output-manifest format. The workspace writes manifests, masks and images into a folder laid out as
`aws s3 sync` makes it (DIR/<bucket>/<key>), converts with the core reading from it (S3Mirror)
and reads the dataset back (gt_builders.Dataset).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from gt2yolo import ConversionError, ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror
from gt2yolo.task_types import LabelTask
from gt_builders import Dataset, label_config
from PIL import Image

SEGMENTATION = "groundtruth/semantic-segmentation"
CLASSIFICATION = "groundtruth/image-classification"
MULTILABEL = "groundtruth/image-classification-multilabel"
WHITE = "#ffffff"
# Where Ground Truth writes a job's consolidated masks.
MASKS = "s3://bucket/jobs/output/street/annotations/consolidated-annotation/output"
PETS = ("dog", "cat", "bird", "fish")  # a job's label list, not alphabetical

Mask = npt.NDArray[np.uint8]


def rgb(hex_color: str) -> tuple[int, int, int]:
    value = int(hex_color.removeprefix("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def color_map(*classes: tuple[str, str], background: str = WHITE) -> dict[str, Any]:
    """`internal-color-map`: key 0 is BACKGROUND, keys 1.. the (name, hex color) pairs in order."""
    entries = [("BACKGROUND", background), *classes]
    return {
        str(key): {"class-name": name, "hex-color": color, "confidence": 0.8}
        for key, (name, color) in enumerate(entries)
    }


def segmentation_record(
    source_ref: str,
    mask_ref: Any,
    colors: Mapping[str, Any],
    attr: str = "street",
    extra_attrs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A semantic segmentation line of a job whose LabelAttributeName is `attr`."""
    result: dict[str, Any] = {
        "source-ref": source_ref,
        f"{attr}-ref": mask_ref,
        f"{attr}-ref-metadata": {
            "internal-color-map": dict(colors),
            "type": SEGMENTATION,
            "human-annotated": "yes",
            "creation-date": "2026-11-24T10:00:00.000000",
            "job-name": "labeling-job/street",
        },
    }
    result.update(extra_attrs or {})
    return result


def classification_record(
    source_ref: str,
    class_id: Any,
    class_name: Any,
    attr: str = "animal",
    extra_attrs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A single-label image classification line: the class index and its name."""
    result: dict[str, Any] = {
        "source-ref": source_ref,
        attr: class_id,
        f"{attr}-metadata": {
            "class-name": class_name,
            "confidence": 0.91,
            "type": CLASSIFICATION,
            "human-annotated": "yes",
            "creation-date": "2026-11-24T10:00:00.000000",
            "job-name": "labeling-job/pets",
        },
    }
    result.update(extra_attrs or {})
    return result


def multilabel_record(
    source_ref: str, class_ids: Sequence[int], names: Sequence[str] = PETS, attr: str = "tags"
) -> dict[str, Any]:
    """A multi-label image classification line; its class-map names only the chosen classes."""
    return {
        "source-ref": source_ref,
        attr: list(class_ids),
        f"{attr}-metadata": {
            "class-map": {str(i): names[i] for i in class_ids},
            "confidence-map": {str(i): 0.87 for i in class_ids},
            "type": MULTILABEL,
            "human-annotated": "yes",
            "creation-date": "2026-11-24T10:00:00.000000",
            "job-name": "labeling-job/tags",
        },
    }


def blank_mask(width: int, height: int, background: str = WHITE) -> Mask:
    """An (h, w, 3) RGB mask of the background color, to paint regions into."""
    mask = np.empty((height, width, 3), dtype=np.uint8)
    mask[:, :] = rgb(background)
    return mask


def mask_png(mask: Mask, kind: str = "rgb", background: str = WHITE) -> bytes:
    """The mask as a PNG: `rgb`, `rgba` (background pixels fully transparent and black, every
    other pixel half transparent), `palette` or `grey` (only for masks of grey colors)."""
    image = Image.fromarray(mask, "RGB")
    if kind == "rgba":
        is_background = np.all(mask == rgb(background), axis=2)
        rgba = np.dstack([mask, np.full(mask.shape[:2], 128, np.uint8)])
        rgba[is_background] = (0, 0, 0, 0)
        image = Image.fromarray(rgba, "RGBA")
    elif kind == "palette":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    elif kind == "grey":
        assert np.array_equal(mask[:, :, 0], mask[:, :, 1]), "a grey mask has grey colors only"
        image = Image.fromarray(np.ascontiguousarray(mask[:, :, 0]), "L")
    else:
        assert kind == "rgb", kind
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(out, "JPEG")
    return out.getvalue()


class MirrorWorkspace:
    """A local S3 mirror with manifests, masks and images, converted with the core."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.root = tmp_path / "mirror"
        self.root.mkdir(parents=True, exist_ok=True)
        self.out = tmp_path / "dataset"
        self._count = 0

    def path(self, uri: str) -> Path:
        return S3Mirror(self.root).path(uri)

    def put(self, uri: str, data: bytes) -> str:
        path = self.path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return uri

    def image(self, source_ref: str, width: int = 64, height: int = 48) -> str:
        """A JPEG of that size at the source-ref (its header gives the size masks must have)."""
        return self.put(source_ref, jpeg(width, height))

    def segmented(
        self,
        source_ref: str,
        mask: Mask,
        colors: Mapping[str, Any],
        kind: str = "rgb",
        image: bool = True,
        **kwargs: Any,
    ) -> str:
        """A segmentation line whose mask (and, by default, an image of its size) is mirrored."""
        self._count += 1
        mask_ref = self.put(
            f"{MASKS}/{self._count}_2026-11-24T10:00:00.000Z.png", mask_png(mask, kind)
        )
        if image:
            self.image(source_ref, mask.shape[1], mask.shape[0])
        return json.dumps(segmentation_record(source_ref, mask_ref, colors, **kwargs))

    def manifest(self, lines: Sequence[str], name: str | None = None) -> Path:
        self._count += 1
        path = self.tmp_path / (name or f"job{self._count}/output.manifest")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
        return path

    def options(
        self,
        classes: Sequence[str] | None = None,
        label_attribute: str | None = None,
        val: float = 0.0,
        test: float = 0.0,
        tolerance: float = 1.0,
        min_area: float = 4.0,
        verification_attribute: str | None = None,
        task: LabelTask | None = None,
    ) -> ConversionOptions:
        return ConversionOptions(
            label_attribute=label_attribute,
            class_list=None
            if classes is None
            else class_list_from_label_config(label_config(*classes), "data.json"),
            verification_attribute=verification_attribute,
            fractions=SplitFractions(val=val, test=test),
            task=task,
            polygon_tolerance=tolerance,
            min_region_area=min_area,
        )

    def convert(
        self,
        *manifests: Sequence[str] | Path,
        images: bool = True,
        out: Path | None = None,
        **options: Any,
    ) -> Dataset:
        """Convert reading masks, headers (and images, unless `images=False`) from the mirror."""
        paths = [m if isinstance(m, Path) else self.manifest(m) for m in manifests]
        storage = LocalStorage(out or self.out)
        mirror = S3Mirror(self.root)
        convert_manifests(
            [LocalManifest(p) for p in paths],
            storage,
            self.options(**options),
            MirrorImageSink(mirror, storage) if images else None,
            objects=mirror,
        )
        return Dataset(out or self.out)

    def fail(self, *manifests: Sequence[str] | Path, **kwargs: Any) -> str:
        """Convert expecting a ConversionError; its message."""
        with pytest.raises(ConversionError) as caught:
            self.convert(*manifests, **kwargs)
        return str(caught.value)


__all__ = [
    "CLASSIFICATION", "MASKS", "MULTILABEL", "PETS", "SEGMENTATION", "WHITE", "MirrorWorkspace",
    "blank_mask", "classification_record", "color_map", "jpeg", "mask_png", "multilabel_record",
    "rgb", "segmentation_record",
]  # fmt: skip
