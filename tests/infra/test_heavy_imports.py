"""Heavy libraries stay where a function's layer brings them, read from the source and the
synthesized template.

Pillow comes with the Report function's layer, OpenCV and numpy with the converting functions'
layer; the Lambda runtime has none of them. A module that imports one runs only in a function
whose layer holds it, and the bounding-box path (every cold start of a converter) loads none:
these are the rules, for every function of the template, as the import graph of `lambdas/`
shows them (tests/deploy imports each function as deployed, which proves the cold start).
"""

from __future__ import annotations

import pytest
from aws_cdk import assertions

from stacks.constructs import layers
from tests.import_graph import ImportGraph, import_graph

from .cfn import resources

# The library each layer's first pin brings, as Python imports it.
LIBRARIES = {"pillow": {"PIL"}, "opencv-python-headless": {"cv2", "numpy"}}
HEAVY = set().union(*LIBRARIES.values())


def _layer_libraries(template: assertions.Template) -> dict[str, set[str]]:
    """Layer logical id -> the heavy libraries it brings (by its description's pins)."""
    found: dict[str, set[str]] = {}
    for logical_id, layer in resources(template, "AWS::Lambda::LayerVersion").items():
        pins = layer["Properties"]["Description"].split(" for ")[0].split(", ")
        names = {pin.split("==")[0] for pin in pins}
        found[logical_id] = set().union(*(LIBRARIES.get(n, set()) for n in names))
    return found


def _function_libraries(template: assertions.Template) -> dict[str, set[str]]:
    """Handler module -> the heavy libraries its layers bring."""
    by_layer = _layer_libraries(template)
    functions: dict[str, set[str]] = {}
    for function in resources(template, "AWS::Lambda::Function").values():
        module = function["Properties"]["Handler"].rpartition(".")[0]
        refs = [layer["Ref"] for layer in function["Properties"].get("Layers", [])
                if isinstance(layer, dict) and "Ref" in layer]  # fmt: skip
        libraries = functions.setdefault(module, set())
        libraries.update(*(by_layer[ref] for ref in refs))
    return functions


def _heavy(graph: ImportGraph, modules: set[str]) -> dict[str, set[str]]:
    """Module -> the heavy libraries it imports itself, for the modules that import any."""
    return {m: set(graph.external[m] & HEAVY) for m in sorted(modules) if graph.external[m] & HEAVY}


@pytest.fixture(scope="module")
def functions(template: assertions.Template) -> dict[str, set[str]]:
    found = _function_libraries(template)
    # Not vacuous: the template's functions, and the two layers, are where the rules expect.
    assert {"handlers.convert", "handlers.report", "handlers.resolve"} <= set(found)
    assert found["handlers.report"] == {"PIL"}
    assert found["handlers.convert"] == {"cv2", "numpy"}
    return found


def test_no_cold_start_loads_a_heavy_library_but_the_report_functions_pillow(
    functions: dict[str, set[str]],
) -> None:
    # Given what each handler's module loads when it is imported (no lazy import)
    graph = import_graph()
    cold = {h: _heavy(graph, graph.reachable(h, lazy=False)) for h in functions}
    # Then only the Report function's modules import Pillow at load, and no function loads
    # OpenCV or numpy before a segmentation mask is met
    assert {h: found for h, found in cold.items() if found} == {
        "handlers.report": {"gt2yolo_report.draw": {"PIL"}}
    }


def test_heavy_libraries_are_imported_by_few_modules_each_named_here() -> None:
    # Given every module under lambdas/
    graph = import_graph()
    importing = _heavy(graph, set(graph.files))
    # Then Pillow is the report drawing's, OpenCV and numpy the segmentation masks' (a new
    # importer is a decision: add it here with the function whose layer brings it)
    assert set(importing) == {"gt2yolo_report.draw", _mask_module(graph)}
    assert importing["gt2yolo_report.draw"] == {"PIL"}
    assert importing[_mask_module(graph)] == {"cv2", "numpy"}


def _mask_module(graph: ImportGraph) -> str:
    """The segmentation masks' module (by what it holds: `decode_mask`)."""
    modules = [m for m, path in graph.files.items()
               if "def decode_mask(" in path.read_text(encoding="utf-8")]  # fmt: skip
    assert len(modules) == 1, modules
    return str(modules[0])


def test_the_packaged_layers_are_the_ones_the_rules_know() -> None:
    # Given the layers the stack builds; Then their first pins are libraries named above
    for requirements in (
        layers.OPENCV_REQUIREMENTS,
        layers.REPO_ROOT / "requirements-layer-pillow.txt",
    ):
        first = layers.pinned(requirements)[0].split("==")[0]
        assert first in LIBRARIES, f"{requirements.name}: {first} is not in LIBRARIES"
