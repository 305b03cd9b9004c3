"""Incremental reruns: S3 requests of a rerun after 1% of the lines changed, against a full run.

python -m benchmarks.incremental_bench                     # 10,000 lines, 1% relabeled
python -m benchmarks.incremental_bench --lines 2000 --changed 0.01

The whole pipeline on the local cloud (the synthesized stack in moto, every function run as
deployed): a manifest of `--lines` labeled images (in a customer's bucket) is dropped under
`manifests/` and published (the full run: a first version); then `--changed` of its lines get
moved boxes, the manifest is dropped again and published (the rerun: a new version written
against the first). Every S3 request the functions make passes the local cloud's IAM check,
which counts them by function and kind (GET, PUT, COPY, LIST, DELETE, ...). A dropped manifest
has no worker responses, so the Report step reads only its sample of images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from localrun.cloud import LocalCloud
from localrun.lambda_events import object_created_event
from localrun.synth import synthesize
from samples.detection import CUSTOMER_IMAGES, SampleJob, make_sample_job, relabeled

MANIFEST_KEY = "manifests/bench/relabel.manifest"
TARGET_RATIO = 0.03  # the target: a 1% rerun makes <= 3% of a full run's requests
CONVERSION = ("Convert", "ConvertChunk", "Finalize", "Publish")


def _drop(cloud: LocalCloud, body: bytes) -> float:
    cloud.client("s3").put_object(Bucket=cloud.bucket, Key=MANIFEST_KEY, Body=body)
    started = time.monotonic()
    execution = cloud.put_event(object_created_event(cloud.bucket, MANIFEST_KEY, len(body)))
    if execution is None or execution.status != "SUCCEEDED":
        raise RuntimeError(f"the conversion failed: {execution}")
    return time.monotonic() - started


def _by_function(requests: Counter[tuple[str, str]]) -> dict[str, int]:
    """{function: requests}, function names as in the template (ConvertFunction -> Convert)."""
    totals: Counter[str] = Counter()
    for (name, _kind), count in requests.items():
        short = name.split("Workflow", 1)[-1].split("Function", 1)[0]
        totals[short] += count
    return dict(sorted(totals.items()))


def _conversion(totals: dict[str, int]) -> int:
    return sum(totals.get(name, 0) for name in CONVERSION)


def run(lines: int, fraction: float, seed: int = 7) -> dict[str, Any]:
    job: SampleJob = make_sample_job("placeholder", images=lines, image_bucket=CUSTOMER_IMAGES)
    manifest = job.objects[job.manifest_key]
    changed = max(1, round(len(job.truth) * fraction))
    edited = relabeled(manifest, job.label_attribute, changed, seed)
    assembly = synthesize({"imageBuckets": CUSTOMER_IMAGES})
    with LocalCloud(assembly) as cloud:
        cloud.create_bucket(CUSTOMER_IMAGES)
        cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
        full_seconds = _drop(cloud, manifest)
        full = cloud.s3_gate.requests.copy()
        rerun_seconds = _drop(cloud, edited)
        rerun = cloud.s3_gate.requests - full
        denials = len(cloud.denials)
    full_totals, rerun_totals = _by_function(full), _by_function(rerun)
    result: dict[str, Any] = {
        "lines": len(manifest.decode().splitlines()),
        "images": len(job.truth),
        "changed_lines": changed,
        "full": {"by_function": full_totals, "by_kind": _kinds(full), "seconds": full_seconds},
        "rerun": {"by_function": rerun_totals, "by_kind": _kinds(rerun), "seconds": rerun_seconds},
        "ratio_all": sum(rerun_totals.values()) / sum(full_totals.values()),
        "ratio_conversion": _conversion(rerun_totals) / _conversion(full_totals),
        "denials": denials,
    }
    result["target_met"] = result["ratio_all"] <= TARGET_RATIO
    return result


def _kinds(requests: Counter[tuple[str, str]]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for (_name, kind), count in requests.items():
        kinds[kind] += count
    return dict(sorted(kinds.items()))


def text(result: dict[str, Any]) -> str:
    full, rerun = result["full"], result["rerun"]
    rows = [
        f"incremental rerun: {result['images']} images, {result['changed_lines']} lines relabeled",
        f"  full run:  {sum(full['by_function'].values()):>7} S3 requests "
        f"{full['by_function']} ({full['seconds']:.1f} s)",
        f"  rerun:     {sum(rerun['by_function'].values()):>7} S3 requests "
        f"{rerun['by_function']} ({rerun['seconds']:.1f} s)",
        f"  rerun/full: {result['ratio_all']:.2%} of all requests, "
        f"{result['ratio_conversion']:.2%} of the conversion's (Convert..Publish); "
        f"target <= {TARGET_RATIO:.0%}: {'met' if result['target_met'] else 'NOT met'}",
    ]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.incremental_bench")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run(args.lines, args.changed)
    print(json.dumps(result, indent=2) if args.json else text(result))
    return 0 if result["denials"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
