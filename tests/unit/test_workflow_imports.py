"""The use cases reach AWS only through ports: no module under lambdas/workflow imports boto3,
botocore or the S3 adapters (gt2yolo_aws), at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

WORKFLOW = Path(__file__).resolve().parents[2] / "lambdas" / "workflow"
FORBIDDEN = ("boto3", "botocore", "gt2yolo_aws")


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):  # every import, however deep in a function
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in ("import_module", "__import__"):
            names += [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
    return names


def test_no_workflow_module_imports_boto3_botocore_or_gt2yolo_aws() -> None:
    files = sorted(WORKFLOW.rglob("*.py"))
    assert files, f"no modules under {WORKFLOW}"
    offending = [
        f"{path.relative_to(WORKFLOW)}: {name}"
        for path in files
        for name in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offending == []


def test_the_rule_sees_a_lazy_import() -> None:
    source = "def f():\n    from botocore.exceptions import ClientError\n    import boto3\n"
    assert _imported(ast.parse(source)) == ["botocore.exceptions", "boto3"]
