"""training/train.py under SageMaker's script contract: what it reads, writes and prints.

The entry point runs as SageMaker runs it: `python train.py` in a copy of training/ (the source
dir, /opt/ml/code), with the SM_* environment of a job. Ultralytics is a STUB here
(tests/fixtures/fake_ultralytics, on the process's PYTHONPATH): it stands in for Ultralytics,
which the dev venv does not have, writing the files a run writes and returning fixed metrics
without training anything. `make verify` runs train.py with the real Ultralytics
(verify/train_check.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from training.contract import ContractError, model_for_task, read_settings, version_of
from training.metric_lines import METRIC_DEFINITIONS, final_metrics, metric_line

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "tests" / "fixtures" / "fake_ultralytics"
VERSION = "20261202T091500Z-3fa9c1"


def published_dataset(root: Path, task: str = "detect") -> Path:
    """A dataset folder as the channel holds it: `datasets/<name>/` of one version."""
    root.mkdir(parents=True)
    files = root / "files" / VERSION
    if task == "classify":
        for split in ("train", "val"):
            (files / split / "cat").mkdir(parents=True)
            (files / split / "cat" / "a.jpg").write_bytes(b"jpeg")
        data = f"files/{VERSION}/"
    else:
        for split in ("train", "val"):
            (files / "images" / split).mkdir(parents=True)
            (files / "images" / split / "a.jpg").write_bytes(b"jpeg")
            (root / f"{VERSION}.{split}.txt").write_text(
                f"./files/{VERSION}/images/{split}/a.jpg\n"
            )
        entry = f"train: {VERSION}.train.txt\nval: {VERSION}.val.txt\nnames:\n  0: cat\n"
        (root / f"{VERSION}.yaml").write_text(entry)
        (root / "data.yaml").write_text(entry)
        data = f"{VERSION}.yaml"
    pointer = {"version": VERSION, "versions": [VERSION], "task": task, "data": data}
    (root / "current.json").write_text(json.dumps(pointer))
    return root


class Job:
    """One job's /opt/ml under a test folder, and a way to run train.py in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.code = root / "code"
        shutil.copytree(ROOT / "training", self.code, ignore=shutil.ignore_patterns("__pycache__"))
        self.channel = root / "input" / "data" / "dataset"
        self.model = root / "model"
        self.output = root / "output"
        self.checkpoints = root / "checkpoints"
        self.run_dir = self.checkpoints / "train"

    def run(
        self, hyperparameters: dict[str, Any], *, channel: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(STUB),
            "SM_HPS": json.dumps(hyperparameters),
            "SM_MODEL_DIR": str(self.model),
            "SM_OUTPUT_DIR": str(self.output),
            "SM_OUTPUT_DATA_DIR": str(self.output / "data"),
            "SM_NUM_GPUS": "0",
            "GT2YOLO_CHECKPOINT_DIR": str(self.checkpoints),
            **extra,
        }
        if channel:
            environment["SM_CHANNELS"] = '["dataset"]'
            environment["SM_CHANNEL_DATASET"] = str(self.channel)
        return subprocess.run(
            [sys.executable, str(self.code / "train.py"), "--epochs", "3"],
            cwd=self.code,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def metrics(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.output / "data" / "metrics.json").read_text())
        return document

    def stub_calls(self) -> list[dict[str, Any]]:
        calls = self.run_dir / "stub_calls.jsonl"
        if not calls.is_file():
            return []
        return [json.loads(line) for line in calls.read_text().splitlines()]


@pytest.fixture
def job(tmp_path: Path) -> Job:
    job = Job(tmp_path / "ml")
    published_dataset(job.channel)
    return job


def test_a_run_trains_on_the_named_version_with_the_run_under_the_checkpoints(job: Job) -> None:
    # Given a job whose hyperparameters arrive as SageMaker's toolkit decodes them
    hyperparameters = {"model": "yolo11n.yaml", "data": f"{VERSION}.yaml", "epochs": 3,
                       "imgsz": "64", "batch": 4, "seed": 7}  # fmt: skip
    # When train.py runs
    done = job.run(hyperparameters)
    # Then it succeeds, having asked Ultralytics to train on the channel's version yaml
    assert done.returncode == 0, done.stderr
    (call,) = job.stub_calls()
    assert call["data"] == str(job.channel.resolve() / f"{VERSION}.yaml")
    assert (call["model"], call["epochs"], call["imgsz"], call["batch"], call["seed"]) == (
        "yolo11n.yaml", 3, 64, 4, 7)  # fmt: skip
    # And the run's folder is under the checkpoint folder (what SageMaker syncs), on the CPU
    assert Path(call["project"]) / call["name"] == job.run_dir
    assert call["device"] == "cpu"


