"""Semantic segmentation masks -> YOLO polygons: the rules of
gt2yolo.tasks.segment.masks through the real pipeline.

Pixels map to classes by exact color; every 8-connected region of a class is one polygon through
the centres of its boundary pixels, simplified within the tolerance; regions below the minimum
area are dropped and counted; holes are cut in (or filled when small). A mask that cannot become
polygons rejects its line with a reason, and the other lines convert.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from gt2yolo.image_header import image_size
from gt_builders import Dataset, ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from task_builders import MirrorWorkspace, blank_mask, color_map, mask_png, rgb

ROAD, CAR, PERSON = ("road", "#2ca02c"), ("car", "#1f77b4"), ("person", "#ff7f0e")
CLASSES = ("road", "car", "person")
COLORS = color_map(ROAD, CAR, PERSON)

Canvas = npt.NDArray[np.bool_]
LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


@pytest.fixture
def mirror(tmp_path: Path) -> MirrorWorkspace:
    return MirrorWorkspace(tmp_path)


def _polygons(dataset: Dataset, source_ref: str) -> list[tuple[int, npt.NDArray[np.float64]]]:
    """The label file's rows as (class id, points in mask pixels): denormalized by the mask size."""
    row = dataset.image_row(source_ref)
    width, height = int(row["width"]), int(row["height"])
    result = []
    for fields in dataset.label_rows(source_ref):
        points = np.array([float(v) for v in fields[1:]]).reshape(-1, 2)
        result.append((int(fields[0]), points * (width, height)))
    return result


def _normalized(dataset: Dataset, source_ref: str) -> list[float]:
    return [float(v) for fields in dataset.label_rows(source_ref) for v in fields[1:]]


