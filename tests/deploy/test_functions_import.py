"""Every function of every deploy shape imports as AWS will load it.

Each function starts in its own sandbox built from the synthesized cloud assembly: its code
asset, its layers (stand-ins where a layer is built for arm64), the runtime's SDK, the
template's environment; nothing from the development environment. A function that cannot
import here would fail every invocation in AWS with `Runtime.ImportModuleError`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from localrun.cloud import LocalCloud
from localrun.deployed import RUNTIME_SDK, STAND_INS
from localrun.synth import Assembly, synthesize

WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/labelers"
STREAMING_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:gt-streaming-input"
# The default (the intake on, batch mode), the intake off, each optional capability switched on
# (then all of them at once).
DEPLOY_SHAPES: dict[str, dict[str, Any]] = {
    "default": {},
    "intake off": {"intake": "false"},
    "work team": {"workteamArn": WORKTEAM_ARN},
    "streaming topic": {"streamingInputTopicArn": STREAMING_TOPIC_ARN},
    "kmsKey=create": {"kmsKey": "create"},
    "stopped jobs": {"convertStoppedJobs": "true", "jobNamePrefix": "yolo-"},
    "everything": {
        "workteamArn": WORKTEAM_ARN, "streamingInputTopicArn": STREAMING_TOPIC_ARN,
        "kmsKey": "create", "convertStoppedJobs": "true", "jobNamePrefix": "yolo-",
        "notificationEmail": "ml-team@example.com",
    },
}  # fmt: skip
# Libraries that only a function whose own layer brings them may import.
HEAVY_LIBRARIES = {"PIL": "pillow"}
REPORT_HANDLER = "handlers.report.handler"


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
            if shape.functions[name]["handler"] == REPORT_HANDLER:
                # the Report function draws: its graph needs Pillow, from its own layer
                assert str(STAND_INS / stand_in / "python") in layer_folders
                assert from_own_layer, (name, sandbox.modules)


def test_the_import_path_is_the_asset_then_the_layers_then_the_runtime(shape: LocalCloud) -> None:
    for name in shape.functions:
        path = shape.deployed(name).path
        assert path[0].parent == shape.assembly.directory
        assert path[0].name.startswith("asset.")
        assert path[-1] == RUNTIME_SDK
        assert all(folder.is_dir() for folder in path)


@pytest.fixture(scope="module")
def default_assembly() -> Assembly:
    return synthesize()


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
        [name] = [n for n, spec in cloud.functions.items() if spec["handler"] == REPORT_HANDLER]
        error = cloud.cold_start(name).init_error
    # Then the import fails as it would in AWS
    assert error is not None
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'PIL'" in error["errorMessage"]
