"""Is this tree's converter as fast as an earlier revision's? Both, in one run, on one machine.

python -m benchmarks.same_speed --old-rev pre-redesign
python -m benchmarks.same_speed --old-rev REV --rounds 7 --lines 100k --masks 500 --sequences 8

For a change of structure that must not cost time. The old revision's `lambdas/` comes from git
(`git archive`); each task's benchmark job (boxes, segmentation masks, video frames) is converted
by the old and the new code in alternating rounds (old, new, new, old, ...: a neighbour's load
lands on both), one process each, `--jobs 1` (one core: the code's own cost, not the
scheduler's), images skipped, datasets on tmpfs. Reported per task: the median CPU seconds
(user + system, interpreter start included) of each side and the median of the per-round
ratios new/old; wall seconds beside them. CPU time is what a busy machine disturbs least.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.mask_job import mask_jobs
from benchmarks.measure import REPO_ROOT, child_env
from benchmarks.run import default_scratch, parse_size
from benchmarks.same_output import export_lambdas
from benchmarks.synthetic import synthetic_job
from benchmarks.synthetic_video import video_jobs


@dataclass(frozen=True)
class Job:
    task: str
    arguments: list[str]  # gt2yolo convert arguments without --out


@dataclass(frozen=True)
class Timing:
    cpu: float
    wall: float


def jobs(folder: Path, lines: int, masks: int, sequences: int, seed: int) -> list[Job]:
    boxes = synthetic_job(folder / "boxes", lines, seed)
    [mask] = mask_jobs(folder / "masks", [masks], seed)
    [video] = video_jobs(folder / "video", [sequences], 60, seed)
    common = ["--images", "skip", "--no-progress", "--jobs", "1"]
    return [
        Job(f"boxes {lines} lines", [str(boxes.manifest), "--label-attribute",
            boxes.label_attribute, "--label-config", str(boxes.label_config), *common]),
        Job(f"segmentation {masks} masks", [str(mask.manifest), "--s3-mirror", str(mask.mirror),
            "--label-attribute", mask.label_attribute, "--label-config", str(mask.label_config),
            *common]),
        Job(f"video {sequences}x60 frames", [str(video.manifest), "--s3-mirror",
            str(video.mirror), "--label-config", str(video.label_config), *common]),
    ]  # fmt: skip


def timed_convert(lambdas: Path, job: Job, out: Path) -> Timing:
    env = child_env()
    env["PYTHONPATH"] = str(lambdas)
    command = [
        sys.executable,
        "-m",
        "gt2yolo_cli.main",
        "convert",
        *job.arguments,
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{job.task}: {lambdas} exited {process.returncode}")
    shutil.rmtree(out)
    return Timing(usage.ru_utime + usage.ru_stime, wall)


def compare(old: Path, new: Path, job: Job, rounds: int, scratch: Path) -> float:
    times: dict[str, list[Timing]] = {"old": [], "new": []}
    for round_ in range(rounds):
        order = (("old", old), ("new", new)) if round_ % 2 == 0 else (("new", new), ("old", old))
        for tag, lambdas in order:
            times[tag].append(timed_convert(lambdas, job, scratch / f"out-{tag}"))
    ratios = [n.cpu / o.cpu for o, n in zip(times["old"], times["new"], strict=True)]
    ratio = statistics.median(ratios)
    cpu = {tag: statistics.median(t.cpu for t in found) for tag, found in times.items()}
    wall = {tag: statistics.median(t.wall for t in found) for tag, found in times.items()}
    print(f"{job.task}: CPU s old {cpu['old']:.2f} new {cpu['new']:.2f}, new/old {ratio:.3f} "
          f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}); wall s old {wall['old']:.2f} "
          f"new {wall['new']:.2f}", flush=True)  # fmt: skip
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.same_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--old-rev", default="HEAD")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lines", type=parse_size, default=100_000)
    parser.add_argument("--masks", type=int, default=500)
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20240604)
    parser.add_argument("--limit", type=float, default=1.05,
                        help="fail when a median ratio new/old exceeds this (default 1.05)")  # fmt: skip
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gt2yolo-speed-", dir=default_scratch()) as scratch:
        folder = Path(scratch)
        old = export_lambdas(args.old_rev, folder / "old")
        cases = jobs(folder / "jobs", args.lines, args.masks, args.sequences, args.seed)
        ratios = [compare(old, REPO_ROOT / "lambdas", job, args.rounds, folder) for job in cases]
    slower = [f"{job.task} {r:.3f}" for job, r in zip(cases, ratios, strict=True) if r > args.limit]
    print("NO SLOWDOWN" if not slower else f"SLOWER than {args.limit}: {', '.join(slower)}")
    return 1 if slower else 0


if __name__ == "__main__":
    sys.exit(main())
