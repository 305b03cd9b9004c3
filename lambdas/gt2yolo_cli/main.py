"""`gt2yolo convert MANIFEST... --out DIR`: the conversion core on a laptop.

Manifests and the label config may be local paths or s3:// URIs (standard AWS configuration:
profile, region and AWS_ENDPOINT_URL for S3-compatible stores). `--out` may be a folder or an
s3:// prefix.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from gt2yolo import ConversionError, ConversionOptions, ConversionResult, convert_manifests
from gt2yolo.collection.continuation import EarlierDataset, continue_from
from gt2yolo.exports.formats import check_base, parse_exports
from gt2yolo.manifest import ManifestSource
from gt2yolo.names import OnDuplicate
from gt2yolo.paths import Layout
from gt2yolo.split import SplitFractions
from gt2yolo.storage import (
    LocalStorage,
    S3Mirror,
    Storage,
)

from gt2yolo_cli import backfill, selftest, start_job
from gt2yolo_cli.inputs import LazyImageSink, Objects, is_s3, load_class_list, open_manifest
from gt2yolo_cli.jobs import convert_in_workers
from gt2yolo_cli.output import staged_output
from gt2yolo_cli.report import add_report_command, run_report

EXIT_UNUSABLE_INPUT = 1
# Commands that parse, run and report errors on their own.
SELF_CONTAINED_COMMANDS = {
    start_job.COMMAND: start_job.main,
    selftest.COMMAND: selftest.main,
    backfill.COMMAND: backfill.main,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gt2yolo",
        description="SageMaker Ground Truth output (bounding boxes, semantic segmentation, image "
        "classification) -> YOLO datasets.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser(
        "convert",
        help="convert output manifests into one YOLO dataset",
        description="Convert Ground Truth output manifests (JSON Lines) into a YOLO dataset of "
        "the job's task: bounding boxes -> detect, semantic segmentation -> segment (polygons "
        "traced from the masks), image classification -> classify (<split>/<class>/ folders; "
        "multi-label: labels.csv). Detect and segment datasets hold labels/, data.yaml "
        "(Ultralytics), obj.data, classes.txt and train/val lists (Darknet); every dataset holds "
        "annot.csv, images.csv, report.json and rejected.jsonl. Images that would share a label "
        "file (x.jpg and x.png, Cat.jpg and cat.jpg) are told apart as <stem>~2, <stem>~3, ... "
        "in source-ref order.",
    )
    convert.add_argument("manifests", nargs="+", metavar="MANIFEST",
                         help="output.manifest files: local paths or s3:// URIs (merged)")  # fmt: skip
    convert.add_argument("--out", required=True, metavar="DIR",
                         help="dataset folder to write (or an s3:// prefix); a folder is "
                         "replaced whole on success, and only if new, empty or a gt2yolo "
                         "dataset")  # fmt: skip
    convert.add_argument("--label-attribute", metavar="NAME",
                         help="the job's LabelAttributeName; detected when exactly one "
                         "bounding-box attribute occurs")  # fmt: skip
    convert.add_argument("--label-config", metavar="FILE_OR_S3_URI",
                         help='label category config ({"labels":[{"label":"cat"}]}): class ids '
                         "follow its order; without it, the lines' class-maps give the order")  # fmt: skip
    convert.add_argument("--val-fraction", type=float, default=SplitFractions().val, metavar="F",
                         help="fraction of images in val (default 0.2)")  # fmt: skip
    convert.add_argument("--test-fraction", type=float, default=SplitFractions().test, metavar="F",
                         help="fraction of images in test (default 0: no test split)")  # fmt: skip
    convert.add_argument("--images", choices=("copy", "skip"), default="copy",
                         help="copy each image into images/<split>/ (default), or write "
                         "everything else only")  # fmt: skip
    convert.add_argument("--images-from", metavar="DIR",
                         help="copy images from this local folder (a sync of the bucket: the "
                         "source-ref key relative to the common prefix) instead of from S3")  # fmt: skip
    convert.add_argument("--s3-mirror", metavar="DIR",
                         help="read every s3://BUCKET/KEY the input refers to (images, masks, "
                         "the label config) from DIR/BUCKET/KEY, the layout `aws s3 sync "
                         "s3://BUCKET DIR/BUCKET` makes, instead of from S3")  # fmt: skip
    convert.add_argument("--polygon-tolerance", type=float, default=1.0, metavar="PX",
                         help="segmentation: simplify region outlines so no point moves more "
                         "than PX pixels (default 1; 0 keeps every outline point)")  # fmt: skip
    convert.add_argument("--frame-step", type=int, default=1, metavar="N",
                         help="video frame jobs: keep every Nth frame of each sequence "
                         "(default 1: every frame)")  # fmt: skip
    convert.add_argument("--min-region-area", type=float, default=4.0, metavar="PX2",
                         help="segmentation: drop regions enclosing less than PX2 square pixels "
                         "(default 4), counted as small_region")  # fmt: skip
    convert.add_argument("--verification-attribute", metavar="NAME",
                         help="keep only lines whose verification job (this attribute) gave an "
                         "accepted verdict")  # fmt: skip
    convert.add_argument("--accept", action="append", metavar="VERDICT",
                         help="verification class-name to keep (repeatable; default: good)")  # fmt: skip
    convert.add_argument("--layout", choices=[str(v) for v in Layout], default=str(Layout.FOLDERS),
                         help="folders (default): images/<split>/ keeps the source folders; "
                         "flat: every image and label directly in images/<split>/ and "
                         "labels/<split>/, folders kept in the name as %%2F (and %% as %%25)")  # fmt: skip
    convert.add_argument("--on-duplicate", choices=[str(v) for v in OnDuplicate],
                         default=str(OnDuplicate.ERROR),
                         help="the same source-ref on several labeled lines: error (default), "
                         "or keep the first or last such line in input order (the others are "
                         "rejected as duplicate_source_ref)")  # fmt: skip
    convert.add_argument("--continue-from", metavar="PREV",
                         help="grow a dataset of ours: PREV is a folder gt2yolo convert wrote, "
                         "or a synced published dataset (datasets/NAME/ with current.json). "
                         "Its class ids are kept (the manifests' classes mapped by name, new "
                         "ones appended) and every image it holds keeps its split; converts in "
                         "one process")  # fmt: skip
    convert.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                         help="worker processes converting parts of the manifests (default: "
                         "every core, %(default)s here); the dataset is the same byte for byte "
                         "whatever N. Inputs under 8 MiB of manifest (8 sequences of a video "
                         "job) and an s3:// --out convert in one process")  # fmt: skip
    convert.add_argument("--export", action="append", metavar="FORMATS",
                         help="also write the dataset as coco, rekognition, sagemaker "
                         "(comma-separated, repeatable) under exports/<format>/; see "
                         "docs/exports.md")  # fmt: skip
    convert.add_argument("--export-base", metavar="S3_URI",
                         help="s3://BUCKET/PREFIX/ where this dataset will be synced: the "
                         "rekognition and sagemaker manifests name images by URI under it "
                         "(default for an s3:// --out: --out)")  # fmt: skip
    convert.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_report_command(commands)
    start_job.add_parser(commands)
    selftest.add_parser(commands)
    backfill.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    own_main = SELF_CONTAINED_COMMANDS.get(args.command)
    if own_main is not None:
        return own_main(args)
    try:
        if args.command == "report":
            print(run_report(args))
            return 0
        result = run_convert(args)
    except ConversionError as exc:
        print(f"gt2yolo: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    except (OSError, ValueError) as exc:
        print(f"gt2yolo: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    except Exception as exc:  # botocore errors: credentials, endpoint, access
        if type(exc).__module__.startswith(("botocore", "boto3", "s3transfer")):
            hint = ""
            if type(exc).__name__ == "NoCredentialsError" and args.command == "convert":
                hint = (
                    " (s3:// inputs are read with your AWS configuration; to read a local sync "
                    "of the buckets instead, give --s3-mirror DIR)"
                )
            print(f"gt2yolo: error: S3: {exc}{hint}", file=sys.stderr)
            return EXIT_UNUSABLE_INPUT
        raise
    print(summary(result.report, args.out) + export_summary(result.report))
    return 0


def run_convert(args: argparse.Namespace) -> ConversionResult:
    if args.images_from and args.images == "skip":
        raise ConversionError("--images-from needs --images copy")
    if args.images_from and args.s3_mirror:
        raise ConversionError("--images-from and --s3-mirror both say where images are: give one")
    if args.frame_step < 1:
        raise ConversionError("--frame-step must be 1 or more")
    if args.jobs < 1:
        raise ConversionError("--jobs must be 1 or more")
    if args.polygon_tolerance < 0 or args.min_region_area < 0:
        raise ConversionError("--polygon-tolerance and --min-region-area must not be negative")
    mirror = S3Mirror(args.s3_mirror) if args.s3_mirror else None
    options = ConversionOptions(
        label_attribute=args.label_attribute,
        class_list=load_class_list(args.label_config, mirror),
        verification_attribute=args.verification_attribute,
        accepted_verdicts=frozenset(args.accept or ["good"]),
        fractions=SplitFractions(val=args.val_fraction, test=args.test_fraction),
        layout=Layout(args.layout),
        on_duplicate=OnDuplicate(args.on_duplicate),
        polygon_tolerance=args.polygon_tolerance,
        min_region_area=args.min_region_area,
        frame_step=args.frame_step,
        exports=(exports := parse_exports(args.export or ())),
        export_base=check_base(
            args.export_base or (args.out if is_s3(args.out) and exports else None), exports
        ),
    )
    sources: Sequence[ManifestSource] = [open_manifest(m, mirror) for m in args.manifests]
    if args.continue_from:
        sources, options = _continued(args, sources, options)
    if is_s3(args.out):
        from gt2yolo_aws.s3 import S3Storage

        return _convert(args, sources, S3Storage(args.out), options)
    # A local dataset is written beside --out and swapped in whole when the run succeeded.
    inputs = [*args.manifests, args.label_config, args.images_from, args.s3_mirror]
    with staged_output(args.out, [i for i in inputs if i and not is_s3(i)]) as staging:
        return _convert(args, sources, LocalStorage(staging), options)


def _continued(
    args: argparse.Namespace, sources: Sequence[ManifestSource], options: ConversionOptions
) -> tuple[Sequence[ManifestSource], ConversionOptions]:
    """The manifests and options after the dataset at --continue-from (read before --out is
    replaced, so PREV may be --out itself)."""
    where = args.continue_from
    if is_s3(where):
        raise ConversionError(
            f"--continue-from {where}: give a local folder (aws s3 sync the dataset first)"
        )
    if not os.path.isdir(where):
        raise ConversionError(f"--continue-from {where}: no such folder")
    earlier = EarlierDataset.read(LocalStorage(where), where)
    continued = continue_from(earlier, sources, options)
    # The workers of --jobs read the manifests again themselves, without the rewrite.
    args.jobs = 1
    if continued.new_classes:
        print(f"classes appended after {where}'s: {', '.join(continued.new_classes)}")
    return continued.sources, continued.options


def _convert(
    args: argparse.Namespace,
    sources: Sequence[ManifestSource],
    storage: Storage,
    options: ConversionOptions,
) -> ConversionResult:
    sink = LazyImageSink(args, storage) if args.images == "copy" else None
    with _Progress(enabled=not args.no_progress) as progress:
        try:
            if args.jobs > 1 and isinstance(storage, LocalStorage):
                result = convert_in_workers(args, sources, storage, options, progress)
                if result is not None:
                    return result
            return convert_manifests(sources, storage, options, sink, progress, Objects(args))
        finally:
            if hasattr(storage, "close"):
                storage.close()


class _Progress:
    """A tqdm bar per pass on a terminal; silent otherwise (tqdm disables itself off a TTY)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}
        self.total = 0

    def expect(self, phase: str, total: int, unit: str) -> None:
        """A bar of `total` things (--jobs: chunks done), advanced by calls with `phase`."""
        if self.enabled:
            from tqdm import tqdm

            self.bars[phase] = tqdm(total=total, unit=unit, desc=phase, disable=None, leave=False)

    def __call__(self, phase: str, lines: int) -> None:
        if not self.enabled:
            return
        if phase not in self.bars:
            from tqdm import tqdm

            total = self.total if phase == "convert" else None
            self.bars[phase] = tqdm(
                total=total, unit=" lines", desc=phase, disable=None, leave=False
            )
        self.bars[phase].update(lines)
        if phase == "survey":
            self.total += lines

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()


