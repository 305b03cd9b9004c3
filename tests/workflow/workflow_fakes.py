"""In-memory ports for the use cases: the object-store fake of the core and small recorders of
the other services (SageMaker, Step Functions, SNS, EventBridge, the intake registry)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gt2yolo.intake import AcceptedImage
from gt2yolo.memory_store import MemoryImageCopier, MemoryObjects, MemorySources
from workflow.backfill import JobPage
from workflow.errors import TransientAwsError
from workflow.intake import ObjectFacts, StoredManifest
from workflow.ports import StoragePorts

BUCKET = "stack-bucket"
DETECTION = "groundtruth/object-detection"


def memory_ports(objects: MemoryObjects) -> StoragePorts:
    return StoragePorts(objects, MemorySources(objects), MemoryImageCopier(objects))


def box_line(source_ref: str, boxes: Sequence[tuple[int, int, int, int, int]] = ()) -> str:
    """A bounding-box output-manifest line: boxes are (class, left, top, width, height)."""
    names = ["cat", "dog"]
    return json.dumps({
        "source-ref": source_ref,
        "boxes": {
            "image_size": [{"width": 100, "height": 100, "depth": 3}],
            "annotations": [
                {"class_id": c, "left": x, "top": y, "width": w, "height": h}
                for c, x, y, w, h in boxes
            ],
        },
        "boxes-metadata": {
            "objects": [{"confidence": 0.9} for _ in boxes],
            "class-map": {str(c): names[c] for c, *_ in boxes},
            "type": DETECTION,
            "human-annotated": "yes",
            "creation-date": "2024-01-01T00:00:00",
            "job-name": "labeling-job/pets",
        },
    })  # fmt: skip


@dataclass
class Jobs:
    """SageMaker's labeling jobs: describe, list in progress, create."""

    described: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, job_name: str) -> dict[str, Any]:
        self.asked.append(job_name)
        return self.described[job_name]

    def in_progress(self) -> Iterator[str]:
        for name, job in self.described.items():
            if job.get("LabelingJobStatus") == "InProgress":
                yield name

    def create(self, request: dict[str, Any]) -> str:
        self.created.append(request)
        return f"arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/{request['LabelingJobName']}"


@dataclass
class Reader:
    """Objects by bucket and key (Resolve's reads), over the in-memory buckets."""

    objects: MemoryObjects

    def read_if_exists(self, bucket: str, key: str) -> bytes | None:
        return self.objects.get(f"s3://{bucket}/{key}")


@dataclass
class Listing:
    objects: MemoryObjects

    def folders(self, bucket: str, prefix: str) -> list[str]:
        return list(self.objects.at(f"s3://{bucket}/").list_folders(prefix))

    def etag(self, bucket: str, key: str) -> str | None:
        store = self.objects.at(f"s3://{bucket}/")
        return store.stat(key).etag.strip('"') if store.exists(key) else None


@dataclass
class Executions:
    started: dict[str, dict[str, Any]] = field(default_factory=dict)

    def start(self, name: str, state_input: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = state_input
        return True


@dataclass
class Notifier:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def notify(self, subject: str, message: str) -> None:
        self.sent.append((subject, message))


@dataclass
class Bus:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append((detail_type, detail))


@dataclass
class Registry:
    """The intake's image registry (DynamoDB in the stack)."""

    items: dict[tuple[str, str], str] = field(default_factory=dict)
    streamed_keys: set[tuple[str, str]] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)

    def register(self, image: AcceptedImage) -> bool:
        key = (image.dataset, image.key)
        if key in self.items:
            return False
        self.items[key] = image.source_ref
        return True

    def streamed(self, image: AcceptedImage) -> bool:
        return (image.dataset, image.key) in self.streamed_keys

    def mark_streamed(self, image: AcceptedImage) -> None:
        self.streamed_keys.add((image.dataset, image.key))

    def bump_version(self, dataset: str) -> int:
        self.versions[dataset] = self.versions.get(dataset, 0) + 1
        return self.versions[dataset]

    def version(self, dataset: str) -> int:
        return self.versions.get(dataset, 0)

    def source_refs(self, dataset: str) -> Iterator[str]:
        for (name, _), ref in sorted(self.items.items()):
            if name == dataset:
                yield ref


