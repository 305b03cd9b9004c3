"""`gt2yolo convert --s3-mirror DIR` on segmentation and classification jobs, with no S3 at all.

The sample jobs (samples.image_tasks) are written into a folder laid out as `aws s3 sync` makes
it; the manifest, the label config, masks and images are all read from there. Without the mirror
and without S3 access, the command fails with one line, no traceback.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from gt2yolo_cli.main import main

from samples.detection import SampleJob
from samples.image_tasks import make_classification_job, make_segmentation_job

BUCKET, IMAGES = "stack-bucket", "customer-images"


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere: any request to S3 fails."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


JOBS = {
    "segmentation": lambda: make_segmentation_job(BUCKET, image_bucket=IMAGES),
    "classification": lambda: make_classification_job(BUCKET, image_bucket=IMAGES),
    "multilabel": lambda: make_classification_job(
        BUCKET, "demo-tags", multilabel=True, image_bucket=IMAGES, dataset="tags"
    ),
}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, SampleJob]]]:
    """The sample jobs' buckets synced into one folder: DIR/<bucket>/<key>."""
    root = tmp_path_factory.mktemp("mirror")
    jobs = {name: make() for name, make in JOBS.items()}
    for job in jobs.values():
        for bucket, objects in ((BUCKET, job.objects), (IMAGES, job.image_objects)):
            for key, data in objects.items():
                path = root / bucket / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
    yield root, jobs


