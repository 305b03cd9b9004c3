"""The report of each YOLO task: segmentation polygons and classification classes, drawn and
counted from what the conversion wrote (the sample jobs, converted and reported by the CLI)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.errors import ConversionError
from gt2yolo.insights.colors import name_color, rgb
from gt2yolo.insights.dataset import (
    LocalDatasetFiles,
    YoloPolygon,
    parse_polygon_file,
)
from gt2yolo.insights.report_file import dataset_task
from gt2yolo.storage import LocalStorage
from gt2yolo.task_types import YoloTask
from gt2yolo_cli.main import main
from gt2yolo_report import build_report
from gt2yolo_report.draw import FILL_ALPHA, draw_classes, draw_polygons
from gt_builders import Workspace, box, line, ref
from PIL import Image
from worker_builders import answer, write_response

from samples.detection import SampleJob
from samples.image_tasks import make_classification_job, make_segmentation_job

BUCKET, IMAGES = "stack-bucket", "customer-images"


def _mirror(root: Path, job: SampleJob) -> None:
    """The job's objects as a local sync of the buckets: DIR/<bucket>/<key>."""
    for bucket, objects in ((BUCKET, job.objects), (IMAGES, job.image_objects)):
        for key, body in objects.items():
            path = root / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)


def _converted(root: Path, job: SampleJob, *extra: str) -> Path:
    _mirror(root / "mirror", job)
    out = root / "dataset"
    assert main([
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root / "mirror"),
        "--out", str(out), "--no-progress", *extra,
    ]) == 0  # fmt: skip
    return out


def _reported(dataset: Path) -> Path:
    assert main(["report", str(dataset)]) == 0
    return dataset


@pytest.fixture(scope="module")
def segment_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    job = make_segmentation_job(BUCKET, image_bucket=IMAGES)
    return _converted(tmp_path_factory.mktemp("segment"), job)


@pytest.fixture(scope="module")
def classify_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("classify")
    job = make_classification_job(BUCKET, image_bucket=IMAGES)
    # The job's label config names a class no image has (fish): the page lists it too
    config = root / "mirror" / BUCKET / job.config_key
    return _reported(_converted(root, job, "--label-config", str(config)))


@pytest.fixture(scope="module")
def multilabel_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    job = make_classification_job(
        BUCKET, job_name="demo-tags", multilabel=True, image_bucket=IMAGES, dataset="tags"
    )
    return _reported(_converted(tmp_path_factory.mktemp("tags"), job))


@pytest.fixture
def segment_report(segment_dataset: Path, tmp_path: Path) -> Path:
    """A fresh copy of the segmentation dataset, reported (tests may break its files first)."""
    copy = tmp_path / "dataset"
    shutil.copytree(segment_dataset, copy)
    return copy


