"""localrun.training runs a CreateTrainingJob request on this machine as SageMaker would.

S3 is moto's. The entry point is training/train.py with Ultralytics replaced by a STUB
(tests/fixtures/fake_ultralytics, on the job's PYTHONPATH): it stands in for Ultralytics, which
the dev venv does not have, writing a run's files and fixed metrics without training. `make
verify` runs the same runner with the real Ultralytics (verify/train_check.py).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from moto import mock_aws

from localrun.account import ACCOUNT, REGION
from localrun.training import LocalTraining
from training.metric_lines import METRIC_DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "tests" / "fixtures" / "fake_ultralytics"
BUCKET = "gt2yolo-data"
VERSION = "20261202T091500Z-3fa9c1"
PREFIX = "datasets/shapes/"
# A published version's files, as the bucket holds them (docs/versions.md).
DATASET = {
    "current.json": json.dumps({"version": VERSION, "task": "detect", "data": f"{VERSION}.yaml"}),
    f"{VERSION}.yaml": f"train: {VERSION}.train.txt\nval: {VERSION}.val.txt\nnames:\n  0: cat\n",
    f"{VERSION}.train.txt": f"./files/{VERSION}/images/train/a.jpg\n",
    f"{VERSION}.val.txt": f"./files/{VERSION}/images/val/b.jpg\n",
    f"files/{VERSION}/images/train/a.jpg": "jpeg",
    f"files/{VERSION}/labels/train/a.txt": "0 0.5 0.5 0.2 0.2\n",
    f"files/{VERSION}/images/val/b.jpg": "jpeg",
    f"files/{VERSION}/labels/val/b.txt": "0 0.4 0.4 0.1 0.1\n",
}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        for key, text in DATASET.items():
            client.put_object(Bucket=BUCKET, Key=PREFIX + key, Body=text.encode())
        yield client


def runner(s3: Any, tmp_path: Path, source_dir: Path = ROOT / "training") -> LocalTraining:
    return LocalTraining(
        s3, tmp_path / "jobs", python=sys.executable, source_dir=source_dir, python_path=[STUB]
    )


def training_request(name: str = "train-shapes-1", **changes: Any) -> dict[str, Any]:
    """CreateTrainingJob as the SDK sends it: hyperparameters JSON-encoded, spot training."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/gt2yolo-training",
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3-cpu-py311",
            "TrainingInputMode": "File",
            "MetricDefinitions": METRIC_DEFINITIONS,
        },
        "HyperParameters": {
            "model": '"yolo11n.yaml"',
            "epochs": "2",
            "data": f'"{VERSION}.yaml"',
            "sagemaker_program": '"train.py"',
        },
        "InputDataConfig": [
            {
                "ChannelName": "dataset",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/{PREFIX}",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/training"},
        "ResourceConfig": {
            "InstanceType": "ml.g4dn.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/shapes"},
    }
    request.update(changes)
    return request


def tar_members(s3: Any, key: str) -> dict[str, bytes]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        return {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }


def test_a_request_the_api_would_refuse_is_refused_naming_the_field(
    s3: Any, tmp_path: Path
) -> None:
    # Given a request whose hyperparameter is a number (the API takes strings only)
    request = training_request(HyperParameters={"epochs": 2})
    # Then the runner refuses it as botocore would, naming the field, and runs nothing
    with pytest.raises(ParamValidationError, match=r"HyperParameters\.epochs"):
        runner(s3, tmp_path).run(request)
    # And a request without a required field is refused naming it
    missing = training_request()
    del missing["RoleArn"]
    with pytest.raises(ParamValidationError, match="RoleArn"):
        runner(s3, tmp_path).run(missing)
    assert not (tmp_path / "jobs").exists()


def test_what_the_runner_cannot_do_as_sagemaker_is_refused(s3: Any, tmp_path: Path) -> None:
    # Given a valid request in Pipe mode (the entry point would read a FIFO, not a folder)
    request = training_request()
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    # Then it is refused, not run in File mode
    with pytest.raises(ValueError, match="only File is emulated"):
        runner(s3, tmp_path).run(request)


