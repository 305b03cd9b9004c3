"""`gt2yolo convert --export rekognition,sagemaker`: the manifests name images by S3 URI, so the
command needs to know where the dataset will be: --export-base, or an s3:// --out itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from gt2yolo_cli.main import EXIT_UNUSABLE_INPUT, main
from gt_builders import Workspace, box, line, ref
from moto import mock_aws

REGION = "us-east-1"
BUCKET = "training-datasets"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An emulated S3 (moto) with the bucket the dataset is written to."""
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def _manifest(workspace: Workspace) -> Path:
    return workspace.manifest([line(ref(f"cam/{i}.jpg"), [box(i % 2)]) for i in range(6)])


def _convert(manifest: Path, out: str, *extra: str) -> int:
    return main(["convert", str(manifest), "--out", out, "--images", "skip", "--no-progress",
                 "--val-fraction", "0", *extra])  # fmt: skip


@pytest.mark.parametrize("export", ["rekognition", "sagemaker", "coco,sagemaker"])
def test_a_manifest_export_without_export_base_is_an_input_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], export: str
) -> None:
    # Given a local --out and an export naming images by S3 URI, without --export-base
    # When converting
    status = _convert(_manifest(workspace), str(workspace.out), "--export", export)

    # Then it fails as other input errors do, in one line saying what to give; nothing written
    err = capsys.readouterr().err
    assert status == EXIT_UNUSABLE_INPUT
    assert err.startswith("gt2yolo: error: ") and err.count("\n") == 1
    assert "--export-base s3://BUCKET/PREFIX/" in err
    assert not workspace.out.exists()


def test_an_export_base_that_is_no_s3_folder_is_an_input_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _convert(_manifest(workspace), str(workspace.out), "--export", "rekognition",
                      "--export-base", "/data/pets")  # fmt: skip
    assert status == EXIT_UNUSABLE_INPUT
    assert "not an s3://BUCKET/PREFIX/ URI" in capsys.readouterr().err


def test_coco_alone_needs_no_export_base(workspace: Workspace) -> None:
    assert _convert(_manifest(workspace), str(workspace.out), "--export", "coco") == 0
    assert (workspace.out / "exports/coco/train.json").is_file()


def test_export_base_starts_every_source_ref(workspace: Workspace) -> None:
    # Given --export-base without its closing slash
    status = _convert(_manifest(workspace), str(workspace.out), "--export",
                      "rekognition,sagemaker", "--export-base", f"s3://{BUCKET}/pets")  # fmt: skip

    # Then every line of both exports names its image under that folder
    assert status == 0
    for name in ("rekognition/train.manifest", "sagemaker/train.manifest"):
        lines = (workspace.out / "exports" / name).read_text().splitlines()
        assert len(lines) == 6
        for text in lines:
            key = json.loads(text)["source-ref"].removeprefix(f"s3://{BUCKET}/pets/")
            label = Path(key.removeprefix("images/")).with_suffix(".txt")
            assert (workspace.out / "labels" / label).is_file()


def test_an_s3_out_is_the_default_export_base(workspace: Workspace, s3: Any) -> None:
    # Given an s3:// --out and no --export-base
    out = f"s3://{BUCKET}/datasets/pets/"

    # When converting with the manifest exports
    status = _convert(_manifest(workspace), out, "--export", "rekognition,sagemaker")

    # Then the manifests, written there, name the images under --out
    assert status == 0
    for key in ("rekognition/train.manifest", "sagemaker/train.manifest"):
        body = s3.get_object(Bucket=BUCKET, Key=f"datasets/pets/exports/{key}")["Body"].read()
        refs = [json.loads(text)["source-ref"] for text in body.decode().splitlines()]
        assert len(refs) == 6 and all(r.startswith(out + "images/train/") for r in refs)