class _Page(HTMLParser):
    """The text of each table row, per section id, and the figure captions."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self.captions: list[str] = []
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
        elif tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = []
        elif tag == "figcaption":
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row:
            self.rows.setdefault(self._section, []).append(self._row)
            self._row = None
        elif tag == "figcaption" and self._caption is not None:
            self.captions.append("".join(self._caption))
            self._caption = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._caption):
            if part is not None:
                part.append(data)


def _page(dataset: Path) -> tuple[str, _Page]:
    html = (dataset / "report.html").read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(html)
    return html, parsed


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _close(pixel: Any, expected: tuple[float, ...], tolerance: float = 14) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _blend(under: tuple[int, ...], color: tuple[int, int, int]) -> tuple[float, ...]:
    alpha = FILL_ALPHA / 255
    return tuple(u * (1 - alpha) + c * alpha for u, c in zip(under, color, strict=True))


# --- the dataset's task ---------------------------------------------------------------------


def test_the_task_comes_from_report_json_and_older_datasets_are_detection() -> None:
    assert dataset_task({"task": "segment"}) is YoloTask.SEGMENT
    assert dataset_task({"task": "classify"}) is YoloTask.CLASSIFY
    assert dataset_task({}) is YoloTask.DETECT
    with pytest.raises(ConversionError, match="obb"):
        dataset_task({"task": "obb"})


def test_segmentation_label_files_are_read_back_as_polygons() -> None:
    assert parse_polygon_file("2 0.1 0.2 0.3 0.2 0.2 0.4\n\n") == [
        YoloPolygon(2, ((0.1, 0.2), (0.3, 0.2), (0.2, 0.4)))
    ]
    with pytest.raises(ValueError, match="row 1"):
        parse_polygon_file("0 0.5 0.5 0.2 0.1\n")  # a box row: two points
    with pytest.raises(ValueError, match="row 2"):
        parse_polygon_file("0 0 0 1 0 1 1\n0 0 0 1 0 1 1 0\n")  # an odd coordinate count


# --- segment: drawing -----------------------------------------------------------------------


def _white(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def test_a_polygon_is_filled_translucent_in_its_class_color_and_its_hole_stays_empty() -> None:
    # Given a 200x200 square ring (outer 20..180, hole 80..120) joined by a zero-width cut,
    # as the segmentation writer writes a region with a hole
    outer = [(20, 20), (180, 20), (180, 180), (20, 180)]
    hole = [(80, 80), (80, 120), (120, 120), (120, 80)]
    ring = [outer[0], *hole, hole[0], *outer]
    polygon = YoloPolygon(0, tuple((x / 200, y / 200) for x, y in ring))
    # When it is drawn on a white image
    drawn = draw_polygons(_white((200, 200)), (200, 200), [polygon], ["road"])
    picture = Image.open(io.BytesIO(drawn.full)).convert("RGB")
    color = rgb(name_color("road"))
    # Then the ring is the class color over white, the hole and the outside stay white
    assert _close(picture.getpixel((50, 150)), _blend((255, 255, 255), color))
    assert _close(picture.getpixel((100, 100)), (255, 255, 255), 6)
    assert _close(picture.getpixel((5, 195)), (255, 255, 255), 6)
    # ... and the outline is the class color itself
    assert _close(picture.getpixel((180, 100)), color, 40)


def test_previews_fill_each_written_polygon_with_its_class_color(
    segment_report: Path,
) -> None:
    # Given the segmentation sample converted and reported
    _reported(segment_report)
    classes = json.loads((segment_report / "report.json").read_text())["classes"]
    checked = Counter[str]()
    for row in _csv(segment_report / "images.csv"):
        preview = segment_report / "previews" / (row["label"][len("labels/") : -4] + ".jpg")
        photo = Image.open(segment_report / row["image"]).convert("RGB")
        drawn = Image.open(preview).convert("RGB")
        assert drawn.size == photo.size
        text = (segment_report / row["label"]).read_text()
        for polygon in parse_polygon_file(text):
            xs = [x * photo.width for x, _ in polygon.points]
            ys = [y * photo.height for _, y in polygon.points]
            if len(polygon.points) != 4 or max(xs) - min(xs) < 16 or max(ys) - min(ys) < 16:
                continue  # the cars: rectangles; their centre is inside and away from edges
            centre = (round(sum(xs) / 4), round(sum(ys) / 4))
            name = classes[polygon.class_id]
            under = photo.getpixel(centre)
            assert isinstance(under, tuple)
            # Then the pixel is the photo under the class color at the fill's opacity
            assert _close(drawn.getpixel(centre), _blend(under, rgb(name_color(name)))), (
                row["image"], name, centre,
            )  # fmt: skip
            checked[name] += 1
    assert checked["car"] >= 5


def test_the_segmentation_page_counts_polygons_dropped_regions_and_holes(
    segment_report: Path,
) -> None:
    _reported(segment_report)
    report = json.loads((segment_report / "report.json").read_text())
    html, page = _page(segment_report)
    seg = report["segmentation"]
    assert f'data-count="polygons"><b>{seg["polygons"]}</b>' in html
    assert f'data-count="regions with holes"><b>{seg["regions_with_holes"]}</b>' in html
    dropped = sum(report["dropped_boxes"].values())
    assert dropped and f'data-count="dropped regions"><b>{dropped}</b>' in html
    # Per class: polygons; the drop reasons of regions; region sizes, no box wording
    assert [r[1:] for r in page.rows["classes"]] == [
        [name, str(n)] for name, n in report["boxes_per_class"].items()
    ]
    assert ["small_region", str(report["dropped_boxes"]["small_region"])] in page.rows["rejected"]
    assert "Polygons per image and region sizes" in html and "Region area in pixels" in html
    assert "Boxes per class" not in html and "clamped" not in html
    # The region sizes count every kept region (from its own area)
    coco = {row[0]: int(row[1]) for row in page.rows["polygons"]}
    assert sum(coco.values()) == seg["polygons"]
    # Every image is drawn (9 < 50), its caption counting its polygons
    images = _csv(segment_report / "images.csv")
    assert len(page.captions) == len(images)
    for row in images:
        assert any(f"{row['polygons']} polygons" in c for c in page.captions)


def test_missing_and_unreadable_label_files_are_drawn_empty_and_counted(
    segment_report: Path,
) -> None:
    # Given one label file deleted, one holding a box row and one not UTF-8
    rows = _csv(segment_report / "images.csv")
    (segment_report / rows[0]["label"]).unlink()
    (segment_report / rows[1]["label"]).write_text("0 0.5 0.5 0.2 0.1\n")
    (segment_report / rows[2]["label"]).write_bytes(b"\xff\xfe0 0.1\n")
    # When the report is built
    result = build_report(LocalDatasetFiles(segment_report), LocalStorage(segment_report))
    # Then every image still has its preview, and the three are said and counted
    assert result.previews == len(rows)
    assert "3 drawn images have a missing or unreadable label file." in result.notes
    html, page = _page(segment_report)
    assert "3 drawn images have a missing or unreadable label file" in html
    assert sum("label file missing" in c for c in page.captions) == 1
    assert sum("label file unreadable" in c for c in page.captions) == 2


def test_a_detection_label_file_that_is_not_yolo_boxes_is_drawn_empty_not_fatal(
    workspace: Workspace,
) -> None:
    # Given a detection dataset (images skipped) whose label file was replaced by a polygon row
    dataset = workspace.convert(
        [line(ref("a.jpg"), [box(0)]), line(ref("b.jpg"), [box(1)])],
        classes=["cat", "dog"], val=0.0, label_attribute="boxes",
    )  # fmt: skip
    (dataset.root / dataset.images[0]["label"]).write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n")
    # When the report is built
    result = build_report(LocalDatasetFiles(dataset.root), LocalStorage(dataset.root))
    # Then both images are drawn, the broken one without boxes and with the reason
    assert result.previews == 2
    _html, page = _page(dataset.root)
    broken = [c for c in page.captions if "label file unreadable" in c]
    assert len(broken) == 1 and "0 boxes" in broken[0] and "not 5" in broken[0]


# --- classify -------------------------------------------------------------------------------


def test_the_classification_page_lists_every_class_with_its_images_per_split(
    classify_dataset: Path,
) -> None:
    report = json.loads((classify_dataset / "report.json").read_text())
    facts = report["classification"]
    html, page = _page(classify_dataset)
    annot = _csv(classify_dataset / "annot.csv")
    splits = list(report["images_per_split"])
    # Every class of the label config, the one without images too, with its folder, its
    # Ultralytics id, its image count and its images per split
    assert report["classes"] == ["dog", "cat", "bird", "fish"]
    expected = [
        [str(i), name, facts["class_folders"][name], str(facts["ultralytics_class_ids"][name]),
         str(facts["images_per_class"][name]), *(
             str(sum(r["category"] == name and r["split"] == s for r in annot)) for s in splits)]
        for i, name in enumerate(report["classes"])
    ]  # fmt: skip
    assert [row[:5] + row[6:] for row in page.rows["classes"]] == expected
    assert facts["images_per_class"]["fish"] == 0 and "No image has class fish." in html
    assert f'data-count="images"><b>{report["images"]}</b>' in html
    # No box or polygon sections
    for absent in ('id="boxes"', 'id="polygons"', "Boxes per", "clamped", "polygons"):
        assert absent not in html


def test_classification_previews_are_the_images_captioned_with_their_class(
    classify_dataset: Path,
) -> None:
    _html, page = _page(classify_dataset)
    annot = _csv(classify_dataset / "annot.csv")
    # Every image (16 < 50) has its preview, under its split and class folder
    previews = sorted(p.relative_to(classify_dataset / "previews").as_posix()
                      for p in (classify_dataset / "previews").rglob("*.jpg"))  # fmt: skip
    assert previews == sorted(r["img_file"] for r in annot)
    assert len(page.captions) == len(annot)
    for row in annot:
        path = row["img_file"].split("/", 1)[1]
        caption = next(c for c in page.captions if c.startswith(path))
        assert caption.endswith(f"· {row['split']} · {row['category']}")
    # The drawn class name sits on a tag of its class color in the top-left corner
    row = annot[0]
    drawn = Image.open(classify_dataset / "previews" / row["img_file"]).convert("RGB")
    assert _close(drawn.getpixel((1, 1)), rgb(name_color(row["category"])), 30)


def test_a_classification_image_missing_from_the_dataset_is_drawn_blank_with_its_classes() -> None:
    drawn = draw_classes(None, ["dog", "cat"])
    assert drawn.note is not None and "image not in the dataset" in drawn.note
    picture = Image.open(io.BytesIO(drawn.full)).convert("RGB")
    assert _close(picture.getpixel((1, 1)), rgb(name_color("dog")), 30)


def test_the_multilabel_page_shows_labels_per_image_and_classes_given_together(
    multilabel_dataset: Path,
) -> None:
    report = json.loads((multilabel_dataset / "report.json").read_text())
    html, page = _page(multilabel_dataset)
    labels = _csv(multilabel_dataset / "labels.csv")
    names = report["classes"]
    given = [[n for n in names if row[n] == "1"] for row in labels]
    # Counts: labels, and the images without a class
    assert f'data-count="labels"><b>{sum(map(len, given))}</b>' in html
    without = sum(not g for g in given)
    assert without and f'data-count="images without a class"><b>{without}</b>' in html
    # Classes given together: every pair of labels.csv, most frequent first
    pairs = Counter(p for g in given for p in combinations(g, 2))
    shown = {(a, b): int(n) for a, b, n in page.rows["labels"]}
    assert shown == dict(pairs) and pairs
    # Per class: images with the class, per split
    per_class = {row[1]: row[2] for row in page.rows["classes"]}
    assert per_class == {n: str(sum(n in g for g in given)) for n in names}
    # Previews: captioned with every class of the image, or "no class"
    for row, classes in zip(labels, given, strict=True):
        path = row["image"].split("/", 2)[2]
        caption = next(c for c in page.captions if c.startswith(path))
        assert caption.endswith(" ".join(classes) if classes else "no class"), caption


def test_labelers_of_a_classification_job_get_answers_and_times_not_box_agreement(
    classify_dataset: Path, tmp_path: Path
) -> None:
    # Given the job's worker responses (a classification answer holds no boxes)
    job = tmp_path / "job"
    write_response(job, 0, "x", answer("w1", size=None))
    write_response(job, 0, "y", answer("w2", seconds=12.5, size=None))
    dataset = tmp_path / "dataset"
    shutil.copytree(classify_dataset, dataset)
    # When the report reads them
    assert main(["report", str(dataset), "--worker-responses", str(job)]) == 0
    html, page = _page(dataset)
    # Then each worker has answers and times, and no IoU is claimed
    assert [row[:3] for row in page.rows["labelers"]] == [["w1", "1", "30.0"], ["w2", "1", "12.5"]]
    assert "mean IoU" not in html and "Mean IoU" not in html
    assert "measured for bounding boxes only" in html


@pytest.mark.parametrize("make", [
    lambda: make_segmentation_job(BUCKET, image_bucket=IMAGES),
    lambda: make_classification_job(BUCKET, image_bucket=IMAGES),
], ids=["segment", "classify"])  # fmt: skip
def test_without_the_images_previews_are_blank_canvases_and_say_so(
    make: Callable[[], SampleJob], tmp_path: Path
) -> None:
    dataset = _reported(_converted(tmp_path, make(), "--images", "skip"))
    _html, page = _page(dataset)
    assert page.captions
    assert all("image not in the dataset" in c for c in page.captions)