@dataclass
class Inspector:
    """Size and content type of dropped objects."""

    objects: MemoryObjects
    content_types: dict[str, str] = field(default_factory=dict)

    def inspect(self, bucket: str, key: str) -> ObjectFacts | None:
        data = self.objects.get(f"s3://{bucket}/{key}")
        if data is None:
            return None
        return ObjectFacts(key, len(data), self.content_types.get(key, "image/jpeg"))


@dataclass
class Manifests:
    """Input manifests, replaced only by conditional writes (and counted, for start_job)."""

    objects: MemoryObjects
    bucket: str = BUCKET
    manifest_versions: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0  # how many replaces fail as if someone else wrote first

    def _store(self) -> Any:
        return self.objects.at(f"s3://{self.bucket}/")

    def head(self, key: str) -> StoredManifest | None:
        store = self._store()
        if not store.exists(key):
            return None
        return StoredManifest(store.stat(key).etag, self.manifest_versions.get(key, 0))

    def replace(self, key: str, body: bytes, version: int, expected: StoredManifest | None) -> bool:
        if self.conflicts:
            self.conflicts -= 1
            return False
        if self.head(key) != expected:
            return False
        self._store().write_bytes(key, body)
        self.manifest_versions[key] = version
        return True

    def count_lines(self, key: str) -> int | None:
        data = self.objects.get(f"s3://{self.bucket}/{key}")
        return None if data is None else sum(1 for line in data.splitlines() if line.strip())

    def put(self, key: str, body: bytes, content_type: str) -> str:
        self._store().write_bytes(key, body)
        return f"s3://{self.bucket}/{key}"


@dataclass
class Topic:
    messages: list[str] = field(default_factory=list)

    def publish(self, message: str) -> None:
        self.messages.append(message)


@dataclass
class Catalog:
    """SageMaker's labeling jobs for the backfill: ListLabelingJobs pages (filtered as the
    service filters: status, NameContains anywhere in the name, CreationTimeAfter) and
    DescribeLabelingJob by name. `throttle`: calls (counted from 1) that fail as throttled."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_size: int = 3
    throttle: Callable[[int], bool] = lambda _call: False
    calls: int = 0
    throttled: int = 0
    pages: list[dict[str, Any]] = field(default_factory=list)  # the page requests

    def _call(self) -> None:
        self.calls += 1
        if self.throttle(self.calls):
            self.throttled += 1
            raise TransientAwsError("ThrottlingException: Rate exceeded")

    def page(
        self, status: str, name_contains: str, since: datetime | None, next_token: str | None
    ) -> JobPage:
        self._call()
        self.pages.append({"status": status, "contains": name_contains, "since": since})
        matching = [
            job for name, job in sorted(self.jobs.items())
            if job["LabelingJobStatus"] == status and name_contains in name
            and (since is None or job["CreationTime"] > since)
        ]  # fmt: skip
        start = int(next_token or 0)
        end = start + self.page_size
        token = str(end) if end < len(matching) else None
        return JobPage([_summary(job) for job in matching[start:end]], token)

    def describe(self, job_name: str) -> dict[str, Any]:
        self._call()
        return self.jobs[job_name]


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("LabelingJobName", "LabelingJobArn", "LabelingJobStatus", "CreationTime")
    return {key: job[key] for key in keys}


@dataclass
class Conversions:
    """The conversion state machine's executions, by name, as Step Functions keeps them."""

    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    throttle: Callable[[int], bool] = lambda _call: False
    calls: int = 0
    throttled: int = 0

    def start(self, name: str, state_input: dict[str, Any]) -> bool:
        self.calls += 1
        if self.throttle(self.calls):
            self.throttled += 1
            raise TransientAwsError("ThrottlingException: Rate exceeded")
        if name in self.started:
            return False
        self.started[name] = state_input
        return True

    def event_id(self, name: str) -> str | None:
        state_input = self.started.get(name)
        return None if state_input is None else str(state_input["id"])
