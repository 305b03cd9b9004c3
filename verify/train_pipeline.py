"""The whole training step, deployed on the local cloud, trains the demo job with the real
Ultralytics: the stack synthesized with `training` on, the demo's labeling job completing, the
state machine converting and publishing it, PrepareTraining uploading the source tarball, the
`createTrainingJob.sync` state running the job (training/train.py in the verify venv's python,
as SageMaker runs it, signed as the execution role), ModelReady publishing the model.

    .venv/bin/python verify/train_pipeline.py --python build/tools/ultralytics/bin/python

Run by `make verify`, never by `make test` (tests/e2e/test_training_pipeline.py runs the same
path with a stub of Ultralytics). Exits 1 unless the execution succeeded through ModelReady with
best.pt and metrics.json under models/, finite box metrics, and no request refused by a role.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]  # run as a file: the repo's packages

DATASET = "demo-shapes"  # the demo's main labeling job, and so its dataset's name
TRAINING = {
    "datasets": [DATASET],
    "instanceType": "ml.m5.xlarge",  # a CPU instance: the CPU image, as here
    "model": "yolo11n.yaml",  # built from its config: no weights can be downloaded here
    "epochs": 1,
    "imgsz": 64,
    "spot": True,
}
BOX_METRICS = ("mAP50", "mAP50-95", "precision", "recall")
EXECUTION_TIMEOUT = 1800.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the verify venv's python (Ultralytics)")
    parser.add_argument("--images", type=int, default=24, help="images of the demo job")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gt2yolo-train-pipeline-") as work:
        offline_ultralytics(args.python, Path(work))
        started = time.monotonic()
        problems, summary = run(args.python, args.images)
        elapsed = time.monotonic() - started
    for problem in problems:
        print(f"FAIL training pipeline: {problem}", file=sys.stderr)
    if problems:
        return 1
    metrics = ", ".join(f"{name} {value:.4g}" for name, value in summary["metrics"].items())
    print(f"ok   training pipeline: {DATASET} {summary['version']} trained and published in "
          f"{elapsed:.0f} s ({metrics}); {summary['model_uri']}")  # fmt: skip
    return 0


def offline_ultralytics(python: str, work: Path) -> None:
    """What the job's process inherits (the request PrepareTraining builds sets no Environment)
    so that Ultralytics stays off the network: verify.train_check's settings folder with the
    plot fonts it would download, its offline switch, a headless matplotlib."""
    from verify.train_check import offline_environment

    os.environ.update(offline_environment(python, work / "ultralytics-config"))


def run(python: str, images: int) -> tuple[list[str], dict[str, Any]]:
    from localrun.cloud import LocalCloud
    from localrun.demo import completion_event
    from localrun.synth import synthesize
    from samples.detection import make_sample_job

    assembly = synthesize({"training": json.dumps(TRAINING)})
    with LocalCloud(assembly, training_python=python) as cloud:
        job = make_sample_job(cloud.bucket, job_name=DATASET, images=images)
        cloud.put_objects(job.objects)
        cloud.expect_describe_labeling_job(job.describe_response())
        execution = cloud.put_event(completion_event(job.job_name), EXECUTION_TIMEOUT)
        if execution is None:
            return ["the completion event started no execution"], {}
        problems = _problems(cloud, execution)
        summary = (execution.output or {}).get("model", {}).get("summary", {})
        return problems, summary


def _problems(cloud: Any, execution: Any) -> list[str]:
    if execution.status != "SUCCEEDED":
        logs = cloud.training_runs[-1].logs[-3000:] if cloud.training_runs else ""
        return [f"execution {execution.status}: {execution.cause}\n{logs}"]
    problems = []
    if "ModelReady" not in execution.states:
        problems.append(f"no ModelReady state: {execution.states}")
    summary = execution.output["model"]["summary"]
    stored = {f["name"] for f in summary["files"]}
    for name in ("best.pt", "last.pt", "results.csv", "args.yaml", "metrics.json"):
        if name not in stored:
            problems.append(f"{name} not published (files: {sorted(stored)})")
    for name in BOX_METRICS:
        value = summary["metrics"].get(name)
        if not isinstance(value, float | int) or not math.isfinite(value):
            problems.append(f"metric {name} is {value!r}")
    if cloud.denials:
        problems.append(f"requests refused: {cloud.denials}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
