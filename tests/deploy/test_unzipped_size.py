"""What Lambda unzips for a function (its code and every layer) stays under Lambda's limit.

Lambda refuses a function whose code and layers together exceed 250 MiB unzipped ("Unzipped
size must be smaller than 262144000 bytes"). Measured on what ships: the code asset, each layer
we build as built for arm64 (not its x86_64 stand-in), and the stand-in of the managed
Powertools layer (the same package versions, built for this machine).
"""

from __future__ import annotations

from pathlib import Path

from localrun.deployed import STAND_INS, DeployedFunction
from stacks.constructs.layers import BUILT_LAYERS_DIR

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes: 250 MiB
CONVERTER_HANDLERS = ("handlers.convert.handler", "handlers.convert_chunk.handler")


def _size(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file())


def _shipped(function: DeployedFunction) -> dict[str, Path]:
    """The code asset and each layer's folder as it ships (our arm64 build for a stand-in)."""
    shipped = {"code": function.path[0]}
    for folder in function.path[1:-1]:
        layer = folder.parent.name
        is_stand_in = folder.parent.parent == STAND_INS
        built = BUILT_LAYERS_DIR / layer
        shipped[layer] = built if is_stand_in and built.is_dir() else folder
    return shipped


def test_the_converters_ship_their_code_the_powertools_layer_and_the_arm64_opencv_layer(
    deployed_by_handler: dict[str, DeployedFunction],
) -> None:
    for handler in CONVERTER_HANDLERS:
        shipped = _shipped(deployed_by_handler[handler])
        assert set(shipped) == {"code", "powertools", "opencv"}
        assert shipped["opencv"] == BUILT_LAYERS_DIR / "opencv"


def test_every_function_fits_in_lambdas_unzipped_size_limit(
    deployed_by_handler: dict[str, DeployedFunction],
) -> None:
    sizes = {
        handler: {part: _size(folder) for part, folder in _shipped(function).items()}
        for handler, function in deployed_by_handler.items()
    }
    too_big = {
        h: parts for h, parts in sizes.items() if sum(parts.values()) >= LAMBDA_UNZIPPED_LIMIT
    }
    assert not too_big, too_big
