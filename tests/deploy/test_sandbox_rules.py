"""The rules the local cloud loads a function by: which folders a function sees, and when."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localrun import deployed
from localrun.deployed import NotDeployable, managed_layer, usable_layer

ARM_TAG = "cp314-cp314-manylinux_2_28_aarch64"


def _package(folder: Path, name: str, version: str, tag: str) -> None:
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {tag}\n")


def test_a_sandbox_interpreter_starts_with_no_site_packages_and_no_pythonpath() -> None:
    shown = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import sys; print('\\n'.join(sys.path))"],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": "/somewhere"},
    ).stdout.splitlines()  # fmt: skip
    assert not [p for p in shown if "site-packages" in p or p in {"/somewhere", ""}]


def test_a_pure_python_layer_is_used_as_it_is(tmp_path: Path) -> None:
    layer = tmp_path / "layer" / "python"
    _package(layer, "tinylib", "1.0", "py3-none-any")
    assert usable_layer(layer) == layer


def test_an_arm64_layer_is_replaced_by_the_stand_in_with_exactly_its_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = tmp_path / "asset.1" / "python"
    _package(layer, "fastlib", "2.0", ARM_TAG)
    stand_ins = tmp_path / "stand-ins"
    _package(stand_ins / "other" / "python", "fastlib", "2.1", "py3-none-any")  # other version
    _package(stand_ins / "same" / "python", "fastlib", "2.0", "py3-none-any")
    monkeypatch.setattr(deployed, "STAND_INS", stand_ins)
    assert usable_layer(layer) == stand_ins / "same" / "python"


def test_an_arm64_layer_without_a_same_version_stand_in_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = tmp_path / "asset.2" / "python"
    _package(layer, "fastlib", "2.0", ARM_TAG)
    _package(layer, "helper", "1.0", "py3-none-any")
    stand_ins = tmp_path / "stand-ins"
    _package(stand_ins / "partial" / "python", "fastlib", "2.0", "py3-none-any")  # helper missing
    monkeypatch.setattr(deployed, "STAND_INS", stand_ins)
    with pytest.raises(NotDeployable, match=r"fastlib 2\.0, helper 1\.0.*make runtime"):
        usable_layer(layer)


def test_a_stand_in_holding_more_than_the_layer_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a layer of numpy alone, and a stand-in of numpy with OpenCV (another layer's)
    layer = tmp_path / "asset.3" / "python"
    _package(layer, "numpy", "2.4.6", ARM_TAG)
    stand_ins = tmp_path / "stand-ins"
    _package(stand_ins / "opencv" / "python", "numpy", "2.4.6", "py3-none-any")
    _package(stand_ins / "opencv" / "python", "opencv-python-headless", "5.0.0.93", "py3-none-any")
    monkeypatch.setattr(deployed, "STAND_INS", stand_ins)
    # Then the function would see a package its layer does not bring: refused
    with pytest.raises(NotDeployable, match=r"numpy 2\.4\.6"):
        usable_layer(layer)


def test_only_powertools_layers_of_the_runtime_with_recorded_contents_have_a_stand_in() -> None:
    base = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3"
    with pytest.raises(NotDeployable, match="not recorded"):
        managed_layer(f"{base}-python314-arm64:9999")
    with pytest.raises(NotDeployable, match="python312"):
        managed_layer(f"{base}-python312-arm64:27")
    with pytest.raises(NotDeployable, match="no local stand-in"):
        managed_layer("arn:aws:lambda:eu-west-1:123456789012:layer:SomeonesLayer:3")
