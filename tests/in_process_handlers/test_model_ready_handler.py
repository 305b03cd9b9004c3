"""ModelReady handler on moto: the job's archives unpacked under models/, one Model Ready event
and one SNS message."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

VERSION = "20261202T081500Z-3fa9c1"
JOB = f"gt2yolo-demo-{VERSION}-0a1b2c3d"
FOLDER = f"models/demo/{VERSION}/"


def _tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _state(bucket: Any) -> dict[str, Any]:
    return {
        "published": True,
        "dataset_uri": bucket.uri("datasets/demo/"),
        "job_name": "demo",
        "version": VERSION,
        "training": {
            "train": True,
            "dataset": "demo",
            "version": VERSION,
            "task": "detect",
            "job_name": JOB,
            "models_prefix": FOLDER,
            "request": {"TrainingJobName": JOB},
            "job": {
                "TrainingJobName": JOB,
                "TrainingJobStatus": "Completed",
                "ModelArtifacts": {
                    "S3ModelArtifacts": bucket.uri(f"{FOLDER}{JOB}/output/model.tar.gz")
                },
                "FinalMetricDataList": [{"MetricName": "mAP50", "Value": 0.5, "Timestamp": 1}],
            },
        },
    }


def test_a_finished_job_is_published_and_announced_once(
    model_ready, bucket, notifications, bus_events
) -> None:
    # Given a finished training job's archives in the bucket
    bucket.put(f"{FOLDER}{JOB}/output/model.tar.gz", _tar_gz({"best.pt": b"w", "evil": b"x"}))
    metrics = {"version": VERSION, "metrics": {"mAP50": 0.75}}
    bucket.put(
        f"{FOLDER}{JOB}/output/output.tar.gz",
        _tar_gz({"metrics.json": json.dumps(metrics).encode()}),
    )
    # When ModelReady runs, twice
    result = model_ready(_state(bucket))
    again = model_ready(_state(bucket))
    # Then the files are under models/demo/<v>/ and latest.json names the version
    assert bucket.read(FOLDER + "best.pt") == b"w"
    assert not bucket.exists(FOLDER + "evil")
    assert json.loads(bucket.read("models/demo/latest.json"))["version"] == VERSION
    assert result["metrics"] == {"mAP50": 0.75} and result["skipped"] == {"unknown name": 1}
    assert result["announced"] and not again["announced"]
    # and one event and one message went out
    (event,) = bus_events.drain()
    assert event["detail-type"] == "Model Ready" and event["source"] == "gt2yolo"
    assert event["detail"]["model_uri"] == bucket.uri(FOLDER + "best.pt")
    (message,) = notifications.drain()
    assert message["Subject"] == f"Model ready: demo {VERSION}"
    assert "first model of this dataset" in message["Message"]