TASK_LINES = {
    "detect": "bounding boxes -> YOLO detect",
    "video": "video frames -> YOLO detect (frames split by sequence)",
    "segment": "semantic segmentation -> YOLO segment (polygons)",
    "classify": "image classification -> YOLO classify",
}


def summary(report: dict[str, Any], out: str) -> str:
    task = report.get("task", "detect")
    classification = report.get("classification") or {}
    multilabel = " (multi-label: labels.csv)" if classification.get("multilabel") else ""
    video = report.get("video")
    if video:
        task = "video"
    head = f"task: {TASK_LINES.get(task, task)}{multilabel}\n"
    if task == "segment":
        return head + _segment_summary(report, out)
    if task == "classify":
        return head + _classify_summary(report, out)
    if video:
        tracks = f", {video['tracks']} tracks (mot/)" if video["tracking"] else ""
        head += f"{video['sequences']} sequences, {video['frames']} frames{tracks}\n"
    return head + _detect_summary(report, out)


def export_summary(report: dict[str, Any]) -> str:
    """A line per export asked for: where its files are and what they hold, what was left out,
    or why it was not written."""
    lines = []
    for name, entry in (report.get("exports") or {}).items():
        if not entry.get("written"):
            lines.append(f"export {name}: not written: {entry.get('reason', '')}")
            continue
        files = ", ".join(
            f"{key} ({counts.get('images', counts.get('lines', 0))})"
            for key, counts in entry.get("files", {}).items()
        )
        excluded = sum(entry.get("excluded", {}).values())
        left_out = f"; {excluded} image(s) left out (report.json)" if excluded else ""
        lines.append(f"export {name}: {files}{left_out}")
    return "".join("\n" + line for line in lines)


