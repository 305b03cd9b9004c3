"""report.html of the sample video tracking job, as Chromium renders it: the sequences and
tracks counted in the DOM, a heading and thumbnails per sequence, each class color painted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gt2yolo.insights.colors import name_color, rgb
from gt2yolo_cli.main import main
from PIL import Image

from samples.video import make_video_job

from .chromium import dump_dom, screenshot

BUCKET, IMAGES = "stack-bucket", "customer-images"
WIDTH, HEIGHT = 1280, 3200


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample video job, as a local sync of its buckets, converted and reported."""
    root = tmp_path_factory.mktemp("video")
    job = make_video_job(BUCKET, sequences=3, frames=10, image_bucket=IMAGES)
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


def test_the_rendered_page_holds_its_sequences_tracks_and_their_previews(dataset: Path) -> None:
    dom = dump_dom(dataset / "report.html")
    video = json.loads((dataset / "report.json").read_text())["video"]
    assert f'data-count="sequences"><b>{video["sequences"]}</b>' in dom
    assert f'data-count="tracks"><b>{video["tracks"]}</b>' in dom
    sequences = sorted(p.name for p in (dataset / "mot").iterdir())
    assert len(sequences) == video["sequences"]
    for name in sequences:
        assert f"<h3>{name}</h3>" in dom
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
