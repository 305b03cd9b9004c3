"""The Lambda layers we build ourselves: native wheels for Lambda's python3.14 on arm64.

`make layers` fills one folder per layer under `build/layers/` from its requirements file
(`pip install --platform manylinux... --only-binary=:all: --no-deps`): no Docker, and synth
stays offline once built. A function gets a layer only if its own imports need what the layer
holds (tests/deploy/test_functions_import.py walks them).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILT_LAYERS_DIR = REPO_ROOT / "build" / "layers"
# Semantic segmentation masks become YOLO polygons with OpenCV's contours (needs numpy).
OPENCV_LAYER_DIR = BUILT_LAYERS_DIR / "opencv"
OPENCV_REQUIREMENTS = REPO_ROOT / "requirements-layer-opencv.txt"


class LayerNotBuilt(RuntimeError):
    """The layer folder is not built: synth would ship functions that cannot import."""


def built_layer(
    scope: Construct,
    construct_id: str,
    *,
    folder: Path,
    package: str,
    requirements: Path,
    used_by: str,
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
) -> lambda_.LayerVersion:
    """The layer of `folder` (built from `requirements`; `package` proves it is built)."""
    if not (folder / "python" / package).is_dir():
        raise LayerNotBuilt(
            f"the {construct_id} is not built ({folder}/python/{package} is missing): "
            "run `make layers` (or `make install`) first"
        )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(str(folder)),
        compatible_runtimes=[runtime],
        compatible_architectures=[architecture],
        description=f"{', '.join(pinned(requirements))} for {used_by}",
    )


def pinned(requirements: Path) -> list[str]:
    """The pinned requirements a layer is built from (`name==x.y.z`), in the file's order."""
    lines = requirements.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def opencv_layer(
    scope: Construct, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> lambda_.LayerVersion:
    """OpenCV and numpy, for the functions that convert manifests (Convert, ConvertChunk)."""
    return built_layer(
        scope,
        "OpenCvLayer",
        folder=OPENCV_LAYER_DIR,
        package="cv2",
        requirements=OPENCV_REQUIREMENTS,
        used_by="the Convert and ConvertChunk functions (segmentation masks)",
        runtime=runtime,
        architecture=architecture,
    )
