"""Growing a collection: S3 requests and time of adding a member, against converting the whole.

python -m benchmarks.collection_bench                        # 10,000 images + a 1% member
python -m benchmarks.collection_bench --images 100000 --member 1000

The whole pipeline on the local cloud (every function as deployed), with a collection fed by
the manifests dropped under `manifests/bench/`. The collection's first member holds `--images`
labeled images: its conversion is a full conversion of the collection. Then a member of
`--member` new images is dropped: the collection's next version, written against the first.
Every S3 request the functions make passes the local cloud's IAM check, which counts them by
function. The time of Convert..Publish for the new member is also measured at half the
collection's size: it should follow the member's size, not the collection's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchmarks.incremental_bench import CONVERSION, _by_function
from localrun.cloud import LocalCloud
from localrun.lambda_events import object_created_event
from localrun.synth import synthesize
from samples.detection import CUSTOMER_IMAGES, make_sample_job

TARGET_RATIO = 0.03  # adding a 1% member: <= 3% of a full conversion's requests
COLLECTION = {"name": "bench", "manifests": ["manifests/bench/*.manifest"]}


def _drop(cloud: LocalCloud, key: str, body: bytes) -> float:
    cloud.client("s3").put_object(Bucket=cloud.bucket, Key=key, Body=body)
    started = time.monotonic()
    execution = cloud.put_event(object_created_event(cloud.bucket, key, len(body)))
    if execution is None or execution.status != "SUCCEEDED":
        raise RuntimeError(f"the conversion failed: {execution}")
    return time.monotonic() - started


def _conversion(requests: Counter[tuple[str, str]]) -> int:
    totals = _by_function(requests)
    return sum(totals.get(name, 0) for name in CONVERSION)


def grow(images: int, member: int, seed: int = 7) -> dict[str, Any]:
    """One collection of `images`, then a member of `member` more: requests and seconds."""
    base = make_sample_job("placeholder", images=images, seed=seed, dataset="bench/base",
                           image_bucket=CUSTOMER_IMAGES)  # fmt: skip
    added = make_sample_job("placeholder", images=member, seed=seed + 1, dataset="bench/added",
                            image_bucket=CUSTOMER_IMAGES)  # fmt: skip
    assembly = synthesize(
        {"imageBuckets": CUSTOMER_IMAGES, "collections": json.dumps([COLLECTION]),
         # One Lambda converts the collection (fan-out of collections is not built).
         "fanOutThresholdMiB": "4096"}
    )  # fmt: skip
    with LocalCloud(assembly) as cloud:
        cloud.create_bucket(CUSTOMER_IMAGES)
        cloud.put_objects(base.image_objects | added.image_objects, CUSTOMER_IMAGES)
        full_seconds = _drop(cloud, "manifests/bench/base.manifest",
                             base.objects[base.manifest_key])  # fmt: skip
        full = cloud.s3_gate.requests.copy()
        member_seconds = _drop(cloud, "manifests/bench/added.manifest",
                               added.objects[added.manifest_key])  # fmt: skip
        grown = cloud.s3_gate.requests - full
        denials = len(cloud.denials)
    return {
        "images": images,
        "member": member,
        "full": {"requests": _conversion(full), "by_function": _by_function(full),
                 "seconds": full_seconds},
        "member_added": {"requests": _conversion(grown), "by_function": _by_function(grown),
                         "seconds": member_seconds},
        "ratio": _conversion(grown) / _conversion(full),
        "denials": denials,
    }  # fmt: skip


def run(images: int, member: int) -> dict[str, Any]:
    big = grow(images, member)
    half = grow(images // 2, member)
    result = {
        "collection": big,
        "half_collection": half,
        # Adding the same member to a collection twice the size: how much longer it takes.
        "time_growth": big["member_added"]["seconds"] / half["member_added"]["seconds"],
    }
    result["target_met"] = big["ratio"] <= TARGET_RATIO and not big["denials"]
    return result


def text(result: dict[str, Any]) -> str:
    big, half = result["collection"], result["half_collection"]
    rows = [f"collection: a {big['member']}-image member added to {big['images']} images"]
    for run in (big, half):
        rows.append(
            f"  {run['images']:>7} images: full {run['full']['requests']:>7} requests "
            f"({run['full']['seconds']:.1f} s); member {run['member_added']['requests']:>6} "
            f"requests ({run['member_added']['seconds']:.1f} s): {run['ratio']:.2%}"
        )
    rows.append(
        f"  member/full requests {big['ratio']:.2%}, target <= {TARGET_RATIO:.0%}: "
        f"{'met' if result['target_met'] else 'NOT met'}; time of adding the member at "
        f"{big['images']} vs {half['images']} images: x{result['time_growth']:.2f}"
    )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.collection_bench")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--member", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run(args.images, args.member)
    print(json.dumps(result, indent=2) if args.json else text(result))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
