"""The local cloud's parts import one another without a circle, and sample data stays apart.

`localrun/` is the local cloud (its parts composed by `localrun.cloud`), the demo and what runs
functions; `samples/` is the sample data the tests, the demo and the benchmarks share. Read from
the source (module-level and lazy imports alike), nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[str, set[str]]:
    """Each module of the package -> the top-level-package-qualified modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        graph[f"{package}.{path.stem}"] = imported
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle among the graph's modules, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done or module not in graph:
            return None
        for imported in sorted(graph[module]):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in graph:
        found = visit(module, [])
        if found:
            return found
    return None


def test_the_local_cloud_has_no_import_circle() -> None:
    assert _cycle(_imports("localrun")) is None


def test_only_the_demo_of_localrun_uses_sample_data() -> None:
    users = {
        module
        for module, imported in _imports("localrun").items()
        if any(name == "samples" or name.startswith("samples.") for name in imported)
    }
    assert users <= {"localrun.demo"}


def test_sample_data_needs_no_local_cloud() -> None:
    for module, imported in _imports("samples").items():
        assert not {name for name in imported if name.split(".")[0] == "localrun"}, module
    assert _cycle(_imports("samples")) is None
