"""Byte-for-byte: does this tree's converter write what an earlier revision wrote?

python -m benchmarks.same_output                  # segmentation, against b52510c
python -m benchmarks.same_output --old-rev REV --images 2000
python -m benchmarks.same_output --task boxes     # bounding boxes, against HEAD
python -m benchmarks.same_output --task boxes --old-rev REV --lines 20k --fuzz 300
python -m benchmarks.same_output --task classify  # image classification, against HEAD
python -m benchmarks.same_output --task video     # video frames, against HEAD
python -m benchmarks.same_output --task demo      # the demo's published datasets, against HEAD
python -m benchmarks.same_output --task all --old-rev REV   # all of these, against REV

For a speed-up that must not change a byte. On tmpfs, with the old revision's `lambdas/` taken
from git (`git archive`):
- datasets: `gt2yolo convert` of the benchmark's segmentation job and of the sample segmentation job (samples/)
  (palette, RGB and RGBA masks, a ring, a speck, a missing mask, a wrong size, a stray color),
  each with the default rules and three other tolerance / minimum-area settings, run by the old
  and the new code; every file of the two datasets compared.
- functions: old and new `decode_mask`, `trace_mask` and `polygon_row` on random masks
  (random colors, stray colors, transparency, odd sizes) and on points off the mask.
- `--task boxes`: the benchmark's box manifest (default rules, flat layout, a test split,
  `--jobs 2`, no label config), a manifest of awkward lines (colliding names, a source-ref
  labeled twice, fields csv quotes, escapes, dropped boxes, rejected lines) under four rules,
  and the unit suite's fuzz manifests: every file, the exit code and the error output compared.
- `--task classify`: the single- and multi-label sample jobs (images in another bucket,
  copied) under five rules and from class-maps alone, the first also through `gt2yolo report`
  (report.html and previews compared), and manifests of awkward lines (classes unknown or
  missing, names colliding by case and extension, a source-ref labeled twice, failed lines).
- `--task video`: the tracking and detection sample jobs and the video benchmark's job
  under five rules (frame step, flat layout, --jobs 2, splits), the samples also through
  `gt2yolo report`.
- `--task demo`: `make demo` run by the old revision's whole tree and by this one (the local
  cloud, every function as deployed): every file of every published dataset compared, version
  ids aside (a time and a random salt).
"""

from __future__ import annotations
import __future__  # its feature flags: compiling an old revision's functions

import argparse
import ast
import filecmp
import functools
import importlib.util
import io
import json
import random
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import cv2
import numpy as np

from benchmarks.mask_job import mask_jobs
from benchmarks.measure import REPO_ROOT, child_env
from benchmarks.run import default_scratch, parse_size
from benchmarks.synthetic import synthetic_job

DEFAULT_OLD_REV = "b52510c"
TASKS = ("all", "segmentation", "boxes", "classify", "video", "demo")
RULES: tuple[list[str], ...] = ([], ["--polygon-tolerance", "0"], ["--polygon-tolerance", "2.5"],
         ["--min-region-area", "0", "--polygon-tolerance", "0.5"])  # fmt: skip


def export_lambdas(rev: str, folder: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", rev, "lambdas"], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "lambdas"


def convert(lambdas: Path, manifest: Path, mirror: Path, out: Path, extra: list[str]) -> None:
    env = child_env()
    env["PYTHONPATH"] = str(lambdas)  # only this revision's core and CLI
    command = [
        sys.executable, "-m", "gt2yolo_cli.main", "convert", str(manifest), "--out", str(out),
        "--s3-mirror", str(mirror), "--images", "skip", "--no-progress", *extra,
    ]  # fmt: skip
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def differing_files(left: Path, right: Path) -> Iterator[str]:
    """Relative paths that are in one tree only or whose bytes differ."""
    compared = filecmp.dircmp(left, right)
    yield from (f"only in one: {name}" for name in compared.left_only + compared.right_only)
    for name in compared.common_files:
        if not filecmp.cmp(left / name, right / name, shallow=False):
            yield name
    for name in compared.common_dirs:
        yield from (f"{name}/{path}" for path in differing_files(left / name, right / name))


def count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())


