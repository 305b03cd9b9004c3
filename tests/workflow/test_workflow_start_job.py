"""Starting a labeling job on fakes: an empty manifest is refused before anything is written."""

from __future__ import annotations

import pytest
from gt2yolo.labeling_job import LabelingJobError
from gt2yolo.memory_store import MemoryObjects
from workflow.start_job import (
    StartJobRequest,
    StartJobSettings,
    create_labeling_job,
    prepare_labeling_job,
)
from workflow_fakes import BUCKET, Jobs, Manifests

SETTINGS = StartJobSettings(
    bucket=BUCKET, region="us-east-1", role_arn="arn:aws:iam::123456789012:role/gt",
    workteam_arn="arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team",
)  # fmt: skip


def test_a_manifest_with_images_becomes_a_request_with_its_files_written() -> None:
    objects = MemoryObjects()
    objects.put(
        f"s3://{BUCKET}/manifests/input/pets.manifest", '{"source-ref": "a"}\n{"source-ref": "b"}\n'
    )
    request = StartJobRequest(dataset="pets", labels=["cat", "dog"], job_name="pets-1")
    prepared = prepare_labeling_job(request, SETTINGS, Manifests(objects))
    assert prepared.images == 2 and prepared.request["LabelingJobName"] == "pets-1"
    written = objects.keys(f"s3://{BUCKET}/manifests/input/jobs/pets-1/")
    assert written == ["label-categories.json", "worker-task-template.liquid.html"]
    jobs = Jobs()
    started = create_labeling_job(prepared, jobs)
    assert jobs.created == [prepared.request] and started.job_arn.endswith("/pets-1")


def test_a_missing_manifest_is_refused_and_nothing_is_written() -> None:
    objects = MemoryObjects()
    request = StartJobRequest(dataset="pets", labels=["cat"], job_name="pets-1")
    with pytest.raises(LabelingJobError, match="is missing"):
        prepare_labeling_job(request, SETTINGS, Manifests(objects))
    assert objects.keys(f"s3://{BUCKET}/") == []
