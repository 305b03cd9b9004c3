"""The training step's entry point trains with the real Ultralytics on a published demo dataset.

    .venv/bin/python verify/train_check.py --python build/tools/ultralytics/bin/python \\
        demo-output/demo-shapes

Run by `make verify`, never by `make test`. This script runs in the dev venv (the local runner
needs botocore and moto); the job's process runs in the verify venv, which has Ultralytics
(requirements-verify.txt) and stands for the training container. The dataset folder is put into
moto's S3 as a version of a published dataset (`datasets/<name>/`: `<v>.yaml`, lists of
`./files/<w>/...`, the files), so Ultralytics reads the layout a real job's channel holds. Then
localrun.training runs a CreateTrainingJob request of training/train.py on it: YOLO11n built
from its yaml (no weights download), 1 epoch at imgsz 64 on the CPU, spot checkpoints on.
Exits 1 unless the job completed with model.tar.gz holding best.pt, output.tar.gz holding
metrics.json for the version, and every box metric in FinalMetricDataList.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]  # run as a file: the repo's packages

BUCKET = "gt2yolo-verify"
# Ultralytics' check_det_dataset downloads Arial.ttf for plot labels unless its config folder
# has one: a local font under that name keeps the job off the network (YOLO_OFFLINE: no hub).
FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the verify venv's python (Ultralytics)")
    parser.add_argument("dataset", type=Path, help="a detect dataset folder written by gt2yolo")
    args = parser.parse_args(argv)
    if not (args.dataset / "data.yaml").is_file():
        print(f"FAIL {args.dataset}: no data.yaml (a detect dataset is needed)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="gt2yolo-train-check-") as work:
        problems = check(args.dataset, args.python, Path(work))
    for problem in problems:
        print(f"FAIL {args.dataset.name}: {problem}", file=sys.stderr)
    if not problems:
        print(f"ok   {args.dataset.name}: train.py trained 1 epoch as a SageMaker job")
    return 1 if problems else 0


def check(dataset: Path, python: str, work: Path) -> list[str]:
    """Run the job on the dataset; what is wrong with its outcome (nothing: [])."""
    import boto3
    from moto import mock_aws

    from localrun.account import REGION
    from localrun.published import upload_as_version
    from localrun.training import LocalTraining

    prefix = f"datasets/{dataset.name}"
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        version = upload_as_version(s3, BUCKET, prefix, dataset)
        environment = offline_environment(python, work / "ultralytics-config")
        request = training_request(dataset.name, prefix, version, environment)
        run = LocalTraining(s3, work / "jobs", python=python).run(request)
        print(run.logs[-3000:])
        return problems(run.described, s3, version)


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
    name: str, prefix: str, version: str, environment: dict[str, str]
) -> dict[str, Any]:
    from localrun.account import ACCOUNT
    from training.metric_lines import METRIC_DEFINITIONS

    hyperparameters = {"model": "yolo11n.yaml", "task": "detect", "data": f"{version}.yaml",
                       "epochs": 1, "imgsz": 64, "batch": 8, "seed": 0}  # fmt: skip
    return {
        "TrainingJobName": f"verify-{name}"[:63],
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
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/training"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/{name}"},
    }


def problems(described: dict[str, Any], s3: Any, version: str) -> list[str]:
    if described["TrainingJobStatus"] != "Completed":
        return [f"the job is {described['TrainingJobStatus']}: {described.get('FailureReason')}"]
    found = []
    model = _members(s3, described["ModelArtifacts"]["S3ModelArtifacts"])
    if "best.pt" not in model:
        found.append(f"model.tar.gz holds no best.pt: {sorted(model)}")
    output_uri = described["ModelArtifacts"]["S3ModelArtifacts"].replace("model.tar", "output.tar")
    output = _members(s3, output_uri)
    metrics = json.loads(output.get("metrics.json", b"{}"))
    if metrics.get("version") != version or metrics.get("epochs_run") != 1:
        found.append(f"metrics.json: {metrics}")
    final = {metric["MetricName"] for metric in described.get("FinalMetricDataList", [])}
    missing = {"mAP50", "mAP50-95", "precision", "recall"} - final
    if missing:
        found.append(f"FinalMetricDataList lacks {sorted(missing)}")
    return found


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