def sample_job(folder: Path) -> tuple[Path, Path, list[str]]:
    """The sample segmentation job (samples/) written as a mirror: (manifest, mirror, options)."""
    sys.path.insert(0, str(REPO_ROOT / "lambdas"))
    from samples.image_tasks import make_segmentation_job

    job = make_segmentation_job("stack-bucket", image_bucket="customer-images", images=40)
    mirror = folder / "mirror"
    for bucket, objects in (("stack-bucket", job.objects), ("customer-images", job.image_objects)):
        for key, data in objects.items():
            path = mirror / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    config = f"s3://stack-bucket/{job.config_key}"
    return mirror / "stack-bucket" / job.manifest_key, mirror, ["--label-config", config]


def compare_datasets(old: Path, new: Path, scratch: Path, images: int, seed: int) -> int:
    [job] = mask_jobs(scratch / "bench-job", [images], seed)
    bench_options = ["--label-attribute", job.label_attribute, "--label-config", str(job.label_config)]  # fmt: skip
    inputs = [("benchmark job", job.manifest, job.mirror, bench_options),
              ("sample job (samples/)", *sample_job(scratch / "sample-job"))]  # fmt: skip
    failures = 0
    for name, manifest, mirror, options in inputs:
        for rules in RULES:
            outs = [scratch / f"out-{tag}" for tag in ("old", "new")]
            for lambdas, out in zip((old, new), outs, strict=True):
                convert(lambdas, manifest, mirror, out, [*options, *rules])
            different = list(differing_files(*outs))
            failures += bool(different)
            verdict = "SAME" if not different else f"DIFFERENT: {different[:5]}"
            print(f"{name} {' '.join(rules) or '(default rules)'}: "
                  f"{count_files(outs[0])} files, {verdict}", flush=True)  # fmt: skip
            for out in outs:
                subprocess.run(["rm", "-rf", str(out)], check=True)
    return failures


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# Where a revision keeps the mask tracer and the polygon rows (before and after the task packages).
MASKS_FILES = ("gt2yolo/tasks/segment/masks.py", "gt2yolo/masks.py")
SEGMENT_FILES = ("gt2yolo/tasks/segment/yolo.py", "gt2yolo/yolo_segment.py")
POLYGON_FUNCTIONS = ("polygon_row", "_on_mask", "_coordinates")


def _first_of(lambdas: Path, *paths: str) -> Path:
    return next((lambdas / p for p in paths if (lambdas / p).is_file()), lambdas / paths[-1])


