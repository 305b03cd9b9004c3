"""Independent COCO readers load `exports/coco/<split>.json` and find what the YOLO dataset holds.

The export and the YOLO label files describe the same objects: every COCO image is a file of the
dataset (file_name relative to the dataset root) of the size the file has, every box the label
file's line of that image, every polygon the label file's polygon row. Read by:
- `pycocotools` (`COCO`, `annToMask`): the reference COCO API the evaluation tools use;
- Roboflow `supervision` (`DetectionDataset.from_coco`): joins `images_directory_path` and
  file_name, resolves the result and refuses any path outside that folder, so it is given the
  dataset root; it rasterizes polygons with OpenCV, as trainers do;
- lightly-ai `labelformat` (`COCOObjectDetectionInput`, `COCOInstanceSegmentationInput`): keeps
  file_name as it is written (it opens no image), so the test joins it to the root.
Detection images are generated at several sizes and copied in by the CLI (`--images-from`), under
the hostile names of test_other_readers.py; segmentation and video jobs come from the local S3
mirror workspaces (task_builders.py, video_builders.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from gt2yolo import ConversionOptions
from gt2yolo.exports.formats import ExportFormat
from gt2yolo_cli.main import main
from gt_builders import Dataset, box, label_config, line, ref
from PIL import Image
from pycocotools.coco import COCO
from task_builders import MirrorWorkspace, blank_mask, classification_record, color_map, rgb
from video_builders import VideoWorkspace, frame_name, tracked

CLASSES = ["cat", "dog"]
# Keys that collide (extension, case), nest, hold spaces, non-ASCII, the flat escapes, dots;
# images of several sizes; a box clamped to its image and a background image.
DRAWN: dict[str, tuple[tuple[int, int], list[dict[str, Any]]]] = {
    "x.jpg": ((500, 400), [box(0, 10, 20, 30, 40)]),
    "x.png": ((320, 240), [box(1, 100, 100, 50, 60)]),
    "Cat.jpg": ((640, 480), [box(0, 70, 70, 10, 10)]),
    "cat.jpg": ((500, 400), [box(1, 80, 80, 20, 20), box(0, 450, 350, 100, 100)]),  # clamped
    "a/b/x.jpg": ((300, 200), [box(1, 0, 0, 300, 200)]),
    "été/chat noir.jpeg": ((500, 400), [box(0, 200, 100, 20, 20), box(1, 210, 90, 33, 17)]),
    "100%/p%2Fq.png": ((123, 77), [box(1, 11, 11, 11, 11)]),
    "site/images/photo.png": ((64, 48), [box(0, 1, 1, 2, 2)]),
    ".cache/hidden.jpg": ((500, 400), [box(1, 50, 50, 50, 50)]),
    "background.jpg": ((200, 100), []),
}
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
COCO_ONLY = (ExportFormat.COCO,)
# pycocotools' mask decoding passes copy=False to np.asarray of its own arrays (NumPy 2 warns).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

YoloBox = tuple[int, float, float, float, float]  # class, cx, cy, w, h (normalized)


# --- converting ---------------------------------------------------------------------------------


def _convert_boxes(tmp_path: Path, layout: str = "folders") -> Dataset:
    """Generated images in a synced-bucket folder, a manifest over them, `gt2yolo convert
    --export coco` with a val split."""
    synced = tmp_path / "synced"
    for key, ((width, height), _) in DRAWN.items():
        image = synced / key
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (width, height), "gray").save(image, _FORMATS[image.suffix.lower()])
    manifest = tmp_path / "output.manifest"
    manifest.write_text(
        "".join(
            line(ref(key), boxes, width=size[0], height=size[1]) + "\n"
            for key, (size, boxes) in DRAWN.items()
        ),
        "utf-8",
    )
    config = tmp_path / "data.json"
    config.write_bytes(label_config(*CLASSES))
    out = tmp_path / "dataset"
    status = main([
        "convert", str(manifest), "--out", str(out), "--label-config", str(config),
        "--images-from", str(synced), "--val-fraction", "0.4", "--layout", layout,
        "--no-progress", "--export", "coco",
    ])  # fmt: skip
    assert status == 0
    dataset = Dataset(out)
    assert dataset.report["images"] == len(DRAWN)
    assert set(dataset.report["images_per_split"]) == {"train", "val"}  # two files to read
    return dataset


class _CocoMirror(MirrorWorkspace):
    """The mirror workspace converting with the COCO export."""

    def options(self, *args: Any, **kwargs: Any) -> ConversionOptions:
        return replace(super().options(*args, **kwargs), exports=COCO_ONLY)


class _CocoVideo(VideoWorkspace):
    """The video workspace converting with the COCO export."""

    def options(self, *args: Any, **kwargs: Any) -> ConversionOptions:
        return replace(super().options(*args, **kwargs), exports=COCO_ONLY)


# --- reading ------------------------------------------------------------------------------------


def _coco_files(dataset: Dataset) -> dict[str, Path]:
    """Split -> its exports/coco/<split>.json, one for each split the report lists."""
    folder = dataset.root / "exports/coco"
    files = {path.stem: path for path in sorted(folder.glob("*.json"))}
    assert set(dataset.report["images_per_split"]) <= set(files)
    return files


def _load(path: Path) -> COCO:
    coco = COCO(str(path))
    # The index pycocotools builds: the same number of images and annotations as the file lists.
    assert len(coco.imgs) == len(coco.dataset["images"])
    assert len(coco.anns) == len(coco.dataset["annotations"])
    return coco


def _rows_by_image(dataset: Dataset) -> dict[str, dict[str, str]]:
    """images.csv rows by their `image` column (the dataset's image key)."""
    return {row["image"]: row for row in dataset.images}


def _yolo_boxes(dataset: Dataset, row: dict[str, str]) -> list[YoloBox]:
    fields = [f.split() for f in dataset.text(row["label"]).splitlines()]
    return [(int(f[0]), *(float(v) for v in f[1:])) for f in fields]  # type: ignore[misc]


def _normalized(bbox: Sequence[float], width: int, height: int) -> tuple[float, ...]:
    """A COCO bbox `[left, top, w, h]` in pixels as YOLO's normalized `cx cy w h`."""
    left, top, w, h = (float(v) for v in bbox)
    return ((left + w / 2) / width, (top + h / 2) / height, w / width, h / height)


def _close(got: Sequence[float], want: Sequence[float], tolerance: float) -> bool:
    return len(got) == len(want) and all(
        abs(a - b) <= tolerance for a, b in zip(got, want, strict=True)
    )


def _annotations(coco: COCO, image_id: int) -> list[dict[str, Any]]:
    """An image's annotations in file order (ids count up in the order they are written)."""
    return sorted(coco.loadAnns(coco.getAnnIds(imgIds=[image_id])), key=lambda a: a["id"])


def _yolo_pixels(yolo: YoloBox, width: int, height: int) -> tuple[float, float, float, float]:
    """A YOLO box back in pixels as (x0, y0, x1, y1)."""
    _, cx, cy, w, h = yolo
    return (
        (cx - w / 2) * width,
        (cy - h / 2) * height,
        (cx + w / 2) * width,
        (cy + h / 2) * height,
    )


# --- bounding boxes: pycocotools ----------------------------------------------------------------


@pytest.mark.parametrize("layout", ["folders", "flat"])
def test_every_coco_image_is_a_dataset_file_of_its_size_in_its_split(
    tmp_path: Path, layout: str
) -> None:
    # Given a dataset converted with --export coco from hostile names (either layout)
    dataset = _convert_boxes(tmp_path, layout)
    rows = _rows_by_image(dataset)

    # When pycocotools loads every split's file
    found: dict[str, str] = {}
    for split, path in _coco_files(dataset).items():
        coco = _load(path)
        for image in coco.loadImgs(coco.getImgIds()):
            # Then each image's file_name is a file below the dataset root, of the size written
            name = image["file_name"]
            assert (dataset.root / name).is_file(), name
            with Image.open(dataset.root / name) as opened:
                assert opened.size == (image["width"], image["height"]), name
            assert found.setdefault(name, split) == split, f"{name} in two files"

    # And the images are the dataset's, each in the split images.csv gives it (the background
    # one included)
    assert found == {key: row["split"] for key, row in rows.items()}
    assert any(row["boxes"] == "0" for row in rows.values())


@pytest.mark.parametrize("layout", ["folders", "flat"])
def test_every_coco_box_is_the_yolo_label_line_of_its_image(tmp_path: Path, layout: str) -> None:
    # Given a dataset converted with --export coco (a clamped box, a background image)
    dataset = _convert_boxes(tmp_path, layout)
    rows = _rows_by_image(dataset)
    assert dataset.report["clamped_boxes"] == 1

    # When reading each image's annotations with pycocotools
    compared = 0
    for path in _coco_files(dataset).values():
        coco = _load(path)
        for image in coco.loadImgs(coco.getImgIds()):
            row = rows[image["file_name"]]
            width, height = image["width"], image["height"]
            annotations = _annotations(coco, image["id"])
            yolo = _yolo_boxes(dataset, row)

            # Then they are the label file's lines, in order: category = class id + 1, the box
            # normalized by the image size within 1e-4
            assert len(annotations) == len(yolo), image["file_name"]
            for annotation, label in zip(annotations, yolo, strict=True):
                assert annotation["category_id"] == label[0] + 1
                got = _normalized(annotation["bbox"], width, height)
                assert _close(got, label[1:], 1e-4), (image["file_name"], got, label)
                compared += 1

    # And every kept box was compared
    assert compared == dataset.report["boxes"] == sum(len(b) for _, b in DRAWN.values())


def test_the_clamped_box_is_the_part_inside_its_image(tmp_path: Path) -> None:
    # Given cat.jpg (500x400) with a box drawn from (450, 350), 100x100: half out of the image
    dataset = _convert_boxes(tmp_path)
    image_key = next(r["image"] for r in dataset.images if r["source_ref"] == ref("cat.jpg"))

    # When finding it in the COCO files
    boxes = [
        annotation["bbox"]
        for path in _coco_files(dataset).values()
        for coco in [_load(path)]
        for image in coco.loadImgs(coco.getImgIds())
        if image["file_name"] == image_key
        for annotation in _annotations(coco, image["id"])
    ]

    # Then it holds the unclamped box and the clamped one, in pixels
    assert boxes == [[80, 80, 20, 20], [450, 350, 50, 50]]


def test_categories_ids_area_iscrowd_info_and_licenses_follow_coco(tmp_path: Path) -> None:
    # Given a dataset converted with --export coco
    dataset = _convert_boxes(tmp_path)
    classes = dataset.text("classes.txt").splitlines()

    for path in _coco_files(dataset).values():
        # When pycocotools loads a split's file
        coco = _load(path)
        document = coco.dataset

        # Then its categories are classes.txt's, in order, ids from 1
        categories = coco.loadCats(coco.getCatIds())
        assert [(c["id"], c["name"]) for c in categories] == [
            (i + 1, name) for i, name in enumerate(classes)
        ]
        assert [c["id"] for c in document["categories"]] == sorted(coco.getCatIds())

        # And image and annotation ids are unique (counting from 1 in the file), every
        # annotation names an image of the file and a category
        image_ids = [image["id"] for image in document["images"]]
        annotation_ids = [annotation["id"] for annotation in document["annotations"]]
        assert image_ids == list(range(1, len(image_ids) + 1))
        assert annotation_ids == list(range(1, len(annotation_ids) + 1))
        for annotation in document["annotations"]:
            assert annotation["image_id"] in coco.imgs
            assert annotation["category_id"] in coco.cats

            # And a box's area is its width x height, none is a crowd
            _, _, w, h = annotation["bbox"]
            assert annotation["area"] == pytest.approx(w * h)
            assert annotation["iscrowd"] == 0

        # And info and licenses are there (pycocotools' info() prints info's fields)
        assert isinstance(document["info"], dict)
        assert document["info"]["description"]
        assert document["licenses"] == []
        coco.info()


# --- bounding boxes: supervision and labelformat ------------------------------------------------


# supervision warns that it uses its NumPy fallback without opencv-python: enough to read labels.
@pytest.mark.filterwarnings("ignore:OpenCV:UserWarning")
@pytest.mark.parametrize("layout", ["folders", "flat"])
def test_supervision_finds_every_image_and_its_boxes_in_pixels(tmp_path: Path, layout: str) -> None:
    import supervision as sv  # here, not at the top: its import takes a second or two

    # Given a dataset converted with --export coco
    dataset = _convert_boxes(tmp_path, layout)
    rows = _rows_by_image(dataset)
    root = dataset.root.resolve()

    seen: list[str] = []
    for split, path in _coco_files(dataset).items():
        # When supervision loads a split's file against the dataset root
        loaded = sv.DetectionDataset.from_coco(
            images_directory_path=str(dataset.root), annotations_path=str(path)
        )

        # Then it has the classes in order and every image of that split
        assert loaded.classes == CLASSES
        in_split = {key for key, row in rows.items() if row["split"] == split}
        assert len(loaded) == len(in_split)
        for image_path, _, detections in loaded:
            key = Path(image_path).relative_to(root).as_posix()
            assert key in in_split
            seen.append(key)
            row = rows[key]
            width, height = int(row["width"]), int(row["height"])

            # And each image's boxes are the YOLO boxes in pixels (within 0.01 px), class ids
            # those of the label file
            yolo = _yolo_boxes(dataset, row)
            assert [int(c) for c in detections.class_id] == [b[0] for b in yolo]
            for xyxy, label in zip(detections.xyxy, yolo, strict=True):
                want = _yolo_pixels(label, width, height)
                assert _close([float(v) for v in xyxy], want, 1e-2), (key, xyxy, want)

    # And no image was missed or read twice
    assert sorted(seen) == sorted(rows)


def test_labelformat_reads_the_categories_images_and_boxes(tmp_path: Path) -> None:
    from labelformat.formats import COCOObjectDetectionInput

    # Given a dataset converted with --export coco, in the flat layout (escaped names)
    dataset = _convert_boxes(tmp_path, "flat")
    rows = _rows_by_image(dataset)

    seen: list[str] = []
    for path in _coco_files(dataset).values():
        # When labelformat's COCO reader loads a split's file
        reader = COCOObjectDetectionInput(input_file=path)

        # Then it has the categories, ids from 1
        assert [(c.id, c.name) for c in reader.get_categories()] == [(1, "cat"), (2, "dog")]
        for label in reader.get_labels():
            # And every image, its file_name (kept as written) a file below the dataset root
            key = label.image.filename
            assert (dataset.root / key).is_file(), key
            seen.append(key)
            row = rows[key]
            assert (label.image.width, label.image.height) == (
                int(row["width"]),
                int(row["height"]),
            )

            # And its boxes, the YOLO boxes in pixels
            yolo = _yolo_boxes(dataset, row)
            assert [o.category.id for o in label.objects] == [b[0] + 1 for b in yolo]
            for found, want in zip(label.objects, yolo, strict=True):
                got = (found.box.xmin, found.box.ymin, found.box.xmax, found.box.ymax)
                assert _close(got, _yolo_pixels(want, label.image.width, label.image.height), 1e-2)

    assert sorted(seen) == sorted(rows)


# --- segmentation -------------------------------------------------------------------------------

ROAD, CAR, PERSON = ("road", "#2ca02c"), ("car", "#1f77b4"), ("person", "#ff7f0e")
SEGMENT_CLASSES = ("road", "car", "person")
COLORS = color_map(ROAD, CAR, PERSON)
RING_CENTER, RING_OUTER, RING_INNER = (20, 20), 14, 6
Canvas = npt.NDArray[np.bool_]


def _street() -> npt.NDArray[np.uint8]:
    """80x60: a road band at the bottom, a car ring (a hole at its centre), a person."""
    mask = blank_mask(80, 60)
    mask[45:60, :] = rgb(ROAD[1])
    cv2.circle(mask, RING_CENTER, RING_OUTER, rgb(CAR[1]), -1)
    cv2.circle(mask, RING_CENTER, RING_INNER, rgb("#ffffff"), -1)
    mask[5:30, 50:70] = rgb(PERSON[1])
    return mask


def _crossing() -> npt.NDArray[np.uint8]:
    """50x40: two people apart."""
    mask = blank_mask(50, 40)
    mask[2:20, 3:12] = rgb(PERSON[1])
    mask[10:38, 30:47] = rgb(PERSON[1])
    return mask


def _pixels(mask: npt.NDArray[np.uint8], hex_color: str) -> Canvas:
    return np.asarray(np.all(mask == rgb(hex_color), axis=2))


def _regions(mask: npt.NDArray[np.uint8]) -> list[tuple[int, Canvas]]:
    """The mask's connected regions as (class id, pixels), independently of gt2yolo."""
    regions = []
    for class_id, (_, color) in enumerate((ROAD, CAR, PERSON)):
        count, labels = cv2.connectedComponents(_pixels(mask, color).astype(np.uint8), 8)
        regions.extend((class_id, labels == n) for n in range(1, count))
    return regions


def _pixel_box(pixels: Canvas) -> list[int]:
    rows, cols = np.nonzero(pixels)
    return [int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1),
            int(rows.max() - rows.min() + 1)]  # fmt: skip


