"""`gt2yolo convert --jobs N`: worker processes convert parts of the manifests; the dataset is the
one `--jobs 1` writes, byte for byte, for every task; small inputs stay in one process.

The size thresholds are lowered here (module constants) so small manifests fan out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.fanout import FanOutPlan
from gt2yolo_cli import jobs
from gt2yolo_cli.main import main
from gt_builders import box, line, ref
from video_builders import mirror_sample

from samples.image_tasks import make_segmentation_job
from samples.video import make_video_job

BUCKET, IMAGES = "stack-bucket", "customer-images"


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere: any request to S3 fails."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[FanOutPlan]:
    """Every fan-out plan the command makes (none: it converted in one pass)."""
    made: list[FanOutPlan] = []
    real = jobs.plan_fan_out

    def recording(*args: Any, **kwargs: Any) -> FanOutPlan:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(jobs, "plan_fan_out", recording)
    return made


@pytest.fixture
def low_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fan out from the first byte and the second sequence, in chunks of any size."""
    monkeypatch.setattr(jobs, "MIN_FAN_OUT_BYTES", 1)
    monkeypatch.setattr(jobs, "MIN_CHUNK_BYTES", 1)
    monkeypatch.setattr(jobs, "MIN_FAN_OUT_SEQUENCES", 2)


def _boxes_manifest(path: Path, count: int = 240) -> Path:
    """Accepted, background, clamped, dropped, malformed and blank lines."""
    lines: list[str] = []
    for i in range(count):
        kind = i % 6
        if kind == 0:
            lines.append(line(ref(f"cam{i % 3}/img{i}.jpg"), [box(0), box(1, left=480, width=90)]))
        elif kind == 1:
            lines.append(line(ref(f"cam{i % 3}/img{i}.png"), []))
        elif kind == 2:
            lines.append('{"source-ref": "s3://bucket/jobs/photos/broken.jpg", "boxes": ')
        elif kind == 3:
            lines.append("")
        elif kind == 4:
            lines.append(line(ref(f"cam{i % 3}/img{i}.jpg"), [box(2, width=0), box(0)]))
        else:
            lines.append(line(ref(f"other/ünï cödé {i}.jpeg"), [box(1, left=-20, top=-20)]))
    path.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _convert_both(
    tmp_path: Path, command: Callable[[Path, str], list[str]]
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    assert main(command(tmp_path / "one", "1")) == 0
    assert main(command(tmp_path / "two", "2")) == 0
    return _tree(tmp_path / "one"), _tree(tmp_path / "two")


@pytest.mark.parametrize("layout", ["folders", "flat"])
@pytest.mark.usefixtures("low_thresholds")
def test_two_jobs_write_the_one_job_dataset_byte_for_byte(
    tmp_path: Path, plans: list[FanOutPlan], layout: str
) -> None:
    # Given a bounding-box manifest above the (lowered) threshold
    manifest = _boxes_manifest(tmp_path / "output.manifest")

    # When converting it with --jobs 1 and --jobs 2
    one, two = _convert_both(tmp_path, lambda out, n: [
        "convert", str(manifest), "--out", str(out), "--images", "skip", "--layout", layout,
        "--test-fraction", "0.1", "--jobs", n, "--no-progress",
    ])  # fmt: skip

    # Then --jobs 2 cut the manifest into several chunks, and both datasets are the same bytes
    assert len(plans) == 1 and len(plans[0].chunks) >= 2
    assert sorted(two) == sorted(one)
    assert two == one
    assert not any(name.startswith("_parts/") for name in two)
    assert json.loads(one["report.json"])["rejected_lines"] > 0


@pytest.mark.usefixtures("low_thresholds")
def test_two_jobs_convert_a_segmentation_job_from_a_mirror_as_one_does(
    tmp_path: Path, plans: list[FanOutPlan]
) -> None:
    # Given the sample segmentation job's buckets in a mirror (masks and images read from there)
    job = make_segmentation_job(BUCKET, image_bucket=IMAGES)
    root = mirror_sample(tmp_path / "mirror", job)

    # When converting it with --jobs 1 and --jobs 2
    one, two = _convert_both(tmp_path, lambda out, n: [
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root),
        "--label-config", f"s3://{BUCKET}/{job.config_key}", "--out", str(out),
        "--jobs", n, "--no-progress",
    ])  # fmt: skip

    # Then the datasets are the same bytes, images and polygons included
    assert len(plans[0].chunks) >= 2
    assert two == one
    assert any(name.startswith("images/") for name in two)
    assert json.loads(one["report.json"])["task"] == "segment"