def test_the_model_dir_gets_best_last_results_and_args(job: Job) -> None:
    # Given a job; When train.py runs
    done = job.run({"model": "yolo11n.yaml", "epochs": "2"})
    # Then SM_MODEL_DIR holds the run's weights and files, flat, as copies of the run's
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in job.model.iterdir()) == [
        "args.yaml", "best.pt", "last.pt", "results.csv"]  # fmt: skip
    assert (job.model / "best.pt").read_bytes() == (job.run_dir / "weights/best.pt").read_bytes()


@pytest.mark.parametrize(
    ("task", "names"),
    [
        ("detect", ["mAP50", "mAP50-95", "precision", "recall"]),
        ("segment", ["mAP50", "mAP50-95", "precision", "recall",
                     "mask_mAP50", "mask_mAP50-95", "mask_precision", "mask_recall"]),
        ("classify", ["top1", "top5"]),
    ],
)  # fmt: skip
def test_metrics_json_names_the_task_s_metrics_version_model_and_epochs(
    tmp_path: Path, task: str, names: list[str]
) -> None:
    # Given a dataset of the task (classify: a folder tree, no yaml) and no data hyperparameter
    job = Job(tmp_path / "ml")
    published_dataset(job.channel, task)
    # When train.py runs
    done = job.run({"model": "yolo11n.yaml", "epochs": "2"})
    # Then metrics.json has the task's metrics by our names, the current version (current.json)
    assert done.returncode == 0, done.stderr
    metrics = job.metrics()
    assert list(metrics["metrics"]) == names
    assert metrics["task"] == task
    # (the model of the task: yolo11n-seg.yaml, yolo11n-cls.yaml for the detect model's name)
    trained = {
        "detect": "yolo11n.yaml",
        "segment": "yolo11n-seg.yaml",
        "classify": "yolo11n-cls.yaml",
    }
    assert (metrics["version"], metrics["model"]) == (VERSION, trained[task])
    # And the epochs asked for and run
    assert (metrics["epochs"], metrics["epochs_run"], metrics["resumed"]) == (2, 2, False)
    if task == "detect":  # the stub's values, converted from Ultralytics' names
        assert metrics["metrics"]["mAP50"] == 0.512
        assert metrics["metrics"]["mAP50-95"] == 0.301


def test_every_metric_line_parses_back_with_the_metric_definitions(tmp_path: Path) -> None:
    # Given a segment job (the most metrics)
    job = Job(tmp_path / "ml")
    published_dataset(job.channel, "segment")
    # When train.py runs and its log is read with METRIC_DEFINITIONS, as SageMaker reads it
    done = job.run({"epochs": "1"})
    assert done.returncode == 0, done.stderr
    parsed = final_metrics(done.stdout, METRIC_DEFINITIONS)
    # Then every metric of metrics.json is found, with its value
    assert parsed == job.metrics()["metrics"]
    # And each line has the fixed format
    assert "gt2yolo-metric mAP50=0.512" in done.stdout.splitlines()


def interrupted_run(run_dir: Path, train_args: dict[str, Any], *, finished: bool = False) -> None:
    """The run folder a spot interruption left after epoch 1 (SageMaker puts the checkpoint
    folder back before the restarted job starts); `finished`: one whose training had ended."""
    sys.path.insert(0, str(STUB))
    try:
        from ultralytics import checkpoint  # the stub's last.pt format
    finally:
        sys.path.remove(str(STUB))
        sys.modules.pop("ultralytics", None)
    (run_dir / "weights").mkdir(parents=True)
    (run_dir / "weights" / "last.pt").write_text(checkpoint(1, train_args, finished=finished))
    (run_dir / "args.yaml").write_text(json.dumps(train_args))
    (run_dir / "results.csv").write_text("epoch,metrics/mAP50(B)\n1,0.1\n")