def _iou(a: Canvas, b: Canvas) -> float:
    return int(np.count_nonzero(a & b)) / max(int(np.count_nonzero(a | b)), 1)


MASKS = {"été/rue 1.jpg": _street(), "100%/crossing.png": _crossing()}
BACKGROUND = "empty street.jpg"


@pytest.fixture
def segmented(tmp_path: Path) -> Dataset:
    """Segmentation lines (a region with a hole, non-ASCII, %, a space; an image of background
    only) converted with the COCO export."""
    mirror = _CocoMirror(tmp_path)
    lines = [mirror.segmented(ref(key), mask, COLORS) for key, mask in MASKS.items()]
    lines.append(mirror.segmented(ref(BACKGROUND), blank_mask(30, 20), COLORS))
    dataset = mirror.convert(lines, classes=SEGMENT_CLASSES)
    assert dataset.report["segmentation"]["regions_with_holes"] == 1
    return dataset


def _segmented_images(dataset: Dataset) -> list[tuple[COCO, dict[str, Any], dict[str, str]]]:
    """Every (coco, image, images.csv row) of the export."""
    rows = _rows_by_image(dataset)
    found = []
    for path in _coco_files(dataset).values():
        coco = _load(path)
        found.extend((coco, image, rows[image["file_name"]]) for image in coco.dataset["images"])
    assert sorted(image["file_name"] for _, image, _ in found) == sorted(rows)
    return found


