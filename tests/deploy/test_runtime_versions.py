"""The packages a function sees here are the versions AWS runs.

The development Powertools equals the one in the layer version the stack references; the
runtime stand-in holds the runtime's SDK and nothing else; each layer we build holds its pins,
built for Lambda, and its stand-in holds exactly the same packages.
"""

from __future__ import annotations

from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.tags import cpython_tags, parse_tag

from localrun.deployed import RUNTIME_SDK, STAND_INS, distributions, managed_layer
from localrun.synth import synthesize
from localrun.template import Resolver
from stacks.constructs.functions import POWERTOOLS_LAYER_CONTENTS
from stacks.constructs.layers import BUILT_LAYERS_DIR
from stacks.settings import DEFAULT_POWERTOOLS_LAYER_VERSION

REPO = Path(__file__).resolve().parents[2]
# The wheels the python3.14 runtime on arm64 can load (Amazon Linux 2023: glibc 2.34).
LAMBDA_PLATFORMS = [f"manylinux_2_{minor}_aarch64" for minor in range(34, 16, -1)]
LAMBDA_TAGS = set(
    cpython_tags(python_version=(3, 14), platforms=[*LAMBDA_PLATFORMS, "manylinux2014_aarch64"])
)
BUILT_LAYERS = ["pillow", "opencv"]  # build/layers/<name>, from requirements-layer-<name>.txt


def _pins(requirements: str) -> set[tuple[str, str]]:
    lines = (REPO / requirements).read_text(encoding="utf-8").splitlines()
    pins = [line.split("==") for line in lines if "==" in line and not line.startswith("#")]
    return {(name.split("[")[0].strip().lower().replace("_", "-"), v.strip()) for name, v in pins}


def test_development_powertools_is_the_version_inside_the_default_layer() -> None:
    in_layer = POWERTOOLS_LAYER_CONTENTS[DEFAULT_POWERTOOLS_LAYER_VERSION]
    assert version("aws-lambda-powertools") == in_layer
    assert ("aws-lambda-powertools", in_layer) in _pins("requirements-dev.txt")


def test_the_default_template_layer_maps_to_the_stand_in_of_that_powertools_version() -> None:
    template = synthesize().template
    arns = {
        Resolver("us-east-1", "123456789012").resolve(layer)
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        for layer in resource["Properties"].get("Layers", [])
        if "Fn::Join" in layer
    }
    assert arns == {
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:"
        f"{DEFAULT_POWERTOOLS_LAYER_VERSION}"
    }
    in_layer = POWERTOOLS_LAYER_CONTENTS[DEFAULT_POWERTOOLS_LAYER_VERSION]
    assert ("aws-lambda-powertools", in_layer) in distributions(managed_layer(arns.pop()))


def test_the_powertools_stand_in_holds_the_layer_packages_and_not_the_runtime_sdk() -> None:
    held = distributions(STAND_INS / "powertools" / "python")
    assert held == _pins("requirements-layer-powertools.txt")
    assert not {name for name, _ in held} & {"boto3", "botocore", "s3transfer", "jmespath"}


def test_the_runtime_stand_in_holds_only_the_sdk_at_the_pinned_version() -> None:
    assert distributions(RUNTIME_SDK) == _pins("requirements-lambda-runtime.txt")
    names = {name for name, _ in distributions(RUNTIME_SDK)}
    assert "aws-lambda-powertools" not in names and "pydantic" not in names


@pytest.mark.parametrize("layer", BUILT_LAYERS)
def test_each_layer_we_build_holds_its_pins_built_for_lambda_python314_arm64(layer: str) -> None:
    folder = BUILT_LAYERS_DIR / layer / "python"
    assert distributions(folder) == _pins(f"requirements-layer-{layer}.txt")
    for wheel in folder.glob("*.dist-info/WHEEL"):
        tags = Parser().parsestr(wheel.read_text(encoding="utf-8"), headersonly=True)
        assert {t for line in tags.get_all("Tag") or [] for t in parse_tag(line)} & LAMBDA_TAGS
    # no bytecode compiled for this machine's Python (Lambda's 3.14 would never read it)
    assert not list(folder.rglob("*.pyc"))


@pytest.mark.parametrize("layer", BUILT_LAYERS)
def test_each_layer_stand_in_holds_exactly_what_its_layer_holds(layer: str) -> None:
    stand_in = distributions(STAND_INS / layer / "python")
    assert stand_in == distributions(BUILT_LAYERS_DIR / layer / "python")
    assert stand_in == _pins(f"requirements-layer-{layer}.txt")
