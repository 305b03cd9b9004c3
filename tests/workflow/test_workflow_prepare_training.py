"""PrepareTraining: only a published, complete version of a listed dataset is trained; the
source tarball is the same bytes for the same sources, written once under its digest; the
request names it and passes train.py only hyperparameters it reads."""

from __future__ import annotations

import ast
import gzip
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.memory_store import MemoryObjects
from gt2yolo_config.training import TrainingSettings
from workflow.models import ConversionSummary, PublishOutcome
from workflow.prepare_training import (
    TrainingDeployment,
    dataset_name,
    prepare_training,
    source_key,
    source_tarball,
)

import training
from tests.workflow.workflow_fakes import BUCKET
from training import contract

VERSION = "20261202T081500Z-3fa9c1"
DEPLOYMENT = TrainingDeployment(
    settings=TrainingSettings(datasets=("parts",), epochs=3, imgsz=320),
    bucket=BUCKET,
    role_arn="arn:aws:iam::111122223333:role/Gt2Yolo-ModelTrainingExecutionRole-ABC",
    image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.8.0-gpu",
    region="us-east-1",
)
SOURCES = {"train.py": b"print('train')\n", "contract.py": b"X = 1\n", "requirements.txt": b"u\n"}


SUMMARY = ConversionSummary(
    task="detect", images=10, boxes=20, rejected_lines=0, dropped_boxes=0, clamped_boxes=0,
    classes=2, images_per_split={"train": 8, "val": 2},
)  # fmt: skip


def _outcome(**changes: Any) -> PublishOutcome:
    values: dict[str, Any] = {
        "published": True,
        "dataset_uri": f"s3://{BUCKET}/datasets/parts/",
        "job_name": "parts-batch-3",
        "reason": "published",
        "summary": ConversionSummary(
            task="detect",
            images=10,
            boxes=20,
            rejected_lines=0,
            dropped_boxes=0,
            clamped_boxes=0,
            classes=2,
            images_per_split={"train": 8, "val": 2},
        ),
        "version": VERSION,
    }
    return PublishOutcome(**{**values, **changes})


def _prepare(objects: MemoryObjects, outcome: PublishOutcome) -> Any:
    return prepare_training(outcome, DEPLOYMENT, objects.at(f"s3://{BUCKET}/"), SOURCES)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"published": False, "reason": "already published"}, "nothing new was published"),
        ({"partial": True}, "partial version is not trained"),
        ({"dataset_uri": f"s3://{BUCKET}/datasets/other/"}, "not in training.datasets"),
        ({"version": None}, "no version id"),
    ],
)
def test_only_a_published_complete_version_of_a_listed_dataset_is_trained(
    changes: dict[str, Any], reason: str
) -> None:
    objects = MemoryObjects()
    plan = _prepare(objects, _outcome(**changes))
    # Then no job is asked for, the reason says why, and nothing is written
    assert plan.train is False and reason in plan.reason
    assert plan.request == {}
    assert objects.buckets.get(BUCKET, {}) == {}


def test_the_tarball_is_written_once_under_its_digest_and_named_by_the_request() -> None:
    objects = MemoryObjects()
    first = _prepare(objects, _outcome())
    again = _prepare(objects, _outcome())
    # Then one object under training/source/, the same for both runs, is the job's source dir
    [key] = objects.buckets[BUCKET]
    assert key == source_key(source_tarball(SOURCES)) and key.startswith("training/source/")
    assert first.source_uri == again.source_uri == f"s3://{BUCKET}/{key}"
    hyperparameters = first.request["HyperParameters"]
    assert hyperparameters["sagemaker_submit_directory"] == first.source_uri
    assert hyperparameters["sagemaker_program"] == "train.py"
    # And the plan names the job, its version and where the model goes
    assert first.job_name == first.request["TrainingJobName"]
    assert (first.dataset, first.version, first.task) == ("parts", VERSION, "detect")
    assert first.models_prefix == f"models/parts/{VERSION}/"


def test_the_tarball_is_the_same_bytes_for_the_same_sources_in_any_order() -> None:
    reordered = dict(reversed(list(SOURCES.items())))
    assert source_tarball(SOURCES) == source_tarball(reordered)
    assert source_tarball(SOURCES) != source_tarball({**SOURCES, "train.py": b"print(2)\n"})
    # No time of this machine in it: the gzip header's and each member's time are 0
    tarball = source_tarball(SOURCES)
    assert gzip.decompress(tarball)  # a gzip stream
    assert tarball[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        members = archive.getmembers()
    assert sorted(m.name for m in members) == sorted(SOURCES)
    assert {(m.mtime, m.uid, m.gid, m.mode, m.isfile()) for m in members} == {
        (0, 0, 0, 0o644, True)
    }


def test_sources_without_the_entry_point_are_refused() -> None:
    with pytest.raises(ValueError, match=r"train\.py"):
        source_tarball({"contract.py": b""})


def test_the_shipped_sources_hold_every_module_train_py_imports_from_its_folder() -> None:
    # In the container the tarball is the whole source dir: each sibling train.py (and what it
    # imports) imports as a top-level module must be in it
    folder = Path(training.__file__).parent
    shipped = set(training.SOURCE_FILES)
    assert {"train.py", "requirements.txt"} <= shipped
    siblings = {path.stem for path in folder.glob("*.py")}
    for name in (n for n in shipped if n.endswith(".py")):
        tree = ast.parse((folder / name).read_text(encoding="utf-8"))
        imported = {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        } | {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for a in node.names}  # fmt: skip
        for module in imported & siblings:
            assert f"{module}.py" in shipped, f"{name} imports {module}, not shipped"


def test_every_hyperparameter_of_the_request_is_one_train_py_reads() -> None:
    plan = _prepare(MemoryObjects(), _outcome())
    ours = {name for name in plan.request["HyperParameters"] if not name.startswith("sagemaker_")}
    # train.py reads its defaults' names, and data and task (contract.read_settings)
    assert ours <= set(contract.DEFAULTS) | {"data", "task"}


def test_the_dataset_name_is_the_folder_under_datasets() -> None:
    assert dataset_name(f"s3://{BUCKET}/datasets/leaves.v2/") == "leaves.v2"