def test_a_restarted_job_resumes_from_the_last_pt_in_its_checkpoints(job: Job) -> None:
    # Given the checkpoint folder of a run interrupted after epoch 1 of 3, written by a job
    # whose channel and checkpoint folder were elsewhere (a local run in another folder)
    saved = {"model": "yolo11n.yaml", "task": "detect", "epochs": 3, "imgsz": 64,
             "data": "/elsewhere/input/data/dataset/data.yaml", "project": "/elsewhere",
             "name": "train", "save_dir": "/elsewhere/train", "device": "0"}  # fmt: skip
    interrupted_run(job.run_dir, saved)
    # When the job runs again
    done = job.run({"model": "yolo11n.yaml", "epochs": "3"})
    # Then it resumed from that last.pt instead of starting over, and ran epochs 2 and 3
    assert done.returncode == 0, done.stderr
    (call,) = job.stub_calls()
    assert call["resume"] == str(job.run_dir / "weights" / "last.pt")
    assert "resuming from" in done.stdout
    metrics = job.metrics()
    assert (metrics["resumed"], metrics["epochs_run"]) == (True, 3)
    # With the checkpoint's arguments but for where things are: this job's data, run folder
    # (Ultralytics would write to the checkpoint's save_dir) and devices
    assert (call["epochs"], call["imgsz"]) == (3, 64)
    assert call["data"] == str(job.channel.resolve() / f"{VERSION}.yaml")
    assert (call["save_dir"], call["device"]) == (str(job.run_dir), "cpu")


def test_a_restarted_job_whose_run_had_finished_publishes_it_without_training(
    job: Job,
) -> None:
    # Given the checkpoint folder of a run that finished (its last.pt stripped) before the job
    # was interrupted: resuming it would start a new 100-epoch training in Ultralytics
    saved = {"model": "yolo11n.yaml", "task": "detect", "epochs": 1, "data": "gone.yaml",
             "project": str(job.checkpoints), "name": "train"}  # fmt: skip
    interrupted_run(job.run_dir, saved, finished=True)
    (job.run_dir / "weights" / "best.pt").write_text("best")
    # When the job runs again
    done = job.run({"model": "yolo11n.yaml", "epochs": "1"})
    # Then nothing is trained; the finished run is published, its metrics from results.csv
    assert done.returncode == 0, done.stderr
    assert job.stub_calls() == []
    assert "is a finished run" in done.stdout
    assert (job.model / "best.pt").read_text() == "best"
    metrics = job.metrics()
    assert (metrics["resumed"], metrics["epochs_run"], metrics["metrics"]) == (
        True, 1, {"mAP50": 0.1})  # fmt: skip


def test_without_the_dataset_channel_the_job_exits_non_zero_saying_so(job: Job) -> None:
    # Given a job without the dataset channel; When train.py runs
    done = job.run({"epochs": "1"}, channel=False)
    # Then it exits non-zero naming the channel, in the log and in SageMaker's failure file
    assert done.returncode == 2
    assert "no 'dataset' input channel: SM_CHANNEL_DATASET is not set" in done.stderr
    assert "SM_CHANNEL_DATASET" in (job.output / "failure").read_text()
    # And nothing was trained
    assert job.stub_calls() == []
    assert not job.model.exists()


def test_a_data_file_missing_from_the_channel_exits_non_zero_naming_it(job: Job) -> None:
    # Given a data hyperparameter naming a version the channel does not hold
    done = job.run({"data": "20200101T000000Z-000000.yaml"})
    # Then the job exits non-zero naming the file, before any training
    assert done.returncode == 2
    assert "no data file '20200101T000000Z-000000.yaml' in the dataset channel" in done.stderr
    assert job.stub_calls() == []


def test_onnx_true_adds_the_exported_best_onnx(job: Job) -> None:
    # Given onnx=true (as the SDK sends a boolean: JSON, decoded by the toolkit)
    done = job.run({"epochs": "1", "onnx": True})
    # Then the model dir also holds best.onnx, exported from best.pt
    assert done.returncode == 0, done.stderr
    assert (job.model / "best.onnx").read_bytes() == b"stub onnx"


def test_a_failing_training_exits_non_zero_with_its_error(job: Job) -> None:
    # Given Ultralytics failing during training; When train.py runs
    done = job.run({"epochs": "1"}, FAKE_ULTRALYTICS_FAIL="CUDA out of memory")
    # Then the job fails with the error in its log, and no metrics
    assert done.returncode != 0
    assert "CUDA out of memory" in done.stderr
    assert not (job.output / "data" / "metrics.json").exists()