def load_functions(path: Path, names: Sequence[str]) -> SimpleNamespace:
    """Only the named functions of a module file: its other imports need the rest of its own
    revision, which is not on the path (its functions here need only functools.lru_cache)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    wanted: list[ast.stmt] = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names
    ]
    code = compile(
        ast.Module(wanted, []), str(path), "exec", flags=__future__.annotations.compiler_flag
    )
    namespace: dict[str, Any] = {"lru_cache": functools.lru_cache}
    exec(code, namespace)
    return SimpleNamespace(**{name: namespace[name] for name in names})


def random_mask(rng: random.Random) -> tuple[bytes, list[Any]]:
    """A PNG of blocks of a few colors (some transparent, some stray) and its color map."""
    from gt2yolo.records import MaskColor

    width, height = rng.randint(1, 97), rng.randint(1, 83)
    palette = [(255, 255, 255), *((rng.randrange(256), rng.randrange(256), rng.randrange(256))
                                  for _ in range(rng.randint(1, 6)))]  # fmt: skip
    indexes = np.array(
        [[rng.randrange(len(palette)) for _ in range(width // 4 + 1)] for _ in range(height // 4 + 1)]
    ).repeat(4, axis=0).repeat(4, axis=1)[:height, :width]  # fmt: skip
    rgb = np.array(palette, dtype=np.uint8)[indexes]
    stray = rng.random() < 0.2
    known = palette[:-1] if stray and len(palette) > 2 else palette
    colors = [
        MaskColor(c, "BACKGROUND" if i == 0 else f"c{i}", i == 0) for i, c in enumerate(known)
    ]
    image = np.ascontiguousarray(rgb[:, :, ::-1])
    if rng.random() < 0.4:  # BGRA with random transparency
        alpha = np.array(
            [
                [rng.choice((0, 0, 0, 1, 127, 254, 255, 255)) for _ in range(width)]
                for _ in range(height)
            ]
        )
        image = np.dstack([image, alpha.astype(np.uint8)])
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes(), colors


def compare_functions(old_lambdas: Path, cases: int, seed: int) -> int:
    sys.path.insert(0, str(REPO_ROOT / "lambdas"))
    from gt2yolo.tasks.segment import masks as new_masks
    from gt2yolo.tasks.segment import yolo as new_segment
    from gt2yolo.tasks.segment.masks import Region, TraceRules

    old_masks = load_module(_first_of(old_lambdas, *MASKS_FILES), "old_masks")
    old_segment = load_functions(_first_of(old_lambdas, *SEGMENT_FILES), POLYGON_FUNCTIONS)
    rng = random.Random(seed)
    failures = 0

    def outcome(function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except ValueError as error:  # either revision's MaskError
            return f"{type(error).__name__}: {error}"

    for case in range(cases):
        data, colors = random_mask(rng)
        modules = (old_masks, new_masks)
        old_rgb, new_rgb = (m.decode_mask(data) for m in modules)
        rules = TraceRules(rng.choice((0.0, 0.5, 1.0, 3.0)), rng.choice((0.0, 1.0, 4.0, 30.0)))
        old_trace = outcome(old_masks.trace_mask, old_rgb, colors, rules)
        new_trace = outcome(new_masks.trace_mask, new_rgb, colors, rules)
        same = np.array_equal(old_rgb, new_rgb) and old_rgb.dtype == new_rgb.dtype
        if isinstance(old_trace, str) or isinstance(new_trace, str):
            same = same and old_trace == new_trace
        else:
            formats = old_segment.polygon_row, new_segment.polygon_row
            same = same and _same_trace(old_trace, new_trace, *formats)
        if not same:
            failures += 1
            print(f"function case {case}: DIFFERENT", flush=True)
    for _ in range(cases):  # rows of points beyond the mask (not traced): the general path
        width, height = rng.randint(1, 50), rng.randint(1, 50)
        points = np.array(
            [[rng.randint(-60, 60), rng.randint(-60, 60)] for _ in range(5)], np.int32
        )
        region = Region(1, points, 1.0, (0, 0, 1, 1), 0, False)
        rows = [m.polygon_row(3, region, width, height) for m in (old_segment, new_segment)]
        failures += rows[0] != rows[1]
    print(f"functions: {2 * cases} random cases, {failures} different", flush=True)
    return failures


def _same_trace(
    old: Any, new: Any, old_row: Callable[..., str], new_row: Callable[..., str]
) -> bool:
    if (old.width, old.height, old.filled_holes, len(old.regions)) != (
        new.width, new.height, new.filled_holes, len(new.regions)
    ):  # fmt: skip
        return False
    for a, b in zip(old.regions, new.regions, strict=True):
        fields = ("color", "area", "box", "holes", "small")
        if any(getattr(a, f) != getattr(b, f) for f in fields) or not np.array_equal(
            a.points, b.points
        ):
            return False
        if old_row(1, a, old.width, old.height) != new_row(1, b, new.width, new.height):
            return False
    return True


# --- Bounding boxes: `--task boxes` --------------------------------------------------------

# Run in a child with one revision's `lambdas/` first on the path: every case in one process
# (gt2yolo_cli.main.main in-process), its exit code and error output kept beside the dataset.
_BOX_DRIVER = """
import contextlib, io, json, sys
from gt2yolo_cli.main import main
for out, arguments in json.load(open(sys.argv[1])):
    error = io.StringIO()
    with contextlib.redirect_stderr(error), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(arguments)
        except SystemExit as exit:  # argparse
            code = exit.code
    with open(out + ".result", "w") as result:
        json.dump({"exit": code, "stderr": error.getvalue().replace(out, "OUT")}, result)
