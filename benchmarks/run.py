"""`make bench`: generate manifests, run each contender in fresh processes, print the tables.

python -m benchmarks.run                      # boxes: 10k, 100k lines; masks: 500, 2k images
python -m benchmarks.run --with-1m            # plus 1M lines (ours and floor)
python -m benchmarks.run --sizes 10k --repeat 5 --contenders ours,floor
python -m benchmarks.run --scenarios masks --mask-sizes 500,2k --repeat 5
python -m benchmarks.run --s3                 # plus the S3 write-throughput micro-benchmark
python -m benchmarks.run --video-sequences 0  # without the video frame scenario
python -m benchmarks.run --incremental-lines 0  # without the incremental rerun (local cloud)
python -m benchmarks.run --backfill-jobs 0      # without the throttled backfill (local cloud)
python -m benchmarks.run --collection-images 0  # without growing a collection (local cloud)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.mask_job import mask_jobs
from benchmarks.measure import (
    BOXES,
    CONTENDER_NAMES,
    MASKS,
    RunResult,
    run_once,
    warm_page_cache,
)
from benchmarks.report import (
    Target,
    check_mask_targets,
    check_targets,
    mask_text_table,
    summarize,
    summarize_masks,
    targets_text,
    text_table,
    write_outputs,
)
from benchmarks.synthetic import synthetic_job

DEFAULT_SEED = 20240604
DEFAULT_OUT = "bench-output"
# The blog's algorithm is quadratic: ~1 min at 10k lines, hours at 100k. Above this size it is
# extrapolated from the largest measured size, and the table says so.
DEFAULT_BASELINE_MAX = 10_000
SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_size(text: str) -> int:
    """`10000`, `10k`, `1M` -> lines."""
    text = text.strip().lower().replace("_", "")
    factor = SUFFIXES.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in SUFFIXES else text
    size = int(float(number) * factor)
    if size <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text}")
    return size


def parse_sizes(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def parse_counts(text: str) -> list[int]:
    """Sizes where 0 means "none" (`--video-sequences 0` leaves the scenario out)."""
    return [
        0 if part.strip() == "0" else parse_size(part) for part in text.split(",") if part.strip()
    ]


def parse_contenders(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(CONTENDER_NAMES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown contender(s) {unknown}; use {CONTENDER_NAMES}")
    return names


def parse_scenarios(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - {BOXES, MASKS})
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scenario(s) {unknown}; use {BOXES},{MASKS}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--scenarios", type=parse_scenarios, default=[BOXES, MASKS],
                        help="boxes (bounding-box manifests), masks (semantic segmentation "
                        "masks against the mask floor); default both")  # fmt: skip
    parser.add_argument("--sizes", type=parse_sizes, default=[10_000, 100_000],
                        help="boxes: manifest sizes in lines, comma separated (default 10k,100k)")  # fmt: skip
    parser.add_argument("--mask-sizes", type=parse_sizes, default=[500, 2_000],
                        help="masks: job sizes in images (640x480 masks; default 500,2k)")  # fmt: skip
    parser.add_argument("--with-1m", action="store_true",
                        help="add 1M lines (about 0.6 GB manifest, 1M label files per run)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per size and contender; the table shows medians (default 3)")  # fmt: skip
    parser.add_argument("--repeat-large", type=int, default=1, metavar="N",
                        help="runs at sizes of 1M lines and more (default 1)")  # fmt: skip
    parser.add_argument("--baseline-repeat", type=int, default=1, metavar="N",
                        help="runs of the baseline (about 3 min at 10k lines; default 1)")  # fmt: skip
    parser.add_argument("--contenders", type=parse_contenders, default=list(CONTENDER_NAMES),
                        help="comma separated subset of baseline,floor,ours")  # fmt: skip
    parser.add_argument("--baseline-max", type=parse_size, default=DEFAULT_BASELINE_MAX,
                        help="largest size the quadratic baseline runs at (default 10k)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                        help="results folder (default bench-output/; manifests cached there)")  # fmt: skip
    parser.add_argument("--scratch", type=Path, default=default_scratch(),
                        help="where contenders write their datasets (default: /dev/shm when "
                        "it exists, else the system temp folder)")  # fmt: skip
    parser.add_argument("--s3", action="store_true",
                        help="also run the S3 write-throughput micro-benchmark (moto server)")  # fmt: skip
    parser.add_argument("--s3-objects", type=int, default=500,
                        help="objects per S3 run (0, 20 and 50 ms added latency, 3 runs each)")  # fmt: skip
    # 10 and 30 sequences add ~45 s to `make bench`; 10,100 (30,000 frames) adds ~2.5 min.
    parser.add_argument("--video-sequences", type=parse_counts, default=[10, 30],
                        help="video: job sizes in sequences of 300 frames (default 10,30; 0: "
                        "no video scenario; see benchmarks/video_bench.py)")  # fmt: skip
    parser.add_argument("--video-s3-sequences", type=int, default=2,
                        help="video: sequences whose S3 requests are counted (moto; 0: none)")  # fmt: skip
    parser.add_argument("--incremental-lines", type=int, default=10_000,
                        help="S3 requests of a rerun after 1%% of the lines changed, against a "
                        "full run, on the local cloud (0: none; benchmarks/incremental_bench.py)")  # fmt: skip
    parser.add_argument("--collection-images", type=int, default=10_000,
                        help="images of a collection a 1%% member is added to, on the local "
                        "cloud (0: none; benchmarks/collection_bench.py)")  # fmt: skip
    parser.add_argument("--backfill-jobs", type=int, default=200,
                        help="past jobs backfilled under throttling on the local cloud, each "
                        "started exactly once (0: none; benchmarks/backfill_bench.py)")  # fmt: skip
    return parser


def default_scratch() -> Path | None:
    # tmpfs: on small VMs creating a file on disk costs ~1 ms and varies from run to run, which
    # would drown the converters' own cost (the thing the floor ratio is about) in disk noise.
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def filesystem_of(path: Path) -> str:
    """The file system type holding `path` (Linux /proc/mounts), for the record."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    resolved, best, kind = str(path.resolve()), "", "unknown"
    for entry in mounts:
        fields = entry.split()
        point = fields[1]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if len(fields) > 2 and inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def machine_info(seed: int, scratch: Path) -> dict[str, Any]:
    return {
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "scratch": f"{scratch} ({filesystem_of(scratch)})",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": seed,
    }


