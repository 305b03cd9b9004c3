"""What a SageMaker training job hands train.py, read into one Settings (standard library only).

SageMaker's training toolkit sets the environment (the names are its):
- SM_HPS: the hyperparameters as a JSON object. CreateTrainingJob carries strings; the toolkit
  decodes each one that is JSON (`1` becomes a number, a quoted string loses its quotes), so a
  value may arrive as a string, a number or a boolean: all are read here.
- SM_CHANNEL_DATASET: the folder holding the `dataset` channel, a copy of `datasets/<name>/`.
- SM_MODEL_DIR (tarred into model.tar.gz), SM_OUTPUT_DATA_DIR (output.tar.gz), SM_OUTPUT_DIR
  (its `failure` file becomes the job's FailureReason), SM_NUM_GPUS.
Checkpoints: /opt/ml/checkpoints (CheckpointConfig's default LocalPath, which SageMaker syncs
with CheckpointConfig.S3Uri and fills again when a spot job restarts); GT2YOLO_CHECKPOINT_DIR
overrides it where a job runs outside a container.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHANNEL = "dataset"
TASKS = ("detect", "segment", "classify")
POINTER = "current.json"  # the dataset's pointer to its current version (docs/versions.md)
DEFAULT_CHECKPOINTS = "/opt/ml/checkpoints"
RUN_NAME = "train"  # the run's folder under the checkpoints: one job, one run to resume

# Ultralytics' own defaults, but for the model: the smallest YOLO11.
DEFAULTS: dict[str, str] = {
    "model": "yolo11n.pt",
    "epochs": "100",
    "imgsz": "640",
    "batch": "16",
    "patience": "100",
    "seed": "0",
    "onnx": "false",
}
TRUE = ("true", "1", "yes")
FALSE = ("false", "0", "no", "")


class ContractError(Exception):
    """The job was given no usable dataset or hyperparameters: nothing to train."""


@dataclass(frozen=True)
class Settings:
    """One training run: what to train on, how, and where its files go."""

    model: str
    task: str
    data: Path  # the version's yaml (detect, segment) or folder tree (classify)
    data_name: str  # as named in the channel: "<v>.yaml", "files/<v>/"
    version: str  # the dataset version trained on ("" when the channel does not say)
    epochs: int
    imgsz: int
    batch: int
    patience: int
    seed: int
    onnx: bool
    device: str
    checkpoints: Path
    model_dir: Path
    output_data_dir: Path

    @property
    def run_dir(self) -> Path:
        """Where Ultralytics writes the run: under the checkpoints, so its last.pt survives."""
        return self.checkpoints / RUN_NAME


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The run SageMaker's environment describes; ContractError when it cannot be trained."""
    hyperparameters = read_hyperparameters(environ.get("SM_HPS", "{}"))
    channel = _channel(environ)
    pointer = _pointer(channel)
    task = hyperparameters.get("task") or str(pointer.get("task") or "detect")
    if task not in TASKS:
        raise ContractError(f"hyperparameter task={task!r}: one of {', '.join(TASKS)}")
    data_name = hyperparameters.get("data") or str(pointer.get("data") or "data.yaml")
    return Settings(
        model=model_for_task(hyperparameters.get("model") or DEFAULTS["model"], task),
        task=task,
        data=_data(channel, data_name, task),
        data_name=data_name,
        version=version_of(data_name, pointer),
        epochs=_integer(hyperparameters, "epochs"),
        imgsz=_integer(hyperparameters, "imgsz"),
        batch=_integer(hyperparameters, "batch"),
        patience=_integer(hyperparameters, "patience"),
        seed=_integer(hyperparameters, "seed"),
        onnx=_boolean(hyperparameters, "onnx"),
        device=device(environ.get("SM_NUM_GPUS", "0")),
        checkpoints=Path(environ.get("GT2YOLO_CHECKPOINT_DIR") or DEFAULT_CHECKPOINTS),
        model_dir=Path(environ.get("SM_MODEL_DIR", "/opt/ml/model")),
        output_data_dir=Path(environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
    )


# An Ultralytics detection model of the YOLO families by its file name (`yolo11n.pt`,
# `yolov8s.yaml`, `yolo26m.pt`): its segment and classify forms add `-seg` / `-cls`.
_DETECT_MODEL = re.compile(r"^(yolo(?:v?\d+)[nsmlx])(\.pt|\.yaml)$")
TASK_SUFFIXES = {"segment": "-seg", "classify": "-cls"}


def model_for_task(model: str, task: str) -> str:
    """The model of `task` for a detection model's name (one `model` setting serves datasets of
    every task: `yolo11n.pt` trains `yolo11n-seg.pt` on a segment dataset); any other name, or a
    detect task, as given."""
    found = _DETECT_MODEL.fullmatch(model)
    if found is None or task not in TASK_SUFFIXES:
        return model
    return f"{found.group(1)}{TASK_SUFFIXES[task]}{found.group(2)}"


def read_hyperparameters(text: str) -> dict[str, str]:
    """SM_HPS as {name: text}: numbers and booleans the toolkit decoded are written back."""
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as error:
        raise ContractError(f"SM_HPS is not JSON: {error}") from None
    if not isinstance(decoded, dict):
        raise ContractError("SM_HPS is not a JSON object")
    return {str(name): _text(value) for name, value in decoded.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _channel(environ: Mapping[str, str]) -> Path:
    variable = f"SM_CHANNEL_{CHANNEL.upper()}"
    folder = environ.get(variable)
    if not folder:
        raise ContractError(f"no {CHANNEL!r} input channel: {variable} is not set")
    if not Path(folder).is_dir():
        raise ContractError(f"the {CHANNEL!r} channel's folder {folder} does not exist")
    return Path(folder)


def _pointer(channel: Path) -> dict[str, Any]:
    """The dataset's current.json, or {} (a plain dataset folder has none)."""
    try:
        pointer = json.loads((channel / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return pointer if isinstance(pointer, dict) else {}


def _data(channel: Path, name: str, task: str) -> Path:
    """The data Ultralytics reads: a yaml file, or for classify a folder with train/ and val/."""
    path = (channel / name).resolve()
    if channel.resolve() not in path.parents:
        raise ContractError(f"hyperparameter data={name!r} is outside the dataset channel")
    if task == "classify" and not path.is_dir():
        raise ContractError(f"no folder {name!r} in the dataset channel (classify reads one)")
    if task != "classify" and not path.is_file():
        raise ContractError(f"no data file {name!r} in the dataset channel")
    return path


def version_of(data_name: str, pointer: Mapping[str, Any]) -> str:
    """The version a data name pins: `<v>.yaml` or `files/<v>/`; `data.yaml` (or what
    current.json names) is the current version."""
    name = data_name.strip("/")
    if name in ("data.yaml", str(pointer.get("data", "")).strip("/")):
        return str(pointer.get("version", ""))
    pinned = re.fullmatch(r"files/([^/]+)|([^/]+)\.yaml", name)
    return next((group for group in pinned.groups() if group), "") if pinned else ""


def device(gpus: str) -> str:
    """Ultralytics' device: every GPU the instance has ("0,1"), else the CPU."""
    count = int(gpus) if gpus.strip().isdigit() else 0
    return ",".join(str(index) for index in range(count)) if count else "cpu"


def _integer(hyperparameters: Mapping[str, str], name: str) -> int:
    text = hyperparameters.get(name) or DEFAULTS[name]
    try:
        return int(text)
    except ValueError:
        raise ContractError(f"hyperparameter {name}={text!r} is not an integer") from None


def _boolean(hyperparameters: Mapping[str, str], name: str) -> bool:
    text = hyperparameters.get(name, DEFAULTS[name]).strip().lower()
    if text not in (*TRUE, *FALSE):
        raise ContractError(f"hyperparameter {name}={text!r}: true or false")
    return text in TRUE
