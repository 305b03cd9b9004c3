"""One timed run of one contender in a fresh process: wall time and that process's peak RSS.

`os.wait4` returns the rusage of exactly the child waited for; RUSAGE_CHILDREN would instead
report the largest of all children so far, hiding a smaller contender behind a larger one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.mask_job import MaskJob
from benchmarks.synthetic import SyntheticJob

REPO_ROOT = Path(__file__).resolve().parent.parent
# ours: `gt2yolo convert` as a user runs it (every core: --jobs defaults to os.cpu_count());
# ours-jobs1: the same with --jobs 1 (one process); ours-coco: ours writing the COCO export too
# (what the pipeline writes by default), so its cost is a ratio to ours in the same run.
CONTENDER_NAMES = ("baseline", "floor", "ours", "ours-jobs1", "ours-coco")
# Scenarios: bounding-box manifests (size in lines) and segmentation jobs (size in masks).
BOXES, MASKS = "boxes", "masks"


@dataclass(frozen=True)
class RunResult:
    size: int
    contender: str
    wall_s: float
    peak_rss_mb: float
    label_files: int
    cpu_s: float = 0.0  # user + system CPU of the process (threads add up)
    scenario: str = BOXES


class ContenderFailed(RuntimeError):
    """A contender exited non-zero or wrote the wrong number of label files."""


def gt2yolo_command() -> list[str]:
    # The installed console script, as a user runs it; the module as a fallback (no install).
    script = Path(sys.executable).parent / "gt2yolo"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gt2yolo_cli.main"]


def command_for(contender: str, job: SyntheticJob | MaskJob, out: Path) -> list[str]:
    module = [sys.executable, "-m", "benchmarks.contenders"]
    if isinstance(job, MaskJob):
        if contender == "floor":
            mask_attribute = f"{job.label_attribute}-ref"
            return [*module, "mask-floor", str(job.manifest), str(job.mirror), mask_attribute]
        return [
            *gt2yolo_command(), "convert", str(job.manifest), "--out", str(out),
            "--s3-mirror", str(job.mirror), "--images", "skip", "--no-progress",
            "--label-attribute", job.label_attribute, "--label-config", str(job.label_config),
        ]  # fmt: skip
    if contender in ("ours", "ours-jobs1", "ours-coco"):
        return [
            *gt2yolo_command(), "convert", str(job.manifest), "--out", str(out),
            "--images", "skip", "--no-progress", "--label-attribute", job.label_attribute,
            "--label-config", str(job.label_config),
            *(["--jobs", "1"] if contender == "ours-jobs1" else []),
            *(["--export", "coco"] if contender == "ours-coco" else []),
        ]  # fmt: skip
    return [*module, contender, str(job.manifest), str(out), job.label_attribute]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO_ROOT / "lambdas"), str(REPO_ROOT)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def timed_process(command: Sequence[str], log: Path) -> tuple[float, float, float, int]:
    """(wall seconds, peak RSS in MB, CPU seconds, exit code) of one process, interpreter
    start included."""
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=child_env(), stdout=output, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, cpu, process.returncode  # ru_maxrss is KiB on Linux


def count_label_files(out: Path) -> int:
    count = 0
    for _, _, files in os.walk(out / "labels"):
        count += sum(1 for name in files if name.endswith(".txt"))
    return count


def masks_traced(log: Path) -> int:
    """How many masks the mask floor says it traced (its last line: `masks N contours M`)."""
    lines = log.read_text(errors="replace").split("\n")
    words = next((line.split() for line in reversed(lines) if line.startswith("masks ")), [])
    return int(words[1]) if len(words) == 4 else -1


def run_once(contender: str, job: SyntheticJob | MaskJob, scratch: Path) -> RunResult:
    """Convert into a fresh folder, check the label count, then delete the folder."""
    scenario = MASKS if isinstance(job, MaskJob) else BOXES
    out = Path(tempfile.mkdtemp(prefix=f"{scenario}-{contender}-{job.lines}-", dir=scratch))
    log = scratch / f"{scenario}-{contender}-{job.lines}.log"
    # Write back the previous run's files first, so its I/O is not billed to this run.
    os.sync()
    try:
        wall, rss, cpu, code = timed_process(command_for(contender, job, out), log)
        if code != 0:
            tail = log.read_text(errors="replace")[-2000:]
            raise ContenderFailed(f"{contender} at {job.lines} lines exited {code}:\n{tail}")
        # The mask floor writes nothing: it reports the masks it traced instead.
        floor_of_masks = scenario == MASKS and contender == "floor"
        labels = masks_traced(log) if floor_of_masks else count_label_files(out)
        if labels != job.lines:
            made = "traced masks" if floor_of_masks else "label files"
            raise ContenderFailed(f"{contender}: {labels} {made} for {job.lines} lines")
        return RunResult(job.lines, contender, wall, rss, labels, cpu, scenario)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def warm_page_cache(path: Path) -> None:
    """Read the manifest once so every contender reads it from memory, not the first one only."""
    with path.open("rb") as stream:
        while stream.read(8 * 1024 * 1024):
            pass
