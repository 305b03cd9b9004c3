"""No import circles between the modules under lambdas/, module-level or inside functions.

The graph is read from the files (`ast`), not by importing them: `import a.b`, `from a import b`
(an edge to the submodule a.b when b is one, else to a) and relative imports, wherever they
stand in a file (a lazy import inside a function is an edge too: it hides a circle, it does not
remove it). A package's `__init__` is a node of its own: importing a.b runs a/__init__ first,
but that is not an edge of a.b's.
"""

from __future__ import annotations

import ast
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"

# Circles outside the conversion core and the CLI, being removed on another branch: a circle is
# allowed only if all its modules are in such a package (the lead removes this at merge).
KNOWN_CIRCLE_PACKAGES = {
    "gt2yolo.insights",  # the report page and its task sections (the report-page branch)
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LAMBDAS).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(LAMBDAS.rglob("*.py"))}


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules under lambdas/ that the file imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in known else module)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another, directly or not, each sorted: modules a
    and b are in one when each reaches the other (a few hundred modules: plain searches)."""
    reach = {module: _reachable(graph, module) for module in graph}
    found: list[list[str]] = []
    placed: set[str] = set()
    for module in sorted(graph):
        if module in placed or module not in reach[module]:
            continue
        group = sorted(other for other in reach[module] if module in reach[other])
        placed.update(group)
        found.append(group)
    return found


def _known(component: list[str]) -> bool:
    return any(
        all(m == p or m.startswith(p + ".") for m in component) for p in KNOWN_CIRCLE_PACKAGES
    )


def test_the_graph_sees_the_modules_and_their_imports() -> None:
    # Given the import graph of lambdas/
    graph = import_graph()

    # Then it holds the core, the CLI and the handlers, and edges of each kind of import
    assert {"gt2yolo.convert", "gt2yolo.tasks.registry", "gt2yolo_cli.main"} <= set(graph)
    assert "gt2yolo.tasks.registry" in graph["gt2yolo.convert"]  # from a import b
    assert "gt2yolo.tasks.detect" in graph["gt2yolo.tasks.registry"]  # from a import <module>
    assert "gt2yolo.tasks.segment.yolo" in graph["gt2yolo.tasks.segment"]  # inside a function


def test_circles_are_found_and_named() -> None:
    # Given a graph with a circle of three modules and a module outside it
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}

    # Then the circle is found, and only it
    assert circles(graph) == [["a", "b", "c"]]


def test_no_module_under_lambdas_is_in_an_import_circle() -> None:
    # Given the import graph of every file under lambdas/
    graph = import_graph()

    # When looking for circles (outside the packages whose circles are known, for now)
    found = [component for component in circles(graph) if not _known(component)]

    # Then there is none
    assert found == [], "import circles: " + "; ".join(" <-> ".join(c) for c in found)
