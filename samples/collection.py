"""Batches of one training set, as teams labeled them over the years: `parts-batch-1`, `-2`, ...

Each batch is a bounding-box job of its own (its LabelAttributeName is the job name, as Ground
Truth defaults it), finished on its own day, with its own label config: later batches list the
classes in another order, and the last one adds a class. A later batch relabels some images of
an earlier one (the same source-refs), as teams do when they fix a batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from samples.detection import CLASSES, SampleJob, make_sample_job

NEW_CLASS = "hexagon"  # first named by the last batch
# Each batch's label config order; the first is the collection's.
ORDERS: tuple[tuple[str, ...], ...] = (
    CLASSES,
    (CLASSES[2], CLASSES[0], CLASSES[1]),
    (NEW_CLASS, CLASSES[1], CLASSES[2], CLASSES[0]),
)
FIRST_COMPLETION = datetime(2024, 3, 4, 17, 30, tzinfo=UTC)


@dataclass
class Batch:
    """One member: the job's objects, and SageMaker's answer with its completion time."""

    job: SampleJob
    classes: tuple[str, ...]
    completed_at: datetime
    relabeled_refs: tuple[str, ...] = ()  # source-refs an earlier batch labeled too

    def describe_response(self) -> dict[str, Any]:
        return self.job.describe_response() | {"LastModifiedTime": self.completed_at}


def make_batches(
    bucket: str, image_bucket: str, prefix: str = "parts-batch-", images: int = 10,
    overlap: int = 3,
) -> list[Batch]:  # fmt: skip
    """Three batches; batch 2 relabels `overlap` images of batch 1; batch 3 names NEW_CLASS."""
    batches: list[Batch] = []
    for number, order in enumerate(ORDERS, start=1):
        name = f"{prefix}{number}"
        job = make_sample_job(
            bucket, job_name=name, images=images, seed=40 + number, dataset=f"parts/{number}",
            label_attribute=name, image_bucket=image_bucket,
        )  # fmt: skip
        completed = FIRST_COMPLETION + timedelta(days=90 * (number - 1))
        batches.append(Batch(job, order, completed))
    _reorder(batches[1], ORDERS[1])
    _reorder(batches[2], ORDERS[2], rename={CLASSES[0]: NEW_CLASS})
    batches[1].relabeled_refs = _relabel_from(batches[1], batches[0], overlap)
    return batches


def _reorder(batch: Batch, order: tuple[str, ...], rename: dict[str, str] | None = None) -> None:
    """The batch's config lists `order`; its lines' class ids and class-maps follow it. Boxes of
    a renamed class become the new one (the last batch splits squares into hexagons)."""
    job = batch.job
    lines = []
    for raw in job.objects[job.manifest_key].decode().splitlines():
        record = json.loads(raw)
        metadata = record.get(f"{job.label_attribute}-metadata") or {}
        labels = record.get(job.label_attribute)
        if labels and "class-map" in metadata:
            names = {int(k): v for k, v in metadata["class-map"].items()}
            mapped: dict[str, str] = {}
            for box in labels["annotations"]:
                name = names[box["class_id"]]
                name = (rename or {}).get(name, name) if box["left"] % 2 else name
                box["class_id"] = order.index(name)
                mapped[str(box["class_id"])] = name
            metadata["class-map"] = mapped
        lines.append(json.dumps(record, ensure_ascii=False))
    job.objects[job.manifest_key] = ("\n".join(lines) + "\n").encode()
    job.objects[job.config_key] = json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": c} for c in order]}
    ).encode()


def _relabel_from(later: Batch, earlier: Batch, count: int) -> tuple[str, ...]:
    """The later batch labels `count` of the earlier batch's images again, boxes moved."""
    source = earlier.job
    attribute = later.job.label_attribute
    taken: list[str] = []
    extra: list[str] = []
    for raw in source.objects[source.manifest_key].decode().splitlines():
        record = json.loads(raw)
        labels = record.get(source.label_attribute)
        if not labels or not labels["annotations"] or len(taken) == count:
            continue
        for box in labels["annotations"]:
            box["left"] += 5
            box["class_id"] = later.classes.index(CLASSES[box["class_id"]])
        metadata = record.pop(f"{source.label_attribute}-metadata")
        metadata["class-map"] = {
            str(box["class_id"]): later.classes[box["class_id"]] for box in labels["annotations"]
        }
        metadata["job-name"] = f"labeling-job/{later.job.job_name}"
        record.pop(source.label_attribute)
        record[attribute], record[f"{attribute}-metadata"] = labels, metadata
        taken.append(record["source-ref"])
        extra.append(json.dumps(record, ensure_ascii=False))
    job = later.job
    job.objects[job.manifest_key] += ("\n".join(extra) + "\n").encode()
    return tuple(taken)
