"""Segmentation masks -> polygons, one per connected region of each class (OpenCV and numpy).

The only module of the core that imports them: only a segmentation conversion loads it, so the
bounding-box path never pays for (or needs) the libraries. The rules:

- Pixels map to classes by exact color through the line's color map; a fully transparent pixel
  (alpha 0) is background, otherwise alpha is ignored. Palette, grey and RGB(A) PNGs all work
  (decoded to RGB first). A pixel of a color the map lacks rejects the mask: its class is unknown.
- A region is an 8-connected set of one class's pixels. Its outline runs through the centres of
  its boundary pixels (OpenCV's findContours), so its `area` is the enclosed polygon area in
  square pixels: a w x h rectangle of pixels encloses (w-1)(h-1).
- Regions enclosing less than `min_area` are dropped (counted as small_region); so is a region
  whose outline has fewer than 3 points (a pixel, a line one pixel wide).
- Outlines are simplified with Douglas-Peucker at `tolerance` pixels (cv2.approxPolyDP): no point
  of the written polygon is farther than that from the traced outline. An outline that
  simplification would reduce to fewer than 3 points (a region a pixel or two wide) is kept as
  traced: the tolerance shapes polygons, `min_area` alone decides which regions are dropped.
- Holes: YOLO polygons have none. A hole enclosing at least `min_area` is joined to the outline by
  a zero-width cut at the closest pair of points (outline -> hole -> back), so filling the one
  polygon (even-odd, as cv2.fillPoly and Ultralytics' polygon2mask do) leaves the hole empty;
  smaller holes are filled. A region inside a hole is a region of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from gt2yolo.records import MaskColor


def _silence_opencv_logging() -> None:
    """OpenCV writes its own WARN and ERROR lines to stderr when it cannot decode a mask (a
    truncated PNG, another format); the line's counted rejection already says so, once."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None and hasattr(logging, "setLogLevel"):
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    elif hasattr(cv2, "setLogLevel"):  # OpenCV 4's spelling
        cv2.setLogLevel(0)


_silence_opencv_logging()

DEFAULT_TOLERANCE = 1.0
DEFAULT_MIN_AREA = 4.0
# Pixels of a decoded mask beyond which it is refused (a 16k x 16k mask; a decompression bomb).
MAX_MASK_PIXELS = 16384 * 16384

Points = npt.NDArray[np.int32]


class MaskError(ValueError):
    """The mask cannot be read as colors: the message says why."""


@dataclass(frozen=True)
class TraceRules:
    tolerance: float = DEFAULT_TOLERANCE
    min_area: float = DEFAULT_MIN_AREA


@dataclass(frozen=True, slots=True)
class Region:
    """One connected region of one color: its polygon (pixel coordinates) and measures."""

    color: int  # index into the line's colors
    points: Points  # (n, 2) x, y; holes joined in by cuts
    area: float  # enclosed area less the holes', square pixels
    box: tuple[int, int, int, int]  # left, top, width, height of its pixels
    holes: int  # holes cut out of the polygon
    small: bool  # dropped: less than min_area, or an outline of < 3 points


@dataclass(frozen=True)
class TracedMask:
    width: int
    height: int
    regions: tuple[Region, ...]
    filled_holes: int


def decode_mask(data: bytes) -> npt.NDArray[np.uint8]:
    """PNG (or any format OpenCV reads) bytes -> (h, w, 3) RGB, transparent pixels white."""
    if not data:
        raise MaskError("empty file")
    buffer = np.frombuffer(data, dtype=np.uint8)
    header = cv2.imdecode(buffer, cv2.IMREAD_REDUCED_GRAYSCALE_8) if len(data) > 10**7 else None
    if header is not None and header.size * 64 > MAX_MASK_PIXELS:
        raise MaskError("more than 268 million pixels")
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MaskError("not an image OpenCV can decode")
    if image.dtype != np.uint8:
        raise MaskError(f"{image.dtype} samples: masks are 8-bit color images")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2), dtype=np.uint8)
    channels = image.shape[2]
    if channels == 4:
        rgb = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2RGB), dtype=np.uint8)
        # Transparent: Ground Truth's white background. A per-pixel maximum with 255 where
        # alpha is 0 (else 0): a boolean-indexed store costs several times more.
        _, transparent = cv2.threshold(cv2.extractChannel(image, 3), 0, 255, cv2.THRESH_BINARY_INV)
        np.maximum(rgb, transparent[:, :, None], out=rgb)
        return rgb
    if channels == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    raise MaskError(f"{channels} channels")


