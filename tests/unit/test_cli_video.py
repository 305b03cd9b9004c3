"""`gt2yolo convert --s3-mirror DIR --frame-step N` on a video frame job, with no S3 at all.

The sample tracking job (samples.video) is written into a folder laid out as `aws s3
sync` makes it; the manifest, label config, sequence files, SeqLabel.json files and frames are all
read from there. The command says the task and what it found: sequences, frames, tracks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gt2yolo_cli.main import main
from video_builders import mirror_sample

from samples.video import VideoSampleJob, make_video_job

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


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VideoSampleJob]:
    job = make_video_job(BUCKET, image_bucket=IMAGES)  # 2 sequences of 12 frames, 1 failed
    return mirror_sample(tmp_path_factory.mktemp("mirror"), job), job


def _convert(root: Path, job: VideoSampleJob, out: Path, *extra: str) -> int:
    return main([
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(root),
        "--label-config", f"s3://{BUCKET}/{job.config_key}", "--out", str(out), "--no-progress",
        *extra,
    ])  # fmt: skip


def test_frame_step_2_converts_every_other_frame_and_says_what_it_found(
    sample: tuple[Path, VideoSampleJob], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the sample tracking job's buckets in a mirror folder, and no S3 access
    root, job = sample

    # When converting it with --frame-step 2
    status = _convert(root, job, tmp_path / "traffic", "--frame-step", "2")

    # Then it says the task, then the sequences, the frames it kept and the tracks
    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "task: video frames -> YOLO detect (frames split by sequence)"
    assert printed[1] == "2 sequences, 12 frames, 4 tracks (mot/)"
    assert printed[2].startswith("12 images (")
    assert "rejected lines: failed_object 1;" in printed[3]
    # And the dataset holds those frames: 6 of each sequence's 12, with MOT tracks
    report = json.loads((tmp_path / "traffic/report.json").read_text())
    assert report["video"]["frame_step"] == 2 and report["video"]["frames_skipped_by_step"] == 12
    assert sorted(p.name for p in (tmp_path / "traffic/mot").iterdir()) == [
        "street-01",
        "street-02",
    ]


@pytest.mark.parametrize("step", ["0", "-1"])
def test_a_frame_step_below_1_is_refused_with_one_line(
    sample: tuple[Path, VideoSampleJob], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    step: str,
) -> None:  # fmt: skip
    # Given the sample job in a mirror
    root, job = sample

    # When converting with --frame-step 0 (or less)
    status = _convert(root, job, tmp_path / "traffic", "--frame-step", step)

    # Then the command fails with one line naming the option, and writes nothing
    assert status == 1
    err = capsys.readouterr().err
    assert err == "gt2yolo: error: --frame-step must be 1 or more\n"
    assert not (tmp_path / "traffic").exists()