"""
BOX_RULES: tuple[list[str], ...] = (
    [], ["--layout", "flat"], ["--val-fraction", "0.3", "--test-fraction", "0.1"],
    ["--jobs", "2"], ["--on-duplicate", "last"],
)  # fmt: skip


def awkward_box_lines() -> list[str]:
    """Lines the benchmark job lacks: names that collide (ignoring case, extension), a source-ref
    labeled twice, escapes, other folders, fields csv must quote, boxes clamped and dropped."""
    rows: list[str] = []
    names = ["x.jpg", "x.png", "X.jpg", "dup.jpg", "dup.jpg", "a,b.jpg", 'q"uote.jpg', "é.jpg",
             "images/y.jpg", ".hidden.jpg", "dot./z.jpg", "deep/er/w.jpg", "x~2.jpg"]  # fmt: skip
    for index, name in enumerate(names):
        boxes = [
            {"class_id": index % 3, "left": -5 + index, "top": 10, "width": 40.5, "height": 30},
            {"class_id": 2, "left": 600, "top": 10, "width": 40, "height": 30},  # outside
            {"class_id": 9, "left": 1, "top": 1, "width": 4, "height": 4},  # unknown class
            {"class_id": 1, "left": 0, "top": 0, "width": 0, "height": 30},  # zero size
        ]
        entry = {
            "source-ref": f"s3://bkt/cam/{name}",
            "boxes": {"image_size": [{"width": 500, "height": 400}], "annotations": boxes},
            "boxes-metadata": {
                "class-map": {"0": "cat", "1": "dog,big", "2": 'bird "b"'},
                "objects": [{"confidence": 0.5}] * 4,
                "type": "groundtruth/object-detection",
            },
        }
        rows.append(json.dumps(entry, ensure_ascii=index % 2 == 0))
    rows.append('{"source-ref": "s3://bkt/cam/\\u0061scaped.jpg", "boxes": {}}')
    rows.append(
        '{"source-ref": "s3://other/far.jpg", "boxes": {"image_size": [], "annotations": []}}'
    )
    rows.append("not json")
    return rows


def box_cases(folder: Path, lines: int, seed: int, fuzz: int) -> list[tuple[str, list[str]]]:
    """(name, CLI arguments without --out) of every box conversion compared."""
    job = synthetic_job(folder / "manifests", lines, seed)
    bench = [str(job.manifest), "--images", "skip", "--no-progress", "--label-attribute",
             job.label_attribute]  # fmt: skip
    cases = [(f"benchmark {lines} {' '.join(rules) or 'defaults'}",
              [*bench, "--label-config", str(job.label_config), *rules]) for rules in BOX_RULES]  # fmt: skip
    cases.append((f"benchmark {lines} class-maps (no config: no skim)", bench))
    awkward = folder / "awkward.manifest"
    awkward.write_text("\n".join(awkward_box_lines()) + "\n")
    for rules in (*BOX_RULES[:2], ["--on-duplicate", "first"], ["--on-duplicate", "last"]):
        cases.append((f"awkward {' '.join(rules) or 'defaults'}",
                      [str(awkward), "--images", "skip", "--no-progress", "--label-attribute", "boxes", *rules]))  # fmt: skip
    sys.path.insert(0, str(REPO_ROOT / "tests" / "unit"))
    from test_fuzz_manifests import _options, fuzz_manifests

    for case in range(fuzz):
        paths = []
        for index, data in enumerate(fuzz_manifests(seed + case)):
            path = folder / f"fuzz-{case}-{index}.manifest"
            path.write_bytes(data)
            paths.append(str(path))
        case_folder = folder / f"fuzz-{case}"
        case_folder.mkdir()
        _, arguments = _options(seed + case, case_folder)
        cases.append((f"fuzz case {seed + case}", [*paths, *arguments]))
    return cases


def compare_box_datasets(
    old: Path, new: Path, scratch: Path, lines: int, seed: int, fuzz: int
) -> int:
    cases = box_cases(scratch / "inputs", lines, seed, fuzz)
    for tag, lambdas in (("old", old), ("new", new)):
        plan = [(str(scratch / f"{tag}-{i}"), ["convert", *args, "--out", str(scratch / f"{tag}-{i}")])
                for i, (_, args) in enumerate(cases)]  # fmt: skip
        plan_file = scratch / f"{tag}-plan.json"
        plan_file.write_text(json.dumps(plan))
        env = child_env()
        env["PYTHONPATH"] = str(lambdas)
        subprocess.run([sys.executable, "-c", _BOX_DRIVER, str(plan_file)], cwd=REPO_ROOT,
                       env=env, check=True)  # fmt: skip
    failures = 0
    for i, (name, _) in enumerate(cases):
        outs = [scratch / f"{tag}-{i}" for tag in ("old", "new")]
        results = [Path(f"{out}.result").read_text() for out in outs]
        different = [] if results[0] == results[1] else [f"exit/stderr: {results}"]
        if all(out.is_dir() for out in outs):
            different += differing_files(*outs)
        elif outs[0].is_dir() != outs[1].is_dir():
            different.append("a dataset in one only")
        failures += bool(different)
        files = count_files(outs[0]) if outs[0].is_dir() else 0
        if different or not name.startswith("fuzz"):
            verdict = "SAME" if not different else f"DIFFERENT: {different[:5]}"
            print(f"boxes, {name}: {files} files, {verdict}", flush=True)
    print(f"boxes: {len(cases)} conversions compared, {failures} different", flush=True)
    return failures


# --- Classification and video frames: `--task classify`, `--task video` -------------------

# Each case is one or more CLI commands run in order (a conversion, then `gt2yolo report` of
# the dataset it wrote): every file of the dataset, report.html and previews included, and each
# command's exit code and error output compared.
_COMMANDS_DRIVER = """
import contextlib, io, json, sys
from gt2yolo_cli.main import main
for out, commands in json.load(open(sys.argv[1])):
    results = []
    for arguments in commands:
        error = io.StringIO()
        with contextlib.redirect_stderr(error), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(arguments)
            except SystemExit as exit:  # argparse
                code = exit.code
        results.append({"exit": code, "stderr": error.getvalue().replace(out, "OUT")})
    with open(out + ".result", "w") as result:
        json.dump(results, result)