def planned(args: argparse.Namespace, size: int) -> list[str]:
    return [c for c in args.contenders if c != "baseline" or size <= args.baseline_max]


def bench_size(args: argparse.Namespace, size: int, scratch: Path) -> list[RunResult]:
    started = time.perf_counter()
    job = synthetic_job(args.out / "manifests", size, args.seed)
    print(f"{size:,} lines: manifest {job.manifest.stat().st_size / 1e6:,.0f} MB "
          f"({time.perf_counter() - started:.1f} s to generate or find)", flush=True)  # fmt: skip
    warm_page_cache(job.manifest)
    repeat = args.repeat_large if size >= 1_000_000 else args.repeat
    results: list[RunResult] = []
    # Round-robin over contenders, so a slow drift of the machine hits all of them alike.
    for attempt in range(1, repeat + 1):
        for contender in planned(args, size):
            if contender == "baseline" and attempt > args.baseline_repeat:
                continue
            result = run_once(contender, job, scratch)
            results.append(result)
            print(f"  run {attempt}/{repeat} {contender:8} {result.wall_s:8.2f} s "
                  f"{result.peak_rss_mb:7.1f} MB", flush=True)  # fmt: skip
    return results


def bench_masks(args: argparse.Namespace, scratch: Path) -> list[RunResult]:
    """The segmentation job generated once on the scratch file system (tmpfs), then each size
    run round-robin over the mask floor and ours."""
    started = time.perf_counter()
    sizes = sorted(set(args.mask_sizes))
    jobs = mask_jobs(scratch / "masks-job", sizes, args.seed)
    print(f"masks: {max(sizes):,} masks of 640x480 generated in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    contenders = [c for c in args.contenders if c in ("floor", "ours")]
    results: list[RunResult] = []
    for job in jobs:
        for attempt in range(1, args.repeat + 1):
            for contender in contenders:
                result = run_once(contender, job, scratch)
                results.append(result)
                print(f"  {job.lines:,} masks, run {attempt}/{args.repeat} {contender:8} "
                      f"{result.wall_s:8.2f} s {result.cpu_s:8.2f} s CPU "
                      f"{result.peak_rss_mb:7.1f} MB", flush=True)  # fmt: skip
    return results


def bench_incremental(args: argparse.Namespace) -> dict[str, Any] | None:
    """The incremental rerun scenario (benchmarks/incremental_bench.py): S3 requests counted by
    the local cloud, not timed."""
    if args.incremental_lines <= 0:
        return None
    from benchmarks.incremental_bench import run

    print(f"incremental rerun: {args.incremental_lines} lines on the local cloud", flush=True)
    return run(args.incremental_lines, 0.01)


def incremental_target(result: dict[str, Any]) -> Target:
    from benchmarks.incremental_bench import TARGET_RATIO

    return Target(
        f"incremental rerun (1% of lines changed) <= {TARGET_RATIO:.0%} of a full run's S3 "
        "requests",
        "PASS" if result["target_met"] else "FAIL",
        f"{result['ratio_all']:.2%} ({result['ratio_conversion']:.2%} for Convert..Publish)",
    )


def bench_backfill(args: argparse.Namespace) -> dict[str, Any] | None:
    """The throttled backfill (benchmarks/backfill_bench.py), unless --backfill-jobs 0."""
    if args.backfill_jobs <= 0:
        return None
    from benchmarks.backfill_bench import run

    print(f"backfill: {args.backfill_jobs} past jobs on the local cloud, throttled", flush=True)
    return run(args.backfill_jobs)


def bench_collection(args: argparse.Namespace) -> dict[str, Any] | None:
    """A 1% member added to a collection (benchmarks/collection_bench.py), unless 0 images."""
    if args.collection_images <= 0:
        return None
    from benchmarks.collection_bench import run

    print(f"collection: {args.collection_images} images on the local cloud", flush=True)
    return run(args.collection_images, max(1, args.collection_images // 100))


def add_collection(
    collection: dict[str, Any] | None, extra: dict[str, Any], targets: list[Target]
) -> None:
    """Print the collection scenario (if run), keep its result and its target."""
    if collection is None:
        return
    extra["collection"] = collection
    targets.append(collection_target(collection))


def collection_target(collection: dict[str, Any]) -> Target:
    from benchmarks.collection_bench import TARGET_RATIO
    from benchmarks.collection_bench import text as collection_text

    print()
    print(collection_text(collection))
    big = collection["collection"]
    return Target(
        f"a 1% member added to a collection of {big['images']} images <= "
        f"{TARGET_RATIO:.0%} of a full conversion's S3 requests",
        "PASS" if collection["target_met"] else "FAIL",
        f"{big['ratio']:.2%}; time of adding it at {big['images']} vs "
        f"{collection['half_collection']['images']} images: x{collection['time_growth']:.2f}",
    )


def bench_video(args: argparse.Namespace, scratch: Path) -> dict[str, Any] | None:
    """The video frame scenario (benchmarks/video_bench.py), unless --video-sequences 0."""
    sequences = [n for n in args.video_sequences if n > 0]
    if not sequences:
        return None
    from benchmarks.video_bench import run_video_benchmark

    return run_video_benchmark(scratch, args.seed, args.repeat, sequences,
                               s3_sequences=args.video_s3_sequences)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = sorted(set(args.sizes + ([1_000_000] if args.with_1m else [])))
    if BOXES not in args.scenarios:
        sizes = []
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="gt2yolo-bench-", dir=args.scratch) as scratch:
        machine = machine_info(args.seed, Path(scratch))
        print(f"scratch: {machine['scratch']}", flush=True)
        for size in sizes:
            results += bench_size(args, size, Path(scratch))
        if MASKS in args.scenarios:
            results += bench_masks(args, Path(scratch))
        video = bench_video(args, Path(scratch))
    incremental = bench_incremental(args)
    backfill = bench_backfill(args)
    collection = bench_collection(args)
    machine["load_average_at_end"] = round(os.getloadavg()[0], 2)
    rows = summarize(results, sizes)
    mask_rows = summarize_masks(results)
    targets = (check_targets(rows) if sizes else []) + (
        check_mask_targets(mask_rows) if MASKS in args.scenarios else []
    )
    extra: dict[str, Any] = {}
    if args.s3:
        from benchmarks.s3_throughput import run_s3_benchmark

        extra["s3"] = run_s3_benchmark(args.s3_objects)
    for table in ([text_table(rows)] if rows else []) + (
        [mask_text_table(mask_rows)] if mask_rows else []
    ):
        print()
        print(table)
    print()
    print(targets_text(targets))
    if video:
        extra["video"] = video
        print()
        print(video["text"])
    if incremental:
        extra["incremental"] = incremental
        print()
        from benchmarks.incremental_bench import text as incremental_text

        print(incremental_text(incremental))
        targets.append(incremental_target(incremental))
    if backfill:
        extra["backfill"] = backfill
        from benchmarks.backfill_bench import text as backfill_text

        print()
        print(backfill_text(backfill))
        targets.append(
            Target(
                f"backfill of {backfill['jobs']} past jobs, throttled: every job started once",
                "PASS" if backfill["target_met"] else "FAIL",
                f"{backfill['starts']} starts, {backfill['duplicates']} duplicates, "
                f"{sum(backfill['throttles'].values())} throttles, {backfill['seconds']} s",
            )
        )
    add_collection(collection, extra, targets)
    json_path, md_path = write_outputs(args.out, machine, results, rows, targets, extra, mask_rows)
    if video:
        with md_path.open("a", encoding="utf-8") as markdown:
            markdown.write("\nVideo frame job:\n\n" + "\n".join(video["markdown"]) + "\n")
    print(f"\nwritten: {json_path}, {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
