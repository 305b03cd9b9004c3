"""Backfill of past jobs under throttling: every job started exactly once.

python -m benchmarks.backfill_bench                      # 200 jobs
python -m benchmarks.backfill_bench --jobs 50 --start-every 2

On the local cloud (the synthesized stack in moto, the Backfill state machine and function run
as deployed): an account of `--jobs` finished labeling jobs, their output in the stack's bucket
and in a team bucket of `sourceBuckets`. `gt2yolo backfill` runs while SageMaker throttles every
2nd ListLabelingJobs page and every 7th DescribeLabelingJob, and Step Functions every
`--start-every`-th StartExecution of the conversion. Counted: the throttles met, the conversion
executions Step Functions accepted by name (a name twice would be a job converted twice), the
jobs the closing table says started.

What is measured is the backfill: the conversions it starts are the deployed state machine's,
but their first step answers at once (`LocalCloud.fail_function`), so that 200 of them do not
run the whole pipeline here; tests/e2e/test_backfill.py converts started jobs for real.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from gt2yolo_cli.main import main as gt2yolo

from localrun.cloud import LocalCloud
from localrun.synth import synthesize
from samples.detection import CUSTOMER_IMAGES
from samples.past_jobs import past_job

TEAM = "team-labels"
CONTEXT = {"imageBuckets": CUSTOMER_IMAGES, "sourceBuckets": f"{TEAM}/past/"}


def run(jobs: int, start_every: int = 3) -> dict[str, Any]:
    # moto logs every failed task of the (deliberately) failing conversions.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalCloud(synthesize(CONTEXT)) as cloud:
        for bucket in (CUSTOMER_IMAGES, TEAM):
            cloud.create_bucket(bucket)
        _account(cloud, jobs)
        # The conversions' own work is not what is measured (see the module's docstring).
        cloud.fail_function("handlers.resolve.handler", "BenchmarkSkip", "not converted here")
        cloud.fail_function("handlers.notify_failure.handler", "BenchmarkSkip", "not notified")
        cloud.sagemaker.throttle("ListLabelingJobs", every=2)
        cloud.sagemaker.throttle("DescribeLabelingJob", every=7)
        cloud.start_execution.throttle(cloud.state_machine_arn, every=start_every)
        out = io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = gt2yolo(["backfill", "--stack", cloud.stack_name, "--poll", "0.5"])
        seconds = time.monotonic() - started
        accepted = Counter(cloud.start_execution.accepted.get(cloud.state_machine_arn, []))
        table = out.getvalue()
        return {
            "jobs": jobs,
            "exit": code,
            "seconds": round(seconds, 1),
            "throttles": {
                "ListLabelingJobs": cloud.sagemaker.throttled.get("ListLabelingJobs", 0),
                "DescribeLabelingJob": cloud.sagemaker.throttled.get("DescribeLabelingJob", 0),
                "StartExecution": cloud.start_execution.throttled.get(cloud.state_machine_arn, 0),
            },
            "starts": len(accepted),
            "duplicates": sum(n - 1 for n in accepted.values()),
            "started_in_table": f"{jobs} jobs: {jobs} started" in table,
            "target_met": code == 0
            and len(accepted) == jobs
            and max(accepted.values(), default=0) == 1,
        }


def _account(cloud: LocalCloud, jobs: int) -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    described = []
    for n in range(jobs):
        elsewhere = n % 4 == 0  # a quarter wrote their output to the team's bucket
        job = past_job(
            f"batch-{n:04}", TEAM if elsewhere else cloud.bucket, CUSTOMER_IMAGES,
            created=day + timedelta(hours=n), images=1,
            output_prefix="past/" if elsewhere else "groundtruth/",
        )  # fmt: skip
        for bucket, objects in job.objects.items():
            cloud.put_objects(objects, bucket)
        described.append(job.described)
    cloud.sagemaker.add_jobs(described)


def text(result: dict[str, Any]) -> str:
    throttles = ", ".join(f"{op} {n}" for op, n in result["throttles"].items())
    return (
        f"backfill: {result['jobs']} past jobs in {result['seconds']} s; throttles met: "
        f"{throttles}; starts {result['starts']}, duplicates {result['duplicates']}; "
        f"{'PASS' if result['target_met'] else 'FAIL'} (every job started exactly once)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--start-every", type=int, default=3,
                        help="every n-th StartExecution is throttled (default 3)")  # fmt: skip
    args = parser.parse_args(argv)
    result = run(args.jobs, args.start_every)
    print(text(result))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
