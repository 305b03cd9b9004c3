"""Every function of every deploy shape imports as AWS will load it.

Each function starts in its own sandbox built from the synthesized cloud assembly: its code
asset, its layers (stand-ins where a layer is built for arm64), the runtime's SDK, the
template's environment; nothing from the development environment. A function that cannot
import here would fail every invocation in AWS with `Runtime.ImportModuleError`.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localrun.cloud import LocalCloud
from localrun.deployed import RUNTIME_SDK, STAND_INS, DeployedFunction
from localrun.synth import Assembly, synthesize
from stacks.constructs.layers import OPENCV_REQUIREMENTS, pinned

WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/labelers"
STREAMING_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:gt-streaming-input"
# The default (the intake and live datasets on, batch mode), both off, each optional capability
# switched on (then all of them at once).
DEPLOY_SHAPES: dict[str, dict[str, Any]] = {
    "default": {},
    "intake and live datasets off": {"intake": "false", "liveIntervalMinutes": "0"},
    "work team": {"workteamArn": WORKTEAM_ARN},
    "streaming topic": {"streamingInputTopicArn": STREAMING_TOPIC_ARN},
    "kmsKey=create": {"kmsKey": "create"},
    "stopped jobs": {"convertStoppedJobs": "true", "jobNamePrefix": "yolo-"},
    "everything": {
        "workteamArn": WORKTEAM_ARN, "streamingInputTopicArn": STREAMING_TOPIC_ARN,
        "kmsKey": "create", "convertStoppedJobs": "true", "jobNamePrefix": "yolo-",
        "liveIntervalMinutes": "5",
        "notificationEmail": "ml-team@example.com", "imageBuckets": "customer-images,archive/gt/",
        "imageKmsKeys": "arn:aws:kms:us-east-1:123456789012:key/0e5c1e6a-1111-4222-8333-944455556666",
    },
}  # fmt: skip
# Libraries that only a function whose own layer brings them may import (-> that layer).
HEAVY_LIBRARIES = {"PIL": "pillow", "cv2": "opencv", "numpy": "opencv"}
REPORT_HANDLER = "handlers.report.handler"
# The functions that convert manifests carry the OpenCV layer, but only a segmentation
# conversion imports it (lazily, through gt2yolo.tasks.segment.masks): a bounding-box cold
# start does not.
CONVERTER_HANDLERS = ("handlers.convert.handler", "handlers.convert_chunk.handler")


@pytest.fixture(scope="module", params=list(DEPLOY_SHAPES), ids=list(DEPLOY_SHAPES))
def shape(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    with LocalCloud(synthesize(DEPLOY_SHAPES[request.param])) as cloud:
        yield cloud


def test_every_function_of_the_deploy_shape_imports_with_only_its_asset_layers_and_runtime(
    shape: LocalCloud,
) -> None:
    failures = {}
    for name in shape.functions:
        sandbox = shape.cold_start(name)
        if sandbox.init_error is not None:
            failures[name] = (
                f"{sandbox.init_error['errorType']}: {sandbox.init_error['errorMessage']}"
            )
    assert shape.functions, "the template has no function of ours"
    assert not failures, failures


def test_heavy_libraries_are_imported_only_by_functions_whose_layers_bring_them(
    shape: LocalCloud,
) -> None:
    for name in shape.functions:
        sandbox = shape.cold_start(name)
        loaded = {module for modules in sandbox.modules.values() for module in modules}
        layer_folders = {str(folder) for folder in shape.deployed(name).path[1:-1]}
        for module, stand_in in HEAVY_LIBRARIES.items():
            from_own_layer = any(
                module in sandbox.modules.get(folder, []) for folder in layer_folders
            )
            assert module not in loaded or from_own_layer, (name, module)
            if shape.functions[name].handler == REPORT_HANDLER and module == "PIL":
                # the Report function draws: its graph needs Pillow, from its own layer
                assert str(STAND_INS / stand_in / "python") in layer_folders
                assert from_own_layer, (name, sandbox.modules)


def test_the_converters_have_the_opencv_layer_and_do_not_import_it_at_cold_start(
    shape: LocalCloud,
) -> None:
    converters = [n for n, f in shape.functions.items() if f.handler in CONVERTER_HANDLERS]
    assert len(converters) == len(CONVERTER_HANDLERS)
    for name in converters:
        sandbox = shape.cold_start(name)
        assert sandbox.init_error is None, sandbox.init_error
        assert STAND_INS / "opencv" / "python" in shape.deployed(name).path
        loaded = {module for modules in sandbox.modules.values() for module in modules}
        assert not loaded & {"cv2", "numpy"}, (name, sandbox.modules)


def test_the_import_path_is_the_asset_then_the_layers_then_the_runtime(shape: LocalCloud) -> None:
    for name in shape.functions:
        path = shape.deployed(name).path
        assert path[0].parent == shape.assembly.directory
        assert path[0].name.startswith("asset.")
        assert path[-1] == RUNTIME_SDK
        assert all(folder.is_dir() for folder in path)


def test_a_report_function_without_its_pillow_layer_cannot_import(
    default_assembly: Assembly,
) -> None:
    # Given the default template with the Pillow layer taken off the Report function
    template = copy.deepcopy(default_assembly.template)
    [report] = [
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == REPORT_HANDLER
    ]  # fmt: skip
    layers = report["Properties"]["Layers"]
    report["Properties"]["Layers"] = [layer for layer in layers if not isinstance(layer, dict) or
                                      "Ref" not in layer]  # fmt: skip
    assert len(report["Properties"]["Layers"]) == len(layers) - 1
    # When its sandbox starts
    with LocalCloud(Assembly(default_assembly.directory, template)) as cloud:
        [name] = [n for n, spec in cloud.functions.items() if spec.handler == REPORT_HANDLER]
        error = cloud.cold_start(name).init_error
    # Then the import fails as it would in AWS
    assert error is not None
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'PIL'" in error["errorMessage"]


# Run in an interpreter started as the sandbox's (`-I -S`) on a function's import path.
IMPORT_OPENCV = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from importlib.metadata import version
import cv2, numpy
mask = numpy.zeros((8, 8), numpy.uint8)
mask[2:6, 2:6] = 1
contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
print(json.dumps({
    "cv2": cv2.__version__, "cv2_file": cv2.__file__, "numpy": numpy.__version__,
    "opencv-python-headless": version("opencv-python-headless"), "corners": len(contours[0]),
}))
"""


