"""Collections on the local cloud, every function as deployed: three batches of one training set
complete in turn, and each completion publishes the next version of the one dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.collection import Member, MemberInput, collection_input, parse_collections
from gt2yolo.exports.formats import parse_exports
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalStorage, S3Mirror
from gt2yolo.task_types import LabelTask
from gt2yolo_config import defaults

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
    return {key: body for key, body in files.items() if key.startswith("labels/")}


def test_three_batches_completing_in_turn_publish_three_versions_of_one_dataset(
    parts: LocalCloud, tmp_path: Path
) -> None:
    # Given three batches of one training set, each with its own label config order; the
    # second relabels three images of the first, the third adds a class
    batches = make_batches(parts.bucket, CUSTOMER_IMAGES)

    # When they complete in turn
    outputs, snapshots = [], []
    for batch in batches:
        outputs.append(_complete(parts, batch))
        snapshots.append(parts.dataset("datasets/parts/"))

    # Then each completion published the next version of datasets/parts/, and no job got a
    # dataset of its own
    assert len({output["version"] for output in outputs}) == 3
    listed = parts.client("s3").list_objects_v2(Bucket=parts.bucket, Prefix="datasets/")
    assert {item["Key"].split("/")[1] for item in listed["Contents"]} == {"parts"}
    # And the class list only grew: the first batch's order, the new class appended
    classes = [s["classes.txt"].decode().splitlines() for s in snapshots]
    assert classes == [list(CLASSES), list(CLASSES), [*CLASSES, NEW_CLASS]]
    # And every label file of the first batch is kept in every version (same path, same
    # class ids, same split) except those of the images the second batch relabeled
    relabeled = set(batches[1].relabeled_refs)
    first = _labels(snapshots[0])
    for later in snapshots[1:]:
        changed = [k for k, v in first.items() if _labels(later).get(k) != v]
        assert sorted(changed) == sorted(_label_keys(first, relabeled))
    # And report.json counts each member, the overlaps and the new class
    report = json.loads(snapshots[2]["report.json"])
    members = {m["name"]: m for m in report["collection"]["members"]}
    assert list(members) == [b.job.job_name for b in batches]
    assert report["collection"]["new_classes"] == [NEW_CLASS]
    assert report["collection"]["overlaps"] == len(relabeled)
    assert members[batches[0].job.job_name]["superseded"] == len(relabeled)
    assert sum(m["images"] for m in members.values()) == report["images"]
    # And the report page lists the members with their counts
    page = snapshots[2]["report.html"].decode()
    assert 'id="members"' in page and all(b.job.job_name in page for b in batches)
    # And the notification named the appended class with its id
    ready = [n["Message"] for n in parts.notifications() if "ready" in n["Subject"]]
    assert len(ready) == 3 and f"{NEW_CLASS} (id {len(CLASSES)})" in ready[-1]
    # And the last version is byte for byte a full conversion of the three batches
    published = _comparable(snapshots[2])
    full = _comparable(_full_conversion(parts.bucket, batches, tmp_path, outputs[2]["version"]))
    # (new_classes: those the version added, every class for a first conversion)
    for document in (published, full):
        document["report.json"]["collection"].pop("new_classes")
    assert published.pop("report.json") == full.pop("report.json")
    assert published == full
    # And the third version wrote its own batch's files, not the collection's: its images and
    # labels (10 each), and no file of the other batches
    third = outputs[2]["version"]
    written = parts.client("s3").list_objects_v2(
        Bucket=parts.bucket, Prefix=f"datasets/parts/files/{third}/"
    )
    assert written["KeyCount"] == 2 * members[batches[2].job.job_name]["images"]
    assert parts.denials == []


def _label_keys(labels: dict[str, bytes], refs: set[str]) -> list[str]:
    """The label files (`labels/<split>/<bucket>/<key>.txt`) of the images `refs`."""
    stems = {ref.removeprefix("s3://").rsplit(".", 1)[0] for ref in refs}
    return [k for k in labels if k.split("/", 2)[2].rsplit(".", 1)[0] in stems]


def _full_conversion(
    bucket: str, batches: list[Batch], tmp_path: Path, version: str
) -> dict[str, bytes]:
    """The three batches converted at once by the core, from a mirror of both buckets, with the
    deployed exports and the version's id (which COCO's info names)."""
    mirror = tmp_path / "mirror"
    for batch in batches:
        for at, objects in (
            (bucket, batch.job.objects),
            (CUSTOMER_IMAGES, batch.job.image_objects),
        ):
            for key, body in objects.items():
                path = mirror / at / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
    (definition,) = parse_collections([PARTS])
    members = [_member_input(bucket, batch) for batch in batches]
    options = ConversionOptions(
        fractions=SplitFractions(), version=version, exports=parse_exports([defaults.EXPORTS])
    )
    grown = collection_input(definition, members, options)
    out = tmp_path / "full"
    convert_manifests(
        list(grown.sources), LocalStorage(out), grown.options, objects=S3Mirror(mirror)
    )
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _member_input(bucket: str, batch: Batch) -> MemberInput:
    job = batch.job
    config_uri = f"s3://{bucket}/{job.config_key}"
    member = Member(
        name=job.job_name, manifest_uri=f"s3://{bucket}/{job.manifest_key}",
        completed_at=batch.completed_at.isoformat(), label_attribute=job.label_attribute,
        task=LabelTask.BOUNDING_BOX, label_config_uri=config_uri,
    )  # fmt: skip
    config = class_list_from_label_config(job.objects[job.config_key], config_uri)
    return MemberInput(member, _Manifest(job.job_name, job.objects[job.manifest_key]), config)


class _Manifest:
    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data

    def lines(self) -> Iterator[bytes]:
        yield from self.data.splitlines(keepends=True)


# What the pipeline adds beside the dataset: its marker, the Report step's page and previews,
# the copied images (the core's reference copies none) and the collection's state.
_PIPELINE_ONLY = (
    "_SUCCESS", "report.html", "previews/", "images/", "collection.json", "workers", "daily",
    "insights",
)  # fmt: skip


def _comparable(files: dict[str, bytes]) -> dict[str, Any]:
    kept: dict[str, Any] = {
        k: v
        for k, v in files.items()
        if not k.startswith(_PIPELINE_ONLY) and not k.endswith((".jpg", ".gt2yolo-dataset"))
    }
    # The published version is named in report.json; a local conversion names none.
    kept["report.json"] = {
        k: v for k, v in json.loads(files["report.json"]).items() if k != "version"
    }
    return kept
