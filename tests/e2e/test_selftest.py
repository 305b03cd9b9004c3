"""`gt2yolo selftest --stack` against the local cloud: the same code a user runs after
`cdk deploy`, with only the endpoint overridden. It puts objects and waits, as it would in AWS:
S3's "Object Created" events reach the stack's rules by themselves here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gt2yolo_cli.main import main
from gt2yolo_cli.selftest import (
    SELFTEST_IMAGES,
    SelftestFailed,
    SelftestImage,
    compare_label_rows,
    png,
)

from localrun.cloud import LocalCloud
from localrun.synth import Assembly


@pytest.fixture
def live_cloud(assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, deliver_s3_events=True) as local:
        yield local


def _all_keys(cloud: LocalCloud) -> set[str]:
    s3 = cloud.client("s3")
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=cloud.bucket)
    return {v["Key"] for page in pages for v in page.get("Versions", [])}


def test_selftest_converts_through_the_stack_checks_the_labels_and_cleans_up(
    live_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _all_keys(live_cloud)
    assert main(["selftest", "--stack", live_cloud.stack_name, "--timeout", "120"]) == 0
    printed = capsys.readouterr().out
    # Each state the execution went through, with its duration
    assert ": SUCCEEDED" in printed
    for state in ("Resolve", "Convert", "Report", "Publish", "DatasetPublished"):
        assert f"  {state} " in printed
    assert f"checked {len(SELFTEST_IMAGES)} label files" in printed
    assert "selftest passed" in printed
    # Nothing it created is left, not even an old version
    assert _all_keys(live_cloud) == before


def test_selftest_fails_with_one_line_when_the_stack_does_not_exist(
    live_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["selftest", "--stack", "NoSuchStack", "--timeout", "5"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "cannot read the stack NoSuchStack" in error[0]


def test_a_label_file_that_differs_from_the_drawn_boxes_fails_the_check() -> None:
    image = SelftestImage("x.png", 100, 50, SELFTEST_IMAGES[0].boxes)
    good = "\n".join(" ".join(f"{v:g}" for v in row) for row in image.expected_rows())
    compare_label_rows(image, good)
    with pytest.raises(SelftestFailed):
        compare_label_rows(image, good.replace("0 ", "1 ", 1))
    with pytest.raises(SelftestFailed):
        compare_label_rows(image, good.splitlines()[0])


def test_the_generated_images_are_pngs_pillow_reads_with_the_boxes_drawn() -> None:
    import io

    from PIL import Image

    image = SELFTEST_IMAGES[0]
    with Image.open(io.BytesIO(png(image))) as decoded:
        assert decoded.size == (image.width, image.height)
        box = image.boxes[0]
        assert decoded.getpixel((box.left, box.top)) != (255, 255, 255)
        assert decoded.getpixel((image.width - 1, image.height - 1)) == (255, 255, 255)
