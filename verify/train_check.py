"""The training step's entry point trains with the real Ultralytics on published demo datasets.

    .venv/bin/python verify/train_check.py --python build/tools/ultralytics/bin/python --resume \\
        demo-output/demo-shapes demo-output/demo-segmentation demo-output/demo-classification

Run by `make verify`, never by `make test`. This script runs in the dev venv (the local runner
needs botocore and moto); the job's process runs in the verify venv, which has Ultralytics
(requirements-verify.txt) and stands for the training container. Each dataset folder is put into
moto's S3 as a version of a published dataset (`datasets/<name>/`: `<v>.yaml`, lists of
`./files/<w>/...`, the files), so Ultralytics reads the layout a real job's channel holds. Then
localrun.training runs a CreateTrainingJob request of training/train.py on it, with the task
its report.json names (none: detect): YOLO11n built from its yaml (no weights download), 1
epoch at imgsz 64 on the CPU, spot checkpoints on.

With --resume, each detect dataset also gets a spot restart: a 2-epoch job killed (SIGKILL)
right after Ultralytics saved epoch 1's checkpoint (verify/interrupt/sitecustomize.py), then
the same job again on the checkpoints SageMaker restores, which must resume and run epoch 2.

Exits 1 unless every job completed with model.tar.gz holding best.pt, last.pt, results.csv and
args.yaml, output.tar.gz holding metrics.json for the version with every metric of the task,
finite, and the same metrics in FinalMetricDataList. Prints each job's wall time, metrics and
archive sizes.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]  # run as a file: the repo's packages

BUCKET = "gt2yolo-verify"
# Ultralytics' check_det_dataset downloads Arial.ttf for plot labels unless its config folder
# has one: a local font under that name keeps the job off the network (YOLO_OFFLINE: no hub,
# no analytics; AMP's check, which downloads weights, is skipped on the CPU).
FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
MODELS = {"detect": "yolo11n.yaml", "segment": "yolo11n-seg.yaml", "classify": "yolo11n-cls.yaml"}
MODEL_FILES = {"best.pt", "last.pt", "results.csv", "args.yaml"}
INTERRUPT = ROOT / "verify" / "interrupt"  # its sitecustomize kills a job after an epoch
INTERRUPT_VARIABLE = "GT2YOLO_VERIFY_INTERRUPT_AFTER_EPOCH"


@dataclass(frozen=True)
class Dataset:
    folder: Path
    task: str
    version: str
    prefix: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the verify venv's python (Ultralytics)")
    parser.add_argument("--resume", action="store_true", help="also a spot restart (detect)")
    parser.add_argument("datasets", type=Path, nargs="+", help="dataset folders gt2yolo wrote")
    args = parser.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="gt2yolo-train-check-") as work:
        for folder in args.datasets:
            found = check(folder, args.python, Path(work) / folder.name, resume=args.resume)
            for problem in found:
                print(f"FAIL {folder.name}: {problem}", file=sys.stderr)
            failed += bool(found)
            if not found:
                print(f"ok   {folder.name}: train.py trained as a SageMaker job", flush=True)
    return 1 if failed else 0


def task_of(folder: Path) -> str:
    """The task report.json names; none: detect."""
    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "detect"
    return str(report.get("task") or "detect") if isinstance(report, dict) else "detect"


def check(folder: Path, python: str, work: Path, *, resume: bool) -> list[str]:
    """Run the jobs on the dataset; what is wrong with their outcome (nothing: [])."""
    import boto3
    from moto import mock_aws

    from localrun.account import REGION
    from localrun.published import upload_as_version
    from localrun.training import LocalTraining

    task = task_of(folder)
    if task not in MODELS:
        return [f"task {task!r}: train.py trains {', '.join(MODELS)}"]
    work.mkdir(parents=True)
    source = readable_copy(folder, work / "dataset", python) if task == "classify" else folder
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        prefix = f"datasets/{folder.name}"
        dataset = Dataset(folder, task, upload_as_version(s3, BUCKET, prefix, source), prefix)
        environment = offline_environment(python, work / "ultralytics-config")
        jobs = LocalTraining(s3, work / "jobs", python=python)
        request = training_request(dataset, f"verify-{folder.name}", 1, environment)
        found, _logs = _run_checked(jobs, request, s3, dataset, resumed=False)
        if resume and task == "detect" and not found:
            found = resume_check(s3, dataset, python, work, environment)
        return found


def resume_check(
    s3: Any, dataset: Dataset, python: str, work: Path, environment: dict[str, str]
) -> list[str]:
    """A 2-epoch job killed after epoch 1, then restarted on its checkpoints: it resumes."""
    from localrun.training import LocalTraining

    name = f"verify-{dataset.folder.name}-spot"
    interrupted = training_request(dataset, name, 2, {**environment, INTERRUPT_VARIABLE: "1"})
    jobs = LocalTraining(s3, work / "jobs-interrupted", python=python, python_path=[INTERRUPT])
    started = time.monotonic()
    first = jobs.run(interrupted)
    print(f"     {name} (killed after epoch 1): {first.described['TrainingJobStatus']}, "
          f"{time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
    if first.described["TrainingJobStatus"] != "Failed" or "interrupted after epoch 1" not in (
        first.logs
    ):
        return [f"the interrupted job was not killed after epoch 1: {first.logs[-2000:]}"]
    restarted = training_request(dataset, f"{name}-restart", 2, environment)
    restarted["CheckpointConfig"] = interrupted["CheckpointConfig"]  # the same job's
    again = LocalTraining(s3, work / "jobs-restarted", python=python)
    found, logs = _run_checked(again, restarted, s3, dataset, resumed=True)
    if not found and "Resuming training" not in logs:
        found.append("the restarted job did not resume (no 'Resuming training' in its log)")
    return found


def readable_copy(folder: Path, target: Path, python: str) -> Path:
    """The classify dataset as the job's torchvision can read it. gt2yolo gives every class a
    folder in every split (a `.keep` in an empty one); torchvision < 0.18 (Debian's, in the
    verify venv) refuses an empty class folder where newer ones read it (Ultralytics asks with
    allow_empty=True): for those, a copy without the empty class folders."""
    version = subprocess.run(
        [python, "-c", "import torchvision; print(torchvision.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) >= (0, 18):
        return folder
    shutil.copytree(folder, target)
    for split in ("train", "val", "test"):
        for class_folder in sorted((target / split).glob("*/")):
            if {path.name for path in class_folder.iterdir()} <= {".keep"}:
                shutil.rmtree(class_folder)
                print(f"     {folder.name}: {split}/{class_folder.name}/ left out (empty, "
                      f"torchvision {version})")  # fmt: skip
    return target


def offline_environment(python: str, config_dir: Path) -> dict[str, str]:
    """The job's Environment keeping Ultralytics off the network, its fonts put in place."""
    fonts = config_dir / "Ultralytics"
    fonts.mkdir(parents=True)
    data_path = subprocess.run(
        [python, "-c", "import matplotlib; print(matplotlib.get_data_path())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    dejavu = (Path(data_path) / "fonts" / "ttf" / "DejaVuSans.ttf").read_bytes()
    for name in FONT_NAMES:
        (fonts / name).write_bytes(dejavu)
    return {"YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(config_dir), "MPLBACKEND": "Agg"}


def training_request(
    dataset: Dataset, name: str, epochs: int, environment: dict[str, str]
) -> dict[str, Any]:
    from localrun.account import ACCOUNT
    from training.metric_lines import METRIC_DEFINITIONS

    data = f"files/{dataset.version}/" if dataset.task == "classify" else f"{dataset.version}.yaml"
    hyperparameters = {"model": MODELS[dataset.task], "task": dataset.task, "data": data,
                       "epochs": epochs, "imgsz": 64, "batch": 8, "seed": 0}  # fmt: skip
    return {
        "TrainingJobName": name[:63],
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/gt2yolo-training",
        "AlgorithmSpecification": {
            "TrainingImage": "local",
            "TrainingInputMode": "File",
            "MetricDefinitions": METRIC_DEFINITIONS,
        },
        # As the SageMaker SDK sends them: each value JSON-encoded.
        "HyperParameters": {key: json.dumps(value) for key, value in hyperparameters.items()},
        "Environment": environment,
        "InputDataConfig": [
            {
                "ChannelName": "dataset",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/{dataset.prefix}/",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/training"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/{name}"},
    }


def _run_checked(
    jobs: Any, request: dict[str, Any], s3: Any, dataset: Dataset, *, resumed: bool
) -> tuple[list[str], str]:
    """Run the job, print its numbers; what is wrong with its outcome, and its log."""
    started = time.monotonic()
    run = jobs.run(request)
    seconds = time.monotonic() - started
    epochs = int(json.loads(request["HyperParameters"]["epochs"]))
    found = problems(run.described, s3, dataset, epochs, resumed)
    sizes = _sizes(s3, run.described) if not found else {}
    values = {item["MetricName"]: item["Value"] for item in run.described["FinalMetricDataList"]}
    print(f"     {request['TrainingJobName']} ({dataset.task}): {seconds:.1f} s; "
          f"{', '.join(f'{k}={v:g}' for k, v in values.items())}; "
          f"{', '.join(f'{k} {v:,} B' for k, v in sizes.items())}", flush=True)  # fmt: skip
    if found:
        print(run.logs[-3000:], flush=True)
    return found, run.logs


def problems(
    described: dict[str, Any], s3: Any, dataset: Dataset, epochs: int, resumed: bool
) -> list[str]:
    from training.metric_lines import NAMES

    if described["TrainingJobStatus"] != "Completed":
        return [f"the job is {described['TrainingJobStatus']}: {described.get('FailureReason')}"]
    found = []
    model_uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    model = _members(s3, model_uri)
    if not MODEL_FILES.issubset(model):
        found.append(f"model.tar.gz holds {sorted(model)}, not all of {sorted(MODEL_FILES)}")
    output = _members(s3, model_uri.replace("model.tar", "output.tar"))
    metrics = json.loads(output.get("metrics.json", b"{}"))
    expected = (dataset.version, dataset.task, epochs, resumed)
    if (metrics.get("version"), metrics.get("task"), metrics.get("epochs_run"),
            metrics.get("resumed")) != expected:  # fmt: skip
        found.append(f"metrics.json is not of {expected}: {metrics}")
    values = metrics.get("metrics", {})
    if set(values) != set(NAMES[dataset.task]) or not all(map(_finite, values.values())):
        found.append(f"metrics.json's metrics are not {NAMES[dataset.task]}, finite: {values}")
    final = {item["MetricName"]: item["Value"] for item in described["FinalMetricDataList"]}
    if final != values:
        found.append(f"FinalMetricDataList {final} is not metrics.json's {values}")
    return found


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _sizes(s3: Any, described: dict[str, Any]) -> dict[str, int]:
    model_uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    sizes = {}
    for uri in (model_uri, model_uri.replace("model.tar", "output.tar")):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        sizes[key.rpartition("/")[2]] = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    return sizes


def _members(s3: Any, uri: str) -> dict[str, bytes]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        return {
            member.name: extracted.read()
            for member in archive.getmembers()
            if (extracted := archive.extractfile(member)) is not None
        }


if __name__ == "__main__":
    sys.exit(main())
