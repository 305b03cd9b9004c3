"""Train Ultralytics YOLO on a published gt2yolo dataset version: a SageMaker training job's entry
point (`python train.py`, run from this folder; the environment it reads: contract.py).

1. Read the run from SM_HPS and the `dataset` channel (model, task, data, epochs, imgsz, batch,
   patience, seed, onnx). No channel or no data file: exit 2 with the reason, also written to
   SM_OUTPUT_DIR/failure, which SageMaker shows as the job's FailureReason.
2. Train, the run folder under the checkpoint folder: a spot job SageMaker restarts finds its
   last.pt there again and resumes from it (`resume=True`) instead of starting over.
3. SM_MODEL_DIR gets best.pt, last.pt, results.csv, args.yaml (and best.onnx with onnx=true);
   SM_OUTPUT_DATA_DIR gets metrics.json; one `gt2yolo-metric <name>=<value>` line per metric
   is printed for the job's MetricDefinitions (metric_lines.METRIC_DEFINITIONS).

Ultralytics (AGPL-3.0) is imported inside `train` only: the container installs it from
requirements.txt at job start, and the contract code imports and tests without it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

if __package__:  # imported as training.train (tests, type checking)
    from training.contract import ContractError, Settings, read_settings
    from training.metric_lines import NAMES, metric_line
else:  # run as a script from the source dir (SageMaker's /opt/ml/code): siblings are top level
    from contract import ContractError, Settings, read_settings  # type: ignore[no-redef]
    from metric_lines import NAMES, metric_line  # type: ignore[no-redef]

MODEL_FILES = ("weights/best.pt", "weights/last.pt", "results.csv", "args.yaml")
# Ultralytics' names of the validation metrics (results_dict, results.csv columns) -> ours.
ULTRALYTICS_METRICS = {
    "metrics/mAP50(B)": "mAP50",
    "metrics/mAP50-95(B)": "mAP50-95",
    "metrics/precision(B)": "precision",
    "metrics/recall(B)": "recall",
    "metrics/mAP50(M)": "mask_mAP50",
    "metrics/mAP50-95(M)": "mask_mAP50-95",
    "metrics/precision(M)": "mask_precision",
    "metrics/recall(M)": "mask_recall",
    "metrics/accuracy_top1": "top1",
    "metrics/accuracy_top5": "top5",
}
EXIT_CONTRACT = 2


def main() -> int:
    try:
        settings = read_settings(os.environ)
    except ContractError as error:
        return _fail(f"gt2yolo-train: {error}")
    resumed = (settings.run_dir / "weights" / "last.pt").is_file()
    result = train(settings, resume=resumed)
    metrics = metric_values(result, settings.run_dir / "results.csv", settings.task)
    missing = publish_model(settings)
    if missing:
        return _fail(f"gt2yolo-train: the run wrote no {', '.join(missing)}")
    write_metrics(settings, metrics, resumed)
    return 0


def train(settings: Settings, *, resume: bool) -> Any:
    """Ultralytics' training run; what `YOLO.train` returns (its validator's final metrics)."""
    from ultralytics import YOLO

    if resume:
        last = settings.run_dir / "weights" / "last.pt"
        checkpoint = YOLO(str(last))
        if not resumable(getattr(checkpoint, "ckpt", None)):
            # A finished run's last.pt (Ultralytics strips its epoch and optimizer): the job
            # was restarted after training ended. Resuming it would start a new training with
            # Ultralytics' defaults (100 epochs at 640): publish the finished run instead.
            print(f"gt2yolo-train: {last} is a finished run: publishing it", flush=True)
            return None
        # The checkpoint holds every argument of the run (epochs, imgsz, ...) and resumes with
        # them, but for where things are: its data and save_dir are the paths of the run that
        # wrote it, which a job outside a container (another job folder, another
        # GT2YOLO_CHECKPOINT_DIR) does not share. Ultralytics takes data, save_dir and device
        # from the call on a resume (BaseTrainer.check_resume): this job's channel, checkpoint
        # folder and devices.
        print(f"gt2yolo-train: resuming from {last}", flush=True)
        return checkpoint.train(
            resume=True, data=str(settings.data), save_dir=str(settings.run_dir),
            device=settings.device,
        )  # fmt: skip
    return YOLO(settings.model, task=settings.task).train(
        data=str(settings.data),
        epochs=settings.epochs,
        imgsz=settings.imgsz,
        batch=settings.batch,
        patience=settings.patience,
        seed=settings.seed,
        device=settings.device,
        project=str(settings.checkpoints),
        name=settings.run_dir.name,
        exist_ok=True,  # the same folder on every restart: the one a resume looks in
    )


def resumable(checkpoint: Any) -> bool:
    """Whether a loaded last.pt is of an unfinished run, by Ultralytics' own rule (Model.train):
    an epoch and the optimizer's state; a finished run's are stripped (epoch -1, no optimizer)."""
    if not isinstance(checkpoint, dict):
        return False
    return int(checkpoint.get("epoch", -1)) >= 0 and checkpoint.get("optimizer") is not None


def metric_values(result: Any, results_csv: Path, task: str) -> dict[str, float]:
    """The task's metrics by our names: from the metrics `train` returned, else (a resumed or
    older run returning none) the last epoch of results.csv."""
    found = getattr(result, "results_dict", None)
    if not isinstance(found, dict):
        found = result if isinstance(result, dict) else _last_row(results_csv)
    ours = {ULTRALYTICS_METRICS[key]: float(value) for key, value in found.items()
            if key in ULTRALYTICS_METRICS}  # fmt: skip
    return {name: ours[name] for name in NAMES[task] if name in ours}


def _last_row(results_csv: Path) -> dict[str, str]:
    rows = _rows(results_csv)
    return rows[-1] if rows else {}


def _rows(results_csv: Path) -> list[dict[str, str]]:
    """results.csv's rows, one per epoch run (older Ultralytics pads its column names)."""
    if not results_csv.is_file():
        return []
    with results_csv.open(newline="", encoding="utf-8") as file:
        return [{key.strip(): value.strip() for key, value in row.items() if key}
                for row in csv.DictReader(file)]  # fmt: skip


