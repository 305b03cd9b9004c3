"""The import graph of the Lambda code (`lambdas/`), read from the source with `ast`.

Every import counts, at module level or inside a function (a lazy import runs the day its
branch does: for a rule about what a module may load, it is an import like any other). An
import of a name from a package counts as an import of its submodule when one of that name
exists (`from gt2yolo import masks` imports `gt2yolo.masks`), and importing a submodule
imports each package above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parents[1] / "lambdas"


@dataclass(frozen=True)
class ImportGraph:
    # module -> the modules under lambdas/ its import statements name
    edges: Mapping[str, frozenset[str]]
    # module -> what of that runs when the module loads (no import in a function body or for
    # type checkers only): what a cold start loads
    eager: Mapping[str, frozenset[str]]
    # module -> the packages above what it imports, whose __init__ runs first (loaded, but
    # not named: no part of an import circle between files)
    parents: Mapping[str, frozenset[str]]
    # module -> the top-level names of everything else it imports (stdlib, third party)
    external: Mapping[str, frozenset[str]]
    files: Mapping[str, Path]

    def reachable(self, start: str, *, lazy: bool = True) -> set[str]:
        """`start` and every module under lambdas/ it may load, directly or through others;
        `lazy=False`: only what loading it loads."""
        seen = {start}
        todo = [start]
        named = self.edges if lazy else self.eager
        while todo:
            current = todo.pop()
            loaded = named.get(current, frozenset()) | self.parents.get(current, frozenset())
            for module in loaded - seen:
                seen.add(module)
                todo.append(module)
        return seen

    def cycles(self) -> list[list[str]]:
        """Each strongly connected group of two or more modules (or a module importing
        itself), as a sorted list; sorted by their first module."""
        return sorted(sorted(group) for group in _strongly_connected(self.edges))


def module_name(path: Path, root: Path = LAMBDAS) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def import_graph(root: Path = LAMBDAS) -> ImportGraph:
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    edges: dict[str, frozenset[str]] = {}
    eager: dict[str, frozenset[str]] = {}
    parents: dict[str, frozenset[str]] = {}
    external: dict[str, frozenset[str]] = {}
    for module, path in files.items():
        named: set[str] = set()
        at_load: set[str] = set()
        above: set[str] = _parents(module, files)
        outside: set[str] = set()
        for statement in _import_statements(module, path):
            found = [(n, _resolve(n, files)) for n in statement.names]
            inside = {resolved for _, resolved in found if resolved is not None}
            outside.update(n.split(".")[0] for n, resolved in found if resolved is None)
            # `from package import submodule` names the submodule; the package only runs.
            if statement.base is not None:
                base = _resolve(statement.base, files)
                if base is not None and not inside - {base}:
                    inside.add(base)
                elif base is None:
                    outside.add(statement.base.split(".")[0])
            named.update(inside)
            if not statement.lazy:
                at_load.update(inside)
            for resolved in inside:
                above.update(_parents(resolved, files))
        edges[module] = frozenset(named - {module})
        eager[module] = frozenset(at_load - {module})
        parents[module] = frozenset(above - named - {module})
        external[module] = frozenset(outside - {""})
    return ImportGraph(edges, eager, parents, external, files)


@dataclass(frozen=True)
class _Statement:
    names: tuple[str, ...]  # what `import a.b` names, or `from base import x` may (base.x)
    base: str | None  # `from base import ...`
    lazy: bool  # inside a function, or only for type checkers: not run when the module loads


def _import_statements(module: str, path: Path) -> Iterator[_Statement]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    deferred = {id(n) for block in _deferred_blocks(tree) for n in ast.walk(block)}
    for node in ast.walk(tree):
        lazy = id(node) in deferred
        if isinstance(node, ast.Import):
            yield _Statement(tuple(alias.name for alias in node.names), None, lazy)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = tuple(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
            yield _Statement(names, base, lazy)


def _deferred_blocks(tree: ast.Module) -> Iterator[ast.AST]:
    """Function bodies and `if TYPE_CHECKING:` blocks: their imports don't run at load."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from node.body


def _resolve(name: str, files: Mapping[str, Path]) -> str | None:
    """The module under lambdas/ that `name` is, if any (`a.b.func` of module a.b is a.b)."""
    if name in files:
        return name
    head = name.rpartition(".")[0]
    return head if head in files else None


def _parents(module: str, files: Mapping[str, Path]) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))} & set(files)


def _strongly_connected(edges: Mapping[str, frozenset[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or through others (a hundred
    modules: reachability from each is fast enough, and plain to read)."""
    graph = ImportGraph(edges, edges, {}, {}, {})
    reach = {module: graph.reachable(module) for module in edges}
    groups: list[set[str]] = []
    placed: set[str] = set()
    for module in sorted(edges):
        if module in placed:
            continue
        group = {other for other in reach[module] if module in reach.get(other, ())}
        placed |= group
        if len(group) > 1 or module in edges[module]:
            groups.append(group)
    return groups
