"""The conversion core is pure: standard library only, so Lambda and the CLI share it as is."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "lambdas" / "gt2yolo"
FORBIDDEN = {"boto3", "botocore", "aws_lambda_powertools", "s3transfer", "pandas"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names}


CORE_FILES = sorted(CORE.rglob("*.py"))  # subpackages too (gt2yolo.insights)
# The one optional accelerator: imported inside `try: ... except ImportError`, never required.
OPTIONAL_IMPORTS = {"manifest.py": {"orjson"}}


def _optional_imports(path: Path) -> set[str]:
    """Modules imported only in the body of a `try` whose handler catches ImportError."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        handled = {
            n.id for h in node.handlers if h.type is not None for n in ast.walk(h.type)
            if isinstance(n, ast.Name)
        }  # fmt: skip
        if "ImportError" not in handled and "ModuleNotFoundError" not in handled:
            continue
        for statement in node.body:
            if isinstance(statement, ast.Import):
                names.update(alias.name.split(".")[0] for alias in statement.names)
    return names


def test_the_core_package_is_where_the_tests_expect_it() -> None:
    # Given the core folder
    # Then it holds the modules this suite covers (so the checks below are not vacuous)
    assert {p.name for p in CORE_FILES} >= {
        "convert.py",
        "manifest.py",
        "geometry.py",
        "storage.py",
        "workers.py",
        "page.py",
    }


@pytest.mark.parametrize(
    "path", CORE_FILES, ids=[p.relative_to(CORE).as_posix() for p in CORE_FILES]
)
def test_no_core_module_imports_aws_or_powertools(path: Path) -> None:
    # Given a module of the core
    # When reading its imports (anywhere in the file, including inside functions)
    imported = _imported_modules(path)

    # Then none is boto3, botocore, Powertools (or pandas)
    assert imported & FORBIDDEN == set()


@pytest.mark.parametrize(
    "path", CORE_FILES, ids=[p.relative_to(CORE).as_posix() for p in CORE_FILES]
)
def test_core_modules_import_only_the_standard_library_and_the_core(path: Path) -> None:
    # Given a module of the core
    # When reading its imports
    imported = _imported_modules(path) - {"__future__"}

    # Then each is a standard-library module or the core itself, or the allowed optional one
    optional = OPTIONAL_IMPORTS.get(path.name, set())
    assert imported - sys.stdlib_module_names - {"gt2yolo"} - optional == set()
    # And that optional one is imported under `except ImportError`, so the core runs without it
    assert optional <= _optional_imports(path)
