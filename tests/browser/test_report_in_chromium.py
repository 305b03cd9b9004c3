"""report.html of the demo's labeling job, rendered by a real browser (headless Chromium)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from gt2yolo.insights.colors import name_color, rgb
from gt2yolo_cli.main import main
from PIL import Image

from samples.detection import CLASSES, WORKERS, make_sample_job

from .chromium import dump_dom, screenshot

WIDTH, HEIGHT = 1280, 2400


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample job as files (bucket synced locally), converted and reported by the CLI."""
    root = tmp_path_factory.mktemp("browser")
    job = make_sample_job("bucket")
    for key, body in job.objects.items():
        path = root / "bucket" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    job_root = root / "bucket" / job.output_prefix
    out = root / "dataset"
    assert main([
        "convert", str(root / "bucket" / job.manifest_key), "--out", str(out),
        "--label-config", str(root / "bucket" / job.config_key),
        "--images-from", str(root / "bucket" / "images" / "demo"), "--no-progress",
    ]) == 0  # fmt: skip
    assert main(["report", str(out), "--worker-responses", str(job_root)]) == 0
    return out


@pytest.fixture(scope="module")
def shot(dataset: Path) -> Image.Image:
    path = screenshot(dataset / "report.html", dataset.parent / "report.png", WIDTH, HEIGHT)
    return Image.open(path).convert("RGB")


@pytest.fixture(scope="module")
def dom(dataset: Path) -> str:
    return dump_dom(dataset / "report.html")


def test_the_screenshot_has_the_window_size_and_is_not_blank(shot: Image.Image) -> None:
    assert shot.size == (WIDTH, HEIGHT)
    colors = Counter(shot.resize((320, 600)).get_flattened_data())
    # A blank (or failed) page is one or two colors; charts, text and previews are many
    assert len(colors) > 500
    white, _count = colors.most_common(1)[0]
    assert colors[white] < 0.9 * sum(colors.values())


def test_each_class_color_is_painted_by_the_charts(shot: Image.Image) -> None:
    pixels = set(shot.get_flattened_data())
    for name in CLASSES:
        target = rgb(name_color(name))
        assert any(
            all(abs(a - b) <= 3 for a, b in zip(pixel, target, strict=True)) for pixel in pixels
        ), name


def test_the_rendered_page_holds_the_counts(dataset: Path, dom: str) -> None:
    report = json.loads((dataset / "report.json").read_text())
    for name, key in (("images", "images"), ("boxes", "boxes"), ("clamped boxes", "clamped_boxes")):
        assert f'data-count="{name}"><b>{report[key]}</b>' in dom


def test_the_rendered_page_names_classes_workers_and_rejections(dataset: Path, dom: str) -> None:
    for name in CLASSES:
        assert f"{name}</" in dom
    with (dataset / "workers.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["worker_id"] for row in rows} == set(WORKERS)
    for worker in WORKERS:
        assert worker in dom
    assert "failed_object" in dom and "not_labeled" in dom


def test_the_gallery_shows_an_embedded_thumbnail_per_preview(dataset: Path, dom: str) -> None:
    previews = list((dataset / "previews").rglob("*.jpg"))
    assert previews
    assert dom.count('src="data:image/jpeg;base64,') == len(previews)
    assert dom.count('href="previews/') == len(previews)