def _rejected(report: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in report["rejected"].items()) or "none"


def _segment_summary(report: dict[str, Any], out: str) -> str:
    splits = ", ".join(f"{k} {v}" for k, v in report["images_per_split"].items())
    dropped = ", ".join(f"{k} {v}" for k, v in report["dropped_boxes"].items()) or "none"
    holes = report["segmentation"]["regions_with_holes"]
    return (
        f"{report['images']} images ({splits}), {report['boxes']} polygons "
        f"({holes} with holes cut in), {len(report['classes'])} classes -> {out}\n"
        f"rejected lines: {_rejected(report)}; dropped regions: {dropped}"
    )


def _classify_summary(report: dict[str, Any], out: str) -> str:
    splits = ", ".join(f"{k} {v}" for k, v in report["images_per_split"].items())
    per_class = report["classification"]["images_per_class"]
    classes = ", ".join(f"{k} {v}" for k, v in per_class.items())
    return (
        f"{report['images']} images ({splits}), {len(report['classes'])} classes ({classes}) "
        f"-> {out}\nrejected lines: {_rejected(report)}"
    )


def _detect_summary(report: dict[str, Any], out: str) -> str:
    rejected = _rejected(report)
    dropped = ", ".join(f"{k} {v}" for k, v in report["dropped_boxes"].items()) or "none"
    splits = ", ".join(f"{k} {v}" for k, v in report["images_per_split"].items())
    renamed = report.get("renamed_images", 0)
    renamed_note = (
        f"\nrenamed images: {renamed} (their label files would have collided; see images.csv)"
        if renamed
        else ""
    )
    return (
        f"{report['images']} images ({splits}), {report['boxes']} boxes, "
        f"{len(report['classes'])} classes -> {out}\n"
        f"rejected lines: {rejected}; dropped boxes: {dropped}; "
        f"clamped boxes: {report['clamped_boxes']}{renamed_note}"
    )


if __name__ == "__main__":
    sys.exit(main())