def test_the_job_s_folders_are_laid_out_as_opt_ml(s3: Any, tmp_path: Path) -> None:
    # Given a request; When the job runs
    run = runner(s3, tmp_path).run(training_request())
    # Then its root holds the source dir as code/, the channel's prefix copied at its keys
    root = run.root
    assert (root / "code" / "train.py").read_bytes() == (ROOT / "training/train.py").read_bytes()
    channel = root / "input" / "data" / "dataset"
    copied = {p.relative_to(channel).as_posix() for p in channel.rglob("*") if p.is_file()}
    assert copied >= set(DATASET)
    # And input/config as SageMaker writes it: the hyperparameters as sent (strings)
    config = root / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text())["epochs"] == "2"
    assert set(json.loads((config / "inputdataconfig.json").read_text())) == {"dataset"}
    # And model/, output/data/ and checkpoints/ hold what the entry point wrote
    assert (root / "model" / "best.pt").is_file()
    assert (root / "output" / "data" / "metrics.json").is_file()
    assert (root / "checkpoints" / "train" / "weights" / "last.pt").is_file()


def test_the_entry_point_sees_the_environment_sagemaker_sets(s3: Any, tmp_path: Path) -> None:
    # Given an entry point that writes down its environment and arguments
    source = tmp_path / "source"
    source.mkdir()
    (source / "show.py").write_text(
        "import json, os, sys\n"
        "out = os.path.join(os.environ['SM_MODEL_DIR'], 'seen.json')\n"
        "json.dump({'env': dict(os.environ), 'argv': sys.argv[1:]}, open(out, 'w'))\n"
    )
    hyperparameters = {"model": '"yolo11n.yaml"', "epochs": "2", "sagemaker_program": '"show.py"'}
    request = training_request(HyperParameters=hyperparameters, Environment={"MY_FLAG": "on"})
    # When the job runs
    run = runner(s3, tmp_path, source).run(request)
    seen = json.loads((run.root / "model" / "seen.json").read_text())
    env = seen["env"]
    # Then SM_HPS holds the hyperparameters decoded, without the toolkit's own
    assert json.loads(env["SM_HPS"]) == {"model": "yolo11n.yaml", "epochs": 2}
    assert (env["SM_HP_MODEL"], env["SM_HP_EPOCHS"]) == ("yolo11n.yaml", "2")
    assert seen["argv"] == ["--epochs", "2", "--model", "yolo11n.yaml"]
    # And the channel, folders and request's Environment are set
    assert env["SM_CHANNELS"] == '["dataset"]'
    assert env["SM_CHANNEL_DATASET"] == str(run.root / "input" / "data" / "dataset")
    assert env["SM_MODEL_DIR"] == str(run.root / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(run.root / "output" / "data")
    assert env["GT2YOLO_CHECKPOINT_DIR"] == str(run.root / "checkpoints")
    assert (env["SM_NUM_GPUS"], env["MY_FLAG"]) == ("0", "on")
    # And nothing of this machine's AWS credentials or Python path reaches the job
    assert not [name for name in env if name.startswith("AWS_")]
    assert env["PYTHONPATH"] == str(STUB)


def test_a_run_leaves_model_and_output_tarballs_under_the_output_path(
    s3: Any, tmp_path: Path
) -> None:
    # Given a request; When the job runs
    run = runner(s3, tmp_path).run(training_request())
    described = run.described
    # Then it completed, and model.tar.gz under <S3OutputPath>/<job>/output/ holds best.pt
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    key = "training/train-shapes-1/output/model.tar.gz"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/{key}"
    assert {"best.pt", "last.pt", "results.csv", "args.yaml"} <= set(tar_members(s3, key))
    # And output.tar.gz holds metrics.json, naming the version trained on
    output = tar_members(s3, "training/train-shapes-1/output/output.tar.gz")
    assert json.loads(output["metrics.json"])["version"] == VERSION
    # And the final metrics are read from the log with the request's MetricDefinitions
    final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert final == {"mAP50": 0.512, "mAP50-95": 0.301, "precision": 0.61, "recall": 0.52}
    assert "gt2yolo-metric mAP50=0.512" in run.logs


def test_a_relative_python_path_is_of_the_caller_s_folder_not_the_job_s(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the interpreter named relative to the caller's folder, as `make verify` names it
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(sys.executable)
    # When a job runs with it (its process runs in the job's code/ folder)
    run = LocalTraining(s3, tmp_path / "jobs", python=relative, python_path=[STUB]).run(
        training_request()
    )
    # Then that interpreter ran the entry point
    assert run.described["TrainingJobStatus"] == "Completed", run.described.get("FailureReason")


def test_a_local_folder_can_stand_for_a_channel(s3: Any, tmp_path: Path) -> None:
    # Given the dataset in a local folder instead of S3
    folder = tmp_path / "shapes"
    for key, text in DATASET.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_text(text)
    s3.delete_object(Bucket=BUCKET, Key=PREFIX + f"{VERSION}.yaml")
    # When the job runs with the channel taken from the folder; Then it trains on it
    run = runner(s3, tmp_path).run(training_request(), local_inputs={"dataset": folder})
    assert run.described["TrainingJobStatus"] == "Completed", run.described.get("FailureReason")


def test_checkpoints_are_synced_and_a_restarted_job_resumes_from_them(
    s3: Any, tmp_path: Path
) -> None:
    # Given the checkpoints a job interrupted after epoch 1 of 3 left in CheckpointConfig.S3Uri
    # (as written in a container: its data and save_dir are not this job's folders)
    saved = {"model": "yolo11n.yaml", "task": "detect", "epochs": 3, "data": "gone.yaml",
             "project": "/opt/ml/checkpoints", "name": "train",
             "save_dir": "/opt/ml/checkpoints/train"}  # fmt: skip
    last = json.dumps({"epoch": 0, "optimizer": "stub", "train_args": saved})  # the stub's
    checkpoint = {"train/weights/last.pt": last, "train/args.yaml":
                  json.dumps(saved), "train/results.csv": "epoch,metrics/mAP50(B)\n1,0.1\n"}  # fmt: skip
    for key, text in checkpoint.items():
        s3.put_object(Bucket=BUCKET, Key=f"checkpoints/shapes/{key}", Body=text.encode())
    # When the job runs again
    run = runner(s3, tmp_path).run(training_request("train-shapes-2"))
    # Then it resumed from the restored last.pt, to epoch 3
    assert run.described["TrainingJobStatus"] == "Completed", run.described.get("FailureReason")
    metrics = json.loads((run.root / "output" / "data" / "metrics.json").read_text())
    assert (metrics["resumed"], metrics["epochs_run"]) == (True, 3)
    # And the checkpoint folder is synced back: its results.csv now has every epoch
    synced = s3.get_object(Bucket=BUCKET, Key="checkpoints/shapes/train/results.csv")
    assert len(synced["Body"].read().decode().splitlines()) == 1 + 3


def test_an_entry_point_refusing_the_job_gives_failed_with_its_reason(
    s3: Any, tmp_path: Path
) -> None:
    # Given a request without the dataset channel
    request = training_request()
    del request["InputDataConfig"]
    # When the job runs
    described = runner(s3, tmp_path).run(request).described
    # Then it failed, its FailureReason the message train.py wrote to the failure file
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Failed", "Failed")
    assert described["FailureReason"] == (
        "AlgorithmError: gt2yolo-train: no 'dataset' input channel: SM_CHANNEL_DATASET is not"
        " set, exit code: 2"
    )
    # And no model was uploaded
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="training/")
    assert listed.get("KeyCount", 0) == 0


def test_a_crashing_training_gives_failed_with_its_log_tail(s3: Any, tmp_path: Path) -> None:
    # Given Ultralytics raising during training (set through the request's Environment)
    request = training_request(Environment={"FAKE_ULTRALYTICS_FAIL": "CUDA out of memory"})
    # When the job runs; Then it failed with the error's last lines as its reason
    described = runner(s3, tmp_path).run(request).described
    assert described["TrainingJobStatus"] == "Failed"
    assert "RuntimeError: CUDA out of memory" in described["FailureReason"]
    assert described["FinalMetricDataList"] == []


def test_a_job_past_its_max_runtime_is_stopped(s3: Any, tmp_path: Path) -> None:
    # Given an entry point slower than the request's MaxRuntimeInSeconds
    source = tmp_path / "source"
    source.mkdir()
    (source / "train.py").write_text("import time\nprint('starting', flush=True)\ntime.sleep(30)\n")
    request = training_request(StoppingCondition={"MaxRuntimeInSeconds": 1})
    # When the job runs; Then it is stopped at the limit, as SageMaker stops it
    run = runner(s3, tmp_path, source).run(request)
    assert (run.described["TrainingJobStatus"], run.described["SecondaryStatus"]) == (
        "Stopped",
        "MaxRuntimeExceeded",
    )


def test_a_finished_job_is_described_by_name(s3: Any, tmp_path: Path) -> None:
    # Given a job run by the runner; Then DescribeTrainingJob by its name gives its answer
    training = runner(s3, tmp_path)
    run = training.run(training_request())
    assert training.describe("train-shapes-1") is run.described
    with pytest.raises(KeyError):
        training.describe("another-job")