@pytest.mark.usefixtures("low_thresholds")
def test_two_jobs_convert_a_video_job_by_sequences_as_one_does(
    tmp_path: Path, plans: list[FanOutPlan]
) -> None:
    # Given a tracking job of 6 sequences (and a failed one) in a mirror
    job = make_video_job(BUCKET, sequences=6, frames=6, image_bucket=IMAGES)
    root = mirror_sample(tmp_path / "mirror", job)

    # When converting it with --jobs 1 and --jobs 2, every other frame
    one, two = _convert_both(tmp_path, lambda out, n: [
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root),
        "--label-config", f"s3://{BUCKET}/{job.config_key}", "--out", str(out),
        "--frame-step", "2", "--jobs", n, "--no-progress",
    ])  # fmt: skip

    # Then the plan cut the few short lines by sequences, and the datasets are the same bytes
    assert len(plans[0].chunks) >= 2
    assert two == one
    assert any(name.startswith("mot/") for name in two)


def test_a_small_input_converts_in_one_process(tmp_path: Path, plans: list[FanOutPlan]) -> None:
    # Given a manifest far below 8 MiB
    manifest = _boxes_manifest(tmp_path / "output.manifest", count=30)

    # When converting it with --jobs 2
    status = main(["convert", str(manifest), "--out", str(tmp_path / "out"), "--images", "skip",
                   "--jobs", "2", "--no-progress"])  # fmt: skip

    # Then no fan-out was planned: one pass did it
    assert status == 0
    assert plans == []
    assert (tmp_path / "out/data.yaml").is_file()


@pytest.mark.usefixtures("low_thresholds")
def test_a_failing_worker_fails_the_run_with_one_line_and_leaves_out_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an earlier dataset in --out, and a manifest that is gone once the plan is made
    manifest = _boxes_manifest(tmp_path / "output.manifest")
    out = tmp_path / "out"
    command = ["convert", str(manifest), "--out", str(out), "--images", "skip", "--no-progress"]
    assert main([*command, "--jobs", "1"]) == 0
    before = _tree(out)
    real = jobs.plan_fan_out

    def plan_then_lose_the_manifest(*args: Any, **kwargs: Any) -> FanOutPlan:
        plan = real(*args, **kwargs)
        manifest.unlink()
        manifest.mkdir()  # a folder: unreadable as a file, even by root
        return plan

    monkeypatch.setattr(jobs, "plan_fan_out", plan_then_lose_the_manifest)
    capsys.readouterr()

    # When converting with --jobs 2
    status = main([*command, "--jobs", "2"])

    # Then the run fails with one line, no traceback, and --out is as it was, nothing beside it
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("gt2yolo: error: ") and err.count("\n") == 1
    assert str(manifest) in err
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "output.manifest"]


@pytest.mark.parametrize("value", ["0", "-2"])
def test_jobs_below_1_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    manifest = _boxes_manifest(tmp_path / "output.manifest", count=6)
    status = main(["convert", str(manifest), "--out", str(tmp_path / "out"), "--jobs", value])
    assert status == 1
    assert capsys.readouterr().err == "gt2yolo: error: --jobs must be 1 or more\n"
    assert not (tmp_path / "out").exists()
