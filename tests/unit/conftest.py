"""Fixtures of the unit suite. The manifest builders live in `gt_builders` (imported by the tests
directly: a module named `conftest` is ambiguous when several test folders have one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gt_builders import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A temporary folder for manifests and the dataset converted from them."""
    return Workspace(tmp_path)
