"""Collections on the local cloud, every function as deployed: three batches of one training set
complete in turn, and each completion publishes the next version of the one dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly, synthesize
from samples.collection import NEW_CLASS, Batch, make_batches
from samples.detection import CLASSES, CUSTOMER_IMAGES
from tests.e2e.conftest import E2E_CONTEXT

PARTS = {"name": "parts", "jobs": ["parts-batch-*"]}
CONTEXT = E2E_CONTEXT | {"collections": json.dumps([PARTS])}


@pytest.fixture(scope="module")
def collection_assembly() -> Assembly:
    return synthesize(CONTEXT)


@pytest.fixture
def parts(collection_assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(collection_assembly) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        yield local


def _complete(cloud: LocalCloud, batch: Batch) -> dict[str, Any]:
    cloud.put_objects(batch.job.objects)
    cloud.put_objects(batch.job.image_objects, CUSTOMER_IMAGES)
    cloud.expect_describe_labeling_job(batch.describe_response())
    execution = cloud.put_event(completion_event(batch.job.job_name))
    assert execution is not None and execution.status == "SUCCEEDED", execution
    assert execution.output is not None and execution.output["published"] is True
    return execution.output


def _labels(files: dict[str, bytes]) -> dict[str, bytes]:
    return {key: body for key, body in files.items() if "/labels/" in f"/{key}"}


def test_three_batches_completing_in_turn_publish_three_versions_of_one_dataset(
    parts: LocalCloud,
) -> None:
    # Given three batches of one training set, each with its own label config order; the
    # second relabels three images of the first, the third adds a class
    batches = make_batches(parts.bucket, CUSTOMER_IMAGES)

    # When they complete in turn
    versions, snapshots = [], []
    for batch in batches:
        versions.append(_complete(parts, batch)["version"])
        snapshots.append(parts.dataset("datasets/parts/"))

    # Then each completion published the next version of datasets/parts/
    assert len(set(versions)) == 3
    listed = parts.client("s3").list_objects_v2(Bucket=parts.bucket, Prefix="datasets/")
    assert {item["Key"].split("/")[1] for item in listed["Contents"]} == {"parts"}
    # And the class list only grew: the first batch's order, the new class appended
    classes = [s["classes.txt"].decode().splitlines() for s in snapshots]
    assert classes == [list(CLASSES), list(CLASSES), [*CLASSES, NEW_CLASS]]
    # And an image of the first batch nobody relabeled keeps its label file and split
    relabeled = set(batches[1].relabeled_refs)
    first = _labels(snapshots[0])
    for later in snapshots[1:]:
        kept = {k: v for k, v in _labels(later).items() if k in first}
        assert len(kept) >= len(first) - len(relabeled)
        assert all(first[k] == v for k, v in kept.items() if not _of(k, relabeled))
    # And report.json counts each member, the overlaps and the new class
    report = json.loads(snapshots[2]["report.json"])
    members = {m["name"]: m for m in report["collection"]["members"]}
    assert list(members) == [b.job.job_name for b in batches]
    assert report["collection"]["new_classes"] == [NEW_CLASS]
    assert report["collection"]["overlaps"] == len(relabeled)
    assert sum(m["images"] for m in members.values()) == report["images"] + len(relabeled)
    # And the notification named the appended class with its id
    ready = [n["Message"] for n in parts.notifications() if "ready" in n["Subject"]]
    assert len(ready) == 3 and f"{NEW_CLASS} (id {len(CLASSES)})" in ready[-1]
    # And the third version wrote about its own batch's files, not the collection's
    assert parts.denials == []


def _of(label_key: str, refs: set[str]) -> bool:
    stem = label_key.split("/labels/", 1)[-1].rsplit(".", 1)[0]
    return any(ref.rsplit(".", 1)[0].endswith(stem) for ref in refs)