def publish_model(settings: Settings) -> list[str]:
    """Copy the run's files into SM_MODEL_DIR (flat: best.pt beside last.pt); return those the
    run did not write. With onnx=true, best.pt is exported and its best.onnx copied too."""
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in MODEL_FILES:
        source = settings.run_dir / name
        if source.is_file():
            shutil.copy2(source, settings.model_dir / source.name)
        else:
            missing.append(source.name)
    best = settings.run_dir / "weights" / "best.pt"
    if settings.onnx and best.is_file():
        from ultralytics import YOLO

        exported = YOLO(str(best)).export(format="onnx", imgsz=settings.imgsz)
        shutil.copy2(exported, settings.model_dir / "best.onnx")
    return missing


def write_metrics(settings: Settings, metrics: dict[str, float], resumed: bool) -> None:
    """metrics.json into SM_OUTPUT_DATA_DIR, and one metric line per value on stdout."""
    document = {
        "task": settings.task,
        "model": settings.model,
        "data": settings.data_name,
        "version": settings.version,
        "epochs": settings.epochs,
        "epochs_run": len(_rows(settings.run_dir / "results.csv")),
        "resumed": resumed,
        "metrics": metrics,
    }
    settings.output_data_dir.mkdir(parents=True, exist_ok=True)
    (settings.output_data_dir / "metrics.json").write_text(
        json.dumps(document, indent=2) + "\n", encoding="utf-8"
    )
    for name, value in metrics.items():
        line = metric_line(name, value)
        if line:
            print(line, flush=True)


def _fail(message: str) -> int:
    """Report why the job cannot run: stderr (the log) and SageMaker's failure file."""
    print(message, file=sys.stderr, flush=True)
    failure = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure"
    try:
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(message + "\n", encoding="utf-8")
    except OSError:  # outside a container /opt/ml may not be writable: the log still has it
        pass
    return EXIT_CONTRACT


if __name__ == "__main__":
    sys.exit(main())