def _run_on_path(path: tuple[Path, ...], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, json.dumps([str(p) for p in path])],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120, check=False,
    )  # fmt: skip


def test_the_converters_import_opencv_and_numpy_at_the_pinned_versions_from_their_layer(
    deployed_by_handler: dict[str, DeployedFunction],
) -> None:
    pins = dict(pin.split("==") for pin in pinned(OPENCV_REQUIREMENTS))
    for handler in CONVERTER_HANDLERS:
        run = _run_on_path(deployed_by_handler[handler].path, IMPORT_OPENCV)
        assert run.returncode == 0, (handler, run.stderr)
        found = json.loads(run.stdout)
        assert found["opencv-python-headless"] == pins["opencv-python-headless"]
        # OpenCV's own version is the package's without the wheel build (5.0.0 of 5.0.0.93)
        assert pins["opencv-python-headless"].startswith(found["cv2"] + ".")
        assert found["numpy"] == pins["numpy"]
        assert found["cv2_file"].startswith(str(STAND_INS / "opencv" / "python"))
        assert found["corners"] == 4  # a square mask's outline, simplified: it really runs


@pytest.mark.parametrize("module", ["cv2", "numpy"])
def test_a_function_without_the_opencv_layer_cannot_import_it(
    deployed_by_handler: dict[str, DeployedFunction], module: str
) -> None:
    others = {h: f for h, f in deployed_by_handler.items() if h not in CONVERTER_HANDLERS}
    assert REPORT_HANDLER in others and len(others) == len(deployed_by_handler) - 2
    code = f"import json, sys; sys.path[:0] = json.loads(sys.argv[1]); import {module}"
    for handler, function in others.items():
        run = _run_on_path(function.path, code)
        assert run.returncode != 0, handler
        assert f"No module named '{module}'" in run.stderr, (handler, run.stderr)