def _source(row: dict[str, str]) -> str:
    return row["source_ref"].removeprefix(ref(""))


def test_segmentation_polygons_are_the_yolo_polygon_rows(segmented: Dataset) -> None:
    # Given segmentation converted with the COCO export
    images = _segmented_images(segmented)
    compared = 0
    for coco, image, row in images:
        width, height = image["width"], image["height"]
        labels = [f.split() for f in segmented.text(row["label"]).splitlines()]
        annotations = _annotations(coco, image["id"])

        # When comparing each annotation with the label file's row in the same place
        assert len(annotations) == len(labels), image["file_name"]
        for annotation, fields in zip(annotations, labels, strict=True):
            # Then the category is the row's class + 1 and the one polygon is the row's,
            # normalized by the image size within 1e-4
            assert annotation["category_id"] == int(fields[0]) + 1
            (polygon,) = annotation["segmentation"]
            points = np.array(polygon, dtype=float).reshape(-1, 2) / (width, height)
            assert _close(points.reshape(-1).tolist(), [float(v) for v in fields[1:]], 1e-4)
            compared += 1

    # And every region of the masks was one annotation; the background image has none
    assert compared == sum(len(_regions(mask)) for mask in MASKS.values())
    counts = {_source(row): len(_annotations(c, i["id"])) for c, i, row in images}
    assert counts[BACKGROUND] == 0