"""
CLASSIFY_RULES: tuple[list[str], ...] = (
    [], ["--layout", "flat"], ["--val-fraction", "0.3", "--test-fraction", "0.1"],
    ["--jobs", "2"], ["--on-duplicate", "first"],
)  # fmt: skip
VIDEO_RULES: tuple[list[str], ...] = (
    [], ["--frame-step", "3"], ["--layout", "flat"], ["--jobs", "2"],
    ["--val-fraction", "0.5", "--test-fraction", "0.25"],
)  # fmt: skip
# A case: (name, conversion arguments without --out, whether to run `gt2yolo report` after).
Case = tuple[str, list[str], bool]


def write_mirror(folder: Path, job: Any) -> Path:
    """A sample job's buckets as `aws s3 sync` leaves them: folder/<bucket>/<key>."""
    for bucket, objects in ((job.bucket, job.objects), (job.image_bucket, job.image_objects)):
        for key, data in objects.items():
            path = folder / str(bucket) / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return folder


def awkward_classification_lines(multilabel: bool) -> list[str]:
    """Lines the sample jobs lack: unknown and missing classes, names colliding by case and
    extension, a source-ref labeled twice, a failed line, an empty label list, not JSON."""
    kind = "image-classification-multilabel" if multilabel else "image-classification"
    rows: list[str] = []
    names = ["a.jpg", "A.jpg", "a.png", "dup.jpg", "dup.jpg", "x,y.jpg", "deep/er/b.jpg"]
    for index, name in enumerate(names):
        metadata: dict[str, Any] = {"type": f"groundtruth/{kind}", "human-annotated": "yes"}
        value: Any
        if multilabel:
            value = [index % 3, 7] if index % 2 else ([] if index == 2 else [index % 3])
            metadata["class-map"] = {str(i): ("cat", "dog", "bird")[i % 3] for i in value if i < 3}
        else:
            value = index % 4  # class 3 is in no label config
            metadata["class-name"] = ("cat", "dog", "bird", "unknown")[value]
        rows.append(json.dumps({"source-ref": f"s3://bkt/pets/{name}", "label": value,
                                "label-metadata": metadata}))  # fmt: skip
    rows.append(json.dumps({"source-ref": "s3://bkt/pets/failed.jpg",
                            "label-metadata": {"failure-reason": "ClientError: expired"}}))  # fmt: skip
    rows.append(json.dumps({"source-ref": "s3://bkt/pets/nolabel.jpg"}))
    rows.append("not json")
    return rows