def trace_mask(
    rgb: npt.NDArray[np.uint8], colors: Sequence[MaskColor], rules: TraceRules
) -> TracedMask:
    """Every region of every non-background color; MaskError if a pixel's color is unknown."""
    height, width = rgb.shape[:2]
    packed = _packed(rgb)
    covered = 0
    regions: list[Region] = []
    filled = 0
    for index, color in enumerate(colors):
        binary = packed == (_OPAQUE | _rgb_number(color.rgb))
        count = int(np.count_nonzero(binary))
        covered += count
        if count == 0 or color.background:
            continue
        found, holes_filled = _regions(binary.view(np.uint8), index, rules)
        regions.extend(found)
        filled += holes_filled
    if covered != packed.size:
        raise MaskError(_unknown_colors(packed, colors))
    return TracedMask(width, height, tuple(regions), filled)


_OPAQUE = 0xFF000000


def _rgb_number(rgb: tuple[int, int, int]) -> int:
    r, g, b = rgb
    return (r << 16) | (g << 8) | b


def _packed(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """Each pixel as one number, 0xFFRRGGBB, so a color is one comparison per pixel."""
    # RGB -> BGRA stores B, G, R, 255 per pixel: read as a little-endian uint32, 0xFFRRGGBB.
    # One OpenCV pass instead of numpy's widening, shifts and ors (~15x less time).
    bgra = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)
    return np.asarray(bgra.view(np.dtype("<u4")).reshape(rgb.shape[:2]), dtype=np.uint32)


def _unknown_colors(packed: npt.NDArray[np.uint32], colors: Sequence[MaskColor]) -> str:
    known = {_rgb_number(c.rgb) for c in colors}
    values, counts = np.unique(packed & ~np.uint32(_OPAQUE), return_counts=True)
    unknown = [(int(v), int(n)) for v, n in zip(values, counts, strict=True) if int(v) not in known]
    unknown.sort(key=lambda item: -item[1])
    shown = ", ".join(f"#{v:06x} ({n} px)" for v, n in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return f"{sum(n for _, n in unknown)} pixels of colors not in the color map: {shown}{more}"


def _regions(
    binary: npt.NDArray[np.uint8], index: int, rules: TraceRules
) -> tuple[list[Region], int]:
    # RETR_CCOMP: outer outlines at the top level, each one's holes as its children.
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return [], 0
    links = hierarchy[0]
    regions: list[Region] = []
    filled = 0
    for i, contour in enumerate(contours):
        if links[i][3] != -1:
            continue  # a hole: handled with its outline
        holes = []
        child = links[i][2]
        while child != -1:
            holes.append(contours[child])
            child = links[child][0]
        region, holes_filled = _region(np.asarray(contour, np.int32), holes, index, rules)
        regions.append(region)
        filled += holes_filled
    return regions, filled


def _region(
    outline: Points, holes: list[Points], index: int, rules: TraceRules
) -> tuple[Region, int]:
    x, y, w, h = cv2.boundingRect(outline)
    outer_area = abs(cv2.contourArea(outline))
    cut: list[Points] = []
    filled = 0
    hole_area = 0.0
    for hole in holes:
        area = abs(cv2.contourArea(hole))
        simplified = _simplified(hole, rules.tolerance)
        if area < rules.min_area or len(simplified) < 3:
            filled += 1
            continue
        hole_area += area
        cut.append(simplified)
    area = outer_area - hole_area
    points = _simplified(outline, rules.tolerance)
    small = area < rules.min_area or len(points) < 3
    for hole in cut:
        points = _joined(points, hole)
    return Region(index, points, area, (x, y, w, h), len(cut), small), filled


def _simplified(contour: Points, tolerance: float) -> Points:
    approx = cv2.approxPolyDP(contour, tolerance, True) if tolerance > 0 else contour
    if len(approx) < 3:  # a thin region's outline collapsed to a segment: keep it as traced
        approx = contour
    return np.ascontiguousarray(approx.reshape(-1, 2).astype(np.int32))


MAX_CUT_PAIRS = 4_000_000


def _joined(outline: Points, hole: Points) -> Points:
    """The outline with the hole spliced in at their closest points (a zero-width cut)."""
    a, b = outline, hole
    if len(a) * len(b) > MAX_CUT_PAIRS:  # huge outlines: the closest among a sample of points
        step = int(np.ceil(len(a) * len(b) / MAX_CUT_PAIRS))
        a_index = np.arange(0, len(a), step)
    else:
        a_index = np.arange(len(a))
    distances = ((a[a_index, None, :] - b[None, :, :]).astype(np.int64) ** 2).sum(axis=2)
    flat = int(np.argmin(distances))
    i, j = int(a_index[flat // len(b)]), flat % len(b)
    return np.concatenate([a[: i + 1], b[j:], b[: j + 1], a[i:]]).astype(np.int32)


def rasterize(polygons: Sequence[Points], width: int, height: int) -> npt.NDArray[np.uint8]:
    """The pixels the polygons cover (fillPoly, as Ultralytics' polygon2mask): 1 inside."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        cv2.fillPoly(canvas, [polygon.reshape(-1, 1, 2).astype(np.int32)], 1)
    return canvas