def test_pycocotools_masks_have_the_area_and_box_of_the_region_and_an_empty_hole(
    segmented: Dataset,
) -> None:
    # Given segmentation converted with the COCO export
    for coco, image, row in _segmented_images(segmented):
        key = _source(row)
        if key == BACKGROUND:
            continue
        regions = _regions(MASKS[key])
        annotations = _annotations(coco, image["id"])
        assert len(annotations) == len(regions)
        for annotation in annotations:
            # When pycocotools rasterizes an annotation's polygon
            raster = coco.annToMask(annotation).astype(bool)
            assert raster.shape == (image["height"], image["width"])

            # Then it covers about the annotation's area (holes subtracted; pycocotools fills a
            # polygon through pixel centres to about its enclosed area)
            assert abs(int(raster.sum()) - annotation["area"]) <= 0.05 * annotation["area"]

            # And it lies over one painted region, of the class, whose pixel box is the bbox
            class_id, pixels = max(regions, key=lambda r: _iou(r[1], raster))
            assert annotation["category_id"] == class_id + 1
            # (pycocotools puts pixel x at [x, x+1): the polygon through the boundary pixels'
            # centres leaves about half a pixel of them out, never much more than that in)
            assert _iou(pixels, raster) > 0.8
            assert np.count_nonzero(raster & ~pixels) <= 0.05 * annotation["area"]
            assert annotation["bbox"] == _pixel_box(pixels)
            assert annotation["iscrowd"] == 0

            # And the car ring's mask is 0 inside its hole, 1 on the ring
            if class_id == 1:
                x, y = RING_CENTER
                assert raster[y, x] == 0
                assert raster[y, x - (RING_OUTER + RING_INNER) // 2] == 1


@pytest.mark.filterwarnings("ignore:OpenCV:UserWarning")
def test_supervision_loads_segmentation_masks_over_the_painted_regions(
    segmented: Dataset,
) -> None:
    import supervision as sv

    # Given segmentation converted with the COCO export
    root = segmented.root.resolve()
    rows = _rows_by_image(segmented)
    seen: list[str] = []
    for path in _coco_files(segmented).values():
        # When supervision loads each split's file with masks
        loaded = sv.DetectionDataset.from_coco(
            images_directory_path=str(segmented.root),
            annotations_path=str(path),
            force_masks=True,
        )
        assert loaded.classes == list(SEGMENT_CLASSES)
        for image_path, _, detections in loaded:
            key = Path(image_path).relative_to(root).as_posix()
            seen.append(key)
            source = _source(rows[key])
            if source == BACKGROUND:
                assert len(detections) == 0
                continue
            regions = _regions(MASKS[source])
            assert detections.mask is not None
            assert len(detections) == len(regions)
            for xyxy, class_id, mask in zip(
                detections.xyxy, detections.class_id, detections.mask, strict=True
            ):
                # Then each mask (filled as a trainer fills the polygon) is a painted region of
                # its class, and its box that region's pixel box
                painted_class, pixels = max(regions, key=lambda r: _iou(r[1], mask))
                assert int(class_id) == painted_class
                assert _iou(pixels, mask) > 0.95
                left, top, w, h = _pixel_box(pixels)
                assert _close([float(v) for v in xyxy], (left, top, left + w, top + h), 1e-2)
                if painted_class == 1:
                    x, y = RING_CENTER
                    assert not mask[y, x]  # the hole stays empty

    # And it found every image
    assert sorted(seen) == sorted(rows)


def test_labelformat_reads_the_polygons_as_the_yolo_rows_in_pixels(segmented: Dataset) -> None:
    from labelformat.formats import COCOInstanceSegmentationInput

    # Given segmentation converted with the COCO export
    rows = _rows_by_image(segmented)
    for path in _coco_files(segmented).values():
        # When labelformat's instance segmentation reader loads a split's file
        reader = COCOInstanceSegmentationInput(input_file=path)
        assert [c.name for c in reader.get_categories()] == list(SEGMENT_CLASSES)
        for label in reader.get_labels():
            row = rows[label.image.filename]
            width, height = label.image.width, label.image.height
            labels = [f.split() for f in segmented.text(row["label"]).splitlines()]

            # Then each object is one polygon, the label row's in pixels
            assert len(label.objects) == len(labels)
            for found, fields in zip(label.objects, labels, strict=True):
                assert found.category.id == int(fields[0]) + 1
                (polygon,) = found.segmentation.polygons  # type: ignore[union-attr]
                want = np.array([float(v) for v in fields[1:]]).reshape(-1, 2) * (width, height)
                assert _close(np.array(polygon).reshape(-1).tolist(), want.reshape(-1), 1e-2)


# --- video --------------------------------------------------------------------------------------

# Ground Truth object-ids: the same two in both sequences are different objects of each video.
A, B = "f3c1a6e0-aaaa", "0b9d2e4c-bbbb"
CAR_ID, PERSON_ID = 0, 1
# 0-based SeqLabel frame index -> boxes; frames 1..5 (with frame step 2: 1, 3, 5 kept).
FIRST = {
    0: [tracked(CAR_ID, 1, 1, 10, 10, A)],
    2: [tracked(PERSON_ID, 30, 1, 5, 20, B), tracked(CAR_ID, 5, 2, 10, 10, A)],
    3: [tracked(CAR_ID, 7, 3, 10, 10, A)],  # frame 4: not kept
    4: [tracked(PERSON_ID, 58, 40, 10, 20, B)],  # clamped to the 64x48 frame
}
SECOND = {0: [tracked(CAR_ID, 40, 30, 12, 8, A)], 2: [tracked(CAR_ID, 9, 9, 10, 10, A)]}
VIDEOS = {"first": FIRST, "second": SECOND}


@pytest.fixture
def tracking(tmp_path: Path) -> Dataset:
    """Two tracking sequences, every second frame kept, converted with the COCO export."""
    video = _CocoVideo(tmp_path)
    lines = [video.clip(name, boxes, frames=5) for name, boxes in VIDEOS.items()]
    return video.convert(lines, frame_step=2)


def test_video_frames_are_images_numbered_over_the_kept_frames_in_order(
    tracking: Dataset,
) -> None:
    # Given a tracking job converted with the COCO export, frame step 2
    rows = _rows_by_image(tracking)
    frames = {key: row for key, row in rows.items() if row["sequence"]}
    assert len(frames) == 6  # frames 1, 3, 5 of each sequence

    found: dict[str, tuple[str, int]] = {}
    for path in _coco_files(tracking).values():
        # When pycocotools loads each split's file
        coco = _load(path)
        document = coco.dataset
        names = {video["id"]: video["name"] for video in document["videos"]}
        assert len(names) == len(document["videos"])  # video ids unique
        for image in document["images"]:
            # Then each frame is an image with its sequence's video and its frame id
            found[image["file_name"]] = (names[image["video_id"]], image["frame_id"])

    # And the frame ids count from 0 over each sequence's kept frames in frame order
    expected: dict[str, tuple[str, int]] = {}
    for sequence in VIDEOS:
        kept = sorted(
            (int(row["frame_number"]), key) for key, row in frames.items()
            if row["sequence"] == sequence
        )  # fmt: skip
        assert [number for number, _ in kept] == [1, 3, 5]
        expected.update({key: (sequence, index) for index, (_, key) in enumerate(kept)})
    assert found == expected


def test_video_track_ids_are_one_per_object_of_a_video_and_listed_in_tracks(
    tracking: Dataset,
) -> None:
    # Given two sequences whose object-ids A and B recur (A in both: two objects)
    rows = _rows_by_image(tracking)
    for path in _coco_files(tracking).values():
        coco = _load(path)
        document = coco.dataset
        names = {video["id"]: video["name"] for video in document["videos"]}
        tracks = {track["id"]: track for track in document["tracks"]}
        assert len(tracks) == len(document["tracks"])  # track ids unique

        # When naming each annotation by its (sequence, object-id), found from the drawn boxes
        owners: dict[int, set[tuple[str, str]]] = {}
        for annotation in document["annotations"]:
            image = coco.imgs[annotation["image_id"]]
            sequence = names[image["video_id"]]
            number = int(rows[image["file_name"]]["frame_number"])
            drawn = VIDEOS[sequence][number - 1]
            left, top = annotation["bbox"][:2]
            (owner,) = [b["object-id"] for b in drawn if (b["left"], b["top"]) == (left, top)]
            owners.setdefault(annotation["track_id"], set()).add((sequence, owner))

            # Then each annotation's track is listed, in its image's video, of its category
            track = tracks[annotation["track_id"]]
            assert track["video_id"] == image["video_id"]
            assert track["category_id"] == annotation["category_id"]

        # And a track id is one object of one video, each object one track id
        assert all(len(objects) == 1 for objects in owners.values())
        objects = [next(iter(o)) for o in owners.values()]
        assert len(set(objects)) == len(objects)
        assert set(tracks) == set(owners)  # no track without an annotation

    # And the tracked objects of the kept frames are the three (first: A, B; second: A)
    kept = {
        (name, b["object-id"]) for name, boxes in VIDEOS.items()
        for index, frame in boxes.items() if index % 2 == 0 for b in frame
    }  # fmt: skip
    all_tracks = sum(len(_load(p).dataset["tracks"]) for p in _coco_files(tracking).values())
    assert len(kept) == all_tracks == 3


def test_video_boxes_are_the_frames_yolo_labels(tracking: Dataset) -> None:
    # Given a tracking job converted with the COCO export (one box clamped to its frame)
    rows = _rows_by_image(tracking)
    assert tracking.report["clamped_boxes"] == 1
    compared = 0
    for path in _coco_files(tracking).values():
        coco = _load(path)
        for image in coco.dataset["images"]:
            # When comparing a frame's annotations with its label file
            yolo = _yolo_boxes(tracking, rows[image["file_name"]])
            annotations = _annotations(coco, image["id"])

            # Then they are its lines, within 1e-4 of the frame size
            assert len(annotations) == len(yolo)
            for annotation, label in zip(annotations, yolo, strict=True):
                assert annotation["category_id"] == label[0] + 1
                got = _normalized(annotation["bbox"], image["width"], image["height"])
                assert _close(got, label[1:], 1e-4)
                compared += 1
    assert compared == tracking.report["boxes"] == 6


def test_video_frame_file_names_are_the_sequences_frames(tracking: Dataset) -> None:
    # Given a tracking job converted with the COCO export
    names = sorted(
        image["file_name"]
        for path in _coco_files(tracking).values()
        for image in _load(path).dataset["images"]
    )

    # Then the images are the kept frame files, each below the dataset root
    assert [name.rsplit("/", 1)[-1] for name in names] == [
        frame_name(n) for _ in VIDEOS for n in (1, 3, 5)
    ]
    assert all((tracking.root / name).is_file() for name in names)


# --- classification -----------------------------------------------------------------------------


def test_classification_has_no_coco_export_and_the_report_says_why(tmp_path: Path) -> None:
    # Given image classification lines converted with the COCO export asked for
    mirror = _CocoMirror(tmp_path)
    lines = []
    for i, name in enumerate(("dog", "cat", "dog")):
        source_ref = mirror.image(ref(f"pets/{i}.jpg"))
        lines.append(
            json.dumps(classification_record(source_ref, ("dog", "cat").index(name), name))
        )

    # When converting
    dataset = mirror.convert(lines, classes=("dog", "cat"))

    # Then report.json's exports.coco is not written, with a reason, and no COCO file exists
    assert dataset.report["images"] == 3
    entry = dataset.report["exports"]["coco"]
    assert entry["written"] is False
    assert "classification" in entry["reason"]
    assert set(entry) == {"written", "reason"}
    assert not (dataset.root / "exports/coco").exists()
    assert not any(key.startswith("exports/") for key in dataset.files())
