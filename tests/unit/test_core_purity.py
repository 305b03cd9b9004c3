"""The conversion core is pure: standard library only, so Lambda and the CLI share it as is.

One exception: semantic segmentation masks are traced with OpenCV and numpy, in the segmentation
task's `masks.py` only, which only the segmentation writer imports, and the segmentation task
imports that only for a segmentation job: the bounding-box path never loads them.
"""

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
# The segmentation task's libraries (the converting functions' OpenCV layer brings them).
HEAVY_IMPORTS = {"tasks/segment/masks.py": {"cv2", "numpy"}}


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
        "masks.py",
        "registry.py",
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
    optional = OPTIONAL_IMPORTS.get(path.relative_to(CORE).as_posix(), set())
    heavy = HEAVY_IMPORTS.get(path.relative_to(CORE).as_posix(), set())
    assert imported - sys.stdlib_module_names - {"gt2yolo"} - optional - heavy == set()
    # And that optional one is imported under `except ImportError`, so the core runs without it
    assert optional <= _optional_imports(path)


def _top_level_imports(path: Path) -> set[str]:
    """Modules (full dotted names) imported at module level, not inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _importers_of(module: str) -> dict[str, bool]:
    """Core files importing `module` -> whether they do at module level."""
    found = {}
    for path in CORE_FILES:
        everywhere = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        if module in everywhere:
            found[path.relative_to(CORE).as_posix()] = module in _top_level_imports(path)
    return found


def test_only_the_segmentation_writer_imports_the_mask_tracer() -> None:
    # Given the core's files
    # Then the mask tracer (OpenCV, numpy) is imported by the segmentation writer alone, and only
    # where it traces masks (so a fan-out's merge writes a segmentation dataset without OpenCV)
    assert _importers_of("gt2yolo.tasks.segment.masks") == {"tasks/segment/yolo.py": False}
    # And that writer only from inside a function (for a segmentation job), never at import
    assert _importers_of("gt2yolo.tasks.segment.yolo") == {"tasks/segment/task.py": False}


def test_a_bounding_box_conversion_never_loads_opencv_or_numpy(tmp_path: Path) -> None:
    # Given a bounding-box manifest, converted in a fresh interpreter
    import subprocess
    import textwrap

    manifest = tmp_path / "out.manifest"
    manifest.write_text(
        '{"source-ref": "s3://b/a.jpg", "boxes": {"image_size": [{"width": 10, "height": 10}], '
        '"annotations": [{"class_id": 0, "left": 1, "top": 1, "width": 5, "height": 5}]}, '
        '"boxes-metadata": {"type": "groundtruth/object-detection", "class-map": {"0": "cat"}}}\n'
    )
    script = textwrap.dedent(f"""
        import sys
        from gt2yolo import ConversionOptions, convert_manifests
        from gt2yolo.storage import LocalManifest, LocalStorage
        result = convert_manifests([LocalManifest({str(manifest)!r})],
                                   LocalStorage({str(tmp_path / "out")!r}), ConversionOptions())
        assert result.report["boxes"] == 1
        print(sorted(m for m in ("cv2", "numpy") if m in sys.modules))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(CORE.parent), "PATH": ""},
    )  # fmt: skip

    # Then neither OpenCV nor numpy was imported
    assert done.stdout.strip() == "[]"