def _filled(points: npt.NDArray[np.float64], width: int, height: int) -> Canvas:
    """The pixels a polygon covers when a trainer rasterizes it (cv2.fillPoly, as Ultralytics)."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], 1)
    return canvas.astype(bool)


def _pixels(mask: npt.NDArray[np.uint8], hex_color: str) -> Canvas:
    return np.asarray(np.all(mask == rgb(hex_color), axis=2))


def _iou(a: Canvas, b: Canvas) -> float:
    return int(np.count_nonzero(a & b)) / max(int(np.count_nonzero(a | b)), 1)


def _paint_ring(mask: npt.NDArray[np.uint8], center: tuple[int, int], outer: int, inner: int,
                color: str, hole: str = "#ffffff") -> None:  # fmt: skip
    cv2.circle(mask, center, outer, rgb(color), -1)
    cv2.circle(mask, center, inner, rgb(hole), -1)


# --- colors and classes -------------------------------------------------------------------------


def test_pixels_map_to_classes_by_exact_color_never_by_color_map_key(
    mirror: MirrorWorkspace,
) -> None:
    # Given a color map listing person first (key 1) in a color one unit off car's, and a label
    # config ordering road, car, person
    person = ("person", "#1f77b5")
    colors = color_map(person, ROAD, CAR)
    mask = blank_mask(60, 40)
    mask[5:35, 5:25] = rgb(CAR[1])
    mask[5:35, 35:55] = rgb(person[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, colors)]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then the left region is car (id 1 in the config), the right one person (id 2)
    polygons = sorted(_polygons(dataset, ref("a.jpg")), key=lambda p: p[1][:, 0].mean())
    assert [class_id for class_id, _ in polygons] == [1, 2]
    assert dataset.text("classes.txt") == "road\ncar\nperson\n"


@pytest.mark.parametrize("kind", ["rgba", "palette", "grey"])
def test_rgba_palette_and_grey_masks_decode_to_the_regions_of_the_rgb_mask(
    mirror: MirrorWorkspace, kind: str
) -> None:
    # Given a mask of grey colors, saved as RGB and as `kind` (RGBA: the background fully
    # transparent and black, the regions half transparent)
    colors = color_map(("road", "#404040"), ("car", "#808080"), ("person", "#c0c0c0"))
    mask = blank_mask(64, 48)
    mask[30:48, :] = rgb("#404040")
    cv2.rectangle(mask, (5, 10), (30, 35), rgb("#808080"), -1)
    _paint_ring(mask, (48, 16), 10, 4, "#c0c0c0")
    lines = [
        mirror.segmented(ref("rgb.jpg"), mask, colors, "rgb"),
        mirror.segmented(ref(f"{kind}.jpg"), mask, colors, kind),
    ]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then both label files hold the same polygons: one per class here, the ring's hole cut in
    assert dataset.report["rejected"] == {}
    expected = dataset.text(dataset.image_row(ref("rgb.jpg"))["label"])
    assert dataset.text(dataset.image_row(ref(f"{kind}.jpg"))["label"]) == expected
    assert sorted(class_id for class_id, _ in _polygons(dataset, ref("rgb.jpg"))) == [0, 1, 2]
    assert dataset.report["segmentation"]["regions_with_holes"] == 2


def test_background_is_no_class_and_a_mask_of_background_only_is_a_background_image(
    mirror: MirrorWorkspace,
) -> None:
    # Given no label config: a mask with a car, and a mask of background only
    mask = blank_mask(40, 30)
    mask[5:20, 5:20] = rgb(CAR[1])
    lines = [
        mirror.segmented(ref("car.jpg"), mask, COLORS),
        mirror.segmented(ref("empty.jpg"), blank_mask(40, 30), COLORS),
    ]

    # When converting
    dataset = mirror.convert(lines)

    # Then the classes are the color map's without BACKGROUND, ids as the job's label positions
    assert dataset.text("classes.txt") == "road\ncar\nperson\n"
    assert [class_id for class_id, _ in _polygons(dataset, ref("car.jpg"))] == [1]
    # And the background-only image is an image with an empty label file
    assert dataset.label_rows(ref("empty.jpg")) == []
    assert dataset.report["background_images"] == 1
    assert "BACKGROUND" not in dataset.text("data.yaml")


# --- regions and outlines -----------------------------------------------------------------------


def test_each_8_connected_region_is_one_polygon(mirror: MirrorWorkspace) -> None:
    # Given two car squares touching only at a corner, and a third one pixel apart from them
    mask = blank_mask(60, 40)
    mask[5:15, 5:15] = rgb(CAR[1])
    mask[15:25, 15:25] = rgb(CAR[1])
    mask[5:25, 26:40] = rgb(CAR[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then the diagonal pair is one polygon and the third square another
    polygons = _polygons(dataset, ref("a.jpg"))
    assert len(polygons) == 2
    diagonal = next(p for _, p in polygons if p[:, 0].max() < 26)
    pair = _pixels(mask, CAR[1])
    pair[:, 26:] = False
    assert _iou(_filled(diagonal, 60, 40), pair) > 0.95
    assert [row["status"] for row in dataset.annot] == ["kept", "kept"]


def _blob(width: int = 90, height: int = 70) -> npt.NDArray[np.uint8]:
    """One car region with round and straight edges."""
    mask = blank_mask(width, height)
    cv2.ellipse(mask, (40, 35), (30, 18), 25, 0, 360, rgb(CAR[1]), -1)
    mask[40:65, 50:85] = rgb(CAR[1])
    return mask


def _outline(region: Canvas) -> npt.NDArray[np.float32]:
    """Every boundary pixel centre of a region without holes, in order (OpenCV's trace)."""
    contours, _ = cv2.findContours(
        region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    (contour,) = contours
    return np.asarray(contour, dtype=np.float32)


def _distance(points: npt.NDArray[np.floating], polygon: npt.NDArray[np.float32]) -> float:
    """The largest distance of the points from the polygon's edges."""
    return max(abs(cv2.pointPolygonTest(polygon, (float(x), float(y)), True)) for x, y in points)


@pytest.mark.parametrize("tolerance", [0.5, 1.0, 3.0])
def test_simplified_outlines_stay_within_the_tolerance_of_the_traced_outline(
    mirror: MirrorWorkspace, tolerance: float
) -> None:
    # Given a region with round and straight edges
    mask = _blob()
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting with the tolerance
    dataset = mirror.convert(lines, classes=CLASSES, tolerance=tolerance)

    # Then no written point is farther than the tolerance from the traced outline, and no
    # outline point farther than the tolerance from the written polygon (6 digits of rounding)
    ((_, written),) = _polygons(dataset, ref("a.jpg"))
    outline = _outline(_pixels(mask, CAR[1]))
    assert _distance(written, outline) <= tolerance + 1e-3
    assert _distance(outline.reshape(-1, 2), written.astype(np.float32)) <= tolerance + 1e-3
    # And simplification wrote fewer points than the outline has
    assert len(written) < len(outline) / 4


def test_tolerance_zero_keeps_every_outline_point_and_the_exact_region(
    mirror: MirrorWorkspace,
) -> None:
    # Given a region with round and straight edges
    mask = _blob()
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting with tolerance 0
    dataset = mirror.convert(lines, classes=CLASSES, tolerance=0)

    # Then the polygon holds every corner of the traced outline and fills exactly the region
    ((_, written),) = _polygons(dataset, ref("a.jpg"))
    region = _pixels(mask, CAR[1])
    corners, _ = cv2.findContours(
        region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    assert np.array_equal(np.round(written), corners[0].reshape(-1, 2))
    assert np.array_equal(_filled(written, 90, 70), region)


@pytest.mark.parametrize(
    ("min_area", "kept", "dropped"),
    [(4.0, 2, 1), (5.0, 1, 2), (0.0, 3, 0)],
)
def test_regions_enclosing_less_than_the_min_area_are_dropped_and_counted_as_small_region(
    mirror: MirrorWorkspace, min_area: float, kept: int, dropped: int
) -> None:
    # Given car regions of 2x2 pixels (enclosing 1 square pixel), 3x3 (4) and 10x10 (81)
    mask = blank_mask(40, 30)
    mask[2:4, 2:4] = rgb(CAR[1])
    mask[10:13, 10:13] = rgb(CAR[1])
    mask[15:25, 20:30] = rgb(CAR[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting with the minimum area
    dataset = mirror.convert(lines, classes=CLASSES, min_area=min_area)

    # Then the regions below it have no polygon, and are counted and listed as small_region
    assert len(_polygons(dataset, ref("a.jpg"))) == kept
    assert dataset.report["dropped_boxes"] == ({"small_region": dropped} if dropped else {})
    statuses = sorted(row["status"] for row in dataset.annot)
    assert statuses == sorted(["kept"] * kept + ["dropped:small_region"] * dropped)
    assert dataset.report["segmentation"]["min_region_area_px"] == min_area


@pytest.mark.parametrize("tolerance", [1.0, 2.0, 5.0])
def test_simplification_never_drops_a_thin_region_that_encloses_the_min_area(
    mirror: MirrorWorkspace, tolerance: float
) -> None:
    # Given a pole two pixels wide and 60 long (its outline encloses 59 square pixels)
    mask = blank_mask(40, 80)
    mask[10:70, 20:22] = rgb(PERSON[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting with a tolerance wider than the pole
    dataset = mirror.convert(lines, classes=CLASSES, tolerance=tolerance)

    # Then the pole still has its polygon, covering it whole
    ((class_id, written),) = _polygons(dataset, ref("a.jpg"))
    assert class_id == 2
    assert _iou(_filled(written, 40, 80), _pixels(mask, PERSON[1])) > 0.95
    assert dataset.report["dropped_boxes"] == {}


# --- holes --------------------------------------------------------------------------------------


def test_a_hole_is_cut_in_so_filling_the_polygon_leaves_it_empty(mirror: MirrorWorkspace) -> None:
    # Given a car shaped as a ring
    mask = blank_mask(64, 64)
    _paint_ring(mask, (32, 32), 24, 10, CAR[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then the ring is one polygon which, filled as a trainer fills it, is the ring: hole empty
    ((_, written),) = _polygons(dataset, ref("a.jpg"))
    filled = _filled(written, 64, 64)
    assert _iou(filled, _pixels(mask, CAR[1])) > 0.95
    assert not filled[26:39, 26:39].any()
    assert dataset.report["segmentation"]["regions_with_holes"] == 1
    assert [row["holes"] for row in dataset.annot] == ["1"]


def test_holes_below_the_min_area_are_filled_and_counted(mirror: MirrorWorkspace) -> None:
    # Given a car with a one-pixel hole (its outline encloses 2 square pixels) and a 4x4 one
    mask = blank_mask(40, 40)
    mask[5:35, 5:35] = rgb(CAR[1])
    mask[10, 10] = rgb("#ffffff")
    mask[20:24, 20:24] = rgb("#ffffff")
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting with the default minimum area (4), every outline point kept
    dataset = mirror.convert(lines, classes=CLASSES, tolerance=0)

    # Then the small hole is filled (covered by the polygon) and counted; the other is cut out
    ((_, written),) = _polygons(dataset, ref("a.jpg"))
    filled = _filled(written, 40, 40)
    assert filled[10, 10]
    assert not filled[20:24, 20:24].any()
    segmentation = dataset.report["segmentation"]
    assert (segmentation["small_holes_filled"], segmentation["regions_with_holes"]) == (1, 1)


def test_a_region_inside_a_hole_is_a_polygon_of_its_own(mirror: MirrorWorkspace) -> None:
    # Given a car ring whose hole holds a person and a car dot, apart from the ring
    mask = blank_mask(80, 80)
    _paint_ring(mask, (40, 40), 34, 20, CAR[1])
    cv2.circle(mask, (34, 40), 8, rgb(PERSON[1]), -1)
    mask[38:43, 48:53] = rgb(CAR[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then there are three polygons: the ring, the person and the dot, none covering another
    polygons = _polygons(dataset, ref("a.jpg"))
    assert sorted(class_id for class_id, _ in polygons) == [1, 1, 2]
    filled = [_filled(points, 80, 80) for _, points in polygons]
    for i, one in enumerate(filled):
        for other in filled[i + 1 :]:
            assert np.count_nonzero(one & other) == 0
    person = next(f for (class_id, _), f in zip(polygons, filled, strict=True) if class_id == 2)
    assert _iou(person, _pixels(mask, PERSON[1])) > 0.9


# --- masks that cannot become polygons ----------------------------------------------------------


def _good_and(mirror: MirrorWorkspace, bad_line: str) -> list[str]:
    mask = blank_mask(64, 48)
    mask[10:30, 10:30] = rgb(CAR[1])
    return [mirror.segmented(ref("good.jpg"), mask, COLORS), bad_line]


def _sixteen_bit_png() -> bytes:
    ok, data = cv2.imencode(".png", np.full((48, 64, 3), 65535, dtype=np.uint16))
    assert ok
    return bytes(data)


def _bad_mask(mirror: MirrorWorkspace, case: str, name: str = "bad.jpg") -> str:
    """A line of a 64x48 image whose mask is bad in the way `case` names."""
    source_ref = mirror.image(ref(name), 64, 48)
    mask = blank_mask(64, 48)
    mask[5:20, 5:20] = rgb(CAR[1])
    if case == "size":
        return mirror.segmented(source_ref, blank_mask(32, 24), COLORS, image=False)
    if case == "color":
        mask[3, 40] = (1, 2, 3)
    line = mirror.segmented(source_ref, mask, COLORS, image=False)
    mask_ref = json.loads(line)["street-ref"]
    broken = {
        "bytes": b"\x89PNG\r\n\x1a\n but then nothing of a PNG",
        "empty": b"",
        "truncated": mask_png(mask)[:60],
        "16-bit": _sixteen_bit_png(),
    }
    if case == "missing":
        mirror.path(mask_ref).unlink()
    elif case in broken:
        mirror.put(mask_ref, broken[case])
    return line


@pytest.mark.parametrize(
    ("case", "reason", "detail"),
    [
        ("size", "mask_size_mismatch", "mask 32x24, image 64x48"),
        ("color", "mask_unknown_colors", "1 pixels of colors not in the color map: #010203"),
        ("bytes", "mask_unreadable", "not an image"),
        ("empty", "mask_unreadable", "empty"),
        ("truncated", "mask_unreadable", "not an image"),
        ("16-bit", "mask_unreadable", "uint16"),
        ("missing", "mask_not_found", "not in the mirror"),
    ],
)
def test_a_mask_that_cannot_become_polygons_rejects_its_line_and_the_others_convert(
    mirror: MirrorWorkspace, case: str, reason: str, detail: str
) -> None:
    # Given a good line and a line whose mask is bad
    lines = _good_and(mirror, _bad_mask(mirror, case))

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then the bad line is a counted rejection saying why, and has no file in the dataset
    (rejection,) = dataset.rejected
    assert (rejection["reason"], rejection["line"], rejection["source_ref"]) == (
        reason, 2, ref("bad.jpg")
    )  # fmt: skip
    assert detail in rejection["detail"]
    assert dataset.report["rejected"] == {reason: 1}
    assert not any("bad" in name for name in dataset.files() - {"rejected.jsonl"})
    # And the good line converted
    assert len(_polygons(dataset, ref("good.jpg"))) == 1


def test_every_kind_of_bad_mask_in_one_manifest_is_counted_and_the_rest_convert(
    mirror: MirrorWorkspace,
) -> None:
    # Given a manifest of good lines among every kind of bad mask, and lines without a mask URI
    cases = ["size", "color", "bytes", "empty", "truncated", "16-bit", "missing"]
    bad = [_bad_mask(mirror, case, f"bad-{case}.jpg") for case in cases]
    not_a_uri = {**json.loads(bad[0]), "source-ref": ref("x.jpg"), "street-ref": "/local/m.png"}
    outside = {**json.loads(bad[1]), "source-ref": ref("y.jpg"), "street-ref": "s3://b/../../m"}
    for source_ref in (ref("x.jpg"), ref("y.jpg"), ref("fine.jpg")):
        mirror.image(source_ref, 64, 48)
    good = _good_and(mirror, "")[0]
    lines = [good, *bad, json.dumps(not_a_uri), json.dumps(outside), good.replace("good", "fine")]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES)

    # Then each bad line is one counted rejection and both good lines convert
    assert dataset.report["rejected"] == {
        "invalid_annotation": 1, "mask_not_found": 2, "mask_size_mismatch": 1,
        "mask_unknown_colors": 1, "mask_unreadable": 4,
    }  # fmt: skip
    assert dataset.report["images"] == 2
    assert [row["source_ref"] for row in dataset.images] == [ref("good.jpg"), ref("fine.jpg")]


def test_without_a_readable_image_header_the_mask_size_is_unchecked_and_counted(
    mirror: MirrorWorkspace,
) -> None:
    # Given a mask whose image is not in the mirror, converted without copying images
    mask = blank_mask(50, 40)
    mask[10:30, 10:30] = rgb(CAR[1])
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS, image=False)]

    # When converting
    dataset = mirror.convert(lines, classes=CLASSES, images=False)

    # Then the mask's own size normalizes the polygon, and the report counts the unchecked size
    ((_, written),) = _polygons(dataset, ref("a.jpg"))
    assert (written.min(), written.max()) == (pytest.approx(10), pytest.approx(29))
    assert dataset.report["segmentation"]["unchecked_image_sizes"] == 1


# --- property: random regions round-trip --------------------------------------------------------

PALETTE = ("#2ca02c", "#1f77b4", "#ff7f0e")
# Pixels a region needs for its polygon to cover it with IoU > 0.9 at each tolerance: a
# simplified outline may cut up to `tolerance` pixels into the region all along its edge, so the
# area needed grows with the tolerance (a 53 px region at 0.5 once filled back at IoU 0.89).
BIG_ENOUGH = {0.0: 50, 0.5: 100, 1.0: 200}


def _paint_shape(draw: st.DrawFn, mask: npt.NDArray[np.uint8], cell: tuple[int, ...]) -> None:
    """One filled shape of a random class (or none) inside the cell (left, top, right, bottom)."""
    kind = draw(st.sampled_from(["none", "rectangle", "ellipse", "polygon"]))
    color = rgb(draw(st.sampled_from(PALETTE)))
    left, top, right, bottom = cell
    cx, cy = (left + right) // 2, (top + bottom) // 2
    if kind == "rectangle":
        w, h = draw(st.integers(4, right - left + 1)), draw(st.integers(4, bottom - top + 1))
        x, y = draw(st.integers(left, right - w + 1)), draw(st.integers(top, bottom - h + 1))
        mask[y : y + h, x : x + w] = color
    elif kind == "ellipse":
        a, b = draw(st.integers(3, (right - left) // 2)), draw(st.integers(3, (bottom - top) // 2))
        cv2.ellipse(mask, (cx, cy), (a, b), 0, 0, 360, color, -1)
    elif kind == "polygon":
        radius = draw(st.integers(4, min(right - left, bottom - top) // 2))
        corners = draw(st.lists(st.tuples(st.floats(0, 2 * math.pi), st.floats(0.6, 1.0)),
                                min_size=3, max_size=8))  # fmt: skip
        points = [
            (
                round(cx + radius * scale * math.cos(angle)),
                round(cy + radius * scale * math.sin(angle)),
            )
            for angle, scale in sorted(corners)
        ]
        cv2.fillPoly(mask, [np.array(points, np.int32).reshape(-1, 1, 2)], color)


@st.composite
def _scenes(draw: st.DrawFn) -> tuple[npt.NDArray[np.uint8], float]:
    """A mask of random size: a grid of cells, each empty or holding one filled shape (rectangle,
    ellipse or star-shaped polygon) a pixel clear of the cell's edge, so shapes never touch."""
    columns, rows = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    cell_w, cell_h = draw(st.integers(12, 60)), draw(st.integers(12, 60))
    mask = blank_mask(columns * cell_w, rows * cell_h)
    for column in range(columns):
        for row in range(rows):
            left, top = column * cell_w + 1, row * cell_h + 1
            _paint_shape(draw, mask, (left, top, left + cell_w - 3, top + cell_h - 3))
    return mask, draw(st.sampled_from(sorted(BIG_ENOUGH)))


@settings(
    max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(scene=_scenes())
def test_random_regions_convert_to_polygons_that_fill_them_back(
    tmp_path_factory: pytest.TempPathFactory, scene: tuple[npt.NDArray[np.uint8], float]
) -> None:
    # Given random shapes of random classes in a mask of random size
    mask, tolerance = scene
    height, width = mask.shape[:2]
    mirror = MirrorWorkspace(tmp_path_factory.mktemp("scene"))
    lines = [mirror.segmented(ref("a.jpg"), mask, COLORS)]
    assert image_size(mirror.path(ref("a.jpg")).read_bytes()) == (width, height)

    # When converting through the pipeline
    dataset = mirror.convert(lines, classes=CLASSES, tolerance=tolerance, images=False)

    # Then every written coordinate is normalized into [0, 1]
    assert all(0.0 <= value <= 1.0 for value in _normalized(dataset, ref("a.jpg")))
    # And each big enough region of a class is filled back by one of the class's polygons
    polygons = _polygons(dataset, ref("a.jpg"))
    for class_id, (name, hex_color) in enumerate((ROAD, CAR, PERSON)):
        filled = [_filled(p, width, height) for c, p in polygons if c == class_id]
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            _pixels(mask, hex_color).astype(np.uint8), connectivity=8
        )
        for region in range(1, count):
            if stats[region, cv2.CC_STAT_AREA] < BIG_ENOUGH[tolerance]:
                continue
            pixels = labels == region
            best = max((_iou(f, pixels) for f in filled), default=0.0)
            assert best > 0.9, f"{name} region {stats[region]} at tolerance {tolerance}: {best}"


def test_opencv_writes_nothing_of_its_own_to_stderr_for_a_truncated_or_foreign_mask(
    mirror: MirrorWorkspace,
) -> None:
    # Given a good line, a line whose mask PNG is cut short and one whose mask is a GIF
    lines = _good_and(mirror, _bad_mask(mirror, "truncated"))
    gif = mirror.segmented(ref("gif.jpg"), blank_mask(64, 48), COLORS, image=False)
    mirror.put(json.loads(gif)["street-ref"], b"GIF89a" + bytes(200))
    manifest = mirror.manifest([*lines, gif])

    # When the CLI converts them in a process of its own (OpenCV logs from native code)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from gt2yolo_cli.main import main; sys.exit(main())",
         "convert", str(manifest), "--out", str(mirror.tmp_path / "out"), "--s3-mirror",
         str(mirror.root), "--images", "skip", "--no-progress"],
        check=False, capture_output=True, text=True,
        env={"PYTHONPATH": str(LAMBDAS), "PATH": ""},
    )  # fmt: skip

    # Then both bad masks are counted rejections, and stderr holds no line of OpenCV's
    assert done.returncode == 0, done.stderr
    report = json.loads((mirror.tmp_path / "out/report.json").read_text())
    assert report["rejected"] == {"mask_unreadable": 2}
    assert "WARN" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert done.stderr == ""
