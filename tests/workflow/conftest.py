"""Every use case on in-memory ports: no moto, no network, no boto3."""

from __future__ import annotations

import json

import pytest
from gt2yolo.memory_store import MemoryObjects
from workflow.models import ConversionRequest
from workflow_fakes import BUCKET, box_line

MANIFEST_KEY = "manifests/pets.manifest"
CONFIG_KEY = "manifests/pets.config.json"


@pytest.fixture
def objects() -> MemoryObjects:
    """The stack bucket with a two-image manifest, its images and its label config."""
    memory = MemoryObjects()
    lines = [
        box_line(f"s3://{BUCKET}/images/pets/a.jpg", [(0, 10, 10, 20, 20)]),
        box_line(f"s3://{BUCKET}/images/pets/b.jpg", [(1, 30, 30, 10, 10)]),
    ]
    memory.put(f"s3://{BUCKET}/{MANIFEST_KEY}", "\n".join(lines) + "\n")
    memory.put(f"s3://{BUCKET}/images/pets/a.jpg", b"jpeg-a")
    memory.put(f"s3://{BUCKET}/images/pets/b.jpg", b"jpeg-b")
    config = {"labels": [{"label": "cat"}, {"label": "dog"}]}
    memory.put(f"s3://{BUCKET}/{CONFIG_KEY}", json.dumps(config))
    return memory


@pytest.fixture
def request_() -> ConversionRequest:
    return ConversionRequest(
        source="manifest-drop",
        job_name="pets",
        dataset_name="pets",
        manifest_uri=f"s3://{BUCKET}/{MANIFEST_KEY}",
        label_attribute="boxes",
        label_config_uri=f"s3://{BUCKET}/{CONFIG_KEY}",
    )
