"""Intake on fakes: dropped images registered once, the manifest lists every one."""

from __future__ import annotations

from gt2yolo.memory_store import MemoryObjects
from workflow.intake import Drop, IntakePorts, take_in
from workflow_fakes import BUCKET, Inspector, Manifests, Registry, Topic

MANIFEST = f"s3://{BUCKET}/manifests/input/pets.manifest"


def _ports(objects: MemoryObjects, topic: Topic | None = None) -> IntakePorts:
    return IntakePorts(Inspector(objects), Registry(), Manifests(objects), topic)


def _drop(objects: MemoryObjects, n: int) -> Drop:
    key = f"images/pets/{n}.jpg"
    objects.put(f"s3://{BUCKET}/{key}", b"jpeg")
    return Drop(f"m{n}", BUCKET, key)


def test_a_batch_of_drops_is_registered_and_written_into_the_manifest() -> None:
    objects = MemoryObjects()
    ports = _ports(objects, Topic())
    report = take_in([_drop(objects, 1), _drop(objects, 2)], BUCKET, ports)
    assert len(report.registered) == 2 and report.failed == {}
    assert (objects.get(MANIFEST) or b"").count(b"source-ref") == 2
    assert len(report.streamed) == 2


def test_a_redelivered_drop_adds_no_line() -> None:
    objects = MemoryObjects()
    ports = _ports(objects)
    drop = _drop(objects, 1)
    take_in([drop], BUCKET, ports)
    again = take_in([drop], BUCKET, ports)
    assert len(again.duplicates) == 1 and again.registered == []
    assert (objects.get(MANIFEST) or b"").count(b"source-ref") == 1


def test_a_deleted_object_is_skipped_and_another_buckets_event_fails_alone() -> None:
    objects = MemoryObjects()
    report = take_in(
        [Drop("gone", BUCKET, "images/pets/gone.jpg"), Drop("x", "other", "images/pets/a.jpg"),
         _drop(objects, 1)],
        BUCKET, _ports(objects),
    )  # fmt: skip
    assert [s.key for s in report.skipped] == ["images/pets/gone.jpg"]
    assert list(report.failed) == ["x"] and len(report.registered) == 1


def test_a_manifest_changed_meanwhile_is_read_again_before_the_write() -> None:
    objects = MemoryObjects()
    ports = _ports(objects)
    assert isinstance(ports.manifests, Manifests)
    ports.manifests.conflicts = 2
    report = take_in([_drop(objects, 1)], BUCKET, ports)
    assert report.failed == {} and report.refreshed[0].written