@pytest.mark.parametrize(("epochs", "onnx"), [("5", "True"), (5, True)])
def test_hyperparameters_read_the_same_as_text_or_decoded(
    tmp_path: Path, epochs: Any, onnx: Any
) -> None:
    # Given SM_HPS with values as text (sent raw) or decoded (the SDK's JSON, decoded)
    channel = published_dataset(tmp_path / "dataset")
    hps = {"epochs": epochs, "onnx": onnx}
    environ = {"SM_HPS": json.dumps(hps), "SM_CHANNEL_DATASET": str(channel)}
    # When the settings are read
    settings = read_settings(environ)
    # Then they are the same run
    assert (settings.epochs, settings.onnx, settings.task) == (5, True, "detect")


@pytest.mark.parametrize(
    ("hps", "message"),
    [
        ({"task": "pose"}, "task='pose'"),
        ({"epochs": "many"}, "epochs='many' is not an integer"),
        ({"data": "../../etc/passwd"}, "outside the dataset channel"),
        ({"onnx": "maybe"}, "onnx='maybe'"),
    ],
)
def test_unusable_hyperparameters_are_refused_naming_them(
    tmp_path: Path, hps: dict[str, str], message: str
) -> None:
    # Given a hyperparameter train.py cannot use; Then reading the settings refuses it by name
    channel = published_dataset(tmp_path / "dataset")
    with pytest.raises(ContractError, match=message.replace("(", r"\(")):
        read_settings({"SM_HPS": json.dumps(hps), "SM_CHANNEL_DATASET": str(channel)})


def test_the_version_comes_from_the_data_name_or_the_pointer() -> None:
    # Given current.json's pointer; Then a pinned data name gives its version, the current
    # entry files the pointer's, anything else none
    pointer = {"version": VERSION, "data": f"{VERSION}.yaml"}
    assert version_of("20250101T000000Z-aaaaaa.yaml", pointer) == "20250101T000000Z-aaaaaa"
    assert version_of("files/20250101T000000Z-aaaaaa/", pointer) == "20250101T000000Z-aaaaaa"
    assert version_of("data.yaml", pointer) == VERSION
    assert version_of("data.yaml", {}) == ""
    assert version_of("my/custom/dataset.yaml", pointer) == ""


def test_a_metric_line_is_never_written_for_nan() -> None:
    # Given a metric Ultralytics could not compute (no labels in val: NaN)
    # Then no line is printed for it (a regex would read another number or none), others are
    assert metric_line("mAP50", float("nan")) is None
    assert metric_line("mAP50", 0.5123456789) == "gt2yolo-metric mAP50=0.512346"
    assert metric_line("recall", 1e-7) == "gt2yolo-metric recall=1e-07"
    assert final_metrics("gt2yolo-metric recall=1e-07\n", METRIC_DEFINITIONS) == {"recall": 1e-7}


def test_the_contract_and_metric_code_import_without_ultralytics() -> None:
    # Given a Python without Ultralytics (this venv: the stub is only on subprocesses' path)
    code = ("import sys, training.train, training.metric_lines, localrun.training; "
            "print('ultralytics' in sys.modules)")  # fmt: skip
    # When the entry point's module and the metric definitions are imported
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'lambdas'}:{ROOT}"},
    )  # fmt: skip
    # Then they import, and Ultralytics is not loaded
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("model", "task", "trained"),
    [
        ("yolo11n.pt", "segment", "yolo11n-seg.pt"),
        ("yolo11n.pt", "classify", "yolo11n-cls.pt"),
        ("yolo11n.pt", "detect", "yolo11n.pt"),
        ("yolov8s.yaml", "segment", "yolov8s-seg.yaml"),
        ("yolo26m.pt", "classify", "yolo26m-cls.pt"),
        # a model of the task already, or any other name, is taken as given
        ("yolo11n-seg.pt", "segment", "yolo11n-seg.pt"),
        ("yolo11n-cls.pt", "segment", "yolo11n-cls.pt"),
        ("rtdetr-l.pt", "segment", "rtdetr-l.pt"),
        ("my-parts-model.pt", "classify", "my-parts-model.pt"),
    ],
)
def test_a_detection_model_name_becomes_the_same_model_of_the_datasets_task(
    model: str, task: str, trained: str
) -> None:
    # One `model` setting serves every listed dataset, whatever its task
    assert model_for_task(model, task) == trained
