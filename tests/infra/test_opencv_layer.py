"""The OpenCV layer: one layer, for the two functions that convert manifests and no other."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_

from stacks.constructs import layers

from .cfn import function_id, properties, resources
from .synthesis import EVERY_OPTION, Synthesize

CONVERTERS = ["handlers.convert.handler", "handlers.convert_chunk.handler"]
REPORT = "handlers.report.handler"


def _layer(template: assertions.Template, first_pin: str) -> str:
    [layer] = [
        logical_id
        for logical_id, resource in resources(template, "AWS::Lambda::LayerVersion").items()
        if resource["Properties"]["Description"].startswith(first_pin)
    ]
    return layer


def _functions_with(template: assertions.Template, layer: str) -> list[str]:
    return sorted(
        function["Properties"]["Handler"]
        for function in resources(template, "AWS::Lambda::Function").values()
        if {"Ref": layer} in function["Properties"].get("Layers", [])
    )


def test_the_opencv_layer_is_built_for_arm64_python314_from_the_pinned_opencv_and_numpy(
    template: assertions.Template,
) -> None:
    layer = properties(template, _layer(template, "opencv-python-headless=="))
    assert layer["CompatibleRuntimes"] == ["python3.14"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    pins = layers.pinned(layers.OPENCV_REQUIREMENTS)
    assert [pin.split("==")[0] for pin in pins] == ["opencv-python-headless", "numpy"]
    assert layer["Description"].startswith(", ".join(pins) + " for ")


@pytest.mark.parametrize("options", ["default", "every option"])
def test_exactly_convert_and_convert_chunk_have_the_opencv_layer(
    synthesize: Synthesize, options: str
) -> None:
    template = synthesize({} if options == "default" else EVERY_OPTION)
    assert _functions_with(template, _layer(template, "opencv-python-headless==")) == CONVERTERS


def test_report_keeps_only_its_pillow_layer_besides_powertools(
    template: assertions.Template,
) -> None:
    report_layers = properties(template, function_id(template, REPORT))["Layers"]
    ours = [layer for layer in report_layers if set(layer) == {"Ref"}]
    assert ours == [{"Ref": _layer(template, "pillow==")}]


def test_synth_without_the_built_opencv_layer_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a fresh clone where `make layers` has not run
    monkeypatch.setattr(layers, "OPENCV_LAYER_DIR", tmp_path / "missing")
    stack = cdk.Stack(cdk.App(), "Scratch")
    # When the converters' layer is made, Then the error names the command that fixes it
    with pytest.raises(layers.LayerNotBuilt, match="make layers"):
        layers.opencv_layer(stack, lambda_.Runtime.PYTHON_3_14, lambda_.Architecture.ARM_64)
