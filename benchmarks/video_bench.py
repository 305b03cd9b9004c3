"""Video frame jobs: frames/s, peak RSS against a frame floor, and S3 requests per frame.

python -m benchmarks.video_bench                  # 10 and 100 sequences of 300 frames, 3 runs
python -m benchmarks.video_bench --sequences 10,100 --frames 300 --repeat 5 --s3-sequences 10
python -m benchmarks.video_bench floor MANIFEST MIRROR OUT [--copy]     # one contender run
python -m benchmarks.video_bench s3-requests MANIFEST MIRROR CONFIG     # the request count

The job (`synthetic_video.py`) is written once on the scratch file system (tmpfs). Contenders,
each in a fresh process, round-robin, medians of wall time:
- floor: plain CPython, the least a converter of this job must do: per sequence read the
  manifest line, the sequence file and SeqLabel.json; per frame read its header (16 KiB), find
  the JPEG size, write one label file (`class cx cy w h`, boxes neither clamped nor checked).
- floor-copy: the floor plus a `shutil.copyfile` of each frame.
- ours-skip: `gt2yolo convert MANIFEST --s3-mirror DIR --images skip`.
- ours-copy: the same with the frames copied (the default, `--images copy`).
Ours also writes what the floors do not: annot.csv, images.csv, train/val lists, MOT gt.txt
and seqinfo.ini per sequence, data.yaml and report.json, and it validates and clamps every box.

S3 requests: the same conversion as Convert runs it in AWS (S3Manifest, S3Storage, S3ImageSink,
S3Objects on one client) against moto in-process (`mock_aws`), the job uploaded to it; every API
call the client makes is counted by operation (a botocore `before-call` hook).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import REPO_ROOT, child_env, gt2yolo_command
from benchmarks.synthetic_video import OUTPUT_BUCKET, VideoJob, video_job_paths

CONTENDERS = ("floor", "ours-skip", "floor-copy", "ours-copy")
RATIOS = {"ours-skip": "floor", "ours-copy": "floor-copy"}
DEFAULT_SEQUENCES = (10, 100)
DEFAULT_FRAMES = 300
DEFAULT_S3_SEQUENCES = 2
HEAD_BYTES = 16 * 1024  # what ours reads first of each frame (tasks.video.yolo.FIRST_HEAD_BYTES)


@dataclass(frozen=True)
class VideoRun:
    sequences: int
    frames: int
    contender: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


@dataclass(frozen=True)
class VideoRow:
    sequences: int
    frames: int
    contender: str
    runs: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    frames_per_s: float
    x_floor: float | None
    x_floor_cpu: float | None


# -- the floor ---------------------------------------------------------------------------------


def floor(manifest: Path, mirror: Path, out: Path, copy: bool) -> int:
    """Label files (and copies) for every frame of every sequence; returns the frames written."""
    written = 0
    for raw in manifest.open("rb"):
        record = json.loads(raw)
        attribute = next(k for k in record if k.endswith("-ref") and not k.startswith("source"))
        sequence = json.loads(_mirrored(mirror, record["source-ref"]).read_bytes())
        labels = json.loads(_mirrored(mirror, record[attribute]).read_bytes())
        entries = next(iter(labels.values()))
        boxes = {entry["frame"]: entry["annotations"] for entry in entries}
        folder = record["source-ref"].rpartition("/")[2].rpartition(".")[0]
        (out / "labels" / folder).mkdir(parents=True, exist_ok=True)
        if copy:
            (out / "images" / folder).mkdir(parents=True, exist_ok=True)
        prefix = _mirrored(mirror, sequence["prefix"])
        for frame in sequence["frames"]:
            name = frame["frame"]
            with open(prefix / name, "rb") as image:
                width, height = _jpeg_size(image.read(HEAD_BYTES))
            body = "".join(_yolo_row(box, width, height) for box in boxes.get(name, ()))
            stem = name.rpartition(".")[0]
            with open(out / "labels" / folder / f"{stem}.txt", "w", encoding="utf-8") as label:
                label.write(body)
            if copy:
                shutil.copyfile(prefix / name, out / "images" / folder / name)
            written += 1
    return written


def _mirrored(mirror: Path, uri: str) -> Path:
    return mirror / uri.removeprefix("s3://")


def _jpeg_size(head: bytes) -> tuple[int, int]:
    position = 2
    while position + 9 <= len(head):
        marker = head[position + 1]
        (length,) = struct.unpack(">H", head[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return width, height
        position += 2 + length
    raise ValueError("no JPEG start-of-frame in the head")


def _yolo_row(box: dict[str, Any], width: int, height: int) -> str:
    cx = (box["left"] + box["width"] / 2) / width
    cy = (box["top"] + box["height"] / 2) / height
    w, h = box["width"] / width, box["height"] / height
    return f"{box['class-id']} {cx:.6g} {cy:.6g} {w:.6g} {h:.6g}\n"


# -- S3 requests -------------------------------------------------------------------------------


def count_s3_requests(manifest: Path, mirror: Path, label_config: Path) -> dict[str, Any]:
    """Upload the job to moto (in-process), convert it as Convert does, count the client's calls
    by operation (GetObject split into ranged and whole reads)."""
    import boto3
    from gt2yolo import ConversionOptions, convert_manifests
    from gt2yolo.classes import class_list_from_label_config
    from gt2yolo_aws.s3 import S3ImageSink, S3Manifest, S3Objects, S3Storage, s3_client
    from moto import mock_aws

    with mock_aws():
        setup = boto3.client("s3", region_name="us-east-1")
        for bucket in sorted(p.name for p in mirror.iterdir()):
            setup.create_bucket(Bucket=bucket)
            for path in sorted((mirror / bucket).rglob("*")):
                if path.is_file():
                    key = path.relative_to(mirror / bucket).as_posix()
                    setup.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        client = s3_client()
        calls: Counter[str] = Counter()

        kinds: Counter[str] = Counter()
        sends: Counter[str] = Counter()

        def count(model: Any, params: dict[str, Any], **_: Any) -> None:
            ranged = model.name == "GetObject" and "Range" in params
            calls[f"{model.name} (ranged)" if ranged else model.name] += 1
            kinds[f"{model.name} {_kind(str(params.get('Key', '')), ranged)}"] += 1

        def sent(event_name: str, **_: Any) -> None:
            sends[event_name] += 1  # each HTTP attempt: more than calls if any were retried

        client.meta.events.register("before-parameter-build.s3", count)
        client.meta.events.register("before-send.s3", sent)
        manifest_uri = f"s3://{manifest.relative_to(mirror).as_posix()}"
        config = class_list_from_label_config(label_config.read_bytes(), str(label_config))
        options = ConversionOptions(label_attribute="traffic-ref", class_list=config)
        storage = S3Storage(f"s3://{OUTPUT_BUCKET}/datasets/bench/", client)
        started = time.perf_counter()
        try:
            result = convert_manifests(
                [S3Manifest(manifest_uri, client)], storage, options, S3ImageSink(storage),
                objects=S3Objects(client),
            )  # fmt: skip
        finally:
            storage.close()
        seconds = time.perf_counter() - started
    report = result.report
    return {"frames": report["images"], "sequences": report["lines"], "calls": dict(calls),
            "by_kind": dict(sorted(kinds.items())), "attempts": sum(sends.values()),
            "seconds": seconds}  # fmt: skip


def _kind(key: str, ranged: bool) -> str:
    """What a request's key is: a frame's header, a sequence's file, a dataset file's folder."""
    if ranged:
        return "frame header"
    if key.endswith(".manifest"):
        return "manifest"
    if key.endswith("SeqLabel.json"):
        return "SeqLabel.json"
    if key.startswith("groundtruth/input/"):
        return "sequence file"
    if key.startswith("datasets/bench/"):
        folder, slash, _ = key.removeprefix("datasets/bench/").partition("/")
        return f"{folder}/" if slash and folder in ("labels", "images", "mot") else folder
    return key


# -- the runs ----------------------------------------------------------------------------------


def command_for(contender: str, job: VideoJob, out: Path) -> list[str]:
    if contender.startswith("floor"):
        copy = ["--copy"] if contender == "floor-copy" else []
        module = [sys.executable, "-m", "benchmarks.video_bench", "floor"]
        return [*module, str(job.manifest), str(job.mirror), str(out), *copy]
    images = "skip" if contender == "ours-skip" else "copy"
    return [
        *gt2yolo_command(), "convert", str(job.manifest), "--s3-mirror", str(job.mirror),
        "--out", str(out), "--images", images, "--no-progress",
        "--label-attribute", job.label_attribute, "--label-config", str(job.label_config),
    ]  # fmt: skip


def run_once(contender: str, job: VideoJob, scratch: Path) -> VideoRun:
    """One fresh process into a fresh folder; its label files counted, then the folder deleted."""
    out = Path(tempfile.mkdtemp(prefix=f"video-{contender}-{job.sequences}-", dir=scratch))
    target = out / "dataset"  # ours swaps its staged output in: --out must not exist yet
    log = scratch / f"video-{contender}-{job.sequences}.log"
    os.sync()
    try:
        with log.open("wb") as output:
            started = time.perf_counter()
            process = subprocess.Popen(command_for(contender, job, target), cwd=REPO_ROOT,
                                       env=child_env(), stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{contender} exited {process.returncode}:\n{tail}")
        labels = sum(len(files) for _, _, files in os.walk(target / "labels"))
        if labels != job.frames:
            raise RuntimeError(f"{contender}: {labels} label files for {job.frames} frames")
        cpu = usage.ru_utime + usage.ru_stime
        return VideoRun(job.sequences, job.frames, contender, wall, cpu, usage.ru_maxrss / 1024)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def summarize(runs: Sequence[VideoRun]) -> list[VideoRow]:
    rows: list[VideoRow] = []
    for sequences in sorted({r.sequences for r in runs}):
        for contender in CONTENDERS:
            mine = [r for r in runs if r.sequences == sequences and r.contender == contender]
            if not mine:
                continue
            wall = statistics.median(r.wall_s for r in mine)
            cpu = statistics.median(r.cpu_s for r in mine)
            rss = max(r.peak_rss_mb for r in mine)
            rows.append(VideoRow(sequences, mine[0].frames, contender, len(mine), wall, cpu, rss,
                                 mine[0].frames / wall, None, None))  # fmt: skip
    return [_with_ratios(r, {(f.sequences, f.contender): f for f in rows}) for r in rows]


def _with_ratios(row: VideoRow, rows: dict[tuple[int, str], VideoRow]) -> VideoRow:
    floor_row = rows.get((row.sequences, RATIOS.get(row.contender, "")))
    if floor_row is None:
        return row
    ratios = {"x_floor": row.wall_s / floor_row.wall_s, "x_floor_cpu": row.cpu_s / floor_row.cpu_s}
    return VideoRow(**{**asdict(row), **ratios})


HEADER = ("sequences x frames", "contender", "runs", "median wall s", "frames/s", "CPU s",
          "peak RSS MB", "x floor", "x floor CPU")  # fmt: skip


def cells(row: VideoRow) -> tuple[str, ...]:
    return (
        f"{row.sequences} x {row.frames // row.sequences} ({row.frames:,})", row.contender,
        str(row.runs), f"{row.wall_s:.2f}", f"{row.frames_per_s:,.0f}", f"{row.cpu_s:.2f}",
        f"{row.peak_rss_mb:.1f}", "-" if row.x_floor is None else f"{row.x_floor:.2f}x",
        "-" if row.x_floor_cpu is None else f"{row.x_floor_cpu:.2f}x",
    )  # fmt: skip


def requests_lines(counted: dict[str, Any]) -> list[str]:
    frames = counted["frames"]
    total = sum(counted["calls"].values())
    lines = [f"S3 requests, {counted['sequences']} sequences x "
             f"{frames // max(counted['sequences'], 1)} frames ({frames:,} frames, moto "
             f"in-process, {counted['seconds']:.1f} s): {total:,} in all, "
             f"{total / frames:.3f} per frame"]  # fmt: skip
    lines += [f"  {name}: {n:,} ({n / frames:.3f} per frame)"
              for name, n in sorted(counted["calls"].items())]  # fmt: skip
    return lines


def run_video_benchmark(scratch: Path, seed: int, repeat: int,
                        sequences: Sequence[int] = DEFAULT_SEQUENCES, frames: int = DEFAULT_FRAMES,
                        s3_sequences: int = DEFAULT_S3_SEQUENCES) -> dict[str, Any]:  # fmt: skip
    """The whole scenario: the job generated under `scratch`, every size run round-robin over
    the contenders `repeat` times, then (s3_sequences > 0) the request count; a JSON-ready
    document with the table as text and Markdown lines."""
    started = time.perf_counter()
    sizes = sorted(set(sequences) | ({s3_sequences} if s3_sequences else set()))
    folder = scratch / "video-job"
    generate = [sys.executable, "-m", "benchmarks.synthetic_video", str(folder),
                ",".join(map(str, sizes)), str(frames), str(seed)]  # fmt: skip
    subprocess.run(generate, cwd=REPO_ROOT, env=child_env(), check=True)
    jobs = {job.sequences: job for job in video_job_paths(folder, sizes, frames)}
    print(f"video: {max(sizes)} sequences x {frames} frames generated in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    runs: list[VideoRun] = []
    for count in sorted(set(sequences)):
        for attempt in range(1, repeat + 1):
            for contender in CONTENDERS:
                run = run_once(contender, jobs[count], scratch)
                runs.append(run)
                print(f"  {count} x {frames}, run {attempt}/{repeat} {contender:10} "
                      f"{run.wall_s:7.2f} s {run.cpu_s:7.2f} s CPU {run.peak_rss_mb:6.1f} MB",
                      flush=True)  # fmt: skip
    rows = summarize(runs)
    document: dict[str, Any] = {
        "runs": [asdict(r) for r in runs],
        "rows": [asdict(r) for r in rows],
    }
    table = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    document["text"] = "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                                 for line in table)  # fmt: skip
    document["markdown"] = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER),
                            *("| " + " | ".join(cells(r)) + " |" for r in rows)]  # fmt: skip
    if s3_sequences:
        job = jobs[s3_sequences]
        with tempfile.TemporaryDirectory(prefix="video-s3-", dir=scratch) as s3_folder:
            subset = _mirror_of(job, Path(s3_folder))
            output = subprocess.run(
                [sys.executable, "-m", "benchmarks.video_bench", "s3-requests",
                 str(subset / job.manifest.relative_to(job.mirror)), str(subset),
                 str(job.label_config)],
                cwd=REPO_ROOT, env=child_env(), check=True, capture_output=True, text=True,
            )  # fmt: skip
        counted = json.loads(output.stdout)
        document["s3_requests"] = counted
        document["text"] += "\n\n" + "\n".join(requests_lines(counted))
        first, *rest = requests_lines(counted)
        document["markdown"] += ["", f"- {first}", *(f"  - {line.strip()}" for line in rest)]
    document["seconds"] = time.perf_counter() - started
    document["text"] += f"\n\nvideo scenario: {document['seconds']:.0f} s in all"
    return document


def _mirror_of(job: VideoJob, folder: Path) -> Path:
    """A mirror holding only what `job`'s manifest refers to (moto holds every object in
    memory: the 100-sequence job's 30,000 frames would only slow the upload)."""
    mirror = folder / "mirror"
    wanted = [job.manifest]
    for raw in job.manifest.open("rb"):
        record = json.loads(raw)
        sequence_file = _mirrored(job.mirror, record["source-ref"])
        wanted += [sequence_file, _mirrored(job.mirror, record[job.label_attribute])]
        prefix = json.loads(sequence_file.read_bytes())["prefix"]
        wanted += sorted(_mirrored(job.mirror, prefix).iterdir())
    for path in wanted:
        target = mirror / path.relative_to(job.mirror)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return mirror


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["floor"]:
        manifest, mirror, out = (Path(a) for a in argv[1:4])
        print(f"frames {floor(manifest, mirror, out, copy='--copy' in argv[4:])}")
        return 0
    if argv[:1] == ["s3-requests"]:
        manifest, mirror, config = (Path(a) for a in argv[1:4])
        print(json.dumps(count_s3_requests(manifest, mirror, config)))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.video_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--sequences", type=_int_list, default=list(DEFAULT_SEQUENCES))
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--s3-sequences", type=int, default=DEFAULT_S3_SEQUENCES,
                        help="sequences of the job whose S3 requests are counted (0: none)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=20240604)
    parser.add_argument("--scratch", type=Path, default=Path("/dev/shm"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gt2yolo-video-", dir=args.scratch) as scratch:
        document = run_video_benchmark(Path(scratch), args.seed, args.repeat, args.sequences,
                                       args.frames, args.s3_sequences)  # fmt: skip
    print()
    print(document["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
