"""The segmentation benchmark's job as the contenders see it: paths, attribute, size.

Light on purpose: the runner imports it, and a child's peak RSS (`ru_maxrss`) starts from the
runner's own RSS at the fork, so the runner must not load OpenCV or numpy. The masks are drawn
by `synthetic_masks` in a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LABEL_ATTRIBUTE = "street"
MIRROR = "mirror"


@dataclass(frozen=True)
class MaskJob:
    """What a contender needs to know about one size of the generated job."""

    manifest: Path
    mirror: Path
    label_config: Path
    label_attribute: str
    lines: int


def manifest_path(folder: Path, size: int) -> Path:
    return folder / f"segmentation-{size}.manifest"


def label_config_path(folder: Path) -> Path:
    return folder / "label-config.json"


def mask_jobs(folder: Path, sizes: list[int], seed: int) -> list[MaskJob]:
    """Generate the job under `folder` (a child process), one manifest per size, smallest first."""
    sizes = sorted(set(sizes))
    command = [sys.executable, "-m", "benchmarks.synthetic_masks", str(folder), str(seed)]
    subprocess.run([*command, *map(str, sizes)], check=True, cwd=Path(__file__).parent.parent)
    config = label_config_path(folder)
    return [
        MaskJob(manifest_path(folder, size), folder / MIRROR, config, LABEL_ATTRIBUTE, size)
        for size in sizes
    ]
