"""The import rules of `lambdas/`, read from the source (tests/import_graph.py).

- No import circle between files: a module never imports, directly or through others, a module
  that imports it (module level or lazily inside a function: a lazy import only hides one).
- The use cases (`workflow`) see ports only: no AWS SDK and no adapter package.
- The core (`gt2yolo`) imports no handler, use case, adapter or CLI.
"""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import import_graph

# What a use case may not import: the AWS SDK and our adapters of it.
SDK = {"boto3", "botocore", "s3transfer", "aws_lambda_powertools"}
ADAPTERS = "gt2yolo_aws"
OUTER_LAYERS = ("handlers", "workflow", "gt2yolo_aws", "gt2yolo_cli")


def test_the_graph_sees_the_packages_these_rules_are_about() -> None:
    # Given the import graph; Then it holds the packages below (so no rule is vacuous)
    graph = import_graph()
    tops = {module.split(".")[0] for module in graph.files}
    assert tops >= {"gt2yolo", "gt2yolo_aws", "gt2yolo_cli", "handlers", "workflow"}
    assert graph.edges["handlers.convert"], "a handler imports something"


def test_no_module_under_lambdas_imports_itself_through_others() -> None:
    # Given every file under lambdas/ and every import it makes (module level or lazy)
    # Then no group of files imports each other
    circles = import_graph().cycles()
    assert circles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_a_circle_would_be_found(tmp_path: Path) -> None:
    # Given two modules importing each other, one of them lazily
    root = tmp_path / "lambdas"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("from pkg.b import thing\n")
    (root / "pkg" / "b.py").write_text("def thing():\n    from pkg import a\n")
    # Then the check names them
    assert import_graph(root).cycles() == [["pkg.a", "pkg.b"]]


def test_use_cases_import_no_aws_sdk_and_no_adapter() -> None:
    # Given every module of the use cases (workflow)
    graph = import_graph()
    use_cases = [m for m in graph.files if m.split(".")[0] == "workflow"]
    assert use_cases
    # Then none imports boto3, botocore (or Powertools), or gt2yolo_aws, at any level
    wrong = {m: sorted(graph.external[m] & SDK) for m in use_cases if graph.external[m] & SDK}
    wrong |= {m: sorted(e for e in graph.edges[m] if e.split(".")[0] == ADAPTERS)
              for m in use_cases if any(e.split(".")[0] == ADAPTERS for e in graph.edges[m])}  # fmt: skip
    assert not wrong, f"use cases importing the SDK or an adapter: {wrong}"


def test_the_core_imports_nothing_of_the_layers_around_it() -> None:
    # Given the core's modules; Then none imports a handler, use case, adapter or the CLI
    graph = import_graph()
    core = [m for m in graph.files if m.split(".")[0] == "gt2yolo"]
    wrong = {m: sorted(e for e in graph.edges[m] if e.split(".")[0] in OUTER_LAYERS)
             for m in core if any(e.split(".")[0] in OUTER_LAYERS for e in graph.edges[m])}  # fmt: skip
    assert not wrong, f"core modules importing outer layers: {wrong}"
