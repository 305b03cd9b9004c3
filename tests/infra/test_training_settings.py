"""`training`: the optional training step's settings, parsed and checked at synth time.

Absent, training is off. Given, it is a JSON object (cdk.json, or its text with -c) whose
`datasets` is required and whose other keys fall back on gt2yolo_config.defaults; every
malformed value is refused with a message naming the field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gt2yolo_config import defaults
from gt2yolo_config.training import TrainingSettings

from stacks import gt2yolo_stack
from stacks.settings import CONTEXT_KEYS, MAX_TRAINING_DATASETS, Settings, SettingsError

EXAMPLE = {
    "instanceType": "ml.g5.xlarge",
    "model": "yolo11n.pt",
    "epochs": 100,
    "imgsz": 640,
    "spot": True,
    "datasets": ["parts"],
    "maxRuntimeHours": 8,
    "exportOnnx": False,
}


def _training(value: Any) -> TrainingSettings | None:
    return Settings.from_context({"training": value}).training


def _refused(value: Any) -> str:
    with pytest.raises(SettingsError) as raised:
        _training(value)
    return str(raised.value)


def test_without_the_option_training_is_off() -> None:
    # Given no `training` (or an empty -c value); Then there are no training settings
    assert Settings.from_context({}).training is None
    assert _training("") is None
    assert "training" in CONTEXT_KEYS


def test_the_documented_example_parses_into_typed_settings() -> None:
    # Given the example of the docs, as cdk.json gives it and as -c gives its JSON text
    for value in (EXAMPLE, json.dumps(EXAMPLE)):
        # Then every field is typed and has the given value
        assert _training(value) == TrainingSettings(
            datasets=("parts",),
            instance_type="ml.g5.xlarge",
            model="yolo11n.pt",
            epochs=100,
            imgsz=640,
            spot=True,
            max_runtime_hours=8,
            export_onnx=False,
        )


def test_only_datasets_is_required_the_rest_are_the_pipeline_defaults() -> None:
    # Given only the datasets
    settings = _training({"datasets": ["parts", "bolts.v2"]})
    # Then every other field is the default of gt2yolo_config.defaults
    assert settings == TrainingSettings(
        datasets=("parts", "bolts.v2"),
        instance_type=defaults.TRAINING_INSTANCE_TYPE,
        model=defaults.TRAINING_MODEL,
        epochs=defaults.TRAINING_EPOCHS,
        imgsz=defaults.TRAINING_IMGSZ,
        spot=defaults.TRAINING_SPOT,
        max_runtime_hours=defaults.TRAINING_MAX_RUNTIME_HOURS,
        export_onnx=defaults.TRAINING_EXPORT_ONNX,
        volume_size_gb=defaults.TRAINING_VOLUME_GB,
    )
    assert settings.trains("parts") and not settings.trains("nuts")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("{not json", "training is not JSON"),
        (["parts"], "training must be an object"),
        ({"datasets": ["parts"], "epoch": 3}, "unknown key(s) ['epoch']"),
        ({}, "training.datasets"),
        ({"datasets": []}, "training.datasets"),
        ({"datasets": "parts"}, "training.datasets"),
        ({"datasets": ["parts/a"]}, "training.datasets: 'parts/a'"),
        ({"datasets": ["parts*"]}, "training.datasets: 'parts*'"),
        ({"datasets": [".hidden"]}, "training.datasets: '.hidden'"),
        ({"datasets": ["x" * 129]}, "training.datasets"),
        ({"datasets": ["parts", "parts"]}, "names a dataset twice"),
        ({"datasets": ["parts"], "instanceType": "g5.xlarge"}, "training.instanceType"),
        ({"datasets": ["parts"], "instanceType": "ml.g5"}, "training.instanceType"),
        ({"datasets": ["parts"], "model": "weights/best.pt"}, "training.model"),
        ({"datasets": ["parts"], "model": "https://x/y.pt"}, "training.model"),
        ({"datasets": ["parts"], "model": "yolo11n"}, "training.model"),
        ({"datasets": ["parts"], "epochs": 0}, "training.epochs must be between 1 and 10000"),
        ({"datasets": ["parts"], "epochs": "100"}, "training.epochs must be a whole number"),
        ({"datasets": ["parts"], "epochs": True}, "training.epochs must be a whole number"),
        ({"datasets": ["parts"], "epochs": 2.5}, "training.epochs must be a whole number"),
        ({"datasets": ["parts"], "imgsz": 16}, "training.imgsz must be between 32 and 4096"),
        ({"datasets": ["parts"], "maxRuntimeHours": 0}, "training.maxRuntimeHours"),
        ({"datasets": ["parts"], "maxRuntimeHours": 673}, "training.maxRuntimeHours"),
        ({"datasets": ["parts"], "volumeSizeGB": 0}, "training.volumeSizeGB"),
        ({"datasets": ["parts"], "spot": "yes"}, "training.spot must be true or false"),
        ({"datasets": ["parts"], "exportOnnx": 1}, "training.exportOnnx must be true or false"),
    ],
)
def test_a_malformed_value_is_refused_naming_its_field(value: Any, field: str) -> None:
    # Given a malformed `training`; Then synth stops with a message naming the field
    assert field in _refused(value)


def test_the_bounds_themselves_are_accepted() -> None:
    # Given each bound's extremes; Then they are valid (the bounds are inclusive)
    low = _training({"datasets": ["p"], "epochs": 1, "imgsz": 32, "maxRuntimeHours": 1})
    high = _training({"datasets": ["p"], "epochs": 10_000, "maxRuntimeHours": 672})
    assert low is not None and (low.epochs, low.imgsz, low.max_runtime_hours) == (1, 32, 1)
    assert high is not None and high.max_runtime_seconds == 28 * 24 * 3600


def test_too_many_datasets_are_refused_for_the_roles_policy_size() -> None:
    names = [f"d{i}" for i in range(MAX_TRAINING_DATASETS + 1)]
    assert _training({"datasets": names[:-1]}) is not None
    assert "at most" in _refused({"datasets": names})


def test_the_names_collections_give_their_datasets_are_accepted() -> None:
    # Given a collection's dataset name and a job's (the names datasets/<name>/ uses)
    settings = _training({"datasets": ["parts_2024.v1", "dogs-batch-7"]})
    # Then both can be trained
    assert settings is not None and settings.datasets == ("parts_2024.v1", "dogs-batch-7")


def test_a_spot_job_may_wait_twice_its_runtime_but_never_past_28_days() -> None:
    # Given spot settings of 8 hours and of 20 days
    short = TrainingSettings(datasets=("p",), spot=True, max_runtime_hours=8)
    long = TrainingSettings(datasets=("p",), spot=True, max_runtime_hours=480)
    # Then the wait is twice the runtime, capped at 28 days, and never below the runtime
    assert short.max_wait_seconds == 2 * short.max_runtime_seconds
    assert long.max_wait_seconds == 28 * 24 * 3600
    assert long.max_wait_seconds >= long.max_runtime_seconds


def test_the_option_is_documented_in_the_stack_docstring_with_its_keys() -> None:
    doc = " ".join((gt2yolo_stack.__doc__ or "").split())
    assert "`training`" in doc
    for key in EXAMPLE:
        assert key in doc, key