def classify_cases(folder: Path) -> list[Case]:
    from samples.image_tasks import make_classification_job

    cases: list[Case] = []
    for multilabel in (False, True):
        job = make_classification_job("stack-bucket", images=120, multilabel=multilabel,
                                      image_bucket="customer-images")  # fmt: skip
        mirror = write_mirror(folder / f"mirror-{multilabel}", job)
        manifest = mirror / "stack-bucket" / job.manifest_key
        config = f"s3://stack-bucket/{job.config_key}"
        base = [str(manifest), "--s3-mirror", str(mirror), "--no-progress"]
        kind = "multi-label" if multilabel else "single-label"
        for rules in CLASSIFY_RULES:
            name = f"{kind} sample {' '.join(rules) or 'defaults'}"
            cases.append((name, [*base, "--label-config", config, *rules], not rules))
        cases.append((f"{kind} sample class-maps (no config)", base, False))
        awkward = folder / f"awkward-{multilabel}.manifest"
        awkward.write_text("\n".join(awkward_classification_lines(multilabel)) + "\n")
        for rules in ([], ["--on-duplicate", "first"], ["--on-duplicate", "last"]):
            arguments = [str(awkward), "--images", "skip", "--no-progress", *rules]
            cases.append((f"{kind} awkward {' '.join(rules) or 'defaults'}", arguments, False))
    return cases


def video_cases(folder: Path, seed: int) -> list[Case]:
    from benchmarks.synthetic_video import video_jobs
    from samples.video import make_video_job

    cases: list[Case] = []
    for tracking in (True, False):
        job = make_video_job("stack-bucket", sequences=3, frames=14, tracking=tracking,
                             image_bucket="customer-images")  # fmt: skip
        mirror = write_mirror(folder / f"mirror-{tracking}", job)
        manifest = mirror / "stack-bucket" / job.manifest_key
        config = f"s3://stack-bucket/{job.config_key}"
        base = [str(manifest), "--s3-mirror", str(mirror), "--no-progress"]
        kind = "tracking" if tracking else "detection"
        for rules in VIDEO_RULES:
            name = f"{kind} sample {' '.join(rules) or 'defaults'}"
            cases.append((name, [*base, "--label-config", config, *rules], not rules))
        cases.append((f"{kind} sample class-maps (no config)", base, False))
    [bench] = video_jobs(folder / "bench", [8], 40, seed)
    base = [str(bench.manifest), "--s3-mirror", str(bench.mirror), "--no-progress",
            "--label-config", str(bench.label_config), "--images", "skip"]  # fmt: skip
    for rules in VIDEO_RULES:
        cases.append((f"benchmark 8x40 {' '.join(rules) or 'defaults'}", [*base, *rules], False))
    return cases


def compare_cases(task: str, old: Path, new: Path, scratch: Path, cases: list[Case]) -> int:
    """Run every case with both revisions' `lambdas/`, each revision in one child process."""
    for tag, lambdas in (("old", old), ("new", new)):
        plan = []
        for i, (_, arguments, report) in enumerate(cases):
            # One folder name for both: report.html is titled with it.
            out = str(scratch / f"{task}-{tag}-{i}" / "dataset")
            commands = [["convert", *arguments, "--out", out]]
            plan.append((out, commands + ([["report", out]] if report else [])))
        plan_file = scratch / f"{task}-{tag}-plan.json"
        plan_file.write_text(json.dumps(plan))
        env = child_env()
        env["PYTHONPATH"] = f"{lambdas}:{REPO_ROOT}"  # this revision's core; samples from here
        subprocess.run([sys.executable, "-c", _COMMANDS_DRIVER, str(plan_file)], cwd=REPO_ROOT,
                       env=env, check=True)  # fmt: skip
    failures = 0
    for i, (name, _, _) in enumerate(cases):
        outs = [scratch / f"{task}-{tag}-{i}" / "dataset" for tag in ("old", "new")]
        results = [Path(f"{out}.result").read_text() for out in outs]
        different = [] if results[0] == results[1] else [f"exit/stderr: {results}"]
        if all(out.is_dir() for out in outs):
            different += differing_files(*outs)
        elif outs[0].is_dir() != outs[1].is_dir():
            different.append("a dataset in one only")
        failures += bool(different)
        files = count_files(outs[0]) if outs[0].is_dir() else 0
        verdict = "SAME" if not different else f"DIFFERENT: {different[:5]}"
        print(f"{task}, {name}: {files} files, {verdict}", flush=True)
    print(f"{task}: {len(cases)} conversions compared, {failures} different", flush=True)
    return failures


# --- The demo's published datasets: `--task demo` -------------------------------------------