def _convert(root: Path, job: SampleJob, out: Path, *extra: str) -> int:
    return main([
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root),
        "--label-config", f"s3://{BUCKET}/{job.config_key}", "--out", str(out), "--no-progress",
        *extra,
    ])  # fmt: skip


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("gt2yolo: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _copied_from_the_mirror(root: Path, out: Path) -> list[dict[str, str]]:
    """images.csv's rows, each image checked against its source in the mirror."""
    rows = _csv(out / "images.csv")
    for row in rows:
        bucket, key = row["source_ref"].removeprefix("s3://").split("/", 1)
        assert (out / row["image"]).read_bytes() == (root / bucket / key).read_bytes()
    return rows


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_a_segmentation_job_converts_from_the_mirror(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a segmentation job's buckets in a mirror folder, and no S3 access
    root, jobs = mirror
    job, out = jobs["segmentation"], tmp_path / "street"

    # When converting its manifest with --s3-mirror
    status = _convert(root, job, out)

    # Then it succeeds and says the task first
    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "task: semantic segmentation -> YOLO segment (polygons)"
    assert "polygons" in printed[1]
    # And every line the sample says converts did, its image copied from the mirror, its
    # polygons traced from the mirror's mask; the label config came from the mirror too
    rows = _copied_from_the_mirror(root, out)
    assert {row["source_ref"] for row in rows} == set(job.truth)
    assert all(int(row["polygons"]) > 0 for row in rows)
    assert (out / "classes.txt").read_text() == "road\ncar\nperson\n"
    assert yaml.safe_load((out / "data.yaml").read_text())["task"] == "segment"
    report = json.loads((out / "report.json").read_text())
    assert {"mask_not_found", "mask_size_mismatch", "mask_unknown_colors"} <= set(
        report["rejected"]
    )


@pytest.mark.parametrize(
    ("name", "task_line"),
    [
        ("classification", "task: image classification -> YOLO classify"),
        ("multilabel", "task: image classification -> YOLO classify (multi-label: labels.csv)"),
    ],
)
def test_a_classification_job_converts_from_the_mirror(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], name: str, task_line: str,
) -> None:  # fmt: skip
    # Given a classification job's buckets in a mirror folder, and no S3 access
    root, jobs = mirror
    job, out = jobs[name], tmp_path / name

    # When converting its manifest with --s3-mirror
    status = _convert(root, job, out)

    # Then it succeeds, says the task, and copied every labeled image from the mirror
    assert status == 0
    assert capsys.readouterr().out.splitlines()[0] == task_line
    rows = _copied_from_the_mirror(root, out)
    assert {row["source_ref"] for row in rows} == set(job.truth)
    # And the classes are the label config's (fish: in the config only, no image has it)
    assert (out / "classes.txt").read_text() == "dog\ncat\nbird\nfish\n"
    if name == "classification":
        assert (out / "train/fish/.keep").is_file()
    else:
        assert (out / "labels.csv").read_text().startswith("image,split,dog,cat,bird,fish\n")


def test_segmentation_options_reach_the_conversion(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path
) -> None:
    # Given the segmentation job
    root, jobs = mirror

    # When converting with the default outline options, and with a coarse tolerance and a
    # minimum area above the sample's smaller regions
    assert _convert(root, jobs["segmentation"], tmp_path / "default") == 0
    assert _convert(root, jobs["segmentation"], tmp_path / "coarse",
                    "--polygon-tolerance", "3", "--min-region-area", "2000") == 0  # fmt: skip

    # Then the report records them, and the coarse dataset has fewer polygons of fewer points
    default = json.loads((tmp_path / "default/report.json").read_text())
    coarse = json.loads((tmp_path / "coarse/report.json").read_text())
    assert (coarse["segmentation"]["polygon_tolerance_px"],
            coarse["segmentation"]["min_region_area_px"]) == (3.0, 2000.0)  # fmt: skip
    assert coarse["boxes"] < default["boxes"]
    assert coarse["dropped_boxes"]["small_region"] > default["dropped_boxes"]["small_region"]
    points = {
        name: sum(
            int(r["points"]) for r in _csv(tmp_path / name / "annot.csv") if r["status"] == "kept"
        )
        for name in ("default", "coarse")
    }
    assert points["coarse"] < points["default"]


@pytest.mark.parametrize(
    ("name", "extra"),
    [("segmentation", []), ("segmentation", ["--images", "skip"]), ("classification", [])],
)
def test_without_the_mirror_and_without_s3_access_the_error_is_one_line(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], name: str, extra: list[str],
) -> None:  # fmt: skip
    # Given a job's manifest and label config on disk, its masks and images only in S3
    root, jobs = mirror
    job = jobs[name]
    manifest = root / BUCKET / job.manifest_key
    config = root / BUCKET / job.config_key

    # When converting without --s3-mirror, with no S3 credentials
    status = main(["convert", str(manifest), "--label-config", str(config),
                   "--out", str(tmp_path / "out"), "--no-progress", *extra])  # fmt: skip

    # Then it fails with one line about S3, writing nothing
    assert status == 1
    message = _one_error_line(capsys)
    assert "S3" in message and "credentials" in message
    assert not (tmp_path / "out").exists()


def test_images_from_and_s3_mirror_together_are_refused(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given both options saying where images are
    root, jobs = mirror

    # When converting
    status = _convert(root, jobs["classification"], tmp_path / "out", "--images-from", str(root))

    # Then it is refused in one line naming both
    assert status == 1
    message = _one_error_line(capsys)
    assert "--images-from" in message and "--s3-mirror" in message
    assert not (tmp_path / "out").exists()


def test_a_label_config_missing_from_the_mirror_is_a_one_line_error(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a label config URI the mirror does not hold
    root, jobs = mirror
    job = jobs["classification"]

    # When converting
    status = main(["convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root),
                   "--label-config", f"s3://{BUCKET}/nowhere/data.json",
                   "--out", str(tmp_path / "out"), "--no-progress"])  # fmt: skip

    # Then it fails in one line naming the file
    assert status == 1
    assert "nowhere/data.json" in _one_error_line(capsys)


@pytest.mark.parametrize("option", ["--polygon-tolerance", "--min-region-area"])
def test_negative_outline_options_are_a_one_line_error(
    mirror: tuple[Path, dict[str, SampleJob]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], option: str,
) -> None:  # fmt: skip
    root, jobs = mirror
    status = _convert(root, jobs["segmentation"], tmp_path / "out", option, "-1")
    assert status == 1
    assert option in _one_error_line(capsys)
