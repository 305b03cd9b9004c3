"""Model Ready on in-memory ports: a training job's archives unpacked (only what train.py
writes), compared with the previous model, linked from the report, announced once."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

import pytest
from gt2yolo.memory_store import MemoryObjects
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow.model_ready import (
    DUPLICATE,
    LINK,
    MODEL_READY,
    NOT_A_FILE,
    UNKNOWN_NAME,
    UNSAFE_PATH,
    ModelNotReady,
    ModelReadyRequest,
    publish_model,
)
from workflow.training import training_job_name
from workflow_fakes import BUCKET, Bus, Notifier

V1 = "20261101T080000Z-aaaaaa"
V2 = "20261202T081500Z-3fa9c1"
DATASET_URI = f"s3://{BUCKET}/datasets/pets/"
MODEL_FILES = {
    "best.pt": b"best-weights",
    "last.pt": b"last-weights",
    "results.csv": b"epoch,mAP50\n1,0.5\n",
    "args.yaml": b"epochs: 1\n",
}


@dataclass(frozen=True)
class Member:
    """One tar member: a regular file by default (`kind`: file, dir, symlink, hardlink, fifo)."""

    name: str
    data: bytes = b""
    kind: str = "file"


def tar_gz(members: list[Member]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = {
                "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE,
            }[member.kind]  # fmt: skip
            if member.kind in ("symlink", "hardlink"):
                info.linkname = "/etc/passwd"
            info.size = len(member.data) if member.kind == "file" else 0
            tar.addfile(info, io.BytesIO(member.data) if member.kind == "file" else None)
    return buffer.getvalue()


def metrics_json(metrics: dict[str, Any], version: str = V2) -> bytes:
    document = {"task": "detect", "model": "yolo11n.pt", "data": f"{version}.yaml",
                "version": version, "epochs": 3, "epochs_run": 3, "resumed": False,
                "metrics": metrics}  # fmt: skip
    return json.dumps(document).encode()


def job_folder(version: str) -> str:
    return f"models/pets/{version}/{training_job_name('pets', version)}/output/"


def put_archives(
    objects: MemoryObjects,
    version: str = V2,
    model: list[Member] | None = None,
    metrics: dict[str, Any] | None = None,
) -> None:
    folder = f"s3://{BUCKET}/{job_folder(version)}"
    members = model if model is not None else [Member(n, d) for n, d in MODEL_FILES.items()]
    objects.put(folder + "model.tar.gz", tar_gz(members))
    values = metrics if metrics is not None else {"mAP50": 0.75, "mAP50-95": 0.5}
    objects.put(folder + "output.tar.gz", tar_gz([Member("metrics.json", metrics_json(values))]))


def state(version: str = V2, **job: Any) -> ModelReadyRequest:
    """The state after `createTrainingJob.sync`: Publish's outcome and `training`."""
    name = training_job_name("pets", version)
    description = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:eu-west-1:123456789012:training-job/{name}",
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/{job_folder(version)}model.tar.gz"},
        "FinalMetricDataList": [
            {"MetricName": "mAP50", "Value": 0.1, "Timestamp": 1764666900},
            {"MetricName": "recall", "Value": 0.625, "Timestamp": 1764666900},
        ],
        "TrainingEndTime": 1764666900000,
        **job,
    }
    return ModelReadyRequest.model_validate({
        "published": True, "dataset_uri": DATASET_URI, "job_name": "pets-labels",
        "version": version, "partial": False, "reason": "published",
        "summary": {"images": 2, "boxes": 2, "rejected_lines": 0, "dropped_boxes": 0,
                    "clamped_boxes": 0, "classes": 2, "images_per_split": {"train": 2}},
        "training": {
            "train": True, "dataset": "pets", "version": version, "task": "detect",
            "job_name": name, "models_prefix": f"models/pets/{version}/",
            "request": {"TrainingJobName": name,
                        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models/pets/{version}/"}},
            "job": description,
        },
    })  # fmt: skip


def put_report(objects: MemoryObjects, version: str = V2) -> None:
    base = f"{DATASET_URI}versions/{version}/"
    report = {"images": 2, "task": "detect", "classes": ["cat", "dog"], "version": version}
    objects.put(base + "report.json", json.dumps(report))
    page = ('<html><body><main><section id="counts"><h2>Counts</h2></section>'
            '<section id="classes"><h2>Classes</h2></section></main></body></html>')  # fmt: skip
    objects.put(base + "report.html", page)


def models(objects: MemoryObjects, version: str = V2) -> list[str]:
    """What Model Ready wrote under models/pets/<v>/ (SageMaker's own job folder left out)."""
    folder = f"s3://{BUCKET}/models/pets/{version}/"
    return [k for k in objects.keys(folder) if not k.startswith("gt2yolo-")]


def run(objects: MemoryObjects, version: str = V2) -> tuple[Any, Notifier, Bus]:
    notifier, bus = Notifier(), Bus()
    return publish_model(state(version), objects, notifier, bus), notifier, bus


@pytest.fixture
def objects() -> MemoryObjects:
    memory = MemoryObjects()
    put_archives(memory)
    put_report(memory)
    return memory


def test_the_job_files_are_unpacked_beside_the_model_json(objects: MemoryObjects) -> None:
    # Given a finished training job's two archives
    # When Model Ready runs
    result, _, _ = run(objects)
    # Then train.py's files are in models/pets/<v>/, with model.json and the marker
    assert models(objects) == [
        "_READY", "args.yaml", "best.pt", "last.pt", "metrics.json", "model.json", "results.csv",
    ]  # fmt: skip
    assert objects.get(f"s3://{BUCKET}/models/pets/{V2}/best.pt") == b"best-weights"
    assert result.model_uri == f"s3://{BUCKET}/models/pets/{V2}/best.pt"
    assert {f.name: f.size for f in result.files}["best.pt"] == len(b"best-weights")
    document = json.loads(objects.get(f"s3://{BUCKET}/models/pets/{V2}/model.json") or b"")
    assert document["training_job"]["name"] == training_job_name("pets", V2)
    assert document["files"]["best.pt"]["size"] == len(b"best-weights")
    assert document["trained_at"] == "2025-12-02T09:15:00+00:00"
    assert result.skipped == {}


def test_metrics_come_from_metrics_json_and_the_job_fills_in_missing_names(
    objects: MemoryObjects,
) -> None:
    result, _, _ = run(objects)
    # metrics.json's mAP50 (0.75) wins over the job's final value (0.1); recall comes from it
    assert result.metrics == {"mAP50": 0.75, "mAP50-95": 0.5, "recall": 0.625}


def test_hostile_members_are_skipped_and_counted_never_written(objects: MemoryObjects) -> None:
    # Given a model archive with a link, a path out of the folder, a duplicate, a folder, a
    # fifo and a file of a name train.py does not write
    hostile = [
        Member("./best.pt", b"best-weights"),
        Member("best.pt", b"evil-second-copy"),
        Member("last.pt", kind="symlink"),
        Member("args.yaml", kind="hardlink"),
        Member("../../datasets/pets/current.json", b"{}"),
        Member("/etc/best.pt", b"x"),
        Member("weights", kind="dir"),
        Member("results.csv", kind="fifo"),
        Member("evil.sh", b"rm -rf /"),
    ]
    put_archives(objects, model=hostile)
    # When Model Ready runs
    result, _, _ = run(objects)
    # Then only the first best.pt is written, and each other member is counted by reason
    assert objects.get(f"s3://{BUCKET}/models/pets/{V2}/best.pt") == b"best-weights"
    assert models(objects) == ["_READY", "best.pt", "metrics.json", "model.json"]
    assert result.skipped == {
        DUPLICATE: 1, LINK: 2, UNSAFE_PATH: 2, NOT_A_FILE: 2, UNKNOWN_NAME: 1,
    }  # fmt: skip
    assert "datasets/pets/current.json" not in objects.keys(f"s3://{BUCKET}/")


_NAMES = st.sampled_from([
    "best.pt", "./best.pt", "last.pt", "results.csv", "args.yaml", "best.onnx", "metrics.json",
    "../best.pt", "/best.pt", "a/best.pt", "x/../../y", "C:\\best.pt", ".", "./", "weights/",
    "evil", "best.pt/..",
])  # fmt: skip
_KINDS = st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo"])
_MEMBERS = st.lists(st.builds(Member, _NAMES, st.binary(max_size=16), _KINDS), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=_MEMBERS)
def test_any_archive_writes_only_train_py_names_in_the_folder(members: list[Member]) -> None:
    # Given a model archive of any members of any kind (best.pt first, so the job is usable)
    memory = MemoryObjects()
    put_archives(memory, model=[Member("best.pt", b"best"), *members])
    result = publish_model(state(), memory, Notifier(), Bus())
    written = memory.keys(f"s3://{BUCKET}/")
    # Then nothing is written outside models/pets/<v>/ (nor SageMaker's job folder)
    ours = [k for k in written if not k.startswith(job_folder(V2))]
    assert all(k.startswith(f"models/pets/{V2}/") or k == "models/pets/latest.json" for k in ours)
    # and the files are train.py's names, best.pt the first copy, each member written or counted
    names = {k.rpartition("/")[2] for k in ours if k.startswith(f"models/pets/{V2}/")}
    assert names <= {"best.pt", "last.pt", "results.csv", "args.yaml", "best.onnx",
                     "metrics.json", "model.json", "_READY"}  # fmt: skip
    assert memory.get(f"s3://{BUCKET}/models/pets/{V2}/best.pt") == b"best"
    roots = sum(1 for m in members if m.kind == "dir" and m.name.strip("/") in ("", "."))
    written_members = len([f for f in result.files if f.name != "metrics.json"]) - 1
    assert written_members + sum(result.skipped.values()) + roots == len(members)


def test_the_first_model_of_a_dataset_says_it_is_the_first(objects: MemoryObjects) -> None:
    result, notifier, _ = run(objects)
    assert result.previous is None and result.changes == {}
    ((subject, body),) = notifier.sent
    assert subject == f"Model ready: pets {V2}"
    assert "the first model of this dataset" in body
    assert "  mAP50: 0.7500\n" in body


def test_the_change_is_against_the_previous_model_for_the_metrics_both_have(
    objects: MemoryObjects,
) -> None:
    # Given a model of an older version, latest
    put_archives(objects, V1, metrics={"mAP50": 0.7, "precision": 0.9})
    publish_model(state(V1, FinalMetricDataList=[]), objects, Notifier(), Bus())
    # When the newer version's model is ready
    result, notifier, bus = run(objects)
    # Then each metric both have changed by the difference, signed in the e-mail
    assert result.previous is not None and result.previous.version == V1
    assert result.changes == {"mAP50": 0.05}
    (_, body) = notifier.sent[0]
    assert f"against the previous model (version {V1})" in body
    assert "  mAP50: 0.7500 (+0.0500)" in body
    assert "  recall: 0.6250 (the previous model has none)" in body
    # and latest.json names the new version
    latest = json.loads(objects.get(f"s3://{BUCKET}/models/pets/latest.json") or b"")
    assert latest["version"] == V2 and latest["metrics"]["mAP50"] == 0.75
    assert bus.events[0][1]["previous"] == {"version": V1, "metrics": {"mAP50": 0.7,
                                                                       "precision": 0.9}}  # fmt: skip


def test_an_older_version_ready_late_does_not_move_latest_back(objects: MemoryObjects) -> None:
    # Given the newer version's model is latest
    run(objects)
    # When an older version's model becomes ready after it (a retry, a late job)
    put_archives(objects, V1, metrics={"mAP50": 0.7})
    result = publish_model(state(V1), objects, Notifier(), Bus())
    # Then its files are published, but latest.json still names the newer version
    assert not result.latest_moved and result.latest_version == V2
    latest = json.loads(objects.get(f"s3://{BUCKET}/models/pets/latest.json") or b"")
    assert latest["version"] == V2
    # and it is compared with no newer model (none older exists)
    assert result.previous is None
    assert "best.pt" in models(objects, V1)


def test_the_version_report_page_links_the_model(objects: MemoryObjects) -> None:
    result, _, bus = run(objects)
    base = f"{DATASET_URI}versions/{V2}/"
    report = json.loads(objects.get(base + "report.json") or b"")
    assert report["model"]["model_uri"] == result.model_uri
    assert report["images"] == 2  # the rest of report.json as it was
    page = (objects.get(base + "report.html") or b"").decode()
    assert page.index('<section id="model">') < page.index('<section id="classes">')
    assert result.model_uri in page and "0.7500" in page
    assert result.report_uri == base + "report.html"
    assert bus.events[0][1]["report_uri"] == base + "report.html"


def test_a_version_without_a_report_is_said_not_failed() -> None:
    memory = MemoryObjects()
    put_archives(memory)
    result, notifier, _ = run(memory)
    assert result.report_uri is None and "no " in result.report_note
    assert "Report: none (no " in notifier.sent[0][1]
    assert f"datasets/pets/versions/{V2}/report.json" not in memory.keys(f"s3://{BUCKET}/")


def test_the_event_and_the_mail_say_what_the_model_is(objects: MemoryObjects) -> None:
    result, notifier, bus = run(objects)
    ((kind, detail),) = bus.events
    assert kind == MODEL_READY
    assert detail["dataset"] == "pets" and detail["version"] == V2
    assert detail["task"] == "detect"
    assert detail["training_job"] == training_job_name("pets", V2)
    assert detail["model_uri"] == result.model_uri
    assert set(detail["files"]) == {"best.pt", "last.pt", "results.csv", "args.yaml",
                                    "metrics.json"}  # fmt: skip
    assert detail["metrics"] == result.metrics and detail["previous"] is None
    assert detail["changes"] == {}
    ((subject, body),) = notifier.sent
    assert len(subject) <= 100
    for f in result.files:
        assert f.uri in body
    assert f"Report: {DATASET_URI}versions/{V2}/report.html" in body


@pytest.mark.parametrize(
    ("missing", "named"),
    [("model.tar.gz", "model.tar.gz"), ("output.tar.gz", "output.tar.gz")],
)
def test_a_missing_archive_is_a_clear_error_and_nothing_is_written(
    objects: MemoryObjects, missing: str, named: str
) -> None:
    objects.buckets[BUCKET].pop(job_folder(V2) + missing)
    with pytest.raises(ModelNotReady, match=named):
        run(objects)
    assert models(objects) == []
    assert "models/pets/latest.json" not in objects.keys(f"s3://{BUCKET}/")


def test_an_archive_without_best_pt_or_metrics_json_is_a_clear_error(
    objects: MemoryObjects,
) -> None:
    put_archives(objects, model=[Member("last.pt", b"x"), Member("best.pt", kind="symlink")])
    with pytest.raises(ModelNotReady, match=r"no best\.pt in s3://"):
        run(objects)
    assert models(objects) == []
    folder = f"s3://{BUCKET}/{job_folder(V2)}"
    objects.put(folder + "model.tar.gz", tar_gz([Member("best.pt", b"b")]))
    objects.put(folder + "output.tar.gz", tar_gz([Member("metrics.txt", b"{}")]))
    with pytest.raises(ModelNotReady, match=r"no metrics\.json in s3://"):
        run(objects)
    objects.put(folder + "output.tar.gz", b"not a tar")
    with pytest.raises(ModelNotReady, match="not a readable tar archive"):
        run(objects)
    assert models(objects) == []


def test_running_twice_writes_the_same_objects_and_announces_once(objects: MemoryObjects) -> None:
    # Given a first run
    first, notifier, bus = run(objects)
    snapshot = dict(objects.buckets[BUCKET])
    # When the same state runs again (a Step Functions retry, a redrive)
    again = publish_model(state(), objects, notifier, bus)
    # Then every object is as it was, the result the same, and nothing is announced twice
    assert objects.buckets[BUCKET] == snapshot
    assert again.model_copy(update={"announced": True, "reason": "announced"}) == first
    assert not again.announced and len(notifier.sent) == 1 and len(bus.events) == 1
    page = (objects.get(f"{DATASET_URI}versions/{V2}/report.html") or b"").decode()
    assert page.count('<section id="model">') == 1


def test_a_retry_of_the_newer_version_still_compares_with_the_older_model(
    objects: MemoryObjects,
) -> None:
    put_archives(objects, V1, metrics={"mAP50": 0.7})
    publish_model(state(V1, FinalMetricDataList=[]), objects, Notifier(), Bus())
    first, _, _ = run(objects)
    again, _, _ = run(objects)  # latest.json now names V2 itself
    assert again.previous == first.previous and again.changes == first.changes == {"mAP50": 0.05}
