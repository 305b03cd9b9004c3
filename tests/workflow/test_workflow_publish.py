"""Publish on in-memory ports: the flip, `_SUCCESS` once, one notification per input."""

from __future__ import annotations

from gt2yolo.memory_store import MemoryObjects
from gt2yolo.versions import read_pointer
from workflow.convert import ConvertSettings, convert_request
from workflow.dataset_lock import LOCK_NAME
from workflow.models import ConversionOutcome, ConversionRequest, PublishRequest
from workflow.publish import DATASET_READY, publish_dataset
from workflow_fakes import BUCKET, Bus, Notifier, memory_ports

DATASET = f"s3://{BUCKET}/datasets/pets/"


def _converted(objects: MemoryObjects, request: ConversionRequest) -> PublishRequest:
    outcome = convert_request(request, ConvertSettings(BUCKET), memory_ports(objects))
    assert isinstance(outcome, ConversionOutcome)
    return PublishRequest(**outcome.model_dump())


def test_given_a_converted_version_when_published_then_it_is_current_and_announced(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    outcome = _converted(objects, request_)
    notifier, bus = Notifier(), Bus()
    result = publish_dataset(outcome, objects, notifier, bus)
    assert result.published and result.kept_versions == [outcome.version]
    pointer = read_pointer(objects.at(DATASET))
    assert pointer is not None and pointer.version == outcome.version
    assert "_SUCCESS" in objects.keys(DATASET) and LOCK_NAME not in objects.keys(DATASET)
    assert [kind for kind, _ in bus.events] == [DATASET_READY]
    assert bus.events[0][1]["data_yaml"] == DATASET + "data.yaml"
    assert notifier.sent[0][0] == "YOLO dataset ready: pets"


def test_given_the_same_input_published_twice_then_only_the_first_notifies(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    outcome = _converted(objects, request_)
    notifier, bus = Notifier(), Bus()
    publish_dataset(outcome, objects, notifier, bus)
    again = publish_dataset(outcome, objects, notifier, bus)
    assert not again.published and again.reason == "another execution published the same input"
    assert len(notifier.sent) == 1 and len(bus.events) == 1


def test_an_already_published_outcome_publishes_nothing(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    outcome = _converted(objects, request_).model_copy(update={"already_published": True})
    notifier = Notifier()
    result = publish_dataset(outcome, objects, notifier, Bus())
    assert not result.published and notifier.sent == []
    assert read_pointer(objects.at(DATASET)) is None


def test_a_partial_version_does_not_replace_the_complete_dataset_of_its_job(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    complete = _converted(objects, request_)
    publish_dataset(complete, objects, Notifier(), Bus())
    objects.put(request_.manifest_uri, (objects.get(request_.manifest_uri) or b"") + b"\n")
    live = _converted(objects, request_.model_copy(update={"partial": True}))
    result = publish_dataset(live, objects, Notifier(), Bus())
    assert not result.published
    assert result.reason == "the job's complete dataset is already current"
    pointer = read_pointer(objects.at(DATASET))
    assert pointer is not None and pointer.version == complete.version
