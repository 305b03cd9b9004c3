"""report.html of the segmentation and multi-label classification samples, as Chromium renders
them: the task's counts in the DOM, a thumbnail per preview, each class color painted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gt2yolo.insights.colors import name_color, rgb
from gt2yolo_cli.main import main
from PIL import Image

from samples.detection import SampleJob
from samples.image_tasks import make_classification_job, make_segmentation_job

from .chromium import dump_dom, screenshot

BUCKET, IMAGES = "stack-bucket", "customer-images"
WIDTH, HEIGHT = 1280, 2400
JOBS = {
    "segment": lambda: make_segmentation_job(BUCKET, image_bucket=IMAGES),
    "multi-label": lambda: make_classification_job(
        BUCKET, job_name="demo-tags", multilabel=True, image_bucket=IMAGES, dataset="tags"
    ),
}
# What each page counts (report.json's numbers, by their name on the page)
COUNTS = {
    "segment": {
        "polygons": ("boxes",),
        "regions with holes": ("segmentation", "regions_with_holes"),
    },
    "multi-label": {"images without a class": ("classification", "images_without_class")},
}


@pytest.fixture(scope="module", params=list(JOBS))
def task(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def dataset(task: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The task's sample job, as a local sync of its buckets, converted and reported."""
    root = tmp_path_factory.mktemp(task)
    job: SampleJob = JOBS[task]()
    for bucket, objects in ((BUCKET, job.objects), (IMAGES, job.image_objects)):
        for key, body in objects.items():
            path = root / "mirror" / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    out = root / "dataset"
    assert main([
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root / "mirror"),
        "--out", str(out), "--no-progress",
    ]) == 0  # fmt: skip
    assert main(["report", str(out)]) == 0
    return out


def test_the_rendered_page_holds_the_tasks_counts_and_a_thumbnail_per_preview(
    task: str, dataset: Path
) -> None:
    dom = dump_dom(dataset / "report.html")
    report = json.loads((dataset / "report.json").read_text())
    for name, path in COUNTS[task].items():
        value = report
        for key in path:
            value = value[key]
        assert f'data-count="{name}"><b>{value}</b>' in dom
    previews = list((dataset / "previews").rglob("*.jpg"))
    assert previews and dom.count('src="data:image/jpeg;base64,') == len(previews)


def test_each_class_color_is_painted(dataset: Path) -> None:
    shot = screenshot(dataset / "report.html", dataset.parent / "report.png", WIDTH, HEIGHT)
    pixels = set(Image.open(shot).convert("RGB").get_flattened_data())
    for name in json.loads((dataset / "report.json").read_text())["classes"]:
        target = rgb(name_color(name))
        assert any(
            all(abs(a - b) <= 3 for a, b in zip(pixel, target, strict=True)) for pixel in pixels
        ), name