# A version id is the time it was made and a random salt: the one thing two runs of the demo
# may write differently (report.json names it).
VERSION_ID = re.compile(rb"\d{8}T\d{6}Z-[0-9a-f]{6}")
# What the COCO export derives from the version id (its `info`: year, date_created).
VERSION_DATE = re.compile(rb'"year":\d{4}|"date_created":"[0-9T:+.Z-]+"')
# What a revision's tree needs beside its files to run the demo (installed, not committed).
INSTALLED = (".venv", "node_modules", "build")


def export_tree(rev: str, folder: Path) -> Path:
    """The whole tree of `rev` (the demo runs the CDK app, localrun and samples too)."""
    archive = subprocess.run(
        ["git", "archive", rev], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    for name in INSTALLED:
        (folder / name).symlink_to(REPO_ROOT / name)
    return folder


def run_demo(tree: Path, out: Path) -> None:
    env = child_env()
    env["PYTHONPATH"] = f"{tree / 'lambdas'}:{tree}"
    subprocess.run([sys.executable, "-m", "localrun.demo", "--out", str(out)], cwd=tree, env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def differing_demo_files(left: Path, right: Path) -> list[str]:
    """differing_files, but report.json and COCO files equal when they differ only by version
    ids (and, for COCO, the year and date its `info` takes from the version id)."""
    different = []
    for name in differing_files(left, right):
        versioned = name.endswith("report.json") or name.startswith("exports/coco/")
        if versioned and not name.startswith("only in one"):
            a, b = (
                VERSION_DATE.sub(b"D", VERSION_ID.sub(b"V", (side / name).read_bytes()))
                for side in (left, right)
            )
            if a == b:
                continue
        different.append(name)
    return different


def compare_demo(rev: str, scratch: Path) -> int:
    old_tree = export_tree(rev, scratch / "old-tree")
    outs = [scratch / "demo-old", scratch / "demo-new"]
    for tree, out in zip((old_tree, REPO_ROOT), outs, strict=True):
        run_demo(tree, out)
    failures = 0
    for dataset in sorted(path.name for path in outs[0].iterdir()):
        pair = [out / dataset for out in outs]
        different = differing_demo_files(*pair) if pair[1].is_dir() else ["not in the new demo"]
        failures += bool(different)
        verdict = "SAME" if not different else f"DIFFERENT: {different[:5]}"
        print(f"demo, {dataset}: {count_files(pair[0])} files, {verdict}", flush=True)
    extra = {p.name for p in outs[1].iterdir()} - {p.name for p in outs[0].iterdir()}
    failures += len(extra)
    if extra:
        print(f"demo: datasets only in the new demo: {sorted(extra)}", flush=True)
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.same_output", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--task", choices=TASKS, default="segmentation",
                        help="all: every task type, against one --old-rev (default HEAD)")  # fmt: skip
    parser.add_argument(
        "--old-rev", help=f"default: {DEFAULT_OLD_REV} (segmentation), HEAD (the others)"
    )
    parser.add_argument("--images", type=int, default=2_000, help="benchmark job size")
    parser.add_argument("--cases", type=int, default=2_000, help="random function cases")
    parser.add_argument("--lines", type=parse_size, default=20_000,
                        help="boxes: benchmark manifest size (default 20k: fans out with --jobs 2)")  # fmt: skip
    parser.add_argument("--fuzz", type=int, default=200, help="boxes: fuzz manifests compared")
    parser.add_argument("--seed", type=int, default=20240604)
    args = parser.parse_args(argv)
    rev = args.old_rev or (DEFAULT_OLD_REV if args.task == "segmentation" else "HEAD")
    tasks = TASKS[1:] if args.task == "all" else (args.task,)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="gt2yolo-same-", dir=default_scratch()) as scratch:
        folder = Path(scratch)
        old = export_lambdas(rev, folder / "old")
        new = REPO_ROOT / "lambdas"
        for task in tasks:
            if task == "boxes":
                failures += compare_box_datasets(old, new, folder, args.lines, args.seed, args.fuzz)
            elif task == "classify":
                failures += compare_cases(task, old, new, folder, classify_cases(folder / task))
            elif task == "demo":
                failures += compare_demo(rev, folder)
            elif task == "video":
                cases = video_cases(folder / task, args.seed)
                failures += compare_cases(task, old, new, folder, cases)
            else:
                failures += compare_functions(old, args.cases, args.seed)
                failures += compare_datasets(old, new, folder, args.images, args.seed)
    print("ALL SAME" if not failures else f"{failures} DIFFERENT")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
